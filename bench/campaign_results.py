"""Benchmark core.campaigns.results (and public_results) for a campaign with 100,000 responses and 10 questions.

The campaign has 3 single-choice, 2 multiple-choice, 3 scale and 2 free-text questions: 1,000,000 answer rows
(200,000 of them free text, ~70% answered, with key phrases), bulk-loaded as bench/_common.py does.
Target: median <= 1 s.

    .venv/bin/python bench/campaign_results.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from sqlalchemy import select, text

from core import campaigns
from core.models import Campaign, Category, District, Label
from core.seed import seed_districts

CHUNK = 50_000
CAMPAIGN_TABLES = ("campaign_answer_phrase", "campaign_answer", "campaign_response", "campaign")
PHRASE_COLUMNS = "answer_id, campaign_id, question_index, phrase"
RESPONSE_COLUMNS = "id, campaign_id, resident_id, district_id, current_index, started_at, updated_at, completed_at"
ANSWER_COLUMNS = ("id, response_id, campaign_id, question_index, skipped, value, mask, text, language, polarity, "
                  "subjectivity, label, category, key_phrases, flags, answered_at")
KINDS = ["single_choice"] * 3 + ["multiple_choice"] * 2 + ["scale"] * 3 + ["free_text"] * 2
TEXTS = (
    ("en", "The shuttle is too slow at rush hour", ["shuttle", "rush hour"]),
    ("en", "Great service, please keep the shuttle running", ["great service", "shuttle"]),
    ("en", "The cameras on the shuttle worry me, who sees the footage?", ["cameras", "footage"]),
    ("es", "La lanzadera es muy útil para ir al trabajo", ["lanzadera", "trabajo"]),
    ("es", "Hace demasiado ruido por la noche", ["ruido", "noche"]),
)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def spec() -> dict[str, Any]:
    questions: list[dict[str, Any]] = []
    for number, kind in enumerate(KINDS, 1):
        question: dict[str, Any] = {"kind": kind, "required": kind != "free_text",
                                    "text": {"en": f"Question {number}", "es": f"Pregunta {number}"}}
        if kind == "single_choice":
            question["options"] = [{"en": f"Option {i}", "es": f"Opción {i}"} for i in range(4)]
        elif kind == "multiple_choice":
            question["options"] = [{"en": f"Option {i}", "es": f"Opción {i}"} for i in range(5)]
        questions.append(question)
    return {"title": {"en": "Shuttle pilot", "es": "Piloto de lanzadera"}, "questions": questions,
            "target": {"radius": {"lat": 45.49, "lon": -73.61, "radius_m": 3000}}, "results_public": True}


def _stamp(target: c.Target, moment: datetime) -> str:
    return c.sqlite_datetime(moment) if target.is_sqlite else moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def responses(target: c.Target, campaign_id: int, n: int, districts: list[int], rng: random.Random
              ) -> Iterator[list[tuple[Any, ...]]]:
    chunk = []
    for i in range(1, n + 1):
        started = NOW - timedelta(seconds=rng.randrange(14 * 86_400))
        done = rng.random() < 0.8
        chunk.append((i, campaign_id, None, districts[rng.randrange(len(districts))] if rng.random() < 0.9 else None,
                      len(KINDS) if done else rng.randrange(len(KINDS)), _stamp(target, started),
                      _stamp(target, started), _stamp(target, started + timedelta(minutes=3)) if done else None))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def answers(target: c.Target, campaign_id: int, n: int, rng: random.Random, phrases_out: list[tuple[Any, ...]]
            ) -> Iterator[list[tuple[Any, ...]]]:
    """Answer rows in chunks; each free-text answer's key phrases are appended to phrases_out."""
    labels = [label.value for label in Label]
    categories = [cat.value for cat in Category]
    false, true = (0, 1) if target.is_sqlite else (False, True)
    chunk = []
    answer_id = 0
    for response_id in range(1, n + 1):
        stamp = _stamp(target, NOW - timedelta(seconds=rng.randrange(14 * 86_400)))
        for index, kind in enumerate(KINDS):
            answer_id += 1
            skipped = kind == "free_text" and rng.random() < 0.3
            value = mask = answer_text = language = polarity = subjectivity = label = category = None
            phrases: str | None = None
            if skipped:
                pass
            elif kind == "single_choice":
                value = min(3, int(rng.expovariate(1.0)))
            elif kind == "multiple_choice":
                mask = rng.randrange(1, 32)
            elif kind == "scale":
                value = rng.choice((1, 2, 3, 3, 4, 4, 4, 5, 5))
            else:
                language, answer_text, words = TEXTS[rng.randrange(len(TEXTS))]
                if language == "en":
                    polarity, subjectivity = round(rng.uniform(-1, 1), 4), round(rng.random(), 4)
                label, category = labels[rng.randrange(3)], categories[rng.randrange(13)]
                phrases = json.dumps(words)
                phrases_out.extend((answer_id, campaign_id, index, w) for w in words)
            chunk.append((answer_id, response_id, campaign_id, index, true if skipped else false, value, mask,
                          answer_text, language, polarity, subjectivity, label, category, phrases,
                          "[]" if phrases else None, stamp))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _empty(target: c.Target) -> None:
    with target.db.reading() as s:
        rows = s.execute(text("SELECT count(*) FROM campaign")).scalar_one()
    if not rows:
        return
    if not c._scratch(target):
        raise SystemExit(f"refusing to empty campaign tables of {c.redacted(target.url)}; give a scratch database")
    with target.db.transaction() as s:
        for table in CAMPAIGN_TABLES:
            s.execute(text(f"DELETE FROM {table}"))


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--responses", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    if args.quick:
        args.responses, args.runs = 10_000, 3
    rng = random.Random(args.seed)

    with c.open_target(args.database_url) as target:
        _empty(target)
        with target.db.transaction() as s:
            seed_districts(s)
            districts = list(s.scalars(select(District.id)))
            campaign = campaigns.create(s, owner="bench", spec=campaigns.parse_spec(spec()), now=NOW)
            campaigns.open_campaign(s, campaign=campaign, now=NOW - timedelta(days=14))
            campaign_id = campaign.id
        t0 = time.perf_counter()
        c.bulk_load(target, "campaign_response", RESPONSE_COLUMNS,
                    responses(target, campaign_id, args.responses, districts, rng))
        phrases: list[tuple[Any, ...]] = []
        c.bulk_load(target, "campaign_answer", ANSWER_COLUMNS,
                    answers(target, campaign_id, args.responses, rng, phrases))
        c.bulk_load(target, "campaign_answer_phrase", PHRASE_COLUMNS,
                    (phrases[i:i + CHUNK] for i in range(0, len(phrases), CHUNK)))
        load_s = time.perf_counter() - t0
        with target.db.transaction() as s:
            found = s.get(Campaign, campaign_id)
            assert found is not None
            campaigns.close_campaign(s, campaign=found, now=NOW)

        full_s, public_s = [], []
        with target.db.reading() as s:
            answer_rows = s.execute(text("SELECT count(*) FROM campaign_answer")).scalar_one()
            assert answer_rows == args.responses * len(KINDS)
            closed = s.get(Campaign, campaign_id)
            assert closed is not None
            full = campaigns.results(s, campaign=closed)  # warm-up, and the checks below
            public = campaigns.public_results(s, campaign=closed, min_group_size=5)
            for _ in range(args.runs):
                full_s.append(c.timed(lambda: campaigns.results(s, campaign=closed)))
                public_s.append(c.timed(lambda: campaigns.public_results(s, campaign=closed, min_group_size=5)))

    assert full["responses"] == args.responses and public["responses"] == args.responses
    assert sum(o["count"] for o in full["questions"][0]["options"]) == args.responses
    assert full["questions"][8]["key_phrases"] and full["questions"][8]["answers"]
    full_med, public_med = c.median(full_s), c.median(public_s)
    table = [
        c.Row("bulk load responses + answers", (args.responses + answer_rows) / load_s, "rows/s",
              f"{load_s:.1f} s for {args.responses + answer_rows:,}"),
        c.Row("campaigns.results median", full_med * 1000, "ms", f"min {min(full_s) * 1000:.0f} ms", "<= 1000 ms",
              c.verdict(full_med <= 1.0)),
        c.Row("campaigns.public_results median", public_med * 1000, "ms", f"min {min(public_s) * 1000:.0f} ms",
              "<= 1000 ms", c.verdict(public_med <= 1.0)),
    ]
    notes = [f"{args.responses:,} responses x {len(KINDS)} questions = {answer_rows:,} answer rows "
             f"(3 single, 2 multiple, 3 scale, 2 free text; ~30% of texts skipped), 80% completed; "
             f"median of {args.runs} runs each after one warm-up"]
    c.print_report("campaign results", target, table, notes)


if __name__ == "__main__":
    main()
