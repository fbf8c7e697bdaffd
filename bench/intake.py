"""Benchmark concern intake: core.concerns.submit, one concern per write transaction, one process.

Compared, in the same run and on the same texts, with its raw ingredients:
  * TextBlob sentiment alone: TextBlob(text).sentiment over the same texts;
  * nlp.analyze alone (the whole text pipeline, no database);
  * a bare INSERT + COMMIT of a row of the same width (the rows intake just stored, copied with a new reference),
    one row per transaction, plain SQL through the same Database (same engine, BEGIN IMMEDIATE, WAL,
    synchronous=NORMAL on SQLite). Intake and the bare inserts alternate in rounds (--rounds), so a drift in the
    machine's speed during the run weighs on both alike.
When intake misses its targets (>= 1,000 concerns/s and >= 40 % of bare inserts/s) a cProfile of intake is printed.

    .venv/bin/python bench/intake.py [--quick] [--database-url URL] [--profile]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import _texts
from sqlalchemy import text
from textblob import TextBlob

from core import concerns, nlp
from core.errors import DomainError

TARGET_PER_S = 1000
TARGET_SHARE = 0.40
# Every column intake writes except id and reference (the copy gets its own reference).
COPIED = ("kind, resident_id, deployment_id, district_id, category, suggested_category, text, language, feeling, "
          "polarity, subjectivity, label, key_phrases, flags, lat, lon, status, source, idempotency_key, iso_week, "
          "created_on, created_at, updated_at")

BREAKDOWN = (
    ("concerns.submit", "core/concerns.py", "submit"),
    ("  nlp.analyze", "core/nlp/pipeline.py", "analyze"),
    ("    redact", "core/nlp/redact.py", "redact"),
    ("    detect_language (lingua)", "core/nlp/language.py", "detect_language"),
    ("    sentiment score (TextBlob)", "core/nlp/sentiment.py", "score"),
    ("    label_tokens", "core/nlp/lexicon.py", "label_tokens"),
    ("    abusive_tokens", "core/nlp/abuse.py", "abusive_tokens"),
    ("    suggest_from_tokens (category)", "core/nlp/categories.py", "suggest_from_tokens"),
    ("    key_phrases", "core/nlp/keyphrases.py", "key_phrases"),
    ("  _insert (INSERT ... RETURNING, the instance)", "core/concerns.py", "_insert"),
    ("COMMIT (DBAPI commit: the WAL/log write)", "sqlalchemy/engine/default.py", "do_commit"),
)


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--concerns", type=int, default=3000, help="concerns submitted (and rows bare-inserted)")
    p.add_argument("--rounds", type=int, default=10, help="intake and bare inserts alternate in this many rounds")
    p.add_argument("--profile", action="store_true", help="print the intake profile even when targets are met")
    p.add_argument("--profile-concerns", type=int, default=1000)
    args = p.parse_args()
    if args.quick:
        args.concerns, args.profile_concerns = 200, 200
    corpus = _texts.texts(args.concerns, args.seed)
    warm = _texts.texts(50, args.seed + 1)
    policy = concerns.IntakePolicy(zone=ZoneInfo("UTC"))

    # TextBlob alone (after a warm-up that loads its lexicon).
    for t in warm:
        TextBlob(t).sentiment  # noqa: B018
    t0 = time.perf_counter()
    for t in corpus:
        TextBlob(t).sentiment  # noqa: B018
    blob_s = time.perf_counter() - t0

    # The whole NLP pipeline alone.
    for t in warm:
        nlp.analyze(t)
    t0 = time.perf_counter()
    analyses = [nlp.analyze(t) for t in corpus]
    analyze_s = time.perf_counter() - t0
    languages = {lang: sum(a.language == lang for a in analyses) for lang in ("en", "es", None)}

    profile_text = ""
    with c.open_target(args.database_url) as target:
        db = target.db
        for t in warm:  # warm-up: connection pool, statement caches, the mapper
            with db.transaction() as s:
                concerns.submit(s, text=t, policy=policy)

        columns = [col.strip() for col in COPIED.split(",")]
        insert = text(f"INSERT INTO concern (reference, {COPIED}) VALUES (:reference, "
                      + ", ".join(f":{col}" for col in columns) + ")")
        copy = text(f"SELECT {COPIED} FROM concern ORDER BY id DESC LIMIT :n")

        def stored_rows(n: int) -> list[dict[str, object]]:
            with db.reading() as s:  # psycopg hands JSON back parsed: re-encode it
                return [{k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r._mapping.items()}
                        for r in s.execute(copy, {"n": n})]

        for i, row in enumerate(stored_rows(50)):  # warm-up of the bare path
            with db.transaction() as s:
                s.execute(insert, {**row, "reference": f"W-{i:06d}"})

        # Intake and the bare insert alternate in rounds, each round's bare rows copied from the concerns that
        # round stored: a machine whose speed drifts during the run slows both alike, so the ratio holds.
        rejected = stored = 0
        intake_s = bare_s = 0.0
        round_shares: list[float] = []
        size = -(-len(corpus) // args.rounds)
        for start in range(0, len(corpus), size):
            chunk = corpus[start:start + size]
            took = 0
            t0 = time.perf_counter()
            for t in chunk:
                try:
                    with db.transaction() as s:
                        concerns.submit(s, text=t, policy=policy)
                    took += 1
                except DomainError:
                    rejected += 1
            round_intake = time.perf_counter() - t0
            rows_back = stored_rows(took)
            t0 = time.perf_counter()
            for row in rows_back:
                with db.transaction() as s:
                    s.execute(insert, {**row, "reference": f"B-{stored:06d}"})
                stored += 1
            round_bare = time.perf_counter() - t0
            intake_s += round_intake
            bare_s += round_bare
            if took:
                round_shares.append((took / round_intake) / (len(rows_back) / round_bare))

        intake_rate = (len(corpus) - rejected) / intake_s
        bare_rate = stored / bare_s
        share = intake_rate / bare_rate
        missed = intake_rate < TARGET_PER_S or share < TARGET_SHARE
        if missed or args.profile:
            sample = corpus[: args.profile_concerns]

            def run() -> None:
                for t in sample:
                    with db.transaction() as s:
                        concerns.submit(s, text=t, policy=policy)

            profile_text = c.profile(run, title=f"intake of {len(sample)} concerns, one per transaction",
                                     breakdown=BREAKDOWN)

    blob_rate = len(corpus) / blob_s
    analyze_rate = len(corpus) / analyze_s
    rows = [
        c.Row("intake (submit + commit)", intake_rate, "concerns/s",
              f"{share:.0%} of bare inserts/s", f">= {TARGET_PER_S:,}/s", c.verdict(intake_rate >= TARGET_PER_S)),
        c.Row("intake / bare insert", share * 100, "%", f"{share:.2f}x", f">= {TARGET_SHARE:.0%}",
              c.verdict(share >= TARGET_SHARE)),
        c.Row("intake / TextBlob", intake_rate / blob_rate * 100, "%", f"{intake_rate / blob_rate:.2f}x"),
        c.Row("TextBlob(text).sentiment alone", blob_rate, "texts/s", "1.00x (ingredient)"),
        c.Row("nlp.analyze alone (no database)", analyze_rate, "texts/s", f"{analyze_rate / blob_rate:.2f}x TextBlob"),
        c.Row("bare INSERT + COMMIT, 1 row/txn", bare_rate, "rows/s", "1.00x (ingredient)"),
        c.Row("intake per concern", intake_s / len(corpus) * 1000, "ms",
              f"analyze {analyze_s / len(corpus) * 1000:.2f} ms + bare row {bare_s / stored * 1000:.2f} ms"),
    ]
    notes = [
        f"{len(corpus):,} texts (20-300 chars, median {sorted(map(len, corpus))[len(corpus) // 2]}), "
        f"{_texts.template_count():,} templates; detected en={languages['en']} es={languages['es']} "
        f"none={languages[None]}; rejected by intake: {rejected}",
        "one process; each concern in its own db.transaction(); warm-ups not timed",
        f"intake and bare inserts alternate in {len(round_shares)} rounds; intake / bare per round: "
        f"min {min(round_shares):.0%}, median {statistics.median(round_shares):.0%}, max {max(round_shares):.0%}",
    ]
    c.print_report("intake", target, rows, notes)
    if profile_text:
        print(profile_text)


if __name__ == "__main__":
    main()
