"""Benchmark core.stats.aggregate over 1,000,000 concerns (52 ISO weeks x 13 categories).

Compared, in the same run, on the same data and through the same connection, with the hand-written
    SELECT category, iso_week, count(*), avg(polarity),
           sum(case when label='negative' then 1 else 0 end)*1.0/count(label), avg(feeling)
    FROM concern GROUP BY category, iso_week
run through the raw DBAPI cursor (rows fetched, nothing else done with them).

    .venv/bin/python bench/aggregates.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from sqlalchemy import text

from core import stats
from core.models import Category, ConcernKind, ConcernStatus, Label

YEAR = 2025  # ISO weeks 2025-W01 .. 2025-W52
CHUNK = 50_000
HAND_SQL = (
    "SELECT category, iso_week, count(*), avg(polarity), "
    "sum(case when label='negative' then 1 else 0 end)*1.0/count(label), avg(feeling) "
    "FROM concern GROUP BY category, iso_week"
)
COLUMNS = ("reference, kind, category, suggested_category, text, language, feeling, polarity, subjectivity, label, "
           "key_phrases, flags, status, source, iso_week, created_on, created_at, updated_at")
TEXTS = (
    ("en", "The camera on Main Street records far more than it needs to, who can see the footage?"),
    ("en", "Thanks for the new air quality sensors near the school, the data page is really useful."),
    ("en", "How long do you keep licence plate reads from the parking garage?"),
    ("en", "The smart streetlight outside my flat buzzes all night and I cannot sleep."),
    ("es", "La cámara de la plaza graba las ventanas de las casas, ¿quién ve esas imágenes?"),
    ("es", "Gracias por los sensores de ruido, por fin alguien mide el tráfico nocturno."),
    ("es", "¿Cuánto tiempo guardan los datos del lector de matrículas del aparcamiento?"),
)
STATUSES = [s.value for s in ConcernStatus]
LABELS = [label.value for label in Label]


def rows(n: int, rng: random.Random, is_sqlite: bool):  # type: ignore[no-untyped-def]
    """Yield chunks of plain tuples; datetimes as text that both databases read as UTC."""
    categories = [cat.value for cat in Category]
    weeks = [(f"{YEAR}-W{w:02d}", date.fromisocalendar(YEAR, w, 1)) for w in range(1, 53)]
    chunk = []
    for i in range(n):
        week, monday = weeks[rng.randrange(52)]
        day = monday + timedelta(days=rng.randrange(7))
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86_400))
        stamp = c.sqlite_datetime(moment) if is_sqlite else moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        language, body = TEXTS[rng.randrange(len(TEXTS))]
        english = language == "en"
        category = categories[rng.randrange(13)]
        chunk.append((
            f"A-{i:07d}", ConcernKind.QUESTION.value if body.endswith("?") else ConcernKind.CONCERN.value,
            category, category, body, language,
            rng.randint(1, 5) if rng.random() < 0.6 else None,
            round(rng.uniform(-1, 1), 4) if english else None,
            round(rng.random(), 4) if english else None,
            LABELS[rng.randrange(3)] if rng.random() < 0.95 else None,
            '["camera", "footage"]' if english else "[]", "[]",
            STATUSES[rng.randrange(len(STATUSES))], "bot" if rng.random() < 0.8 else "web",
            week, day.isoformat(), stamp, stamp,
        ))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_insert(target: c.Target, n: int, rng: random.Random) -> float:
    t0 = time.perf_counter()
    c.bulk_load(target, "concern", COLUMNS, rows(n, rng, target.is_sqlite))
    return time.perf_counter() - t0


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--concerns", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    if args.quick:
        args.concerns, args.runs = 50_000, 3
    rng = random.Random(args.seed)

    with c.open_target(args.database_url) as target:
        load_s = bulk_insert(target, args.concerns, rng)
        core_s, hand_s = [], []
        with target.db.reading() as s:
            assert s.execute(text("SELECT count(*) FROM concern")).scalar_one() == args.concerns
            cur = s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]

            def core_run() -> stats.StatsResult:
                return stats.aggregate(s, group_by=("category", "week"))

            def hand_run() -> list[tuple[Any, ...]]:
                cur.execute(HAND_SQL)
                return list(cur.fetchall())

            result, hand = core_run(), hand_run()  # warm-up (page cache), and the check below
            for _ in range(args.runs):  # interleaved, so drift hits both alike
                t0 = time.perf_counter()
                core_run()
                core_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                hand_run()
                hand_s.append(time.perf_counter() - t0)
            cur.close()

    by_key = {(r[0], r[1]): r for r in hand}
    assert len(result.groups) == len(by_key) == 13 * 52, (len(result.groups), len(by_key))
    for g in result.groups:
        h = by_key[(g.key["category"], g.key["week"])]
        assert g.count == h[2], (g, h)
        assert g.mean_polarity is not None and abs(g.mean_polarity - float(h[3])) < 1e-3, (g, h)
        assert g.share_negative is not None and abs(g.share_negative - float(h[4])) < 1e-3, (g, h)

    core_med, hand_med = c.median(core_s), c.median(hand_s)
    ratio = core_med / hand_med
    table = [
        c.Row("bulk load concerns", args.concerns / load_s, "rows/s", f"{load_s:.1f} s for {args.concerns:,}"),
        c.Row("stats.aggregate median", core_med * 1000, "ms", f"{ratio:.2f}x hand-written SQL", "<= 1.5x",
              c.verdict(ratio <= 1.5)),
        c.Row("stats.aggregate min", min(core_s) * 1000, "ms", f"{min(core_s) / min(hand_s):.2f}x hand-written min"),
        c.Row("hand-written SQL median", hand_med * 1000, "ms", "1.00x (raw DBAPI cursor)"),
        c.Row("hand-written SQL min", min(hand_s) * 1000, "ms"),
    ]
    notes = [f"{args.concerns:,} concerns, {len(result.groups)} groups (13 categories x 52 weeks), "
             f"median of {args.runs} interleaved runs each after one warm-up; results checked equal"]
    if not target.is_sqlite:
        notes.append("VACUUM ANALYZE concern ran after the load (what autovacuum does in production)")
    c.print_report("aggregates", target, table, notes)


if __name__ == "__main__":
    main()
