"""Concern intake: from a resident's raw words to a stored, redacted, analysed concern."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from core import nlp
from core.deployments import locate_district
from core.errors import Invalid, RateLimited
from core.geo import valid_point
from core.models import Category, Concern, ConcernKind, ConcernStatus, Deployment, Resident, utcnow
from core.timeutil import iso_week_of, local_date

# Crockford's base32 without I, L, O, U: readable aloud, no look-alikes.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 5
MAX_IDEMPOTENCY_KEY = 128


@dataclass(frozen=True)
class IntakePolicy:
    """The settings intake depends on."""

    zone: ZoneInfo
    phone_region: str = "US"
    concerns_per_hour: int = 10


def new_reference() -> str:
    return "C-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))

REFERENCE_DRAWS = 20


def _check_rate(session: Session, resident: Resident, policy: IntakePolicy, now: datetime) -> None:
    since = now - timedelta(hours=1)
    recent = session.scalar(
        select(func.count()).select_from(Concern)
        .where(Concern.resident_id == resident.id, Concern.created_at >= since)
    ) or 0
    if recent >= policy.concerns_per_hour:
        raise RateLimited(f"at most {policy.concerns_per_hour} concerns per hour", limit=policy.concerns_per_hour)


def _district_for(session: Session, lat: float | None, lon: float | None, deployment: Deployment | None
                  ) -> int | None:
    if lat is not None and lon is not None:
        found = locate_district(session, lat=lat, lon=lon)
        if found is not None:
            return found
    return deployment.district_id if deployment is not None else None


def submit(
    session: Session,
    *,
    text: str,
    policy: IntakePolicy,
    resident: Resident | None = None,
    deployment: Deployment | None = None,
    category: Category | None = None,
    feeling: int | None = None,
    kind: ConcernKind = ConcernKind.CONCERN,
    lat: float | None = None,
    lon: float | None = None,
    idempotency_key: str | None = None,
    source: str = "bot",
    analyzer: nlp.SentimentAnalyzer | None = None,
    now: datetime | None = None,
) -> Concern:
    """Record a concern with its redacted text and analysis; the same idempotency key stores it once."""
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise Invalid(f"idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    if (lat is None) != (lon is None) or (lat is not None and lon is not None and not valid_point(lat, lon)):
        raise Invalid("a location needs both lat (-90..90) and lon (-180..180)")
    # Analysis first: it touches no table, so on SQLite the write lock is taken only for the statements below.
    analysis = nlp.analyze(text, prior_language=resident.language if resident else None, feeling=feeling,
                           region=policy.phone_region, analyzer=analyzer)
    if idempotency_key is not None:
        existing = session.scalar(select(Concern).where(Concern.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    now = now or utcnow()
    if resident is not None:
        _check_rate(session, resident, policy, now)
    values: dict[str, Any] = {
        "kind": kind.value,
        "resident_id": resident.id if resident else None,
        "deployment_id": deployment.id if deployment else None,
        "district_id": _district_for(session, lat, lon, deployment),
        "category": (category or Category(analysis.category)).value,
        "suggested_category": analysis.category,
        "text": analysis.text,
        "text_removed_at": None,
        "language": analysis.language,
        "feeling": feeling,
        "polarity": analysis.polarity,
        "subjectivity": analysis.subjectivity,
        "label": analysis.label,
        "key_phrases": analysis.key_phrases,
        "flags": analysis.flags,
        "lat": lat,
        "lon": lon,
        "status": ConcernStatus.NEW.value,
        "source": source,
        "idempotency_key": idempotency_key,
        "iso_week": iso_week_of(now, policy.zone),
        "created_on": local_date(now, policy.zone),
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "first_reply_at": None,
        "satisfied": None,
        "satisfaction_at": None,
        "merged_into_id": None,
    }
    if idempotency_key is None:
        return _insert(session, values)
    try:
        with session.begin_nested():
            return _insert(session, values)
    except IntegrityError:
        # Another transaction stored the same key between our check and our insert.
        existing = session.scalar(select(Concern).where(Concern.idempotency_key == idempotency_key))
        if existing is None:
            raise
        return existing


_TABLE = cast(Table, Concern.__table__)
# A drawn reference that is already taken inserts nothing (and returns no id): draw again. The unique
# constraint decides, so two writers can never share a reference, and no SELECT precedes the insert.
_INSERTS = {
    "sqlite": sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=["reference"]).returning(_TABLE.c.id),
    "postgresql": pg_insert(_TABLE).on_conflict_do_nothing(index_elements=["reference"]).returning(_TABLE.c.id),
}


def _insert(session: Session, values: dict[str, Any]) -> Concern:
    """Insert with one Core statement and hand back the row as a persistent, fully loaded Concern.

    Intake runs once per concern on the hot path; the ORM unit of work costs more than the INSERT itself.
    Every column is given, so the instance needs no reload; the session tracks later changes as usual.
    """
    connection = session.connection()
    statement = _INSERTS[connection.dialect.name]
    for _ in range(REFERENCE_DRAWS):
        values["reference"] = new_reference()
        new_id = connection.execute(statement, values).scalar()
        if new_id is not None:
            break
    else:
        raise RuntimeError("could not draw an unused concern reference")
    concern = Concern(id=new_id, **values)
    make_transient_to_detached(concern)
    session.add(concern)
    return concern
