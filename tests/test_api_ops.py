"""Operations over HTTP: rate limits per address and per key, metrics, request ids."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core import apikeys
from core.db import Database
from core.models import ApiKey, Role
from core.settings import Environment, Settings
from tests.conftest import TEST_SECRET


def _settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"environment": Environment.TEST, **overrides}
    return Settings(_env_file=None, database_url=database_url, secret_key=SecretStr(TEST_SECRET),  # type: ignore[call-arg]
                    **values)


def test_addresses_are_limited_with_retry_after(db: Database, database_url: str) -> None:
    with TestClient(create_app(_settings(database_url, api_rate_per_address="3/minute"), db)) as client:
        codes = [client.get("/api/v1/deployments").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/api/v1/deployments")
        assert int(refused.headers["Retry-After"]) > 0 and "rate limit" in refused.json()["detail"]


def test_keys_are_limited_across_addresses(db: Database, database_url: str) -> None:
    with db.transaction() as s:
        _, key = apikeys.create(s, role=Role.STAFF, principal="busy desk")
    app = create_app(_settings(database_url, api_rate_per_key="2/minute"), db)
    headers = {"Authorization": f"Bearer {key}"}
    codes = []
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        with TestClient(app, client=(address, 5000)) as client:
            codes.append(client.get("/api/v1/concerns", headers=headers).status_code)
    assert codes == [200, 200, 429]


def test_an_open311_api_key_spends_the_same_budget_and_is_noted_as_used(db: Database, database_url: str) -> None:
    with db.transaction() as s:
        created, key = apikeys.create(s, role=Role.STAFF, principal="open311 desk")
        key_id = created.id
    app = create_app(_settings(database_url, api_rate_per_key="3/minute"), db)
    with TestClient(app) as client:
        assert client.get("/api/v1/concerns", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        codes = [client.get("/open311/v2/requests.json", params={"api_key": key}).status_code for _ in range(2)]
        assert codes == [200, 200]
        for fmt in ("json", "xml"):
            refused = client.get(f"/open311/v2/requests.{fmt}", params={"api_key": key})
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
            assert "rate limit" in refused.text and ("<errors>" in refused.text) == (fmt == "xml")
        filed = client.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "privacy",
                                                                "description": "The camera films my garden."})
        assert filed.status_code == 429 and filed.json()[0]["code"] == 429
        assert client.get("/open311/v2/requests.json").status_code == 200  # without a key: the address budget
    with db.reading() as s:
        assert s.get(ApiKey, key_id).last_used_at is not None


def test_metrics_and_request_ids(db: Database, database_url: str) -> None:
    with TestClient(create_app(_settings(database_url), db)) as client:
        response = client.get("/api/v1/deployments", headers={"X-Request-ID": "7d1b0c3e-5f4e-4b7a-9d1c-0e2f3a4b5c6d"})
        assert response.headers["X-Request-ID"] == "7d1b0c3e-5f4e-4b7a-9d1c-0e2f3a4b5c6d"
        assert client.get("/healthz").headers["X-Request-ID"]  # one is made when none is sent
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "http_requests_total" in metrics.text


def test_metrics_need_a_staff_key_in_production(db: Database, database_url: str) -> None:
    with db.transaction() as s:
        _, staff = apikeys.create(s, role=Role.STAFF, principal="ops")
        _, organizer = apikeys.create(s, role=Role.ORGANIZER, principal="consult")
    settings = _settings(database_url, environment=Environment.PRODUCTION, telegram_token=SecretStr("1:x"))
    with TestClient(create_app(settings, db)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {organizer}"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": f"Bearer {staff}"}).status_code == 200


@pytest.mark.parametrize("rate", ["lots", "5 per fortnight"])
def test_nonsense_rates_fail_fast(database_url: str, rate: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        _settings(database_url, api_rate_per_address=rate)
