"""A weekly summary as Markdown (words from prompts/) and as CSV rows (section, rank, key, figures)."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.i18n import t

CSV_COLUMNS = ("section", "rank", "key", "name", "count", "previous", "change", "share_negative", "text")


def _pct(value: float | None, language: str) -> str:
    return t(language, "summary-na") if value is None else f"{value * 100:.1f} %"


def _change(value: float | None, language: str) -> str:
    if value is None:
        return t(language, "summary-change-none")
    return t(language, "summary-change", change=f"{value * 100:+.1f} %")


def _escape(text: str) -> str:
    # Residents' words are quoted, never interpreted as Markdown.
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text.replace("\n", " "))


def to_markdown(summary: dict[str, Any], *, language: str) -> str:
    """Render a resolved summary as a readable Markdown document."""
    lines: list[str] = []
    totals = summary["totals"]

    def add(*text: str) -> None:
        lines.extend(text)

    def section(key: str, items: list[str]) -> None:
        add("", f"## {t(language, key)}", "")
        add(*(items or [f"- {t(language, 'summary-none')}"]))

    period = {"from": summary["period"]["from"], "to": summary["period"]["to"]}
    add(f"# {t(language, 'summary-title', week=summary['iso_week'], **period)}",
        "", t(language, "summary-totals", count=totals["concerns"], change=_change(totals["change"], language),
              questions=totals["questions"], negative=_pct(totals["share_negative"], language),
              polarity=t(language, "summary-na") if totals["mean_polarity"] is None
              else f"{totals['mean_polarity']:+.2f}"))
    section("summary-top-categories", [
        "- " + t(language, "summary-category-line", category=t(language, f"category-{c['category']}"), count=c["count"],
                 change=_change(c["change"], language), negative=_pct(c["share_negative"], language))
        for c in summary["top_categories"]])
    section("summary-deployments", [
        "- " + t(language, "summary-deployment-line", code=d["code"], name=_escape(d["name"] or ""), count=d["count"],
                 change=_change(d["change"], language)) for d in summary["deployments_most_concerns"]])
    section("summary-negative", [
        "- " + t(language, "summary-negative-line", code=d["code"], name=_escape(d["name"] or ""),
                 negative=_pct(d["share_negative"], language), change=_change(d["change"], language))
        for d in summary["deployments_most_negative"]])
    section("summary-rises", [
        "- " + t(language, "summary-rise-line", district=r["district"], count=r["count"],
                 ratio=t(language, "summary-na") if r["ratio"] is None else f"{r['ratio']:.1f}")
        for r in summary["unusual_rises"]])
    section("summary-key-phrases", [f"- {_escape(p['phrase'])} ({p['count']})" for p in summary["key_phrases"]])
    quotes: list[str] = []
    for category, items in summary["quotes"].items():
        if items:
            quotes.append(f"### {t(language, f'category-{category}')}")
            quotes.extend(f"> {_escape(q['text'])} — {q['reference']}" for q in items)
            quotes.append("")
    section("summary-quotes", quotes)
    section("summary-questions",
            [f"- {_escape(q['text'])} — {q['reference']}" for q in summary["unanswered_questions"]])
    debt = summary["response_debt"]
    section("summary-debt", [t(language, "summary-debt-line", over7=debt["open_over_7_days"],
                                over30=debt["open_over_30_days"],
                                median=t(language, "summary-na") if debt["median_hours_to_first_reply"] is None
                                else f"{debt['median_hours_to_first_reply']:.1f}",
                                answered=_pct(debt["share_answered"], language))])
    sat = summary["satisfaction"]
    section("summary-satisfaction", [t(language, "summary-satisfaction-line", satisfied=sat["satisfied"],
                                        answered=sat["answered"], share=_pct(sat["share_satisfied"], language))])
    return "\n".join(lines).rstrip() + "\n"


def to_csv(summary: dict[str, Any]) -> str:
    """Render a resolved summary as one CSV table: a row per item of each section."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    totals = summary["totals"]
    writer.writerow({"section": "totals", "rank": 0, "key": summary["iso_week"], "count": totals["concerns"],
                     "previous": totals["previous"], "change": totals["change"],
                     "share_negative": totals["share_negative"]})
    for i, c in enumerate(summary["top_categories"], 1):
        writer.writerow({"section": "top_categories", "rank": i, "key": c["category"], **c})
    for name in ("deployments_most_concerns", "deployments_most_negative"):
        for i, d in enumerate(summary[name], 1):
            writer.writerow({"section": name, "rank": i, "key": d["code"], **d})
    for i, r in enumerate(summary["unusual_rises"], 1):
        writer.writerow({"section": "unusual_rises", "rank": i, "key": r["district"], "count": r["count"],
                         "change": r["ratio"]})
    for i, p in enumerate(summary["key_phrases"], 1):
        writer.writerow({"section": "key_phrases", "rank": i, "key": p["phrase"], "count": p["count"]})
    for category, items in summary["quotes"].items():
        for i, q in enumerate(items, 1):
            writer.writerow({"section": f"quotes:{category}", "rank": i, "key": q["reference"],
                             "text": _safe(q["text"])})
    for i, q in enumerate(summary["unanswered_questions"], 1):
        writer.writerow({"section": "unanswered_questions", "rank": i, "key": q["reference"], "text": _safe(q["text"])})
    for key, value in summary["response_debt"].items():
        writer.writerow({"section": "response_debt", "key": key, "count": value})
    for key, value in summary["satisfaction"].items():
        writer.writerow({"section": "satisfaction", "key": key, "count": value})
    return buffer.getvalue()


def _safe(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
