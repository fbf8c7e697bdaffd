"""Open311 GeoReport v2 in JSON and XML: the specification's fields, statuses, errors and privacy rules."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from core import apikeys, triage
from core.db import Database
from core.models import AuditEvent, Concern, ConcernStatus, Role
from core.settings import Settings
from tests import builders

SECRET_TEXT = "The camera CAM-104 films my front door every night"


@pytest.fixture
def setup(db: Database, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str], list[str]]]:
    now = datetime.now(UTC)
    with db.transaction() as s:
        builders.districts(s)
        cam = builders.deployment(s, code="CAM-104", technology="camera", lat=45.4907, lon=-73.6395,
                                  accountable_org="Police Department")
        first = builders.concern(s, SECRET_TEXT, deployment=cam, lat=45.4911, lon=-73.6390,
                                 now=now - timedelta(days=2))
        second = builders.concern(s, "The noise sensor is broken again", now=now - timedelta(days=1))
        old = builders.concern(s, "An old worry from last spring", now=now - timedelta(days=200))
        triage.change_status(s, concern=second, status=ConcernStatus.RESOLVED, actor="staff")
        keys = {role.value: apikeys.create(s, role=role, principal=role.value)[1] for role in Role}
        refs = [first.reference, second.reference, old.reference]
    with TestClient(create_app(settings, db)) as client:
        yield client, keys, refs


def test_discovery_and_services_in_both_formats(setup: tuple[TestClient, dict[str, str], list[str]]) -> None:
    client, _, _ = setup
    discovery = client.get("/open311/v2/discovery.json").json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = client.get("/open311/v2/services.json").json()
    assert {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"} <= set(services[0])
    assert {s["service_code"] for s in services} >= {"privacy", "surveillance", "other"}
    root = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services" and root[0].tag == "service" and root[0].find("metadata").text == "false"
    definition = ET.fromstring(client.get("/open311/v2/services/privacy.xml").content)
    assert definition.tag == "service_definition" and definition.find("service_code").text == "privacy"


def test_requests_without_a_key_hide_text_and_snap_location(setup: tuple[TestClient, dict[str, str], list[str]]
                                                             ) -> None:
    client, keys, refs = setup
    public = client.get("/open311/v2/requests.json").json()
    assert [r["service_request_id"] for r in public] == refs[1::-1]  # newest first, 90-day window
    mine = next(r for r in public if r["service_request_id"] == refs[0])
    assert mine["description"] is None and (mine["lat"], mine["long"]) == (45.4907, -73.6395)  # the camera's
    assert mine["status"] == "open" and mine["status_notes"] == "new" and mine["agency_responsible"] == \
        "Police Department"
    assert datetime.fromisoformat(mine["requested_datetime"]).tzinfo is not None
    staff = client.get("/open311/v2/requests.json", params={"api_key": keys["staff"]}).json()
    with_text = next(r for r in staff if r["service_request_id"] == refs[0])
    assert with_text["description"] == SECRET_TEXT and (with_text["lat"], with_text["long"]) == (45.4911, -73.639)
    organizer = client.get("/open311/v2/requests.json", params={"api_key": keys["organizer"]}).json()
    assert all(r["description"] is None for r in organizer)
    closed = client.get("/open311/v2/requests.json", params={"status": "closed"}).json()
    assert [(r["service_request_id"], r["status_notes"]) for r in closed] == [(refs[1], "resolved")]
    old = client.get("/open311/v2/requests.json", params={"start_date": "2020-01-01T00:00:00Z"}).json()
    assert refs[2] in [r["service_request_id"] for r in old]
    xml = ET.fromstring(client.get(f"/open311/v2/requests/{refs[0]}.xml").content)
    assert xml.tag == "service_requests" and xml[0].find("service_request_id").text == refs[0]
    assert xml[0].find("description").text is None


@pytest.mark.parametrize(("path", "params", "code"), [
    ("/open311/v2/requests.json", {"status": "maybe"}, 400),
    ("/open311/v2/requests.json", {"start_date": "yesterday"}, 400),
    ("/open311/v2/requests.json", {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, 400),
    ("/open311/v2/requests.json", {"api_key": "cp_wrong"}, 403),
    ("/open311/v2/requests/C-ZZZZZ.json", {}, 404),
    ("/open311/v2/services/teleportation.json", {}, 404),
    ("/open311/v2/services.yaml", {}, 400),
    ("/open311/v2/services.json", {"lang": "e\x00s"}, 400),  # refused before any route: still Open311's shape
])
def test_errors_use_the_specifications_shape(setup: tuple[TestClient, dict[str, str], list[str]], path: str,
                                             params: dict[str, str], code: int) -> None:
    client, _, _ = setup
    response = client.get(path, params=params)
    assert response.status_code == code
    assert response.json()[0]["code"] == code and response.json()[0]["description"]
    if path.endswith(".json"):
        xml = ET.fromstring(client.get(path.replace(".json", ".xml"), params=params).content)
        assert xml.tag == "errors" and xml[0].find("code").text == str(code)


def test_post_files_a_concern_and_stores_no_personal_fields(setup: tuple[TestClient, dict[str, str], list[str]],
                                                            db: Database) -> None:
    client, keys, _ = setup
    form = {"api_key": keys["staff"], "service_code": "noise", "lat": "45.4907", "long": "-73.6395",
            "description": "Loud buzzing from the streetlight, call me at 202-555-0173",
            "email": "jane@example.org", "first_name": "Jane", "last_name": "Doe", "phone": "2025550173",
            "device_id": "abc-123"}
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 201
    (receipt,) = created.json()
    token = receipt["token"]
    assert client.get(f"/open311/v2/tokens/{token}.json").json()[0]["service_request_id"] == \
        receipt["service_request_id"]
    with db.reading() as s:
        stored = s.scalar(select(Concern).where(Concern.reference == receipt["service_request_id"]))
        assert stored is not None and stored.source == "open311" and stored.category == "noise"
        everything = str([getattr(stored, c.key) for c in Concern.__table__.columns])
    for personal in ("jane@example.org", "Jane", "Doe", "2025550173", "555-0173", "abc-123"):
        assert personal not in everything
    refused = client.post("/open311/v2/requests.xml", data={**form, "api_key": keys["organizer"]})
    assert refused.status_code == 403 and ET.fromstring(refused.content).tag == "errors"
    missing = client.post("/open311/v2/requests.json", data={"api_key": keys["staff"], "service_code": "noise",
                                                             "description": "no place"})
    assert missing.status_code == 400 and "location" in missing.json()[0]["description"]


def test_a_filed_request_is_in_the_audit_log_and_only_a_form_is_read(
        setup: tuple[TestClient, dict[str, str], list[str]], db: Database) -> None:
    client, keys, _ = setup
    form = {"api_key": keys["staff"], "service_code": "privacy", "address_id": "CAM-104",
            "description": "Who keeps the recordings of this camera?"}
    as_json = client.post("/open311/v2/requests.json", json=form)
    assert as_json.status_code == 400
    assert as_json.json() == [{"code": 400, "description": "the body must be form-encoded "
                               "(application/x-www-form-urlencoded), not application/json"}]
    as_xml = client.post("/open311/v2/requests.xml", json=form)
    assert as_xml.status_code == 400 and ET.fromstring(as_xml.content).tag == "errors"
    (receipt,) = client.post("/open311/v2/requests.json", data=form).json()
    with db.reading() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(e.principal, e.role, e.action, e.target, e.detail) for e in events] == [
        ("staff", "staff", "concern.create", receipt["service_request_id"],
         {"source": "open311", "service_code": "privacy"})]
    audit = client.get("/api/v1/audit", headers=builders.auth(keys["admin"])).json()["items"]
    assert audit[0]["action"] == "concern.create" and audit[0]["target"] == receipt["service_request_id"]
