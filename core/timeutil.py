"""Calendar rules in the city's time zone: ISO weeks and local dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from core.errors import Invalid

D = TypeVar("D", bound=date)

ISO_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")

# The calendar the system accepts from outside (API and Open311 parameters and bodies, ISO weeks, register
# records, list cursors): years 1970 to 2100. A date-time counts by its own calendar date, before any change
# of offset. Inside this range every computation the system does on a date (widening to whole weeks, a week
# before, 90 days back, converting to UTC) stays far from Python's and the databases' limits.
MIN_YEAR = 1970
MAX_YEAR = 2100
FIRST_DAY = date(MIN_YEAR, 1, 1)
LAST_DAY = date(MAX_YEAR, 12, 31)


def iso_week_of(moment: datetime, zone: ZoneInfo) -> str:
    """Return the ISO week (YYYY-Www) of an aware moment in the city's zone."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year:04d}-W{week:02d}"


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def range_reason(name: str) -> str:
    """Why a date outside the accepted range is refused, naming the parameter."""
    return f"{name} must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"


def in_range(value: date) -> bool:
    """Whether a date, or a date-time by its own calendar date, lies in the accepted range."""
    day = value.date() if isinstance(value, datetime) else value
    return FIRST_DAY <= day <= LAST_DAY


def check_in_range(value: D, name: str) -> D:
    """Return a date or date-time inside the accepted range, or raise Invalid naming the parameter."""
    if not in_range(value):
        raise Invalid(range_reason(name))
    return value


def _monday(iso_week: str) -> date:
    match = ISO_WEEK_RE.match(iso_week)
    if not match:
        raise Invalid("ISO week must look like 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise Invalid(f"{iso_week} does not exist") from exc


def week_bounds(iso_week: str) -> tuple[date, date]:
    """Return the Monday and Sunday of an ISO week of the accepted years, or raise Invalid."""
    monday = _monday(iso_week)
    if not MIN_YEAR <= monday.isocalendar().year <= MAX_YEAR:
        raise Invalid(f"ISO week must be a week of the years {MIN_YEAR} to {MAX_YEAR}")
    return monday, monday + timedelta(days=6)


def week_of_date(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def previous_week(iso_week: str) -> str:
    """The ISO week before; not bounded to the accepted years, so a summary of 1970-W01 can look back."""
    try:
        return week_of_date(_monday(iso_week) - timedelta(days=7))
    except OverflowError as exc:
        raise Invalid(f"{iso_week} has no week before it") from exc
