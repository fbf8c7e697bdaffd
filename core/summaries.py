"""Weekly concern summaries: what people worried about, where, how sentiment moved, and response debt.

A summary is computed from figures stored at intake (category, label, polarity, key phrases, week) and is the
same on SQLite and PostgreSQL: figures rounded to 4 decimals, ties by count descending then key ascending by
code point, medians the lower median computed in Python. Quotes are kept by reference and resolved when read,
so an erased or expired text drops out of a stored summary too.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import Concern, ConcernKind, Deployment, District, Label, WeeklySummary, utcnow
from core.timeutil import previous_week, week_bounds, week_of_date

TOP = 5
QUOTES_PER_CATEGORY = 5
QUOTE_SAMPLE = 2000
MIN_QUOTES = 3
KEY_PHRASES = 10
UNANSWERED = 20
RISE_MIN_COUNT = 5
RISE_FACTOR = 2.0
RISE_WEEKS = 4
MIN_FOR_NEGATIVE_RANKING = 3
_TOKEN = re.compile(r"[^\W\d_]{3,}")


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else _round((now - before) / before)


def _ranked(counts: dict[str, int], limit: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def lower_median(values: list[float]) -> float | None:
    """The lower median (the same on every database: computed here, not in SQL)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def last_completed_week(now: datetime, zone: ZoneInfo) -> str:
    """The ISO week before the one `now` falls in, in the city's zone."""
    return previous_week(week_of_date(now.astimezone(zone).date()))


def _week_end(iso_week: str, zone: ZoneInfo) -> datetime:
    _, sunday = week_bounds(iso_week)
    return datetime.combine(sunday + timedelta(days=1), time(0), zone)


def _counts(session: Session, column: Any, weeks: list[str], *joins: Any) -> dict[tuple[str, Any], int]:
    query = select(Concern.iso_week, column, func.count()).select_from(Concern)
    for target, condition in joins:
        query = query.join(target, condition)
    query = query.where(Concern.iso_week.in_(weeks), Concern.kind == ConcernKind.CONCERN.value)
    return {(w, k): int(n) for w, k, n in session.execute(query.group_by(Concern.iso_week, column))}


