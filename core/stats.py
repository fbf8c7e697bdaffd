"""Aggregates over concerns in SQL: counts, mean polarity, share negative, mean feeling."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session

from core.errors import Invalid
from core.models import Concern, Deployment, District, Label
from core.suppression import hide
from core.timeutil import check_in_range, week_bounds, week_of_date

DIMENSIONS = ("category", "deployment", "district", "week", "language", "status", "label")
DECIMALS = 4
MAX_TREND_WEEKS = 520  # ten years of points per series


def _dimension_column(name: str) -> Any:
    return {
        "category": Concern.category,
        "deployment": Deployment.code,
        "district": District.slug,
        "week": Concern.iso_week,
        "language": Concern.language,
        "status": Concern.status,
        "label": Concern.label,
    }[name]


def parse_group_by(raw: str | list[str]) -> tuple[str, ...]:
    """Validate a group_by list (comma-separated or a list), keeping its order."""
    names = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else [p.strip() for p in raw]
    names = [n for n in names if n]
    if not names:
        raise Invalid(f"group_by needs at least one of {', '.join(DIMENSIONS)}")
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise Invalid(f"unknown group_by {', '.join(unknown)}; use {', '.join(DIMENSIONS)}")
    if len(set(names)) != len(names):
        raise Invalid("group_by lists a dimension twice")
    return tuple(names)


@dataclass(frozen=True)
class Group:
    key: dict[str, str | None]
    count: int
    mean_polarity: float | None
    share_negative: float | None
    mean_feeling: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "count": self.count, "mean_polarity": self.mean_polarity,
                "share_negative": self.share_negative, "mean_feeling": self.mean_feeling}


@dataclass
class StatsResult:
    groups: list[Group]
    suppressed: int = 0
    period: tuple[date | None, date | None] = (None, None)
    extra: dict[str, Any] = field(default_factory=dict)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


def _sort_key(group: Group, dims: tuple[str, ...]) -> tuple[Any, ...]:
    # Count descending, then the key ascending by code point (binary collation); missing values last.
    return (-group.count, *(((1, "") if group.key[d] is None else (0, group.key[d])) for d in dims))


def _base_query(columns: list[Any], dims: tuple[str, ...], start: date | None, end: date | None) -> Any:
    query = select(*columns).select_from(Concern)
    if "deployment" in dims:
        query = query.outerjoin(Deployment, Concern.deployment_id == Deployment.id)
    if "district" in dims:
        query = query.outerjoin(District, Concern.district_id == District.id)
    if start is not None:
        query = query.where(Concern.created_on >= start)
    if end is not None:
        query = query.where(Concern.created_on <= end)
    return query


def _check_period(start: date | None, end: date | None) -> None:
    if start is not None:
        check_in_range(start, "from")
    if end is not None:
        check_in_range(end, "to")
    if start is not None and end is not None and end < start:
        raise Invalid("'to' is before 'from'")


def _check_span(first: date, last: date, weeks: int) -> None:
    if weeks > MAX_TREND_WEEKS:
        raise Invalid(f"trends cover at most {MAX_TREND_WEEKS} weeks; {first.isoformat()} to {last.isoformat()} "
                      f"spans {weeks}: give a shorter period with 'from' and 'to'")


def _week_count(first: date, last: date) -> int:
    """How many ISO weeks the days first..last touch."""
    monday = first - timedelta(days=first.weekday())
    return 0 if last < monday else (last - monday).days // 7 + 1


def aggregate(session: Session, *, group_by: tuple[str, ...], start: date | None = None, end: date | None = None
              ) -> StatsResult:
    """Group concerns by the given dimensions over local dates [start, end], one GROUP BY in SQL."""
    _check_period(start, end)
    keys = [_dimension_column(d).label(d) for d in group_by]
    negative = func.sum(case((Concern.label == Label.NEGATIVE.value, 1), else_=0))
    query = _base_query(
        [*keys, func.count().label("n"), func.avg(Concern.polarity).label("mp"),
         negative.label("neg"), func.count(Concern.label).label("labelled"),
         func.avg(Concern.feeling.cast(Integer) * 1.0).label("mf")],
        group_by, start, end,
    ).group_by(*keys)
    groups = [
        Group(key={d: row[i] for i, d in enumerate(group_by)}, count=int(row.n), mean_polarity=_round(row.mp),
              share_negative=_round(row.neg / row.labelled) if row.labelled else None, mean_feeling=_round(row.mf))
        for row in session.execute(query)
    ]
    groups.sort(key=lambda g: _sort_key(g, group_by))
    return StatsResult(groups, 0, (start, end))


def whole_weeks(start: date | None, end: date | None) -> tuple[date | None, date | None]:
    """Widen a period to whole ISO weeks (Monday to Sunday)."""
    if start is not None:
        start = start - timedelta(days=start.weekday())
    if end is not None:
        end = end + timedelta(days=6 - end.weekday())
    return start, end


def aggregate_public(session: Session, *, group_by: tuple[str, ...], min_group_size: int,
                     start: date | None = None, end: date | None = None) -> StatsResult:
    """The public variant: whole ISO weeks, one dimension (besides week) at a time, built from weekly cells.

    Each week's cells of the one dimension partition that week's concerns. A cell below min_group_size is
    hidden, and then the smallest shown cells of the same week until the hidden ones are at least two and hold
    at least min_group_size together (complementary suppression), so the week's total (itself hidden below
    min_group_size) minus the shown cells reveals no small cell. Every answer is a sum of shown weekly cells,
    so neither an answer nor the difference of two answers (over other periods, or grouped by week alone)
    reveals a hidden one. Combinations of dimensions are for staff: two partitions crossed would let a
    reader rebuild a hidden cell from the margins.
    `share_negative` is left out (None) for the same reason: times the count, it is the number of negative
    concerns in the group, a cell of the dimension crossed with the label. Mean polarity and mean feeling stay.
    `extra["hidden"]` holds the (group key..., week) of every hidden weekly cell, so trends can tell a hidden
    week from an empty one.
    """
    others = tuple(d for d in group_by if d != "week")
    if len(others) > 1:
        raise Invalid(f"public figures group by one dimension besides week at a time (got {', '.join(others)}); "
                      "combinations need a staff key")
    _check_period(start, end)
    start, end = whole_weeks(start, end)
    dims = (*others, "week")
    keys = [_dimension_column(d).label(d) for d in dims]
    query = _base_query(
        [*keys, func.count().label("n"), func.sum(Concern.polarity).label("sp"),
         func.count(Concern.polarity).label("np"), func.sum(Concern.feeling).label("sf"),
         func.count(Concern.feeling).label("nf")],
        dims, start, end,
    ).group_by(*keys)
    weeks: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(query):
        weeks[row.week].append(row)
    totals: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0, 0, 0])
    hidden: set[tuple[Any, ...]] = set()
    for cells in weeks.values():
        shown = hide([int(row.n) for row in cells], min_group_size)
        for row, count in zip(cells, shown, strict=True):
            if count is None:
                hidden.add(tuple(row._mapping[d] for d in dims))
                continue
            key = tuple(row._mapping[d] for d in group_by)
            acc = totals[key]
            for i, value in enumerate((row.n, row.sp or 0.0, row.np, row.sf or 0, row.nf)):
                acc[i] += float(value)
    groups = [
        Group(key=dict(zip(group_by, key, strict=True)), count=int(acc[0]),
              mean_polarity=_round(acc[1] / acc[2]) if acc[2] else None,
              share_negative=None, mean_feeling=_round(acc[3] / acc[4]) if acc[4] else None)
        for key, acc in totals.items()
    ]
    groups.sort(key=lambda g: _sort_key(g, group_by))
    return StatsResult(groups, len(hidden), (start, end),
                       {"weeks": [week_of_date(start) if start else None, week_of_date(end) if end else None],
                        "hidden": hidden})


@dataclass(frozen=True)
class TrendPoint:
    week: str
    count: int | None  # None: hidden in the public figures (a small group), unlike 0 (no concerns)
    change: float | None  # relative to the previous week; None when that week had none or was hidden
    mean_polarity: float | None
    share_negative: float | None


@dataclass(frozen=True)
class Series:
    key: dict[str, str | None]
    points: list[TrendPoint]


def trends(session: Session, *, group_by: tuple[str, ...] = (), start: date | None = None, end: date | None = None,
           min_group_size: int | None = None) -> tuple[list[Series], int]:
    """Weekly series (optionally per group) with week-over-week change; public when min_group_size is given.

    Weeks without concerns inside the period count as zero, so a change is always against the week before.
    """
    if "week" in group_by:
        raise Invalid("trends are weekly already; group by other dimensions")
    _check_period(start, end)
    if start is not None and end is not None:
        _check_span(start, end, _week_count(start, end))
    dims = (*group_by, "week")
    if min_group_size is None:
        result = aggregate(session, group_by=dims, start=start, end=end)
    else:
        result = aggregate_public(session, group_by=dims, min_group_size=min_group_size, start=start, end=end)
    hidden: set[tuple[Any, ...]] = result.extra.get("hidden", set())
    cells: dict[tuple[str | None, ...], dict[str, Group]] = defaultdict(dict)
    for g in result.groups:
        week = g.key["week"]
        if week is not None:
            cells[tuple(g.key[d] for d in group_by)][week] = g
    if not cells:
        return [], result.suppressed
    all_weeks = sorted({w for by_week in cells.values() for w in by_week})
    first = start if start is not None else week_bounds(all_weeks[0])[0]
    last = end if end is not None else week_bounds(all_weeks[-1])[0]
    _check_span(first, last, _week_count(first, last))
    weeks = _weeks_between(first, last)
    series = []
    for key in sorted(cells, key=lambda k: tuple((1, "") if v is None else (0, v) for v in k)):
        by_week = cells[key]
        points: list[TrendPoint] = []
        previous = None
        for week in weeks:
            cell = by_week.get(week)
            count: int | None = cell.count if cell else (None if (*key, week) in hidden else 0)
            change = None if not previous or count is None else _round((count - previous) / previous)
            points.append(TrendPoint(week, count, change, cell.mean_polarity if cell else None,
                                     cell.share_negative if cell else None))
            previous = count
        series.append(Series(dict(zip(group_by, key, strict=True)), points))
    return series, result.suppressed


def _weeks_between(first: date, last: date) -> list[str]:
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(week_of_date(monday))
        monday += timedelta(days=7)
    return weeks
