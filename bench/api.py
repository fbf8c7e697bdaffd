"""Benchmark the HTTP API end to end: /stats, weekly summaries, /deployments/near under load.

Sections (all by default; pick some with --stats / --summaries / --near):
  stats      GET /api/v1/stats?group_by=category,week (staff key) over 1,000,000 concerns, through the real app
             served by uvicorn in a thread of this process (httpx over real TCP), against the hand-written
             GROUP BY through a raw DBAPI cursor. Target <= 2x.
  summaries  GET /api/v1/summaries/weekly/{week}: a stored week (target median <= 50 ms) and a week of 100,000
             concerns computed on demand (target median <= 3 s), against summaries.get() in-process and the
             bare SELECTs underneath.
  near       GET /api/v1/deployments/near over 100,000 deployments, served by `civicpulse api` (one uvicorn
             worker process, pinned to core 0) under wrk pinned to core 1 (-t1 -c8, random points in the city),
             against the same wrk run on a bare FastAPI app (bench/_bare_app.py). Targets p50 <= 5 ms, >= 300 req/s.
             Needs wrk (apt-get install -y wrk); without it the section prints "skipped: wrk not installed".

    .venv/bin/python bench/api.py [--quick] [--stats] [--summaries] [--near] [--profile] [--database-url URL]
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _api_path  # noqa: F401  (first: keeps this file from shadowing the project's `api` package)
import _common as c
import _texts
import aggregates
import httpx
import nearby
import uvicorn
from pydantic import SecretStr
from sqlalchemy import text

from api import routes_register
from api.app import create_app
from core import apikeys, stats, summaries
from core.geo import EARTH_RADIUS_M
from core.models import ConcernKind, Role
from core.nlp.keyphrases import key_phrases
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TARGET_WEEK = "2025-W20"  # the week holding --week-concerns concerns, computed on demand
STORED_WEEK = "2025-W10"  # an ordinary week (~1/51 of the rest), stored with summaries.store first
HIGH_RATE = "1000000/minute"
SECRET = "x" * 40
EXTRA_COLUMNS = "deployment_id, first_reply_at, closed_at"
ZONE = "UTC"


# --- data ----------------------------------------------------------------------------------------------------------

_COLS = [name.strip() for name in aggregates.COLUMNS.split(",")]
_I = {name: i for i, name in enumerate(_COLS)}


def _parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def _stamp(moment: datetime, is_sqlite: bool) -> str:
    # The same text aggregates.rows writes, so both databases read it back as UTC.
    return c.sqlite_datetime(moment) if is_sqlite else moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _move(row: list[Any], days: int, week: str, is_sqlite: bool) -> None:
    row[_I["iso_week"]] = week
    row[_I["created_on"]] = (date.fromisoformat(row[_I["created_on"]]) + timedelta(days=days)).isoformat()
    for col in ("created_at", "updated_at"):
        row[_I[col]] = _stamp(_parse_stamp(row[_I[col]]) + timedelta(days=days), is_sqlite)


def background_rows(n: int, rng: random.Random, is_sqlite: bool):  # type: ignore[no-untyped-def]
    """aggregates.rows (uniform over 2025-W01..W52), with the target week's rows moved to one of the other 51."""
    target = int(TARGET_WEEK[-2:])
    others = [w for w in range(1, 53) if w != target]
    for chunk in aggregates.rows(n, rng, is_sqlite):
        out = []
        for row in chunk:
            if row[_I["iso_week"]] == TARGET_WEEK:
                row = list(row)
                week = others[rng.randrange(len(others))]
                _move(row, (week - target) * 7, f"{aggregates.YEAR}-W{week:02d}", is_sqlite)
                row = tuple(row)
            out.append((*row, None, None, None))
        yield out


