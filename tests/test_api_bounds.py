"""Dates, weeks, spans and cursor ids outside what the API accepts get a 4xx with a reason, never a 500.

The accepted calendar is core.timeutil's (years 1970 to 2100); each refused case sits next to a valid edge.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import apikeys
from core.db import Database
from core.models import Role
from core.pagination import MAX_ID
from core.stats import MAX_TREND_WEEKS
from tests import builders
from tests.builders import auth
from tests.test_campaigns import spec

RANGE = "must be between 1970-01-01 and 2100-12-31"
HUGE_ID_CURSOR = "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMF0"  # [100000000000000000000]
WEEK = date(2026, 11, 9)  # a Monday; the concerns below fall in its week


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        builders.districts(s)
        builders.demo_register(s)
        for hour in range(5):  # enough for a public (suppressed) cell too
            builders.concern(s, f"Who sees the footage of camera number {hour}?",
                             now=datetime.combine(WEEK, datetime.min.time(), UTC) + timedelta(hours=10 + hour))
        return {role.value: apikeys.create(s, role=role, principal=f"{role.value} desk")[1] for role in Role}


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def refused(response: Any, name: str, reason: str = RANGE, status: int = 422) -> None:
    """A 4xx whose reason names the parameter (FastAPI's list for validation, else {"detail": reason})."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if isinstance(detail, list):
        assert any(e["loc"][-1] == name and f"{name} {reason}" in e["msg"] for e in detail), detail
    else:
        assert f"{name} {reason}" in detail, detail


# ---- statistics ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, "organizer", "staff"])
@pytest.mark.parametrize(("name", "value"), [("to", "9999-12-31"), ("to", "9999-12-27"), ("from", "0001-01-01"),
                                             ("to", "2101-01-01"), ("from", "1969-12-31")])
def test_stats_dates_outside_the_range_are_422(client: TestClient, keys: dict[str, str], role: str | None,
                                               name: str, value: str) -> None:
    headers = auth(keys[role]) if role else {}
    refused(client.get("/api/v1/stats", params={"group_by": "category", name: value}, headers=headers), name)
    refused(client.get("/api/v1/stats/trends", params={name: value}, headers=headers), name)


@pytest.mark.parametrize("value", ["2026-11-01T00:00:00+05:00", "2026-10-31T19:00:00Z", "2026-11-01T00:00:00",
                                   "2026-11-01 00:00", "20261101", "2026-W44-7", "2026-11-31", "2026-1-1",
                                   "１９７０-01-01", " 2026-11-01", "yesterday", ""])
@pytest.mark.parametrize("path", ["/api/v1/concerns", "/api/v1/concerns.csv", "/api/v1/stats", "/api/v1/stats/trends"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_from_and_to_take_only_a_plain_date(client: TestClient, keys: dict[str, str], name: str, path: str,
                                            value: str) -> None:
    params = {name: value, **({"group_by": "category"} if path == "/api/v1/stats" else {})}
    response = client.get(path, params=params, headers=auth(keys["staff"]))
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", name] and error["msg"] == f"Value error, {name}: a date as YYYY-MM-DD"


@pytest.mark.parametrize("role", [None, "staff"])
def test_stats_at_the_edges_of_the_range_answer(client: TestClient, keys: dict[str, str], role: str | None) -> None:
    headers = auth(keys[role]) if role else {}
    params = {"group_by": "category,week", "from": "1970-01-01", "to": "2100-12-31"}
    body = client.get("/api/v1/stats", params=params, headers=headers)
    assert body.status_code == 200, body.text
    assert body.json()["groups"][0]["count"] == 5
    trends = client.get("/api/v1/stats/trends", params={"from": "2100-01-01", "to": "2100-12-31"}, headers=headers)
    assert trends.status_code == 200 and trends.json() == {"series": [], "suppressed": 0}


@pytest.mark.parametrize("role", [None, "staff"])
def test_trends_span_is_capped(client: TestClient, keys: dict[str, str], role: str | None) -> None:
    headers = auth(keys[role]) if role else {}
    # The reviewer's case: half a million weeks per series, unauthenticated.
    refused(client.get("/api/v1/stats/trends", params={"from": "0001-01-01", "to": "9999-12-26"}, headers=headers),
            "from")
    widest = client.get("/api/v1/stats/trends", params={"from": "1970-01-01", "to": "2100-12-31"}, headers=headers)
    assert widest.status_code == 422 and f"at most {MAX_TREND_WEEKS} weeks" in widest.json()["detail"]
    # Exactly the cap ends with the concerns' week; one week more is refused.
    first = WEEK - timedelta(weeks=MAX_TREND_WEEKS - 1)
    last = WEEK + timedelta(days=6)
    ok = client.get("/api/v1/stats/trends", params={"from": first.isoformat(), "to": last.isoformat()},
                    headers=headers)
    assert ok.status_code == 200, ok.text
    (series,) = ok.json()["series"]
    assert len(series["points"]) == MAX_TREND_WEEKS and series["points"][-1] == {
        "week": "2026-W46", "count": 5, "change": None, "mean_polarity": series["points"][-1]["mean_polarity"],
        "share_negative": series["points"][-1]["share_negative"]}
    one_more = client.get("/api/v1/stats/trends", headers=headers,
                          params={"from": (first - timedelta(days=1)).isoformat(), "to": last.isoformat()})
    assert one_more.status_code == 422 and f"spans {MAX_TREND_WEEKS + 1}" in one_more.json()["detail"]
    # Open-ended: the period runs to the last week with concerns, and is capped the same way.
    open_ended = client.get("/api/v1/stats/trends", params={"from": "2000-01-03"}, headers=headers)
    assert open_ended.status_code == 422 and f"at most {MAX_TREND_WEEKS} weeks" in open_ended.json()["detail"]


def test_concern_filters_are_bounded(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["staff"])
    refused(client.get("/api/v1/concerns", params={"from": "0001-01-01"}, headers=h), "from")
    refused(client.get("/api/v1/concerns.csv", params={"to": "9999-12-31"}, headers=h), "to")
    edge = client.get("/api/v1/concerns", params={"from": "1970-01-01", "to": "2100-12-31"}, headers=h)
    assert edge.status_code == 200 and len(edge.json()["items"]) == 5


# ---- Open311 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value"), [("end_date", "0001-01-01T00:00:00Z"),
                                             ("start_date", "0001-01-01T00:00:00+05:00"),
                                             ("end_date", "9999-12-31T23:00:00-05:00"),
                                             ("start_date", "0001-01-01"), ("end_date", "2101-01-01T00:00:00Z")])
def test_open311_dates_outside_the_range_are_its_400(client: TestClient, keys: dict[str, str], name: str,
                                                      value: str) -> None:
    response = client.get("/open311/v2/requests.json", params={name: value})
    assert response.status_code == 400, response.text
    assert response.json() == [{"code": 400, "description": f"{name} {RANGE}"}]
    as_xml = client.get("/open311/v2/requests.xml", params={name: value, "api_key": keys["staff"]})
    assert as_xml.status_code == 400
    root = ET.fromstring(as_xml.content)
    assert root.tag == "errors" and root[0].findtext("description") == f"{name} {RANGE}"


def test_open311_dates_at_the_edges_answer(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/open311/v2/requests.json",
                          params={"start_date": "1970-01-01T00:00:00+05:00", "end_date": "2100-12-31T23:59:59-12:00"})
    assert response.status_code == 200 and len(response.json()) == 5
    only_end = client.get("/open311/v2/requests.json", params={"end_date": "1970-01-01"})
    assert only_end.status_code == 200 and only_end.json() == []


# ---- weekly summaries ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("week", ["0001-W01", "0001-W02", "0001-W03", "0001-W04", "9999-W52", "1969-W52",
                                  "2101-W01"])
