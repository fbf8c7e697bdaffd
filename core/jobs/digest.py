"""The weekly digest: store last week's summary once and queue it for each staff chat once, rendered at send time.

Each staff chat gets three outbox rows, sent in order: a short text (headline numbers, top concerns with one
quote each, response debt), a chart (PNG: concerns per category this week vs. last, mean sentiment over eight
weeks) and the full summary as a Markdown document. The text and the document refer to the stored summary by
week and resolve its quotes when sent, so an erased or expired text never reaches a staff chat.
"""

from __future__ import annotations

import html
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import summaries
from core.errors import Invalid
from core.i18n import t
from core.jobs.base import JobContext, Outcome, notice_exists
from core.models import Concern, ConcernKind, Notice, Outbox, WeeklySummary
from core.summary_formats import to_markdown
from core.timeutil import previous_week, week_bounds, week_of_date

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 8
SENTIMENT_WEEKS = 8
TOP_IN_TEXT = 3
QUOTE_CHARS = 200
NOTICE_KIND = "weekly_digest"
PARTS = ("digest_text", "digest_chart", "digest_document")


def due_week(now: datetime, zone: ZoneInfo) -> str:
    """The week whose digest is due at `now`: last week from Monday 08:00 local time on, the one before until then."""
    local = now.astimezone(zone).replace(tzinfo=None) - timedelta(days=DIGEST_WEEKDAY, hours=DIGEST_HOUR)
    return previous_week(week_of_date(local.date()))


def _recipient(chat_id: int) -> str:
    return f"chat:{chat_id}"


def pending(session: Session, *, now: datetime, context: JobContext) -> bool:
    """Whether the due week's summary is missing or a staff chat has not been sent its digest."""
    iso_week = due_week(now, context.zone)
    if session.scalar(select(WeeklySummary.id).where(WeeklySummary.iso_week == iso_week)) is None:
        return True
    return any(not notice_exists(session, kind=NOTICE_KIND, subject=iso_week, recipient=_recipient(chat))
               for chat in context.staff_chat_ids)


def weekly_digest(session: Session, *, now: datetime, context: JobContext, week: str | None = None) -> Outcome:
    """Store the due (or given, completed) week's summary once and queue its digest for every staff chat once."""
    iso_week = week or due_week(now, context.zone)
    monday, _ = week_bounds(iso_week)
    if monday >= week_bounds(week_of_date(now.astimezone(context.zone).date()))[0]:
        raise Invalid(f"{iso_week} is not over yet; only a completed week is summarised")
    outcome = Outcome(counts={"summary_stored": 0, "chats": 0})
    existed = session.scalar(select(WeeklySummary.id).where(WeeklySummary.iso_week == iso_week)) is not None
    summaries.store(session, iso_week=iso_week, zone=context.zone, now=now)
    outcome.counts["summary_stored"] = 0 if existed else 1
    outcome.note = iso_week
    series: dict[str, Any] | None = None
    for chat in context.staff_chat_ids:
        recipient = _recipient(chat)
        if notice_exists(session, kind=NOTICE_KIND, subject=iso_week, recipient=recipient):
            continue
        if series is None:
            series = chart_series(session, iso_week=iso_week)
        session.add(Notice(kind=NOTICE_KIND, subject=iso_week, recipient=recipient, created_at=now))
        for part in PARTS:
            payload: dict[str, Any] = {"iso_week": iso_week}
            if part == "digest_chart":
                payload["series"] = series
            outcome.messages.append(Outbox(staff_chat_id=chat, kind=part, payload=payload, created_at=now,
                                           not_before=now, dedupe_key=f"digest:{iso_week}:{chat}:{part}"))
        outcome.counts["chats"] += 1
    session.flush()  # a second process inserting the same notice fails here, before anything is queued
    return outcome


def chart_series(session: Session, *, iso_week: str) -> dict[str, Any]:
    """The chart's figures: concerns per category this week and last, mean polarity of the last eight weeks."""
    previous = previous_week(iso_week)
    weeks = [iso_week]
    while len(weeks) < SENTIMENT_WEEKS:
        weeks.append(previous_week(weeks[-1]))
    weeks.reverse()
    concern_only = Concern.kind == ConcernKind.CONCERN.value
    counts: dict[str, list[int]] = {}
    for week, category, n in session.execute(
            select(Concern.iso_week, Concern.category, func.count())
            .where(Concern.iso_week.in_([iso_week, previous]), concern_only)
            .group_by(Concern.iso_week, Concern.category)):
        counts.setdefault(category, [0, 0])[0 if week == iso_week else 1] = int(n)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    # Weeks already summarised (every earlier digest stored one) give their mean from the summary: no scan.
    means: dict[str, Any] = {w: content["totals"]["mean_polarity"] for w, content in session.execute(
        select(WeeklySummary.iso_week, WeeklySummary.content).where(WeeklySummary.iso_week.in_(weeks)))}
    missing = [w for w in weeks if w not in means]
    if missing:
        means.update((w, None if m is None else round(float(m), 4)) for w, m in session.execute(
            select(Concern.iso_week, func.avg(Concern.polarity)).where(Concern.iso_week.in_(missing), concern_only)
            .group_by(Concern.iso_week)))
    return {
        "categories": [{"category": c, "this_week": n[0], "last_week": n[1]} for c, n in ordered],
        "sentiment": [{"week": w, "mean_polarity": means.get(w)} for w in weeks],
    }


