"""Plain builder functions for test data."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core import concerns, exchange, residents
from core.deployments import DeploymentRecord, import_records, upsert
from core.models import Concern, Deployment, District, Resident
from core.seed import seed_districts

POLICY = concerns.IntakePolicy(zone=ZoneInfo("UTC"))
SECRET = b"test-secret"


def deployment(session: Session, **overrides: Any) -> Deployment:
    values: dict[str, Any] = {
        "code": "AQ-017", "name": "Air quality sensor, Elm Street school", "technology": "air_quality",
        "status": "active", "lat": 45.4907, "lon": -73.6395, "purposes": ["public_health"],
        "personal_data": False, "retention_days": 365, "accountable_org": "Environment Office",
    }
    values.update(overrides)
    created, _, _ = upsert(session, record=DeploymentRecord.model_validate(values), actor="test")
    return created


def districts(session: Session) -> list[District]:
    seed_districts(session)
    from sqlalchemy import select

    return list(session.scalars(select(District).order_by(District.slug)))


def demo_register(session: Session) -> None:
    import_records(session, rows=demo_register_rows(), actor="test")


def demo_register_rows() -> list[tuple[int, Any]]:
    text = (resources.files("core") / "data" / "demo_deployments.geojson").read_text(encoding="utf-8")
    return exchange.read_geojson(text)


def resident(session: Session, telegram_user_id: int = 1001, language: str | None = "en",
             chat_id: int | None = 5001) -> Resident:
    return residents.get_or_create(session, secret=SECRET, telegram_user_id=telegram_user_id, chat_id=chat_id,
                                   language=language)


def concern(session: Session, text: str = "Who can see the camera footage on Elm Street?", *,
            now: datetime | None = None, **kwargs: Any) -> Concern:
    return concerns.submit(session, text=text, policy=kwargs.pop("policy", POLICY), now=now, **kwargs)


def auth(key: str) -> dict[str, str]:
    """The header that presents an API key."""
    return {"Authorization": f"Bearer {key}"}