def test_summary_weeks_outside_the_range_are_422(client: TestClient, keys: dict[str, str], week: str) -> None:
    response = client.get(f"/api/v1/summaries/weekly/{week}", headers=auth(keys["staff"]))
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": "ISO week must be a week of the years 1970 to 2100"}


def test_summary_weeks_at_the_edges_answer(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/api/v1/summaries/weekly/1970-W01", headers=auth(keys["staff"]))
    assert response.status_code == 200, response.text
    assert response.json()["stored"] is False and response.json()["complete"] is True
    # The last week of the range is a real week, just not one that has started.
    response = client.get("/api/v1/summaries/weekly/2100-W52", headers=auth(keys["staff"]))
    assert response.status_code == 404 and response.json() == {"detail": "week 2100-W52 has not started yet"}


# ---- campaigns ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value"), [("closes_at", "9999-12-31T23:00:00-05:00"),
                                             ("opens_at", "0001-01-01T00:00:00+05:00"),
                                             ("closes_at", "2101-01-01T00:00:00Z")])
def test_campaign_times_outside_the_range_are_422(client: TestClient, keys: dict[str, str], name: str,
                                                  value: str) -> None:
    h = auth(keys["organizer"])
    refused(client.post("/api/v1/campaigns", json=spec(**{name: value}), headers=h), name)
    draft = client.post("/api/v1/campaigns", json=spec(), headers=h)
    assert draft.status_code == 201
    refused(client.patch(f"/api/v1/campaigns/{draft.json()['id']}", json={name: value}, headers=h), name)


