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


def test_a_write_that_changes_nothing_is_neither_versioned_nor_audited(client: TestClient, staff: dict[str, str],
                                                                       db: Database) -> None:
    h = {"Authorization": staff["staff"]}
    assert client.post("/api/v1/deployments", json=NEW, headers=h).status_code == 201
    first = client.delete("/api/v1/deployments/LID-900", headers=h)
    for _ in range(2):  # retiring a retired record answers it unchanged, as a PATCH of its own values does
        again = client.delete("/api/v1/deployments/LID-900", headers=h)
        assert again.status_code == 200 and again.json() == first.json()
    same = client.patch("/api/v1/deployments/LID-900", json={"vendor": None, "retention": 30}, headers=h)
    assert same.status_code == 200 and same.json() == first.json()
    assert len(client.get("/api/v1/deployments/LID-900/versions", headers=h).json()) == 2
    with db.reading() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
    assert actions == ["deployment.create", "deployment.retire"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"technology": "teleporter"}, "unknown technology"), ({"lat": 200}, "less than or equal"),
    ({"name": "bad\x00name"}, "NUL"), ({"retention": "forever"}, "retention"), ({"colour": "red"}, "Extra inputs"),
    ({"pilot_end": "2026-01-01"}, "pilot_end is before"),
])
def test_bad_records_get_422_with_a_reason(client: TestClient, staff: dict[str, str], change: dict[str, object],
                                           reason: str) -> None:
    response = client.post("/api/v1/deployments", json={**NEW, **change}, headers={"Authorization": staff["staff"]})
    assert response.status_code == 422 and reason in str(response.json()["detail"])



@pytest.mark.parametrize(("change", "field"), [
    ({"vendor": "v" * 201}, "vendor"), ({"accountable_contact": "c" * 201}, "accountable_contact"),
    ({"info_url": "https://example.org/" + "i" * 481}, "info_url"), ({"description": "d" * 4001}, "description"),
    ({"name": "n" * 201}, "name"), ({"legal_basis": "b\x00"}, "legal_basis"), ({"purposes": ["x" * 65]}, "purposes"),
])
def test_over_long_or_nul_values_get_422_naming_the_field(client: TestClient, staff: dict[str, str],
                                                          change: dict[str, object], field: str) -> None:
    h = {"Authorization": staff["staff"]}
    created = client.post("/api/v1/deployments", json={**NEW, **change}, headers=h)
    assert created.status_code == 422 and created.json()["detail"][0]["loc"][-2:] in (["body", field], [field, 0])
    assert client.post("/api/v1/deployments", json=NEW, headers=h).status_code == 201
    changed = client.patch("/api/v1/deployments/LID-900", json=change, headers=h)
    assert changed.status_code == 422 and field in str(changed.json()["detail"])


def test_bulk_import_reports_over_long_and_nul_values_by_line(client: TestClient, staff: dict[str, str]) -> None:
    import json

    h = {"Authorization": staff["staff"], "Content-Type": "application/geo+json"}
    changes: list[dict[str, object]] = [
        {"vendor": "v" * 201}, {"name": "Kerb\x00side"}, {"vendor": "Acme"},
        {"privacy_url": "https://example.org/" + "p" * 481}, {"data_types": ["x" * 65]},
        {"accountable_org": "Office\x00"}]
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.63, 45.49]},
                 "properties": {"code": f"AQ-{821 + i}", "name": "Kerbside sensor", "technology": "air_quality",
                                "status": "active"} | change}
                for i, change in enumerate(changes)]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    response = client.post("/api/v1/deployments.geojson", content=body, headers=h)
    assert response.status_code == 200
    report = response.json()
    assert (report["created"], report["updated"]) == (1, 0)
    assert [(r["line"], r["code"], r["reason"]) for r in report["rejected"]] == [
        (1, "AQ-821", "vendor: at most 200 characters, this one has 201"),
        (2, "AQ-822", "name: NUL characters are not accepted"),
        (4, "AQ-824", "privacy_url: at most 500 characters, this one has 501"),
        (5, "AQ-825", "data_types: terms are at most 64 characters"),
        (6, "AQ-826", "accountable_org: NUL characters are not accepted"),
    ]
    assert client.get("/api/v1/deployments/AQ-823").json()["vendor"] == "Acme"
    assert client.get("/api/v1/deployments/AQ-821").status_code == 404
    csv_body = ("code,name,technology,status,lat,lon,vendor,description\n"
                f"AQ-831,Good one,air_quality,active,45.49,-73.63,{'v' * 200},{'d' * 4000}\n"
                f"AQ-832,Long vendor,air_quality,active,45.49,-73.63,{'v' * 201},\n")
    report = client.post("/api/v1/deployments.csv", content=csv_body.encode(),
                         headers={**h, "Content-Type": "text/csv"}).json()
    assert report["created"] == 1
    assert report["rejected"] == [{"line": 3, "code": "AQ-832",
                                   "reason": "vendor: at most 200 characters, this one has 201"}]
    assert len(client.get("/api/v1/deployments/AQ-831").json()["vendor"]) == 200


