"""Measure the NLP intake on tests/data/labelled_concerns.csv: label agreement, category accuracy, speed.

Usage: python bench/nlp_eval.py [--csv PATH] [--runs 1000] [--profile] [--tune-errors]

Reports the holdout split (the figures that count) and the tune split (flagged: the lexicons were tuned
on it, so its figures are optimistic). Only aggregate figures are printed for holdout; --tune-errors lists
the tune rows where ours disagrees, for tuning. Baselines:
  TextBlob alone: polarity > 0.05 positive, < -0.05 negative, else neutral.
  VADER: compound >= 0.05 positive, <= -0.05 negative, else neutral (English-only lexicon; its Spanish
  figures show what an English lexicon does on Spanish text).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from core.nlp import analyze

CSV = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled_concerns.csv"
TEXTBLOB_CUT = 0.05
VADER_CUT = 0.05


def three_way(score: float, cut: float, *, inclusive: bool) -> str:
    if score > cut or (inclusive and score == cut):
        return "positive"
    if score < -cut or (inclusive and score == -cut):
        return "negative"
    return "neutral"


def evaluate(rows: list[dict[str, str]], vader: SentimentIntensityAnalyzer) -> dict[str, dict[str, float]]:
    """Return {language: {measure: share}} with an "all" language."""
    hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        text, gold, lang = row["text"], row["label"], row["language"]
        feeling = int(row["feeling"]) if row["feeling"] else None
        results = {
            "textblob": three_way(TextBlob(text).sentiment.polarity, TEXTBLOB_CUT, inclusive=False) == gold,
            "vader": three_way(vader.polarity_scores(text)["compound"], VADER_CUT, inclusive=True) == gold,
        }
        ours = analyze(text, prior_language=lang, feeling=feeling)
        bare = analyze(text, prior_language=lang)
        results["ours"] = ours.label == gold
        results["ours_no_feeling"] = bare.label == gold
        results["category"] = ours.category == row["category"]
        results["language"] = ours.language == lang
        for key in (lang, "all"):
            hits[key]["n"] += 1
            for name, ok in results.items():
                hits[key][name] += int(ok)
    return {key: {name: (v / h["n"] if name != "n" else v) for name, v in h.items()} for key, h in hits.items()}


def print_table(title: str, figures: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    columns = ("textblob", "vader", "ours", "ours_no_feeling", "category", "language")
    print(f"{'language':<9}{'n':>5}" + "".join(f"{c:>17}" for c in columns))
    for key in ("en", "es", "all"):
        if key in figures:
            f = figures[key]
            print(f"{key:<9}{int(f['n']):>5}" + "".join(f"{f[c]:>17.1%}" for c in columns))


def time_analyze(rows: list[dict[str, str]], runs: int) -> float:
    texts = [(r["text"], r["language"], int(r["feeling"]) if r["feeling"] else None) for r in rows]
    for text, lang, feeling in texts:  # warm-up: lexicons, lingua model, tagger
        analyze(text, prior_language=lang, feeling=feeling)
    start = time.perf_counter()
    for i in range(runs):
        text, lang, feeling = texts[i % len(texts)]
        analyze(text, prior_language=lang, feeling=feeling)
    return (time.perf_counter() - start) / runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=CSV)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile the timed analyze() loop")
    parser.add_argument("--tune-errors", action="store_true", help="list tune rows where ours disagrees")
    args = parser.parse_args()

    with args.csv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    split = {name: [r for r in rows if r["split"] == name] for name in ("holdout", "tune")}
    vader = SentimentIntensityAnalyzer()

    print("Label agreement (share of rows where the label equals the hand label) and category accuracy")
    print(f"TextBlob alone: polarity > {TEXTBLOB_CUT} positive, < -{TEXTBLOB_CUT} negative. "
          f"VADER: compound >= {VADER_CUT} / <= -{VADER_CUT} (English-only lexicon).")
    print("ours: analyze() with the resident's feeling when the row has one; ours_no_feeling: without it.")
    print_table("HOLDOUT split (the figures that count)", evaluate(split["holdout"], vader))
    print_table("TUNE split (lexicons were tuned on these rows: optimistic)", evaluate(split["tune"], vader))

    mean = time_analyze(rows, args.runs)
    print(f"\nanalyze(): mean {mean * 1000:.3f} ms per text over {args.runs} calls ({1 / mean:,.0f} texts/s)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        time_analyze(rows, args.runs)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    if args.tune_errors:
        print("\nTUNE rows where ours disagrees (id, gold label/ours, gold category/ours, feeling, text):")
        for r in split["tune"]:
            a = analyze(r["text"], prior_language=r["language"], feeling=int(r["feeling"]) if r["feeling"] else None)
            if a.label != r["label"] or a.category != r["category"]:
                print(f"{r['id']} {r['label']}/{a.label} {r['category']}/{a.category} f={r['feeling']} | {r['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
