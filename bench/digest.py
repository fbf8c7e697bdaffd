"""Benchmark the weekly digest job over a week of 100,000 concerns (of 1,000,000): compute and store the summary,
queue the digest for a staff chat, and render its chart (PNG), text and Markdown document as the sender does.

Data: bench/api.py's generators (900,000 concerns over 2025-W01..W52 and 100,000 in 2025-W20 with real resident
sentences, key phrases, deployments, replies and closures). Compared with `summaries.compute` alone, the summary's
own cost, measured on the same data.

    .venv/bin/python bench/digest.py [--quick] [--concerns 1000000] [--week-concerns 100000] [--database-url URL]
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

# bench/api.py and bench/bot.py would shadow the project's packages: import those first, then bench/'s helpers.
_HERE = os.path.realpath(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or ".") != _HERE]
import api.app  # noqa: E402,F401  (the project's packages)
import bot.sender  # noqa: E402,F401

sys.path.append(_HERE)

import _common as c  # noqa: E402
import aggregates  # noqa: E402
import nearby  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from core import jobs, outbox, summaries  # noqa: E402
from core.models import Outbox  # noqa: E402
from core.timeutil import previous_week  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_api", Path(_HERE) / "api.py")
assert _spec is not None and _spec.loader is not None
bench_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_api)

WEEK = bench_api.TARGET_WEEK  # 2025-W20: 12-18 May 2025
MONDAY_AFTER = datetime(2025, 5, 19, 9, tzinfo=UTC)
STAFF_CHAT = -1001
TARGET_S = 5.0


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--concerns", type=int, default=1_000_000)
    p.add_argument("--week-concerns", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3, help="runs of summaries.compute alone")
    args = p.parse_args()
    if args.quick:
        args.concerns, args.week_concerns, args.runs = 50_000, 10_000, 1
    rng = random.Random(args.seed)
    zone = ZoneInfo("UTC")
    context = jobs.JobContext(zone=zone, staff_chat_ids=(STAFF_CHAT,))
    with c.open_target(args.database_url) as target:
        points = nearby.make_points(2_000, 1, rng)
        nearby.bulk_insert(target, points, rng)
        with target.db.reading() as s:
            ids = list(s.scalars(text("SELECT id FROM deployment ORDER BY id LIMIT 300")))
        pool = bench_api.phrase_pool(500 if args.quick else 4_000, args.seed)
        t0 = time.perf_counter()

        def chunks():  # type: ignore[no-untyped-def]
            yield from bench_api.background_rows(args.concerns - args.week_concerns, rng, target.is_sqlite)
            yield from bench_api.week_rows(args.week_concerns, rng, target.is_sqlite, pool, ids)

        c.bulk_load(target, "concern", f"{aggregates.COLUMNS}, {bench_api.EXTRA_COLUMNS}", chunks())
        load_s = time.perf_counter() - t0
        with target.db.transaction() as s:  # a scratch database may hold an earlier run's digest
            for table in ("weekly_summary", "notice", "outbox", "job_run"):
                s.execute(text(f"DELETE FROM {table}"))

        # As in a running deployment, the seven weeks before were summarised by their own Monday digests.
        earlier = [WEEK]
        for _ in range(7):
            earlier.append(previous_week(earlier[-1]))
        with target.db.transaction() as s:
            for week in earlier[1:]:
                summaries.store(s, iso_week=week, zone=zone, now=MONDAY_AFTER)
        compute = []
        for _ in range(args.runs):
            with target.db.reading() as s:
                compute.append(c.timed(lambda s=s: summaries.compute(s, iso_week=WEEK, zone=zone,  # type: ignore[misc]
                                                                      now=MONDAY_AFTER)))
        t0 = time.perf_counter()
        with target.db.transaction() as s:
            outcome, _ = jobs.run(s, "weekly-digest", now=MONDAY_AFTER, context=context, trigger="bench", week=WEEK)
        job_s = time.perf_counter() - t0
        assert outcome.counts == {"summary_stored": 1, "chats": 1}, outcome.counts
        with target.db.reading() as s:
            rows = {r.kind: r for r in s.scalars(select(Outbox).where(Outbox.staff_chat_id == STAFF_CHAT))}
        t0 = time.perf_counter()
        chart = outbox.render("digest_chart", rows["digest_chart"].payload, "en")
        chart_s = time.perf_counter() - t0  # cold: includes importing matplotlib, as the first digest after start
        warm_s = c.timed(lambda: outbox.render("digest_chart", rows["digest_chart"].payload, "es"))
        with target.db.reading() as s:
            t0 = time.perf_counter()
            digest_text = outbox.render("digest_text", rows["digest_text"].payload, "en", session=s)
            text_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            document = outbox.render("digest_document", rows["digest_document"].payload, "en", session=s)
            document_s = time.perf_counter() - t0
        with target.db.transaction() as s:
            again, _ = jobs.run(s, "weekly-digest", now=MONDAY_AFTER, context=context, trigger="bench", week=WEEK)
        assert again.counts == {"summary_stored": 0, "chats": 0} and not again.messages
        assert chart.photo is not None and document.document is not None
        total = job_s + chart_s
        compute_s = c.median(compute)
        rows_out = [
            c.Row("digest job + chart (compute, store, queue, PNG)", total, "s",
                  f"{total / compute_s:.2f}x summaries.compute", f"<= {TARGET_S:g} s", c.verdict(total <= TARGET_S)),
            c.Row("  digest job (jobs.run weekly-digest)", job_s, "s", f"{job_s / compute_s:.2f}x summaries.compute"),
            c.Row("  chart PNG, first (imports matplotlib)", chart_s, "s", f"{len(chart.photo):,} bytes"),
            c.Row("chart PNG, warm", warm_s, "s", "matplotlib already imported"),
            c.Row("summaries.compute alone (median)", compute_s, "s", "1.00x (ingredient)"),
            c.Row("digest text (resolve quotes, HTML)", text_s * 1000, "ms", f"{len(digest_text.text):,} chars"),
            c.Row("Markdown document", document_s * 1000, "ms", f"{len(document.document):,} bytes"),
            c.Row("second run of the job (nothing owed)", 0.0, "messages", "idempotent", "0", "ok"),
        ]
        c.print_report("digest: the weekly digest job", target, rows_out, [
            f"{args.concerns:,} concerns loaded in {load_s:.1f} s, {args.week_concerns:,} in {WEEK} (bench/api.py's "
            "generators); the seven weeks before stored first (their own Mondays' digests), so the chart's "
            "sentiment line reads them; one staff chat; the sender renders the chart again at send time, off the "
            "event loop"])


if __name__ == "__main__":
    main()