def test_an_area_keeps_its_geometry_only_and_finite_numbers(client: TestClient, staff: dict[str, str]) -> None:
    h = {"Authorization": staff["staff"], "Content-Type": "application/json"}
    ring = "[[-73.64,45.49],[-73.63,45.49],[-73.63,45.50],[-73.64,45.49]]"
    body = (f'{{"code":"AV-900","name":"Survey van","technology":"lidar","status":"pilot","lat":45.49,"lon":-73.63,'
            f'"mobile":true,"area":{{"type":"Polygon","coordinates":[{ring}],"note":"{{}}"}}}}')
    created = client.post("/api/v1/deployments", content=body.encode(), headers=h)
    assert created.status_code == 201 and set(created.json()["area"]) == {"type", "coordinates"}
    # NaN is not JSON, wherever it stands in the body.
    refused = client.post("/api/v1/deployments", content=body.replace('"{}"', "NaN").replace("AV-900", "AV-901")
                          .encode(), headers=h)
    assert refused.status_code == 422 and "NaN is not a number JSON allows" in refused.text
    strings = {"type": "Polygon", "coordinates": [[["-73.64", 45.49], [-73.63, 45.49], [-73.63, 45.5],
                                                   ["-73.64", 45.49]]]}
    changed = client.patch("/api/v1/deployments/AV-900", json={"area": strings}, headers=h)
    assert changed.status_code == 422 and "area coordinates must be" in changed.json()["detail"]

def test_moving_a_deployment_moves_its_district_unless_it_was_set_by_hand(client: TestClient,
                                                                         staff: dict[str, str]) -> None:
    h = {"Authorization": staff["staff"]}
    places = {d["slug"]: (d["lat"], d["lon"]) for d in client.get("/api/v1/districts").json()["items"]}
    (first, (lat1, lon1)), (second, (lat2, lon2)) = sorted(places.items())[:2]
    created = client.post("/api/v1/deployments", json={**NEW, "lat": lat1, "lon": lon1}, headers=h).json()
    assert created["district"] == first
    moved = client.patch("/api/v1/deployments/LID-900", json={"lat": lat2, "lon": lon2}, headers=h).json()
    assert moved["district"] == second
    # Set by hand to a district its point is not in: moving the point keeps it.
    assert client.patch("/api/v1/deployments/LID-900", json={"district": first}, headers=h).json()["district"] == first
    kept = client.patch("/api/v1/deployments/LID-900", json={"lat": lat2 + 1e-5, "lon": lon2}, headers=h).json()
    assert kept["district"] == first and kept["lat"] == lat2 + 1e-5


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


def test_malformed_features_are_reported_not_a_500(client: TestClient, staff: dict[str, str]) -> None:
    import json

    properties = {"code": "YY-20", "name": "x", "technology": "camera", "status": "active"}
    body = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": [1, 2], "properties": properties},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": [1]},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10 ** 400, 2]},
         "properties": {**properties, "code": "YY-22"}}]})
    response = client.post("/api/v1/deployments.geojson", content=body.encode(),
                           headers={"Authorization": staff["staff"], "Content-Type": "application/geo+json"})
    assert response.status_code == 200, response.text
    assert [(r["line"], r["code"]) for r in response.json()["rejected"]] == [(1, "YY-20"), (2, ""), (3, "YY-22")]


def test_json_nested_past_the_parsers_depth_is_refused_not_a_500(client: TestClient, staff: dict[str, str]) -> None:
    headers = {"Authorization": staff["staff"], "Content-Type": "application/geo+json"}
    deep = client.post("/api/v1/deployments.geojson", content=b"[" * 100_000 + b"]" * 100_000, headers=headers)
    assert deep.status_code in (400, 422) and "nested too deeply" in deep.text
    area = "[" * 30_000 + "]" * 30_000
    csv = f"code,name,technology,status,lat,lon,area\nAQ-812,Kerbside sensor,air_quality,active,45.49,-73.63,{area}\n"
    report = client.post("/api/v1/deployments.csv", content=csv.encode(),
                         headers={**headers, "Content-Type": "text/csv"})
    assert report.status_code in (200, 400, 422) and "area" in report.text
