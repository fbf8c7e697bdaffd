"""Staff writes to the register over HTTP: versioned, audited, and told once to each follower."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core import apikeys, residents
from core.db import Database
from core.models import AuditEvent, Follow, Outbox, Role
from tests import builders

NEW = {"code": "LID-900", "name": "LiDAR counter, Maple Avenue", "technology": "lidar", "status": "pilot",
       "lat": 45.4907, "lon": -73.6395, "purposes": ["mobility"], "retention": 30, "personal_data": False,
       "pilot_start": "2026-11-01", "pilot_end": "2027-02-01"}


@pytest.fixture
def staff(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        builders.districts(s)
        _, key = apikeys.create(s, role=Role.STAFF, principal="register desk")
        _, organizer = apikeys.create(s, role=Role.ORGANIZER, principal="consultations")
    return {"staff": f"Bearer {key}", "organizer": f"Bearer {organizer}"}


def _follower(db: Database, telegram_id: int, *, deployment_code: str | None = None,
              district_of: str | None = None, notifications: bool = True) -> int:
    from core.deployments import get_by_code

    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=telegram_id, chat_id=telegram_id + 1)
        residents.give_consent(s, resident=who)
        who.notifications = notifications
        if deployment_code:
            s.add(Follow(resident_id=who.id, deployment_id=get_by_code(s, code=deployment_code).id))
        if district_of:
            s.add(Follow(resident_id=who.id, district_id=get_by_code(s, code=district_of).district_id))
        return who.id


def _notices(db: Database) -> list[tuple[int | None, str, list[str]]]:
    with db.reading() as s:
        return [(o.resident_id, o.kind, o.payload["fields"]) for o in s.scalars(select(Outbox).order_by(Outbox.id))]


def test_create_update_retire_are_versioned_and_told_once_to_each_follower(client: TestClient, staff: dict[str, str],
                                                                          db: Database) -> None:
    h = {"Authorization": staff["staff"]}
    created = client.post("/api/v1/deployments", json=NEW, headers=h)
    assert created.status_code == 201 and created.json()["district"]
    assert client.post("/api/v1/deployments", json=NEW, headers=h).status_code == 409
    both = _follower(db, 5000, deployment_code="LID-900", district_of="LID-900")  # follows both: hears once
    only_district = _follower(db, 6000, district_of="LID-900")
    _follower(db, 7000, deployment_code="LID-900", notifications=False)  # switched notices off
    changed = client.patch("/api/v1/deployments/lid900", json={"retention": "unknown", "vendor": "Acme Sensing"},
                           headers=h)
    assert changed.status_code == 200 and changed.json()["retention"] == "unknown"
    assert client.delete("/api/v1/deployments/LID-900", headers=h).json()["status"] == "retired"
    notices = _notices(db)
    assert notices == [
        (both, "deployment_changed", ["retention_days", "vendor"]),
        (only_district, "deployment_changed", ["retention_days", "vendor"]),
        (both, "deployment_changed", ["status"]),
        (only_district, "deployment_changed", ["status"]),
    ]
    versions = client.get("/api/v1/deployments/LID-900/versions", headers=h).json()
    assert [(v["version"], v["changed_by"], v["fields"]) for v in versions][1:] == [
        (2, "register desk", ["retention_days", "vendor"]), (3, "register desk", ["status"])]
    assert client.patch("/api/v1/deployments/LID-900", json={"vendor": "Acme Sensing"}, headers=h).status_code == 200
    assert len(client.get("/api/v1/deployments/LID-900/versions", headers=h).json()) == 3  # no change, no version
    with db.reading() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
    assert actions[:3] == ["deployment.create", "deployment.update", "deployment.retire"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"technology": "teleporter"}, "unknown technology"), ({"lat": 200}, "less than or equal"),
    ({"name": "bad\x00name"}, "NUL"), ({"retention": "forever"}, "retention"), ({"colour": "red"}, "Extra inputs"),
    ({"pilot_end": "2026-01-01"}, "pilot_end is before"),
])
def test_bad_records_get_422_with_a_reason(client: TestClient, staff: dict[str, str], change: dict[str, object],
                                           reason: str) -> None:
    response = client.post("/api/v1/deployments", json={**NEW, **change}, headers={"Authorization": staff["staff"]})
    assert response.status_code == 422 and reason in str(response.json()["detail"])


def test_only_staff_write_the_register(client: TestClient, staff: dict[str, str]) -> None:
    assert client.post("/api/v1/deployments", json=NEW).status_code == 401
    organizer = {"Authorization": staff["organizer"]}
    assert client.post("/api/v1/deployments", json=NEW, headers=organizer).status_code == 403
    assert client.patch("/api/v1/deployments/ZZ-1", json={"vendor": "x"},
                        headers={"Authorization": staff["staff"]}).status_code == 404


def test_bulk_import_reports_rows_like_the_cli(client: TestClient, staff: dict[str, str]) -> None:
    body = ("code,name,technology,status,lat,lon\n"
            "AQ-801,Good one,air_quality,active,45.49,-73.63\n"
            "AQ-802,Bad latitude,air_quality,active,200,-73.63\n")
    report = client.post("/api/v1/deployments.csv", content=body.encode(),
                         headers={"Authorization": staff["staff"], "Content-Type": "text/csv"}).json()
    assert report["created"] == 1 and [r["line"] for r in report["rejected"]] == [3]
    assert "latitude 200" in report["rejected"][0]["reason"]
    broken = client.post("/api/v1/deployments.geojson", content=b"\xff\xfe not utf-8",
                         headers={"Authorization": staff["staff"], "Content-Type": "application/geo+json"})
    assert broken.status_code == 422 and "UTF-8" in broken.json()["detail"]


def test_geojson_import_takes_the_file_as_sent(client: TestClient, staff: dict[str, str]) -> None:
    import json

    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.63, 45.49]},
               "properties": {"code": "AQ-811", "name": "Kerbside sensor", "technology": "air_quality",
                              "status": "active"}}
    body = json.dumps({"type": "FeatureCollection", "features": [feature, {"type": "Feature"}]}).encode()
    report = client.post("/api/v1/deployments.geojson", content=body,
                         headers={"Authorization": staff["staff"], "Content-Type": "application/geo+json"}).json()
    assert report["created"] == 1 and report["rejected"][0]["line"] == 2
    assert client.get("/api/v1/deployments/AQ-811").json()["name"] == "Kerbside sensor"
