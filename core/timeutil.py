"""Calendar rules in the city's time zone: ISO weeks and local dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import Invalid

ISO_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def iso_week_of(moment: datetime, zone: ZoneInfo) -> str:
    """Return the ISO week (YYYY-Www) of an aware moment in the city's zone."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year:04d}-W{week:02d}"


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def week_bounds(iso_week: str) -> tuple[date, date]:
    """Return the Monday and Sunday of an ISO week, or raise Invalid."""
    match = ISO_WEEK_RE.match(iso_week)
    if not match:
        raise Invalid("ISO week must look like 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise Invalid(f"{iso_week} does not exist") from exc
    return monday, monday + timedelta(days=6)


def week_of_date(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def previous_week(iso_week: str) -> str:
    monday, _ = week_bounds(iso_week)
    return week_of_date(monday - timedelta(days=7))
