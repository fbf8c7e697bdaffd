"""JSON bodies that no database or UTF-8 text can hold get a 422 with the reason, never a 500.

NaN, Infinity and numbers past a float's range are not JSON (RFC 8259), though Python's parser reads them; a
lone UTF-16 surrogate escape ("\\ud800") decodes to a string nothing can encode. Both used to reach FastAPI's
own 422 handler, which then failed while echoing the input back, or the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import apikeys
from core.db import Database
from core.models import Role
from tests import builders
from tests.builders import auth
from tests.test_campaigns import spec

NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999"]


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        builders.districts(s)
        builders.demo_register(s)
        reference = builders.concern(s, "Who sees the footage of the Elm Street camera?").reference
        found = {role.value: apikeys.create(s, role=role, principal=f"{role.value} desk")[1] for role in Role}
    return {**found, "concern": reference}


def post_raw(client: TestClient, path: str, body: str, key: str, method: str = "POST") -> Any:
    return client.request(method, path, content=body.encode(),
                          headers={**auth(key), "Content-Type": "application/json"})


def refused_as_json(response: Any, fragment: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["type"] == "json_invalid", detail
    assert fragment in detail[0]["ctx"]["error"], detail


@pytest.mark.parametrize("number", NUMBERS)
def test_non_finite_numbers_in_a_deployment_are_422(client: TestClient, keys: dict[str, str], number: str,
                                                    db: Database) -> None:
    body = ('{"code": "NN-001", "name": "n", "technology": "camera", "status": "active", '
            f'"lat": {number}, "lon": 0}}')
    response = post_raw(client, "/api/v1/deployments", body, keys["staff"])
    refused_as_json(response, "number")
    patched = post_raw(client, "/api/v1/deployments/AQ-017", f'{{"lat": {number}}}', keys["staff"], "PATCH")
    refused_as_json(patched, "number")
    assert client.get("/api/v1/deployments/NN-001").status_code == 404
    # The connection stays usable and the record unchanged.
    assert client.get("/api/v1/deployments/AQ-017").json()["lat"] == 45.4907


def test_a_campaign_target_with_infinity_is_422(client: TestClient, keys: dict[str, str]) -> None:
    body = ('{"title": {"en": "T"}, "questions": [{"kind": "scale", "text": {"en": "Q"}}], '
            '"target": {"radius": {"lat": Infinity, "lon": 0, "radius_m": 10}}}')
    refused_as_json(post_raw(client, "/api/v1/campaigns", body, keys["organizer"]), "Infinity")


@pytest.mark.parametrize(("path", "body", "role"), [
    ("/api/v1/concerns/{concern}/replies", '{"text": "hello \\ud800 there"}', "staff"),
    ("/api/v1/concerns/{concern}/status", '{"status": "answered", "reason": "\\udfff"}', "staff"),
    ("/api/v1/apikeys", '{"role": "staff", "name": "\\udfff"}', "admin"),
    ("/api/v1/deployments", '{"code": "SU-001", "name": "x\\ud83d", "technology": "camera", "status": "active", '
                            '"lat": 1, "lon": 1}', "staff"),
    ("/api/v1/campaigns", '{"title": {"en": "\\ud800"}, "questions": [{"kind": "scale", "text": {"en": "Q"}}]}',
     "organizer"),
    ("/api/v1/announcements", '{"\\ud800": 1}', "staff"),  # in a key as well
])
def test_lone_surrogates_are_422(client: TestClient, keys: dict[str, str], path: str, body: str,
                                 role: str) -> None:
    response = post_raw(client, path.format(concern=keys["concern"]), body, keys[role])
    refused_as_json(response, "surrogate")


def test_a_surrogate_pair_is_text(client: TestClient, keys: dict[str, str]) -> None:
    # An escaped pair is one character outside the BMP, which JSON allows: it is stored and read back.
    response = post_raw(client, f"/api/v1/concerns/{keys['concern']}/replies",
                        '{"text": "Thanks \\ud83d\\ude00"}', keys["staff"])
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "Thanks \U0001F600"


def test_a_body_that_is_not_utf8_is_422(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post(f"/api/v1/concerns/{keys['concern']}/replies", content=b'{"text": "caf\xe9"}',
                           headers={**auth(keys["staff"]), "Content-Type": "application/json"})
    refused_as_json(response, "UTF-8")


def test_a_nan_in_a_query_is_echoed_safely(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/api/v1/deployments/near", params={"lat": "nan", "lon": "0"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "lat"]


def test_campaign_spec_still_parses(client: TestClient, keys: dict[str, str]) -> None:
    # The strict parser keeps ordinary numbers and text as they were.
    response = client.post("/api/v1/campaigns", json=spec(), headers=auth(keys["organizer"]))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("path", "body", "method"), [
    ("/api/v1/concerns/{concern}/replies", {"text": "\u202e\u0007bell"}, "POST"),
    ("/api/v1/deployments", {"code": "CC-001", "name": "bell\u0007\u001b[31m red", "technology": "camera",
                             "status": "active", "lat": 1, "lon": 1}, "POST"),
    ("/api/v1/deployments/AQ-017", {"description": "ok\u0085then"}, "PATCH"),
])
def test_control_characters_in_staff_text_are_422(client: TestClient, keys: dict[str, str], path: str,
                                                  body: dict[str, Any], method: str) -> None:
    response = client.request(method, path.format(concern=keys["concern"]), json=body, headers=auth(keys["staff"]))
    assert response.status_code == 422, response.text
    assert "control characters are not accepted (U+" in response.text


def test_line_ends_and_tabs_in_staff_text_are_kept(client: TestClient, keys: dict[str, str]) -> None:
    text = "Thank you.\r\nWe checked:\tthe camera blurs faces."
    response = client.post(f"/api/v1/concerns/{keys['concern']}/replies", json={"text": text},
                           headers=auth(keys["staff"]))
    assert response.status_code == 201, response.text
    assert response.json()["text"] == text


def test_a_register_file_row_with_a_control_character_is_rejected_by_line(client: TestClient,
                                                                         keys: dict[str, str]) -> None:
    exported = client.get("/api/v1/deployments.csv").text.splitlines()
    header, first = exported[0], exported[1]
    bad = first.replace("Air quality sensor", "Air quality\u001b sensor", 1)
    assert bad != first
    response = client.post("/api/v1/deployments.csv", content="\n".join([header, bad]).encode(),
                           headers={**auth(keys["staff"]), "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == report["updated"] == 0
    assert report["rejected"][0]["line"] == 2
    assert "control characters are not accepted (U+001B" in report["rejected"][0]["reason"]