def test_campaign_times_at_the_edges_are_kept(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["organizer"])
    response = client.post("/api/v1/campaigns", json=spec(opens_at="2100-12-30T00:00:00+05:00",
                                                          closes_at="2100-12-31T23:00:00-05:00"), headers=h)
    assert response.status_code == 201, response.text
    stored = client.get(f"/api/v1/campaigns/{response.json()['id']}", headers=h).json()
    assert datetime.fromisoformat(stored["closes_at"]) == datetime(2101, 1, 1, 4, tzinfo=UTC)
    assert datetime.fromisoformat(stored["opens_at"]) == datetime(2100, 12, 29, 19, tzinfo=UTC)


# ---- the register -------------------------------------------------------------------------------------------

def test_pilot_dates_outside_the_range_are_422(client: TestClient, keys: dict[str, str]) -> None:
    record = {"code": "LID-900", "name": "LiDAR counter", "technology": "lidar", "status": "pilot",
              "lat": 45.4907, "lon": -73.6395, "pilot_start": "2026-11-01", "pilot_end": "9999-12-31"}
    h = auth(keys["staff"])
    refused(client.post("/api/v1/deployments", json=record, headers=h), "pilot_end")
    response = client.post("/api/v1/deployments", json={**record, "pilot_end": "2100-12-31"}, headers=h)
    assert response.status_code == 201, response.text
    assert response.json()["pilot_end"] == "2100-12-31"


# ---- cursors ------------------------------------------------------------------------------------------------

# Ids are INTEGER columns: 32 bits on PostgreSQL, so anything past 2**31 - 1 would fail in the database.
BAD_IDS = [10**20, 2**63, 2**63 - 1, 2**31, 0, -1, True, 1.5, "7"]


@pytest.mark.parametrize(("path", "role"), [("/api/v1/campaigns", "organizer"), ("/api/v1/audit", "admin")])
def test_id_cursors_outside_the_id_range_are_invalid(client: TestClient, keys: dict[str, str], path: str,
                                                     role: str) -> None:
    h = auth(keys[role])
    for raw in [HUGE_ID_CURSOR, *(cursor(v) for v in BAD_IDS)]:
        response = client.get(path, params={"cursor": raw}, headers=h)
        assert response.status_code == 422 and response.json() == {"detail": "invalid cursor"}, raw
    edge = client.get(path, params={"cursor": cursor(MAX_ID)}, headers=h)
    assert edge.status_code == 200, edge.text


def test_concern_cursors_outside_the_ranges_are_invalid(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["staff"])
    bad = [cursor("2026-11-10T09:00:00+00:00", 10**20), cursor("2026-11-10T09:00:00+00:00", 2**63),
           cursor("2026-11-10T09:00:00+00:00", 2**31), cursor("2026-11-10T09:00:00+00:00", 0),
           cursor("2026-11-10T09:00:00+00:00", True), cursor("0001-01-01T00:00:00+05:00", 1),
           cursor("9999-12-31T23:00:00-05:00", 1), cursor("2026-11-10T09:00:00", 1)]
    for raw in bad:
        for sort in ("newest", "oldest"):
            response = client.get("/api/v1/concerns", params={"cursor": raw, "sort": sort}, headers=h)
            assert response.status_code == 422 and response.json() == {"detail": "invalid cursor"}, raw
    edge = client.get("/api/v1/concerns", params={"cursor": cursor("2100-12-31T23:00:00-05:00", MAX_ID)}, headers=h)
    assert edge.status_code == 200 and len(edge.json()["items"]) == 5


def test_key_ids_past_the_id_range_are_422(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["admin"])
    response = client.delete(f"/api/v1/apikeys/{2**40}", headers=h)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "key_id"]
    assert client.delete(f"/api/v1/apikeys/{MAX_ID}", headers=h).status_code == 404