def compute(session: Session, *, iso_week: str, zone: ZoneInfo, now: datetime | None = None) -> dict[str, Any]:
    """Compute the summary of one ISO week from stored figures (quotes as references)."""
    now = now or utcnow()
    monday, sunday = week_bounds(iso_week)
    previous = previous_week(iso_week)
    history = [previous]
    for _ in range(RISE_WEEKS - 1):
        history.append(previous_week(history[-1]))
    concern_only = Concern.kind == ConcernKind.CONCERN.value
    in_week = Concern.iso_week == iso_week

    totals = dict(session.execute(
        select(Concern.iso_week, func.count()).where(Concern.iso_week.in_([iso_week, previous]), concern_only)
        .group_by(Concern.iso_week)).all())
    total, total_before = int(totals.get(iso_week, 0)), int(totals.get(previous, 0))
    week_figures = session.execute(select(func.avg(Concern.polarity), func.count(Concern.label),
                                          func.sum(_is_negative())).where(in_week, concern_only)).one()

    by_category = _counts(session, Concern.category, [iso_week, previous])
    categories = {k: n for (w, k), n in by_category.items() if w == iso_week}
    labelled = {c: (int(neg or 0), int(n)) for c, neg, n in session.execute(
        select(Concern.category, func.sum(_is_negative()), func.count(Concern.label))
        .where(in_week, concern_only).group_by(Concern.category))}
    top_categories = [
        {"category": c, "count": n, "previous": by_category.get((previous, c), 0),
         "change": _change(n, by_category.get((previous, c), 0)),
         "share_negative": _round(labelled[c][0] / labelled[c][1]) if labelled.get(c, (0, 0))[1] else None}
        for c, n in _ranked(categories, TOP)
    ]

    # Grouped by id without joins (a join over every concern of two weeks costs more than the counting),
    # then the few ids found are named.
    by_deployment: dict[tuple[str, str], int] = {}
    shares: dict[tuple[str, str], tuple[int, int]] = {}
    rows = session.execute(
        select(Concern.iso_week, Concern.deployment_id, func.count(), func.sum(_is_negative()),
               func.count(Concern.label))
        .where(Concern.iso_week.in_([iso_week, previous]), concern_only, Concern.deployment_id.is_not(None))
        .group_by(Concern.iso_week, Concern.deployment_id)).all()
    named = {i: (code, name) for i, code, name in session.execute(
        select(Deployment.id, Deployment.code, Deployment.name)
        .where(Deployment.id.in_({r[1] for r in rows})))} if rows else {}
    for w, deployment_id, n, neg, labelled_n in rows:
        code = named[deployment_id][0]
        by_deployment[(w, code)] = int(n)
        shares[(w, code)] = (int(neg or 0), int(labelled_n))
    names = dict(named.values())
    this_week = {k: n for (w, k), n in by_deployment.items() if w == iso_week}
    most_concerns = [{"code": code, "name": names.get(code), "count": n,
                      "previous": by_deployment.get((previous, code), 0),
                      "change": _change(n, by_deployment.get((previous, code), 0))}
                     for code, n in _ranked(this_week, TOP)]
    negative_share = {code: neg / n for (w, code), (neg, n) in shares.items()
                      if w == iso_week and n >= MIN_FOR_NEGATIVE_RANKING}
    most_negative = []
    for code, share in sorted(negative_share.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]:
        before = shares.get((previous, code))
        before_share = before[0] / before[1] if before and before[1] else None
        most_negative.append({
            "code": code, "name": names.get(code), "count": this_week.get(code, 0),
            "share_negative": _round(share), "previous_share_negative": _round(before_share),
            "change": None if before_share is None else _round(share - before_share)})

    district_rows = session.execute(
        select(Concern.iso_week, Concern.district_id, func.count())
        .where(Concern.iso_week.in_([iso_week, *history]), concern_only, Concern.district_id.is_not(None))
        .group_by(Concern.iso_week, Concern.district_id)).all()
    slugs = dict(session.execute(select(District.id, District.slug)
                                 .where(District.id.in_({r[1] for r in district_rows}))).all()) \
        if district_rows else {}
    by_district = {(w, slugs[d]): int(n) for w, d, n in district_rows if d is not None}
    rises = []
    for (w, slug), n in sorted(by_district.items(), key=lambda kv: (-kv[1], kv[0][1])):
        if w != iso_week:
            continue
        mean_before = sum(by_district.get((h, slug), 0) for h in history) / RISE_WEEKS
        if n >= RISE_MIN_COUNT and n >= RISE_FACTOR * mean_before:
            rises.append({"district": slug, "count": n, "previous_mean": _round(mean_before),
                          "ratio": None if mean_before == 0 else _round(n / mean_before)})

    top_phrases = [{"phrase": p, "count": n} for p, n in _ranked(_phrase_counts(session, iso_week), KEY_PHRASES)]

    quotes = {c: typical_references(session, iso_week=iso_week, category=c) for c, _ in _ranked(categories, TOP)}
    is_question = and_(in_week, Concern.kind == ConcernKind.QUESTION.value)
    question_count = int(session.scalar(select(func.count()).select_from(Concern).where(is_question)) or 0)
    questions = list(session.scalars(select(Concern.reference).where(is_question)
                                     .order_by(Concern.created_at, Concern.id).limit(UNANSWERED)))

    end = _week_end(iso_week, zone)
    open_at_end = and_(Concern.created_at < end, or_(Concern.closed_at.is_(None), Concern.closed_at >= end))
    closed_in_week = and_(Concern.closed_at >= end - timedelta(days=7), Concern.closed_at < end)
    # Both ages of the response debt and the week's satisfaction answers in one pass over the table.
    over7, over30, asked, satisfied = session.execute(select(
        func.sum(case((and_(open_at_end, concern_only, Concern.created_at < end - timedelta(days=7)), 1), else_=0)),
        func.sum(case((and_(open_at_end, concern_only, Concern.created_at < end - timedelta(days=30)), 1),
                      else_=0)),
        func.sum(case((and_(closed_in_week, Concern.satisfied.is_not(None)), 1), else_=0)),
        func.sum(case((and_(closed_in_week, Concern.satisfied.is_(True)), 1), else_=0)),
    ).where(or_(and_(open_at_end, concern_only), closed_in_week))).one()
    debt: dict[str, Any] = {"open_over_7_days": int(over7 or 0), "open_over_30_days": int(over30 or 0)}
    replied = [float(h) for (h,) in session.execute(
        select(_hours_between(session, Concern.created_at, Concern.first_reply_at))
        .where(in_week, concern_only, Concern.first_reply_at.is_not(None)))]
    debt["median_hours_to_first_reply"] = _round(lower_median(replied))
    debt["share_answered"] = _round(len(replied) / total) if total else None


    polarity, n_labelled, n_negative = week_figures
    return {
        "iso_week": iso_week,
        "period": {"from": monday.isoformat(), "to": sunday.isoformat(), "timezone": zone.key},
        "totals": {"concerns": total, "previous": total_before, "change": _change(total, total_before),
                   "questions": question_count,
                   "mean_polarity": _round(polarity),
                   "share_negative": _round(int(n_negative or 0) / int(n_labelled)) if n_labelled else None},
        "top_categories": top_categories,
        "deployments_most_concerns": most_concerns,
        "deployments_most_negative": most_negative,
        "unusual_rises": rises,
        "key_phrases": top_phrases,
        "quotes": quotes,
        "unanswered_questions": questions,
        "response_debt": debt,
        "satisfaction": {"answered": int(asked or 0), "satisfied": int(satisfied or 0),
                         "share_satisfied": _round(int(satisfied or 0) / int(asked)) if asked else None},
        "computed_at": now.isoformat(),
    }


