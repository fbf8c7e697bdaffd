"""Weekly summaries against hand-computed expectations on a fixed data set; stored, resolved, rendered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from core import apikeys, residents, summaries
from core.db import Database
from core.errors import NotFound
from core.models import Concern, ConcernKind, Role
from core.timeutil import week_of_date
from tests import builders

UTC_ZONE = ZoneInfo("UTC")
W47 = datetime(2026, 11, 16, 10, tzinfo=UTC)  # Monday of 2026-W47
W46 = W47 - timedelta(days=7)


def _concern(s, text: str, when: datetime, category: str, *, label: str = "negative", deployment=None,
             lat: float | None = None, lon: float | None = None, reply_hours: float | None = None,
             kind: ConcernKind = ConcernKind.CONCERN, flags: list[str] | None = None, resident=None) -> Concern:
    c = builders.concern(s, text, now=when, deployment=deployment, lat=lat, lon=lon, kind=kind, resident=resident)
    values: dict[str, object] = {"category": category, "label": label, "polarity": -0.5 if label == "negative" else 0.1}
    if reply_hours is not None:
        values["first_reply_at"] = when + timedelta(hours=reply_hours)
    if flags is not None:
        values["flags"] = flags
    s.execute(update(Concern).where(Concern.id == c.id).values(**values))
    return c


@pytest.fixture
def data(db: Database) -> dict[str, object]:
    out: dict[str, object] = {}
    with db.transaction() as s:
        districts = {d.slug: d for d in builders.districts(s)}
        cam = builders.deployment(s, code="CAM-104", technology="camera", lat=45.4907, lon=-73.6395)
        aq = builders.deployment(s, code="AQ-017", lat=45.4907, lon=-73.6395)
        north, east = districts["northgate"], districts["eastfield"]
        # Four weeks before W47: two concerns a week in northgate (mean 2), three a week in eastfield (mean 3).
        for week in range(1, 5):
            for i in range(2):
                _concern(s, f"old north {week} {i}", W47 - timedelta(days=7 * week), "noise",
                         lat=north.center_lat, lon=north.center_lon)
            for i in range(3):
                _concern(s, f"old east {week} {i}", W47 - timedelta(days=7 * week, hours=1), "noise",
                         lat=east.center_lat, lon=east.center_lon)
        # W47: northgate 6 (a rise: >= 5 and >= 2 x 2), eastfield 5 (not: below 2 x 3).
        texts = ["The camera films the playground every day", "This camera films children in the playground",
                 "Camera pointed at the playground, stop filming children", "Why is there a camera at all",
                 "Who pays for the air sensor", "The air sensor costs too much money"]
        privacy = []
        for i, text in enumerate(texts[:4]):
            privacy.append(_concern(s, text, W47 + timedelta(hours=i), "privacy", deployment=cam,
                                    lat=north.center_lat, lon=north.center_lon, reply_hours=[2, 4, 10, 30][i]))
        _concern(s, texts[4], W47 + timedelta(hours=5), "cost", deployment=aq, label="neutral",
                 lat=north.center_lat, lon=north.center_lon)
        _concern(s, texts[5], W47 + timedelta(hours=6), "cost", deployment=aq,
                 lat=north.center_lat, lon=north.center_lon)
        for i in range(5):
            _concern(s, f"Street lights buzz at night number {i}", W47 + timedelta(hours=7 + i), "noise",
                     lat=east.center_lat, lon=east.center_lon, label="neutral")
        _concern(s, "The camera films the playground you idiots", W47 + timedelta(hours=20), "privacy",
                 deployment=cam, flags=["abuse"])
        _concern(s, "Does the kiosk record my voice?", W47 + timedelta(hours=21), "other",
                 kind=ConcernKind.QUESTION)
        out["privacy"] = [c.reference for c in privacy]
    return out


def test_summary_matches_hand_computation(db: Database, data: dict[str, object]) -> None:
    with db.reading() as s:
        summary = summaries.get(s, iso_week="2026-W47", zone=UTC_ZONE)
    # W47 concerns: 4 privacy + 1 abusive privacy + 2 cost + 5 noise = 12, of which 6 negative (the five
    # privacy ones and one cost) at -0.5 and 6 neutral at 0.1; W46: 5 noise (2 north + 3 east).
    assert summary["totals"] == {"concerns": 12, "previous": 5, "change": 1.4, "questions": 1,
                                 "mean_polarity": -0.2, "share_negative": 0.5}
    assert [(c["category"], c["count"]) for c in summary["top_categories"]] == [
        ("noise", 5), ("privacy", 5), ("cost", 2)]  # a tie on 5: code order
    assert [(d["code"], d["count"]) for d in summary["deployments_most_concerns"]] == [("CAM-104", 5),
                                                                                       ("AQ-017", 2)]
    assert [(r["district"], r["count"], r["previous_mean"]) for r in summary["unusual_rises"]] == [
        ("northgate", 6, 2.0)]
    debt = summary["response_debt"]
    assert debt["median_hours_to_first_reply"] == 4.0  # lower median of 2, 4, 10, 30
    assert debt["share_answered"] == round(4 / 12, 4)
    quotes = [q["reference"] for q in summary["quotes"]["privacy"]]
    assert len(quotes) == 4 and quotes[-1] == data["privacy"][3]  # the outlier is least typical
    assert all("idiots" not in q["text"] for q in summary["quotes"]["privacy"])  # abuse is never quoted
    assert [q["text"] for q in summary["unanswered_questions"]] == ["Does the kiosk record my voice?"]


def test_stored_summary_is_kept_and_erased_texts_drop_out(db: Database, data: dict[str, object]) -> None:
    with db.transaction() as s:
        first = summaries.store(s, iso_week="2026-W47", zone=UTC_ZONE).computed_at
    with db.transaction() as s:
        again = summaries.store(s, iso_week="2026-W47", zone=UTC_ZONE)
        assert again.computed_at == first  # never summarised twice
        typical = again.content["quotes"]["privacy"][0]
        s.execute(update(Concern).where(Concern.reference == typical).values(text=""))
    with db.reading() as s:
        summary = summaries.get(s, iso_week="2026-W47", zone=UTC_ZONE)
    assert summary["stored"] is True
    assert typical not in [q["reference"] for q in summary["quotes"]["privacy"]]


def test_lower_median_and_the_last_completed_week_in_the_city_zone() -> None:
    assert summaries.lower_median([]) is None
    assert summaries.lower_median([5.0]) == 5.0
    assert summaries.last_completed_week(datetime(2026, 11, 23, 0, 30, tzinfo=UTC), ZoneInfo("America/Chicago")) \
        == "2026-W46"  # still Sunday evening in Chicago: the week before last is the last completed one


def test_summary_formats_over_http(client: TestClient, db: Database, data: dict[str, object]) -> None:
    with db.transaction() as s:
        _, staff = apikeys.create(s, role=Role.STAFF, principal="analyst")
        _, organizer = apikeys.create(s, role=Role.ORGANIZER, principal="consult")
    h = {"Authorization": f"Bearer {staff}"}
    as_json = client.get("/api/v1/summaries/weekly/2026-W47", headers=h)
    assert as_json.status_code == 200 and as_json.json()["totals"]["concerns"] == 12
    as_csv = client.get("/api/v1/summaries/weekly/2026-W47", headers={**h, "Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv") and "top_categories,1,noise" in as_csv.text
    assert client.get("/api/v1/summaries/weekly/2026-W47", params={"format": "csv"}, headers=h).text == as_csv.text
    markdown = client.get("/api/v1/summaries/weekly/2026-W47", params={"format": "markdown", "language": "es"},
                          headers=h)
    assert markdown.text.startswith("# Inquietudes de la semana 2026-W47")
    assert client.get("/api/v1/summaries/weekly/latest", headers=h).status_code == 200
    assert client.get("/api/v1/summaries/weekly/2020-W53", headers=h).status_code == 200  # 2020 has a W53
    for bad in ("2026-W54", "2025-W53", "2026-47", "latest-ish"):
        assert client.get(f"/api/v1/summaries/weekly/{bad}", headers=h).status_code == 422, bad
    assert client.get("/api/v1/summaries/weekly/2026-W47",
                      headers={"Authorization": f"Bearer {organizer}"}).status_code == 403


def test_a_week_that_has_not_started_is_404_and_the_current_one_is_marked_incomplete(
        client: TestClient, db: Database, data: dict[str, object]) -> None:
    with db.transaction() as s:
        _, staff = apikeys.create(s, role=Role.STAFF, principal="analyst")
    h = {"Authorization": f"Bearer {staff}"}
    future = client.get("/api/v1/summaries/weekly/2030-W01", headers=h)
    assert future.status_code == 404 and future.json() == {"detail": "week 2030-W01 has not started yet"}
    this_week = week_of_date(datetime.now(UTC).date())  # the app's zone is UTC in tests
    current = client.get(f"/api/v1/summaries/weekly/{this_week}", headers=h)
    assert current.status_code == 200 and current.json()["complete"] is False
    assert client.get("/api/v1/summaries/weekly/latest", headers=h).json()["complete"] is True
    with db.reading() as s:
        # The boundary is the city's Monday 00:00: on W47's Sunday evening W48 has not started, W47 is not over.
        sunday = datetime(2026, 11, 22, 22, tzinfo=UTC)
        with pytest.raises(NotFound, match="week 2026-W48 has not started yet"):
            summaries.get(s, iso_week="2026-W48", zone=UTC_ZONE, now=sunday)
        assert summaries.get(s, iso_week="2026-W47", zone=UTC_ZONE, now=sunday)["complete"] is False
        madrid_monday = sunday + timedelta(hours=1, minutes=30)  # 00:30 on Monday in Madrid, still Sunday in UTC
        assert summaries.get(s, iso_week="2026-W48", zone=ZoneInfo("Europe/Madrid"),
                             now=madrid_monday)["complete"] is False
        assert summaries.get(s, iso_week="2026-W47", zone=UTC_ZONE, now=sunday + timedelta(hours=2))["complete"]


def test_erase_removes_quotes_from_summaries(db: Database, data: dict[str, object]) -> None:
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=555)
        mine = _concern(s, "The camera films the playground and children every single day", W47 + timedelta(hours=3),
                        "privacy", resident=who).reference
        summaries.store(s, iso_week="2026-W47", zone=UTC_ZONE)
    with db.transaction() as s:
        residents.erase(s, resident=builders.resident(s, telegram_user_id=555))
    with db.reading() as s:
        summary = summaries.get(s, iso_week="2026-W47", zone=UTC_ZONE)
    assert mine not in [q["reference"] for q in summary["quotes"]["privacy"]]


def test_large_categories_are_quoted_from_an_even_deterministic_sample(db: Database, data: dict[str, object],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summaries, "QUOTE_SAMPLE", 2)
    with db.reading() as s:
        first = summaries.typical_references(s, iso_week="2026-W47", category="privacy")
        again = summaries.typical_references(s, iso_week="2026-W47", category="privacy")
    privacy = data["privacy"]
    assert first == again and len(first) == 2
    assert set(first) == {privacy[0], privacy[2]}  # every second of the four, in id order