# Rendering at send time --------------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape(str(value), quote=False)


def _change(value: float | None, language: str) -> str:
    if value is None:
        return t(language, "summary-change-none")
    return t(language, "summary-change", change=f"{value * 100:+.1f} %")


def _pct(value: float | None, language: str) -> str:
    return t(language, "summary-na") if value is None else f"{value * 100:.1f} %"


def _stored(session: Session, iso_week: str) -> dict[str, Any]:
    stored = session.scalar(select(WeeklySummary).where(WeeklySummary.iso_week == iso_week))
    if stored is None:
        raise LookupError(f"no stored summary for {iso_week}")
    return summaries.resolve(session, stored.content)


def _cut(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_text(session: Session, payload: dict[str, Any], language: str) -> str:
    """The short digest as Telegram HTML: headline numbers, top concerns with one quote each, response debt."""
    summary = _stored(session, str(payload["iso_week"]))
    totals, debt = summary["totals"], summary["response_debt"]
    lines = [
        "<b>" + _e(t(language, "digest-title", week=summary["iso_week"], start=summary["period"]["from"],
                     end=summary["period"]["to"])) + "</b>",
        _e(t(language, "digest-totals", count=totals["concerns"], change=_change(totals["change"], language),
             questions=totals["questions"], negative=_pct(totals["share_negative"], language))),
        "",
        "<b>" + _e(t(language, "digest-top")) + "</b>",
    ]
    top = summary["top_categories"][:TOP_IN_TEXT]
    if not top:
        lines.append(_e(t(language, "summary-none")))
    for item in top:
        lines.append("• " + _e(t(language, "digest-top-line", category=t(language, f"category-{item['category']}"),
                                 count=item["count"], change=_change(item["change"], language))))
        quotes = summary["quotes"].get(item["category"]) or []
        if quotes:
            lines.append(f"  <i>“{_e(_cut(quotes[0]['text']))}”</i> — {_e(quotes[0]['reference'])}")
    median = debt["median_hours_to_first_reply"]
    lines += ["", _e(t(language, "digest-debt", over7=debt["open_over_7_days"], over30=debt["open_over_30_days"],
                       median=t(language, "summary-na") if median is None else f"{median:.1f}",
                       answered=_pct(debt["share_answered"], language))),
              _e(t(language, "digest-attached"))]
    return "\n".join(lines)


def render_document(session: Session, payload: dict[str, Any], language: str) -> tuple[str, bytes]:
    """The full summary as a Markdown file: its name and bytes."""
    iso_week = str(payload["iso_week"])
    markdown = to_markdown(_stored(session, iso_week), language=language)
    return f"civicpulse-summary-{iso_week}.md", markdown.encode("utf-8")


def render_chart(payload: dict[str, Any], language: str) -> bytes:
    """The digest's chart as PNG bytes (matplotlib's Agg canvas: no display, no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series, iso_week = payload["series"], str(payload["iso_week"])
    figure = Figure(figsize=(9, 7.5), dpi=100)
    FigureCanvasAgg(figure)
    bars, line = figure.subplots(2, 1, height_ratios=[3, 2])
    categories = series["categories"]
    labels = [t(language, f"category-{c['category']}") for c in categories]
    positions = list(range(len(categories)))
    width = 0.4
    bars.barh([p - width / 2 for p in positions], [c["this_week"] for c in categories], height=width,
              label=t(language, "digest-chart-this-week", week=iso_week), color="#1f6feb")
    bars.barh([p + width / 2 for p in positions], [c["last_week"] for c in categories], height=width,
              label=t(language, "digest-chart-last-week", week=previous_week(iso_week)), color="#9ab7e0")
    bars.set_yticks(positions, labels)
    bars.invert_yaxis()
    bars.set_title(t(language, "digest-chart-categories", week=iso_week))
    bars.legend(loc="lower right")
    if not categories:
        bars.text(0.5, 0.5, t(language, "summary-none"), ha="center", va="center", transform=bars.transAxes)
    weeks = [p["week"] for p in series["sentiment"]]
    values = [p["mean_polarity"] for p in series["sentiment"]]
    line.plot(range(len(weeks)), [float("nan") if v is None else v for v in values], marker="o", color="#cf222e")
    line.axhline(0, color="#888888", linewidth=0.8)
    line.set_xticks(range(len(weeks)), [w.split("-")[1] for w in weeks])
    line.set_ylim(-1, 1)
    line.set_title(t(language, "digest-chart-sentiment", weeks=len(weeks)))
    # Fixed margins (room for the longest category label) rather than a layout engine: half the drawing time.
    figure.subplots_adjust(left=0.3, right=0.97, top=0.95, bottom=0.05, hspace=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
