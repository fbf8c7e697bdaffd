"""Aggregates against hand-computed figures; the public variant never shows or leaks a small group."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from core import stats
from core.db import Database
from core.errors import Invalid
from core.models import Concern
from tests import builders

MONDAY_W46 = datetime(2026, 11, 9, 10, tzinfo=UTC)
MONDAY_W47 = datetime(2026, 11, 16, 10, tzinfo=UTC)


def _add(db: Database, rows: list[tuple[datetime, str, float | None, str | None, int | None]]) -> None:
    with db.transaction() as s:
        for i, (when, category, polarity, label, feeling) in enumerate(rows):
            c = builders.concern(s, f"Concern {i} about the sensor", now=when)
            # Fix the analysed figures so the expectation can be computed by hand.
            s.execute(update(Concern).where(Concern.id == c.id).values(
                category=category, polarity=polarity, label=label, feeling=feeling))


def test_grouped_figures_match_hand_computation(db: Database) -> None:
    _add(db, [
        (MONDAY_W46, "privacy", -0.5, "negative", 1),
        (MONDAY_W46, "privacy", 0.25, "neutral", None),
        (MONDAY_W46, "privacy", None, "negative", 2),
        (MONDAY_W46, "noise", 0.1, "positive", 5),
        (MONDAY_W47, "privacy", -0.2, "negative", None),
    ])
    with db.reading() as s:
        result = stats.aggregate(s, group_by=("category", "week"))
    got = [g.as_dict() for g in result.groups]
    assert got == [
        {"key": {"category": "privacy", "week": "2026-W46"}, "count": 3, "mean_polarity": -0.125,
         "share_negative": 0.6667, "mean_feeling": 1.5},
        {"key": {"category": "noise", "week": "2026-W46"}, "count": 1, "mean_polarity": 0.1,
         "share_negative": 0.0, "mean_feeling": 5.0},
        {"key": {"category": "privacy", "week": "2026-W47"}, "count": 1, "mean_polarity": -0.2,
         "share_negative": 1.0, "mean_feeling": None},
    ]
    with db.reading() as s:
        only_w47 = stats.aggregate(s, group_by=("category",), start=date(2026, 11, 16), end=date(2026, 11, 22))
    assert [(g.key, g.count) for g in only_w47.groups] == [({"category": "privacy"}, 1)]


def test_public_figures_suppress_small_cells_and_cannot_be_differenced(db: Database) -> None:
    rows = [(MONDAY_W46, "privacy", -0.1, "negative", None)] * 6 + [(MONDAY_W47, "privacy", -0.1, "negative", None)] * 2
    rows += [(MONDAY_W47, "noise", 0.0, "neutral", None)] * 3
    _add(db, rows)
    with db.reading() as s:
        both = stats.aggregate_public(s, group_by=("category",), min_group_size=5, start=date(2026, 11, 9),
                                      end=date(2026, 11, 22))
        first = stats.aggregate_public(s, group_by=("category",), min_group_size=5, start=date(2026, 11, 9),
                                       end=date(2026, 11, 15))
    # W47's two privacy concerns and three noise concerns are below 5: they never count, so the two-week
    # answer minus the one-week answer reveals nothing.
    assert [(g.key, g.count) for g in both.groups] == [({"category": "privacy"}, 6)]
    assert [(g.key, g.count) for g in first.groups] == [({"category": "privacy"}, 6)]
    assert both.suppressed == 2
    assert all(g.count >= 5 for g in both.groups)


def test_public_periods_are_whole_iso_weeks() -> None:
    assert stats.whole_weeks(date(2026, 11, 11), date(2026, 11, 18)) == (date(2026, 11, 9), date(2026, 11, 22))


@pytest.mark.parametrize("raw", ["", "colour", "week,week", "category,,bogus"])
def test_bad_group_by_is_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        stats.parse_group_by(raw)


def test_period_out_of_order_is_refused(db: Database) -> None:
    with db.reading() as s, pytest.raises(Invalid):
        stats.aggregate(s, group_by=("category",), start=date(2026, 2, 1), end=date(2026, 1, 1))
