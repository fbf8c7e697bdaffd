"""Aggregates against hand-computed figures; the public variant never shows or leaks a small group."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from core import apikeys, stats
from core.db import Database
from core.errors import Invalid
from core.models import Concern, Role
from tests import builders
from tests.builders import auth

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


def test_public_week_totals_minus_a_breakdown_reveal_no_small_group(db: Database, client: TestClient) -> None:
    # W46: 6 about privacy, 2 about noise. The week's total (8) is public; showing privacy's 6 would give
    # noise's 2 away, so privacy is hidden with it.
    _add(db, [(MONDAY_W46, "privacy", -0.1, "negative", None)] * 6 + [(MONDAY_W46, "noise", 0.0, "neutral", 3)] * 2)
    weekly = client.get("/api/v1/stats", params={"group_by": "week"}).json()
    assert [(g["key"], g["count"]) for g in weekly["groups"]] == [({"week": "2026-W46"}, 8)]
    by_category = client.get("/api/v1/stats", params={"group_by": "category,week"}).json()
    assert by_category == {"groups": [], "suppressed": 2}
    staff = client.get("/api/v1/stats", params={"group_by": "category,week"}, headers=_staff(db)).json()
    assert sorted(g["count"] for g in staff["groups"]) == [2, 6]


def test_public_breakdowns_of_random_weeks_never_leave_one_small_remainder(db: Database, client: TestClient
                                                                          ) -> None:
    rng = random.Random(46)
    categories = ["privacy", "noise", "cost", "safety", "equity"]
    labels = ["negative", "neutral", "positive"]
    rows = []
    for week in range(6):
        monday = MONDAY_W46 - timedelta(weeks=week)
        for _ in range(rng.randint(3, 30)):
            rows.append((monday, rng.choices(categories, weights=[8, 4, 2, 1, 1])[0], 0.0,
                         rng.choices(labels, weights=[6, 3, 1])[0], None))
    _add(db, rows)
    staff_key = _staff(db)
    totals = {g["key"]["week"]: g["count"]
              for g in client.get("/api/v1/stats", params={"group_by": "week"}).json()["groups"]}
    assert len(totals) >= 4 and all(n >= 5 for n in totals.values())
    for dim in ("category", "label"):
        params = {"group_by": f"{dim},week"}
        public = client.get("/api/v1/stats", params=params).json()["groups"]
        full = client.get("/api/v1/stats", params=params, headers=staff_key).json()["groups"]
        shown = {(g["key"][dim], g["key"]["week"]): g["count"] for g in public}
        weeks = {g["key"]["week"] for g in full}
        for week in weeks:
            hidden = [g["count"] for g in full if g["key"]["week"] == week and (g["key"][dim], week) not in shown]
            shown_in_week = [n for (_, w), n in shown.items() if w == week]
            if week not in totals:  # a week below 5 in all shows nothing, whichever way it is cut
                assert not shown_in_week
                continue
            assert not hidden or (len(hidden) >= 2 and sum(hidden) >= 5), (dim, week, hidden)
            # The public week total minus the shown cells is the hidden cells' sum, never one small cell.
            assert totals[week] - sum(shown_in_week) == sum(hidden)
        # Without week, each group is the sum of its shown weekly cells.
        overall = client.get("/api/v1/stats", params={"group_by": dim}).json()["groups"]
        for g in overall:
            assert g["count"] == sum(n for (k, _), n in shown.items() if k == g["key"][dim])


def test_public_figures_take_one_dimension_at_a_time(db: Database, client: TestClient) -> None:
    _add(db, [(MONDAY_W46, "privacy", -0.1, "negative", None)] * 6)
    refused = client.get("/api/v1/stats", params={"group_by": "category,label"})
    assert refused.status_code == 422 and "staff" in refused.text
    assert client.get("/api/v1/stats/trends", params={"group_by": "category,label"}).status_code == 422
    staff = client.get("/api/v1/stats", params={"group_by": "category,label"}, headers=_staff(db))
    assert staff.status_code == 200 and staff.json()["groups"][0]["count"] == 6
    week_first = client.get("/api/v1/stats", params={"group_by": "week,category"}).json()
    assert [g["key"] for g in week_first["groups"]] == [{"week": "2026-W46", "category": "privacy"}]


def test_public_figures_do_not_cross_a_group_with_the_label(db: Database, client: TestClient) -> None:
    # 6 privacy concerns, 4 of them negative: share_negative times the count would publish the 4.
    _add(db, [(MONDAY_W46, "privacy", -0.4, "negative", 2)] * 4 + [(MONDAY_W46, "privacy", 0.2, "neutral", 4)] * 2)
    params = {"group_by": "category,week"}
    public = client.get("/api/v1/stats", params=params).json()["groups"]
    assert public == [{"key": {"category": "privacy", "week": "2026-W46"}, "count": 6, "mean_polarity": -0.2,
                       "share_negative": None, "mean_feeling": 2.6667}]
    trend = client.get("/api/v1/stats/trends", params={"group_by": "category"}).json()["series"][0]["points"]
    assert [p["share_negative"] for p in trend] == [None]
    staff = client.get("/api/v1/stats", params=params, headers=_staff(db)).json()["groups"]
    assert staff[0]["share_negative"] == 0.6667


def test_public_trends_tell_a_hidden_week_from_an_empty_one(db: Database, client: TestClient) -> None:
    # Privacy: 6 in W45, 2 in W46 (hidden, with noise's 6 hidden beside it), none in W47, 5 in W48.
    w45, w48 = MONDAY_W46 - timedelta(weeks=1), MONDAY_W47 + timedelta(weeks=1)
    _add(db, [(w45, "privacy", 0.0, "neutral", None)] * 6 + [(MONDAY_W46, "privacy", 0.0, "neutral", None)] * 2
         + [(MONDAY_W46, "noise", 0.0, "neutral", None)] * 6 + [(w48, "privacy", 0.0, "neutral", None)] * 5)
    series = client.get("/api/v1/stats/trends", params={"group_by": "category"}).json()["series"]
    privacy = next(s["points"] for s in series if s["key"] == {"category": "privacy"})
    assert [(p["week"], p["count"], p["change"]) for p in privacy] == [
        ("2026-W45", 6, None), ("2026-W46", None, None), ("2026-W47", 0, None), ("2026-W48", 5, None)]
    full = client.get("/api/v1/stats/trends", params={"group_by": "category"}, headers=_staff(db)).json()["series"]
    privacy_full = next(s["points"] for s in full if s["key"] == {"category": "privacy"})
    assert [p["count"] for p in privacy_full] == [6, 2, 0, 5]
    assert privacy_full[1]["change"] == round((2 - 6) / 6, 4)


def _staff(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        key = apikeys.create(s, role=Role.STAFF, principal="stats desk")[1]
    return auth(key)


def test_public_periods_are_whole_iso_weeks() -> None:
    assert stats.whole_weeks(date(2026, 11, 11), date(2026, 11, 18)) == (date(2026, 11, 9), date(2026, 11, 22))


@pytest.mark.parametrize("raw", ["", "colour", "week,week", "category,,bogus"])
def test_bad_group_by_is_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        stats.parse_group_by(raw)


def test_period_out_of_order_is_refused(db: Database) -> None:
    with db.reading() as s, pytest.raises(Invalid):
        stats.aggregate(s, group_by=("category",), start=date(2026, 2, 1), end=date(2026, 1, 1))
