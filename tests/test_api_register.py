"""The public register over HTTP: filters, pages, 404, 422, GeoJSON validity (deployments, districts), health."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import geojson
import httpx
import pytest
import uvicorn
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from pydantic import SecretStr
from shapely.geometry import LinearRing

from api.app import create_app
from core import schema
from core.db import Database
from core.deployments import import_records
from core.pagination import encode_cursor
from core.settings import Environment, Settings
from tests import builders


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    with db.transaction() as s:
        builders.districts(s)
        import_records(s, rows=builders.demo_register_rows(), actor="test")
    with TestClient(create_app(settings, db)) as c:
        yield c


def test_list_filters_and_pages(client: TestClient) -> None:
    cameras = client.get("/api/v1/deployments", params={"technology": "camera", "limit": 200}).json()
    assert cameras["items"] and {d["technology"] for d in cameras["items"]} == {"camera"}
    pilots = client.get("/api/v1/deployments", params={"status": "pilot", "limit": 200}).json()["items"]
    assert pilots and all(d["status"] == "pilot" and d["pilot_end"] for d in pilots)
    old_town = client.get("/api/v1/deployments", params={"district": "old-town", "limit": 200}).json()["items"]
    assert old_town and {d["district"] for d in old_town} == {"old-town"}
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/api/v1/deployments", params={"limit": 7, **({"cursor": cursor} if cursor else {})}).json()
        seen += [d["code"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 40 and seen == sorted(seen)


def test_text_search_takes_wildcard_characters_literally(client: TestClient) -> None:
    schools = client.get("/api/v1/deployments", params={"text": "school", "limit": 200}).json()["items"]
    assert schools and all("school" in f"{d['name']} {d['description']}".lower() for d in schools)
    for text in ("sch__l", "sch_ol", "s_h_o_l"):
        assert client.get("/api/v1/deployments", params={"text": text}).json()["items"] == [], text


def test_one_record_in_any_case_and_404(client: TestClient) -> None:
    record = client.get("/api/v1/deployments/aq-017").json()
    assert record["code"] == "AQ-017" and "retention" in record and "personal_data" in record
    missing = client.get("/api/v1/deployments/ZZ-999")
    assert missing.status_code == 404 and "ZZ-999" in missing.json()["detail"]


@pytest.mark.parametrize("params", [
    {"lat": 200, "lon": 0}, {"lat": "north", "lon": 0}, {"lat": 0}, {"lat": "nan", "lon": 0},
    {"lat": 0, "lon": 0, "radius_m": -5}, {"lat": 0, "lon": 0, "radius_m": 10**9}, {"lat": 0, "lon": 0, "limit": 0},
    {"lat": "inf", "lon": 0}, {"lat": "true", "lon": 0},
])
def test_near_rejects_bad_parameters_with_422(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/api/v1/deployments/near", params=params)
    assert response.status_code == 422 and response.json()["detail"]


def test_near_lists_nearest_first(client: TestClient) -> None:
    record = client.get("/api/v1/deployments/AQ-017").json()
    items = client.get("/api/v1/deployments/near", params={"lat": record["lat"], "lon": record["lon"],
                                                           "radius_m": 2000, "limit": 5}).json()["items"]
    assert items[0]["code"] == "AQ-017" and items[0]["distance_m"] == 0
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)


@pytest.mark.parametrize("params", [{"limit": 500}, {"limit": "many"}, {"status": "imaginary"},
                                    {"text": "x" * 300}, {"district": "Old Town!"}])
def test_list_rejects_bad_parameters(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/api/v1/deployments", params=params).status_code == 422


def test_invalid_cursor_is_422(client: TestClient) -> None:
    response = client.get("/api/v1/deployments", params={"cursor": "not-a-cursor"})
    assert response.status_code == 422 and response.json() == {"detail": "invalid cursor"}


@pytest.mark.parametrize("path", ["/api/v1/deployments", "/api/v1/districts"])
@pytest.mark.parametrize("value", [[1], [None], [[1]], [{"a": 1}], [True], [""], ["AQ\u0000"]])
def test_a_cursor_holding_anything_but_a_code_or_slug_is_422(client: TestClient, path: str, value: list[object]
                                                             ) -> None:
    response = client.get(path, params={"cursor": encode_cursor(*value)})
    assert response.status_code == 422 and response.json() == {"detail": "invalid cursor"}


def test_geojson_is_a_valid_feature_collection(client: TestClient) -> None:
    response = client.get("/api/v1/deployments.geojson")
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = geojson.loads(response.text)
    assert collection.is_valid and collection["type"] == "FeatureCollection"
    for feature in collection["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        props = feature["properties"]
        assert {"code", "name", "technology", "district", "status"} <= set(props)
        assert (props["lat"], props["lon"]) == (lat, lon)


def test_districts_geojson_is_a_valid_feature_collection_and_the_list_pages(client: TestClient) -> None:
    response = client.get("/api/v1/districts.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = geojson.loads(response.text)
    assert collection.is_valid and collection["type"] == "FeatureCollection" and len(collection["features"]) == 8
    for item in collection["features"]:
        assert item["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert set(item["properties"]) == {"slug", "name_en", "name_es"} and item["id"] == item["properties"]["slug"]
        coordinates = item["geometry"]["coordinates"]
        for rings in [coordinates] if item["geometry"]["type"] == "Polygon" else coordinates:
            # RFC 7946's right-hand rule: exterior rings counterclockwise, holes clockwise.
            assert LinearRing(rings[0]).is_ccw and all(not LinearRing(r).is_ccw for r in rings[1:])

    first = client.get("/api/v1/districts", params={"limit": 5}).json()
    rest = client.get("/api/v1/districts", params={"limit": 5, "cursor": first["next_cursor"]}).json()
    assert rest["next_cursor"] is None
    items = first["items"] + rest["items"]
    assert [i["slug"] for i in items] == sorted(f["properties"]["slug"] for f in collection["features"])
    old_town = next(i for i in items if i["slug"] == "old-town")
    assert old_town["name_es"] == "Casco Antiguo" and old_town["deployments"] == 9
    assert -90 <= old_town["lat"] <= 90 and -180 <= old_town["lon"] <= 180
    assert sum(i["deployments"] for i in items) == 57
    bad = client.get("/api/v1/districts", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json() == {"detail": "invalid cursor"}


def test_csv_columns_are_the_geojson_properties(client: TestClient) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/deployments.csv").text)))
    properties = client.get("/api/v1/deployments.geojson").json()["features"][0]["properties"]
    assert rows and list(rows[0]) == list(properties)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}
    assert client.get("/openapi.json").json()["paths"]["/api/v1/deployments/near"]


@pytest.mark.parametrize("state", ["empty", "behind"])
def test_readiness_is_503_until_the_database_is_at_this_versions_schema(tmp_path: Path, state: str) -> None:
    # A file of its own on either pass: the shared test database must stay at the head.
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    if state == "behind":
        script = ScriptDirectory.from_config(schema.alembic_config(url))
        [head] = script.get_heads()
        schema.upgrade(url, str(script.get_revision(head).down_revision))
    settings = Settings(_env_file=None, database_url=url, secret_key=SecretStr("s" * 32),  # type: ignore[call-arg]
                        environment=Environment.TEST)
    database = Database(url)
    try:
        with TestClient(create_app(settings, database)) as c:
            answer = c.get("/readyz")
            assert answer.status_code == 503 and answer.json()["status"] == "unavailable"
            assert "civicpulse db upgrade" in answer.json()["detail"]
            schema.upgrade(url)
            assert c.get("/readyz").json() == {"status": "ok"}
    finally:
        database.dispose()


def test_oversized_body_is_413(client: TestClient, settings: Settings) -> None:
    response = client.post("/api/v1/deployments", content=b"x" * (settings.max_body_bytes + 1))
    assert response.status_code == 413


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_uvicorn_socket_smoke(db: Database, settings: Settings) -> None:
    with db.transaction() as s:
        builders.deployment(s)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/api/v1/deployments/AQ-017").json()["code"] == "AQ-017"
        assert httpx.get(f"{base}/api/v1/deployments/near", params={"lat": 999, "lon": 0}).status_code == 422
    finally:
        server.should_exit = True
        thread.join(10)


def test_nul_characters_are_refused_before_any_query(client: TestClient) -> None:
    for path in ("/api/v1/deployments?text=cam%00era", "/api/v1/deployments/AQ%00-017"):
        response = client.get(path)
        assert response.status_code == 422 and "NUL" in response.json()["detail"]


def test_unreadable_csv_is_a_reason_not_a_crash() -> None:
    from core import exchange
    from core.errors import Invalid

    with pytest.raises(Invalid, match="not readable as CSV"):
        exchange.read_csv("code,name,technology,status,lat,lon\nAQ-1," + "x" * 200_000 + ",camera,active,1,2\n")
