#!/usr/bin/env bash
# Run the benchmarks (intake, nearby, aggregates, api, bot) on a temporary SQLite file and on a fresh PostgreSQL
# database (cp_bench_<pid>, dropped at the end), printing to stdout and to bench/results/run-<time>.txt (also
# copied to latest.txt).
#
#   bash bench/run_all.sh            # full sizes (about 25 minutes on 2 cores; bot.py alone takes about 5 per pass)
#   bash bench/run_all.sh --quick    # smoke run (a few minutes); any argument is passed to every script
#
# Environment:
#   PYTHON        interpreter with civicpulse installed (default: .venv/bin/python)
#   BENCH_PG_URL  server to create the scratch database on (default: postgresql+psycopg://postgres@127.0.0.1:5432)
#   BENCH_PG=off  skip PostgreSQL (SQLite only)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
PG_SERVER=${BENCH_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432}
PG_SERVER=${PG_SERVER%/}
PG_DB="cp_bench_$$"
RESULTS=bench/results
mkdir -p "$RESULTS"
OUT="$RESULTS/run-$(date -u +%Y%m%d-%H%M%S).txt"

# Create or drop the scratch database through the maintenance database "postgres" (no client tools needed).
pg_admin() {
    "$PYTHON" - "$PG_SERVER/postgres" "$1" "$PG_DB" <<'EOF'
import sys
import psycopg
from sqlalchemy.engine import make_url

url, action, name = sys.argv[1:]
u = make_url(url)
with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                     dbname=u.database, autocommit=True, connect_timeout=5) as conn:
    if action == "create":
        conn.execute(f'CREATE DATABASE "{name}"')
    else:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
EOF
}

run() {  # run <label> <args...>
    local label=$1
    shift
    echo "### $label"  # the URL is not echoed (it may hold a password); each script prints it redacted
    # api.py needs wrk for its load section; bot.py makes its own fresh database on the PostgreSQL server (see README)
    for script in intake nearby aggregates api bot digest broadcast campaign_results; do
        "$PYTHON" "bench/$script.py" "$@"
    done
}

{
    echo "civicpulse benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    run sqlite "$@"
    if [ "${BENCH_PG:-on}" != off ]; then
        if ! pg_admin create; then
            echo "PostgreSQL (BENCH_PG_URL) is not reachable: set BENCH_PG_URL, or BENCH_PG=off for SQLite only" >&2
            exit 2
        fi
        trap 'pg_admin drop || true' EXIT
        run postgresql --database-url "$PG_SERVER/$PG_DB" "$@"
    fi
} 2>&1 | tee "$OUT" && status=0 || status=${PIPESTATUS[0]}
cp "$OUT" "$RESULTS/latest.txt"
echo "results: $OUT"
exit "$status"