def _phrase_counts(session: Session, iso_week: str) -> dict[str, int]:
    """How many of the week's concerns name each key phrase, counted in SQL (each concern once per phrase)."""
    kind = ConcernKind.CONCERN.value
    if session.get_bind().dialect.name == "sqlite":
        sql = ("SELECT p.value, count(DISTINCT c.id) FROM concern AS c, json_each(c.key_phrases) AS p "
               "WHERE c.iso_week = :week AND c.kind = :kind GROUP BY p.value")
    else:
        sql = ("SELECT p.value, count(DISTINCT c.id) FROM concern AS c, "
               "json_array_elements_text(c.key_phrases) AS p(value) "
               "WHERE c.iso_week = :week AND c.kind = :kind GROUP BY p.value")
    return {str(p): int(n) for p, n in session.execute(text(sql), {"week": iso_week, "kind": kind})}


def _hours_between(session: Session, start: Any, end: Any) -> Any:
    """Hours from start to end, computed by the database (no per-row datetime objects in Python)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


def _is_negative() -> Any:
    return case((Concern.label == Label.NEGATIVE.value, 1), else_=0)


def typical_references(session: Session, *, iso_week: str, category: str) -> list[str]:
    """The category's most typical texts of the week: the TF-IDF medoid first, then the next most central.

    With L2-normalised TF-IDF vectors, a text's summed cosine similarity to all others is its dot product with
    the sum of all vectors (minus one), so the medoid is found exactly in linear time. Abuse-flagged and emptied
    texts are never quoted.
    """
    # Ids from the (iso_week, category) index alone; the other conditions are checked on the sampled rows.
    ids = list(session.scalars(select(Concern.id).where(
        Concern.iso_week == iso_week, Concern.category == category).order_by(Concern.id)))
    if len(ids) > QUOTE_SAMPLE:
        # A deterministic, evenly spaced sample (by id) keeps a large week's quotes typical at bounded cost;
        # only the sampled texts are read.
        step = len(ids) / QUOTE_SAMPLE
        ids = [ids[int(i * step)] for i in range(QUOTE_SAMPLE)]
    rows = []
    for start in range(0, len(ids), 500):
        rows += [(ref, text) for _, ref, text, flags in sorted(session.execute(
            select(Concern.id, Concern.reference, Concern.text, Concern.flags)
            .where(Concern.id.in_(ids[start:start + 500]), Concern.kind == ConcernKind.CONCERN.value,
                   Concern.text != ""))) if "abuse" not in (flags or [])]
    if not rows:
        return []
    documents = [Counter(_TOKEN.findall(text.lower())) for _, text in rows]
    frequency: Counter[str] = Counter()
    for doc in documents:
        frequency.update(doc.keys())
    n = len(documents)
    idf = {term: math.log((1 + n) / (1 + df)) + 1 for term, df in frequency.items()}
    vectors = []
    total: dict[str, float] = defaultdict(float)
    for doc in documents:
        weights = {t: c * idf[t] for t, c in doc.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vector = {t: w / norm for t, w in weights.items()}
        vectors.append(vector)
        for t, w in vector.items():
            total[t] += w
    centrality = [sum(w * total[t] for t, w in vector.items()) for vector in vectors]
    order = sorted(range(n), key=lambda i: (-round(centrality[i], 9), rows[i][0]))
    return [rows[i][0] for i in order[:QUOTES_PER_CATEGORY]]


def resolve(session: Session, summary: dict[str, Any]) -> dict[str, Any]:
    """Replace quote and question references by their current texts; emptied texts drop out."""
    references = [r for refs in summary["quotes"].values() for r in refs] + list(summary["unanswered_questions"])
    found = {ref: (text, language, label, code) for ref, text, language, label, code in session.execute(
        select(Concern.reference, Concern.text, Concern.language, Concern.label, Deployment.code)
        .outerjoin(Deployment, Concern.deployment_id == Deployment.id)
        .where(Concern.reference.in_(references)))} if references else {}

    def quote(ref: str) -> dict[str, Any] | None:
        text, language, label, code = found.get(ref, ("", None, None, None))
        if not text:
            return None
        return {"reference": ref, "text": text, "language": language, "label": label, "deployment": code}

    resolved = dict(summary)
    resolved["quotes"] = {c: [q for r in refs if (q := quote(r))] for c, refs in summary["quotes"].items()}
    resolved["unanswered_questions"] = [q for r in summary["unanswered_questions"] if (q := quote(r))]
    return resolved


def get(session: Session, *, iso_week: str, zone: ZoneInfo, now: datetime | None = None) -> dict[str, Any]:
    """The stored summary of the week if there is one, else computed now; quotes resolved either way.

    A week that has not started yet is NotFound; the current week is served so far, with `complete` false.
    """
    monday, _ = week_bounds(iso_week)  # validates
    now = now or utcnow()
    this_monday, _ = week_bounds(week_of_date(now.astimezone(zone).date()))
    if monday > this_monday:
        raise NotFound(f"week {iso_week} has not started yet")
    complete = monday < this_monday
    stored = session.scalar(select(WeeklySummary).where(WeeklySummary.iso_week == iso_week))
    if stored is not None:
        return {**resolve(session, stored.content), "stored": True, "complete": complete}
    return {**resolve(session, compute(session, iso_week=iso_week, zone=zone, now=now)), "stored": False,
            "complete": complete}


def store(session: Session, *, iso_week: str, zone: ZoneInfo, now: datetime | None = None) -> WeeklySummary:
    """Compute and keep a week's summary once; a second call returns the stored one unchanged."""
    stored = session.scalar(select(WeeklySummary).where(WeeklySummary.iso_week == iso_week))
    if stored is not None:
        return stored
    now = now or utcnow()
    summary = WeeklySummary(iso_week=iso_week, content=compute(session, iso_week=iso_week, zone=zone, now=now),
                            computed_at=now)
    session.add(summary)
    session.flush()
    return summary