def phrase_pool(size: int, seed: int) -> dict[str, list[tuple[str, str, bool]]]:
    """Synthetic resident texts (bench/_texts.py) per language, with the project's own key phrases for each."""
    pool: dict[str, list[tuple[str, str, bool]]] = {}
    for language, share, n in (("en", 0.0, size * 3 // 5), ("es", 1.0, size - size * 3 // 5)):
        pool[language] = [(t, json.dumps(key_phrases(t, language=language), ensure_ascii=False), "?" in t)
                          for t in _texts.texts(n, seed + len(language) + int(share), spanish_share=share)]
    return pool


def week_rows(n: int, rng: random.Random, is_sqlite: bool, pool: dict[str, list[tuple[str, str, bool]]],
              deployment_ids: list[int]):  # type: ignore[no-untyped-def]
    """n concerns in TARGET_WEEK: aggregates.rows' figures, with real sentences, their key phrases, deployments
    (skewed, 60 %), first replies (40 % of concerns) and closures, so every part of the summary has work."""
    target = int(TARGET_WEEK[-2:])
    weights = [1 / (rank + 1) for rank in range(len(deployment_ids))]
    for chunk in aggregates.rows(n, rng, is_sqlite):
        out = []
        for row in chunk:
            row = list(row)
            week = int(row[_I["iso_week"]][-2:])
            _move(row, (target - week) * 7, TARGET_WEEK, is_sqlite)
            row[_I["reference"]] = "W" + row[_I["reference"]][1:]  # unique next to the background's A-...
            language = row[_I["language"]]
            body, phrases, question = pool[language][rng.randrange(len(pool[language]))]
            row[_I["text"]], row[_I["key_phrases"]] = body, phrases
            row[_I["kind"]] = ConcernKind.QUESTION.value if question else ConcernKind.CONCERN.value
            created = _parse_stamp(row[_I["created_at"]])
            deployment = rng.choices(deployment_ids, weights)[0] if deployment_ids and rng.random() < 0.6 else None
            first = closed = None
            if rng.random() < 0.4:
                replied = created + timedelta(hours=rng.uniform(0.5, 96))
                first = _stamp(replied, is_sqlite)
                if rng.random() < 0.5:
                    closed = _stamp(replied + timedelta(hours=rng.uniform(1, 200)), is_sqlite)
            out.append((*row, deployment, first, closed))
        yield out


# --- servers and clients -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadServer:
    """The real app served by uvicorn in a thread of this process, on a free port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, secret_key=SecretStr(SECRET), environment="test",
                    api_rate_per_address=HIGH_RATE, api_rate_per_key=HIGH_RATE)


def client_app(client: httpx.Client) -> Any:
    return client._bench_app  # type: ignore[attr-defined]


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - t0
    response.raise_for_status()
    return elapsed, response


def app_profile(app: Any, paths: list[str], headers: dict[str, str], title: str,
                breakdown: list[tuple[str, str, str]], top: int = 25) -> str:
    """cProfile of whole requests through the ASGI app (middleware, dependencies, route, validation, JSON), all in
    this thread: anyio's worker-thread calls are run inline while profiling, so the route and its sync
    dependencies show up too. Only uvicorn's socket and HTTP parsing are left out."""
    import asyncio

    import anyio.to_thread

    async def inline(func: Any, *args: Any, **_kw: Any) -> Any:
        return func(*args)

    async def drive(batch: list[str]) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for path in batch:
                (await client.get(path, timeout=600)).raise_for_status()

    import cProfile
    import io
    import pstats

    from sqlalchemy import event

    original = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    try:
        asyncio.run(drive(paths[:3]))  # warm-up
        cumulative = c.profile(lambda: asyncio.run(drive(paths)), top=top, title=title, breakdown=breakdown)
        # Self time (where the interpreter actually is), and each SQL statement's wall time, on a second pass.
        engine = app.state.database.engine
        spent: dict[str, list[float]] = {}

        def before(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
            spent.setdefault(" ".join(statement.split())[:110], []).append(-time.perf_counter())

        def after(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
            spent[" ".join(statement.split())[:110]][-1] += time.perf_counter()

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        prof = cProfile.Profile()
        try:
            prof.enable()
            asyncio.run(drive(paths))
            prof.disable()
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
        lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
        header = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
        out = [cumulative, f"-- {title}: top 15 by self time", *lines[header:],
               f"-- {title}: SQL statements by total execute time (cursor.execute only, fetch not included)"]
        for stmt, times in sorted(spent.items(), key=lambda kv: -sum(kv[1]))[:8]:
            out.append(f"   {sum(times) * 1000:9.1f} ms  x{len(times):<4d} {stmt}")
        return "\n".join(out)
    finally:
        anyio.to_thread.run_sync = original  # type: ignore[assignment]


APP_PARTS = [
    ("AddressLimit (rate limit per address)", "api/ops.py", "__call__"),
    ("  RateBudget.retry_after (limits)", "api/ops.py", "retry_after"),
    ("CorrelationIdMiddleware", "asgi_correlation_id/middleware.py", "__call__"),
    ("Prometheus instrumentator", "prometheus_fastapi_instrumentator/middleware.py", "__call__"),
    ("FastAPI solve_dependencies", "fastapi/dependencies/utils.py", "solve_dependencies"),
    ("  optional_principal (key lookup)", "api/auth.py", "optional_principal"),
    ("  read_session (Database.reading)", "core/db.py", "reading"),
    ("FastAPI serialize_response (response_model)", "fastapi/routing.py", "serialize_response"),
    ("JSONResponse.render", "starlette/responses.py", "render"),
]


# --- section 1: stats ----------------------------------------------------------------------------------------------


def section_stats(target: c.Target, client: httpx.Client, runs: int, n_concerns: int, want_profile: bool
                  ) -> tuple[list[c.Row], list[str], str]:
    path = "/api/v1/stats?group_by=category,week"
    http_s, hand_s, core_s = [], [], []
    with target.db.reading() as s:
        cur = s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]

        def hand() -> list[tuple[Any, ...]]:
            cur.execute(aggregates.HAND_SQL)
            return list(cur.fetchall())

        def core() -> Any:
            return stats.aggregate(s, group_by=("category", "week"))

        _, first = timed_get(client, path)  # warm-up each (page cache, statement caches), and the check below
        hand_rows = hand()
        core()
        for _ in range(runs):  # interleaved, so drift hits all alike
            http_s.append(timed_get(client, path)[0])
            hand_s.append(c.timed(hand))
            core_s.append(c.timed(core))
        cur.close()

    body = first.json()
    by_key = {(r[0], r[1]): r for r in hand_rows}
    assert len(body["groups"]) == len(by_key) == 13 * 52, (len(body["groups"]), len(by_key))
    assert sum(g["count"] for g in body["groups"]) == n_concerns
    for g in body["groups"]:
        h = by_key[(g["key"]["category"], g["key"]["week"])]
        assert g["count"] == h[2], (g, h)
        assert abs(g["mean_polarity"] - float(h[3])) < 1e-3 and abs(g["share_negative"] - float(h[4])) < 1e-3, (g, h)

    http_med, hand_med, core_med = c.median(http_s), c.median(hand_s), c.median(core_s)
    ratio = http_med / hand_med
    rows = [
        c.Row("GET /stats (staff) median", http_med * 1000, "ms", f"{ratio:.2f}x hand-written GROUP BY", "<= 2x",
              c.verdict(ratio <= 2)),
        c.Row("GET /stats (staff) min", min(http_s) * 1000, "ms", f"{min(http_s) / min(hand_s):.2f}x hand-written min"),
        c.Row("stats.aggregate in-process median", core_med * 1000, "ms", f"{core_med / hand_med:.2f}x hand-written"),
        c.Row("hand-written GROUP BY median", hand_med * 1000, "ms", "1.00x (raw DBAPI cursor)"),
        c.Row("HTTP + app overhead (median diff.)", (http_med - core_med) * 1000, "ms",
              f"{(http_med - core_med) / http_med:.0%} of the request"),
    ]
    notes = [f"{n_concerns:,} concerns, {len(body['groups'])} groups, response {len(first.content) / 1024:.0f} KiB; "
             f"median of {runs} interleaved runs each after one warm-up; HTTP figures checked equal to the SQL"]
    prof = ""
    if want_profile or ratio > 2:
        prof = app_profile(client_app(client), [path], dict(client.headers), f"GET {path} through the app",
                           [*_sql_breakdown(), ("route get_stats", "api/routes_stats.py", "get_stats"),
                                               ("stats.aggregate", "core/stats.py", "aggregate"), *APP_PARTS])
    return rows, notes, prof


def _sql_breakdown() -> list[tuple[str, str, str]]:
    return [("sqlite3 Cursor.execute (the SQL)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
            ("sqlite3 Cursor.fetchall", "~", "<method 'fetchall' of 'sqlite3.Cursor' objects>"),
            ("psycopg Cursor.execute (the SQL)", "psycopg/cursor.py", "execute"),
            ("psycopg fetchall", "psycopg/cursor.py", "fetchall")]


# --- section 2: summaries ------------------------------------------------------------------------------------------


def section_summaries(target: c.Target, client: httpx.Client, stored_runs: int, demand_runs: int,
                      week_concerns: int, want_profile: bool) -> tuple[list[c.Row], list[str], str]:
    zone = settings_for(target.url).zone
    t0 = time.perf_counter()
    with target.db.transaction() as s:
        summaries.store(s, iso_week=STORED_WEEK, zone=zone)
    store_s = time.perf_counter() - t0

    stored_path = f"/api/v1/summaries/weekly/{STORED_WEEK}"
    demand_path = f"/api/v1/summaries/weekly/{TARGET_WEEK}"
    health_s, stored_http, stored_core, stored_bare = [], [], [], []
    demand_http, demand_core, demand_bare = [], [], []
    week_sql = ("SELECT reference, text, flags, key_phrases, category, label, polarity, deployment_id, "
                "created_at, first_reply_at FROM concern WHERE iso_week = {p} AND kind = 'concern'")
    stored_sql = "SELECT content FROM weekly_summary WHERE iso_week = {p}"
    p = "?" if target.is_sqlite else "%s"

    for _ in range(3):  # warm-up
        timed_get(client, "/healthz")
        _, stored_first = timed_get(client, stored_path)
    for _ in range(stored_runs):
        health_s.append(timed_get(client, "/healthz")[0])
        stored_http.append(timed_get(client, stored_path)[0])
    with target.db.reading() as s:
        cur = s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for _ in range(stored_runs + 1):
            stored_core.append(c.timed(lambda: summaries.get(s, iso_week=STORED_WEEK, zone=zone)))
            cur.execute(stored_sql.format(p=p), (STORED_WEEK,))
            t0 = time.perf_counter()
            cur.execute(stored_sql.format(p=p), (STORED_WEEK,))
            cur.fetchall()
            stored_bare.append(time.perf_counter() - t0)
        stored_core, stored_bare = stored_core[1:], stored_bare[1:]

        # On demand: one warm-up of each (page cache), then interleaved.
        _, demand_first = timed_get(client, demand_path)
        cur.execute(week_sql.format(p=p), (TARGET_WEEK,))
        week_rows_n = len(cur.fetchall())
        for _ in range(demand_runs):
            demand_http.append(timed_get(client, demand_path)[0])
            demand_core.append(c.timed(lambda: summaries.get(s, iso_week=TARGET_WEEK, zone=zone)))
            t0 = time.perf_counter()
            cur.execute(week_sql.format(p=p), (TARGET_WEEK,))
            cur.fetchall()
            demand_bare.append(time.perf_counter() - t0)
        cur.close()

    stored_body, demand_body = stored_first.json(), demand_first.json()
    assert stored_body["stored"] is True and demand_body["stored"] is False, (stored_body["stored"],
                                                                             demand_body["stored"])
    assert demand_body["totals"]["concerns"] == week_rows_n, (demand_body["totals"], week_rows_n)
    quotes = sum(len(v) for v in demand_body["quotes"].values())

    sh, sc, sb, hh = (c.median(v) * 1000 for v in (stored_http, stored_core, stored_bare, health_s))
    dh, dc, db_ = (c.median(v) * 1000 for v in (demand_http, demand_core, demand_bare))
    rows = [
        c.Row("GET stored week median", sh, "ms", f"{sh / sc:.2f}x summaries.get(); {sh / hh:.1f}x /healthz",
              "<= 50 ms", c.verdict(sh <= 50)),
        c.Row("GET stored week max", max(stored_http) * 1000, "ms", f"of {stored_runs}"),
        c.Row("summaries.get() stored, in-process", sc, "ms", f"{sc / sb:.1f}x bare SELECT content"),
        c.Row("bare SELECT content (raw cursor)", sb, "ms", "1.00x (ingredient)"),
        c.Row("GET /healthz median (HTTP floor)", hh, "ms", "1.00x (ingredient)"),
        c.Row(f"GET on-demand week median ({week_concerns // 1000}k)", dh, "ms",
              f"{dh / dc:.2f}x summaries.get(); {dh / db_:.1f}x bare week SELECT", "<= 3,000 ms",
              c.verdict(dh <= 3000)),
        c.Row("GET on-demand week max", max(demand_http) * 1000, "ms", f"of {demand_runs}"),
        c.Row("summaries.get() on demand, in-process", dc, "ms", f"{dc / db_:.1f}x bare week SELECT"),
        c.Row("bare SELECT of the week's concerns", db_, "ms", f"1.00x (ingredient; {week_rows_n:,} rows)"),
        c.Row("summaries.store (context)", store_s * 1000, "ms", f"compute + INSERT of {STORED_WEEK}"),
    ]
    notes = [
        f"stored week {STORED_WEEK}: {stored_body['totals']['concerns']:,} concerns (kind=concern), response "
        f"{len(stored_first.content) / 1024:.1f} KiB, median of {stored_runs} after 3 warm-ups",
        f"on-demand week {TARGET_WEEK}: {week_concerns:,} rows of which {week_rows_n:,} concerns (the rest questions); "
        f"{len(demand_body['top_categories'])} top categories, {quotes} quotes, "
        f"{len(demand_body['deployments_most_concerns'])} deployments ranked, {len(demand_body['key_phrases'])} "
        f"key phrases; median of {demand_runs} after one warm-up; response {len(demand_first.content) / 1024:.1f} KiB",
        "bare week SELECT = the week's concern rows (text, flags, key phrases, figures) through the raw DBAPI "
        "cursor: the data the summary must read at least once",
    ]
    prof = ""
    parts = [
        *_sql_breakdown(),
        ("route weekly()", "api/routes_summaries.py", "weekly"),
        ("summaries.compute", "core/summaries.py", "compute"),
        ("  typical_references (quotes, TF-IDF)", "core/summaries.py", "typical_references"),
        ("  _counts (GROUP BY helpers)", "core/summaries.py", "_counts"),
        ("summaries.resolve", "core/summaries.py", "resolve"),
        *APP_PARTS,
    ]
    for path, slow in ((stored_path, sh > 50), (demand_path, dh > 3000)):
        if want_profile or slow:
            prof += app_profile(client_app(client), [path] * (20 if path == stored_path else 1),
                                dict(client.headers), f"GET {path} through the app", parts) + "\n"
    return rows, notes, prof


# --- section 3: near under load ------------------------------------------------------------------------------------


LUA = """\
math.randomseed({seed})
request = function()
  local lat = {lat} + (math.random() * 2 - 1) * {dlat}
  local lon = {lon} + (math.random() * 2 - 1) * {dlon}
  return wrk.format("GET", string.format("/api/v1/deployments/near?lat=%.6f&lon=%.6f&radius_m=1000&limit=10",
                                         lat, lon))
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(out: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for q in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m:
            found[f"p{q}"] = float(m.group(1)) * _UNITS[m.group(2)]
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    found["rps"] = float(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in", out)
    found["requests"] = float(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found["non2xx"] = float(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    found["socket_errors"] = float(sum(int(g) for g in m.groups())) if m else 0
    return found


def pinned(core: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") else argv


def run_wrk(url: str, script: str, connections: int, duration: int) -> dict[str, float]:
    argv = pinned(1, ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, url])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    return parse_wrk(out)


class ServerProcess:
    """A server process we start (pinned to core 0), stopped by its own pid."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, log: str) -> None:
        self.argv, self.env, self.cwd, self.log = argv, env, cwd, log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.handle = open(self.log, "wb")
        self.proc = subprocess.Popen(pinned(0, self.argv), env=self.env, cwd=self.cwd, stdout=self.handle,
                                     stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, url: str) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log).read_text()[-2000:]}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer {url}: {Path(self.log).read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.handle.close()


def section_near(target: c.Target, n_deployments: int, duration: int, connections: int, seed: int,
                 want_profile: bool) -> tuple[list[c.Row], list[str], str]:
    if not shutil.which("wrk"):
        print("skipped: wrk not installed (apt-get install -y wrk) -- section near", flush=True)
        return [], [], ""
    dlat = math.degrees(nearby.HALF_SIDE_M / EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(nearby.CITY_LAT))
    work = tempfile.mkdtemp(prefix="cp_bench_api_")
    try:
        script = os.path.join(work, "near.lua")
        Path(script).write_text(LUA.format(seed=seed % 100_000, lat=nearby.CITY_LAT, lon=nearby.CITY_LON,
                                           dlat=f"{dlat:.8f}", dlon=f"{dlon:.8f}"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
        env.update(CIVICPULSE_DATABASE_URL=target.url, CIVICPULSE_ENVIRONMENT="test",
                   CIVICPULSE_SECRET_KEY=SECRET, CIVICPULSE_API_RATE_PER_ADDRESS=HIGH_RATE,
                   CIVICPULSE_API_RATE_PER_KEY=HIGH_RATE)
        probe = f"/api/v1/deployments/near?lat={nearby.CITY_LAT}&lon={nearby.CITY_LON}&radius_m=1000&limit=10"
        results: dict[str, dict[str, float]] = {}
        servers = {
            "near": [str(ROOT / ".venv/bin/civicpulse"), "api", "--port", "{port}"],
            "bare": [str(ROOT / ".venv/bin/uvicorn"), "--app-dir", str(ROOT / "bench"), "_bare_app:app",
                     "--port", "{port}", "--no-access-log", "--log-level", "warning"],
        }
        items = 0
        for name, argv in servers.items():
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with ServerProcess([a.format(port=port) for a in argv], env, work, os.path.join(work, f"{name}.log")) as sp:
                sp.wait_ready(base + "/healthz")
                answer = httpx.get(base + probe, timeout=10)
                answer.raise_for_status()
                if name == "near":
                    items = len(answer.json()["items"])
                run_wrk(base + "/", script, connections, max(2, duration // 5))  # warm-up
                results[name] = run_wrk(base + "/", script, connections, duration)
                results[name + "_c1"] = run_wrk(base + "/", script, 1, duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # The server-side function in-process: the route function, one read session per call as the app does.
    rng = random.Random(seed + 3)
    points = [nearby.city_point(rng) for _ in range(300)]

    def route_calls() -> None:
        for lat, lon in points:
            with target.db.reading() as s:
                routes_register.near(s, lat=lat, lon=lon, radius_m=1000, limit=10)

    route_calls()  # warm-up
    per_call = []
    for lat, lon in points:
        t0 = time.perf_counter()
        with target.db.reading() as s:
            routes_register.near(s, lat=lat, lon=lon, radius_m=1000, limit=10)
        per_call.append((time.perf_counter() - t0) * 1000)
    route_med = c.median(per_call)

    n, b, n1, b1 = results["near"], results["bare"], results["near_c1"], results["bare_c1"]
    p50_ok, rps_ok = n["p50"] <= 5, n["rps"] >= 300
    rows = [
        c.Row(f"near p50 (wrk -c{connections})", n["p50"], "ms", f"{n['p50'] / b['p50']:.1f}x bare FastAPI p50",
              "<= 5 ms", c.verdict(p50_ok)),
        c.Row(f"near req/s (wrk -c{connections})", n["rps"], "req/s",
              f"{n['rps'] / b['rps']:.0%} of bare FastAPI req/s", ">= 300/s", c.verdict(rps_ok)),
        c.Row(f"near p99 (wrk -c{connections})", n["p99"], "ms", f"{n['p99'] / b['p99']:.1f}x bare FastAPI p99"),
        c.Row(f"bare FastAPI p50 (wrk -c{connections})", b["p50"], "ms", "1.00x (ingredient)"),
        c.Row(f"bare FastAPI req/s (wrk -c{connections})", b["rps"], "req/s", "1.00x (ingredient)"),
        c.Row("near p50 (wrk -c1, no queueing)", n1["p50"], "ms", f"{n1['p50'] / b1['p50']:.1f}x bare -c1 p50"),
        c.Row("near req/s (wrk -c1)", n1["rps"], "req/s", f"{n1['rps'] / b1['rps']:.0%} of bare -c1"),
        c.Row("bare FastAPI p50 (wrk -c1)", b1["p50"], "ms", "1.00x (ingredient)"),
        c.Row("route function in-process median", route_med, "ms",
              f"{route_med / n1['p50']:.0%} of near -c1 p50 ({len(points)} calls)"),
    ]
    bad = {k: (v["non2xx"], v["socket_errors"]) for k, v in results.items() if v["non2xx"] or v["socket_errors"]}
    notes = [
        f"{n_deployments:,} deployments; server = `civicpulse api` (one uvicorn worker, taskset -c 0); load = "
        f"`taskset -c 1 wrk -t1 -c{connections} -d{duration}s --latency` with a Lua script drawing a random point "
        f"in the 40 km city per request (radius 1000 m, limit 10); warm-up run {max(2, duration // 5)} s not counted",
        f"bare = bench/_bare_app.py (same path and query, constant dict) under `uvicorn`, pinned and loaded the "
        f"same way; probe at the city centre returned {items} items",
        f"requests: near {n['requests']:,.0f}, bare {b['requests']:,.0f} in {duration} s; "
        + (f"ERRORS (non-2xx, socket): {bad}" if bad else "no non-2xx answers or socket errors"),
        f"with -c{connections} on one worker, p50 is mostly queueing: about {connections} / req/s "
        f"(near: {connections / n['rps'] * 1000:.1f} ms); -c1 shows the unloaded latency",
    ]
    if not shutil.which("taskset"):
        notes.append("taskset not found: server and wrk were not pinned")
    prof = ""
    if want_profile or not (p50_ok and rps_ok):
        app = create_app(settings_for(target.url), target.db)
        paths = [f"/api/v1/deployments/near?lat={lat:.6f}&lon={lon:.6f}&radius_m=1000&limit=10" for lat, lon in points]
        prof = app_profile(app, paths, {}, f"{len(paths)} GET /api/v1/deployments/near through the app", [
            *_sql_breakdown(), ("route near()", "api/routes_register.py", "near"),
            ("  deployments.nearby", "core/deployments.py", "nearby"),
            ("  deployments.slugs_by_id", "core/deployments.py", "slugs_by_id"),
            ("  deployments.to_record", "core/deployments.py", "to_record"), *APP_PARTS])
    return rows, notes, prof


# --- main ----------------------------------------------------------------------------------------------------------


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--stats", action="store_true", help="run the /stats section")
    p.add_argument("--summaries", action="store_true", help="run the weekly summaries section")
    p.add_argument("--near", action="store_true", help="run the /deployments/near load section")
    p.add_argument("--concerns", type=int, default=1_000_000)
    p.add_argument("--week-concerns", type=int, default=100_000, help=f"of --concerns, all in {TARGET_WEEK}")
    p.add_argument("--deployments", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=7, help="/stats requests")
    p.add_argument("--stored-runs", type=int, default=20)
    p.add_argument("--demand-runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--profile", action="store_true", help="print the cProfiles even when targets are met")
    args = p.parse_args()
    if args.quick:
        args.concerns, args.week_concerns, args.deployments = 50_000, 10_000, 10_000
        args.runs, args.stored_runs, args.demand_runs, args.duration = 3, 5, 2, 3
    if not (args.stats or args.summaries or args.near):
        args.stats = args.summaries = args.near = True
    rng = random.Random(args.seed)

    pool: dict[str, list[tuple[str, str, bool]]] = {}
    pool_s = 0.0
    with c.open_target(args.database_url) as target:
        # Deployments first: the near section needs them all, the summaries' week refers to some of them.
        n_dep = args.deployments if args.near else 2_000
        points = nearby.make_points(n_dep, max(5, n_dep // 10_000), rng)
        dep_s = nearby.bulk_insert(target, points, rng)
        load_rows = [c.Row("bulk load deployments", n_dep / dep_s, "rows/s", f"{dep_s:.1f} s for {n_dep:,}")]
        if args.stats or args.summaries:
            with target.db.reading() as s:
                ids = list(s.scalars(text("SELECT id FROM deployment ORDER BY id LIMIT 300")))
            t0 = time.perf_counter()
            pool = phrase_pool(500 if args.quick else 4_000, args.seed)
            pool_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            columns = f"{aggregates.COLUMNS}, {EXTRA_COLUMNS}"

            def chunks():  # type: ignore[no-untyped-def]
                yield from background_rows(args.concerns - args.week_concerns, rng, target.is_sqlite)
                yield from week_rows(args.week_concerns, rng, target.is_sqlite, pool, ids)

            c.bulk_load(target, "concern", columns, chunks())
            load_s = time.perf_counter() - t0
            load_rows.append(c.Row("bulk load concerns", args.concerns / load_s, "rows/s",
                                   f"{load_s:.1f} s for {args.concerns:,}"))
            with target.db.reading() as s:
                weeks = dict(s.execute(text("SELECT iso_week, count(*) FROM concern GROUP BY iso_week")).all())
            assert len(weeks) == 52 and weeks[TARGET_WEEK] == args.week_concerns, (len(weeks), weeks.get(TARGET_WEEK))
            if c._scratch(target):  # a stored summary from an earlier run on this scratch database would be stale
                with target.db.transaction() as s:
                    s.execute(text("DELETE FROM weekly_summary WHERE iso_week IN (:a, :b)"),
                              {"a": STORED_WEEK, "b": TARGET_WEEK})
            with target.db.transaction() as s:
                _, token = apikeys.create(s, role=Role.STAFF, principal="bench")
        c.print_report("api: data", target, load_rows, [
            f"{args.concerns:,} concerns over 2025-W01..W52 (aggregates.rows), {args.week_concerns:,} of them in "
            f"{TARGET_WEEK} with synthetic resident sentences (bench/_texts.py) and their key phrases "
            f"(core.nlp.keyphrases over a pool of {sum(map(len, pool.values())):,} "
            f"texts, {pool_s:.1f} s), 60 % tied to 300 deployments, 40 % "
            "replied"] if args.stats or args.summaries else [])

        profiles = []
        if args.stats or args.summaries:
            app = create_app(settings_for(target.url), target.db)
            with ThreadServer(app) as base, httpx.Client(base_url=base, timeout=600,
                                                          headers={"Authorization": f"Bearer {token}"}) as client:
                client._bench_app = app  # type: ignore[attr-defined]
                note = ("the real app (create_app) served by uvicorn in a thread of this process on 127.0.0.1, "
                        "requests by httpx over TCP with a staff key; rate limits set to 1,000,000/minute")
                if args.stats:
                    rows, notes, prof = section_stats(target, client, args.runs, args.concerns, args.profile)
                    c.print_report("api: GET /api/v1/stats?group_by=category,week", target, rows, [*notes, note])
                    profiles.append(prof)
                if args.summaries:
                    rows, notes, prof = section_summaries(target, client, args.stored_runs, args.demand_runs,
                                                          args.week_concerns, args.profile)
                    c.print_report("api: GET /api/v1/summaries/weekly/{week}", target, rows, [*notes, note])
                    profiles.append(prof)
        if args.near:
            rows, notes, prof = section_near(target, n_dep, args.duration, args.connections, args.seed,
                                             args.profile)
            if rows:
                c.print_report("api: GET /api/v1/deployments/near under load", target, rows, notes)
            profiles.append(prof)
        for prof in profiles:
            if prof:
                print(prof)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
