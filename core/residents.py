"""Residents: pseudonymous identity, language, consent, and their rights to export and erase."""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.campaigns.answering import forget_respondent
from core.errors import Invalid
from core.models import Base, CampaignAnswer, Concern, ConcernEvent, Resident, StaffReply, utcnow

LANGUAGES = ("en", "es")
_TABLE = cast(Table, Resident.__table__)
_INSERTS = {
    "sqlite": sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=["pseudonym"]),
    "postgresql": pg_insert(_TABLE).on_conflict_do_nothing(index_elements=["pseudonym"]),
}
LAST_SEEN_GRANULARITY = timedelta(hours=1)


def pseudonym(secret: bytes, telegram_user_id: int) -> str:
    """Return the stable pseudonym of a Telegram user: HMAC-SHA256(secret, id)."""
    return hmac.new(secret, str(telegram_user_id).encode(), hashlib.sha256).hexdigest()


def find(session: Session, *, secret: bytes, telegram_user_id: int) -> Resident | None:
    return session.scalar(select(Resident).where(Resident.pseudonym == pseudonym(secret, telegram_user_id)))


def get_or_create(session: Session, *, secret: bytes, telegram_user_id: int, chat_id: int | None = None,
                  language: str | None = None) -> Resident:
    """Return the resident behind a Telegram user, creating a pseudonymous record on first contact."""
    resident = find(session, secret=secret, telegram_user_id=telegram_user_id)
    now = utcnow()
    if resident is None:
        # Two workers may see a new resident's first two updates at once: the unique pseudonym decides, and
        # the one that did not insert reads the row the other wrote (PostgreSQL waits for it to commit).
        connection = session.connection()
        session.execute(_INSERTS[connection.dialect.name], {
            "pseudonym": pseudonym(secret, telegram_user_id), "chat_id": chat_id,
            "language": language if language in LANGUAGES else None, "created_at": now, "last_seen_at": now})
        created = find(session, secret=secret, telegram_user_id=telegram_user_id)
        assert created is not None
        return created
    if chat_id is not None and resident.chat_id != chat_id:
        resident.chat_id = chat_id
    return seen(resident, now=now)


def seen(resident: Resident, *, now: datetime) -> Resident:
    """The resident wrote: active again, and last seen now (written at most hourly, so most updates write nothing
    here; retention counts inactivity in days)."""
    if now - resident.last_seen_at >= LAST_SEEN_GRANULARITY:
        resident.last_seen_at = now
    if not resident.active:
        resident.active = True
    return resident


def set_language(session: Session, *, resident: Resident, language: str) -> Resident:
    if language not in LANGUAGES:
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}")
    resident.language = language
    return resident


def give_consent(session: Session, *, resident: Resident, now: datetime | None = None) -> Resident:
    if resident.consent_at is None:
        resident.consent_at = now or utcnow()
    return resident


def withdraw_consent(session: Session, *, resident: Resident) -> Resident:
    resident.consent_at = None
    resident.notifications = False
    return resident


def _tables_about_residents() -> list[tuple[Table, str]]:
    """Every table with a column that points at a resident (found from the schema, so new tables count)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "resident" for fk in column.foreign_keys):
                found.append((table, column.name))
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


HIDDEN_COLUMNS = frozenset({"chat_id", "staff_chat_id", "idempotency_key"})


def _row(mapping: Any) -> dict[str, Any]:
    return {k: _plain(v) for k, v in mapping.items() if k not in HIDDEN_COLUMNS}


def export(session: Session, *, resident: Resident) -> dict[str, Any]:
    """Return everything stored about the resident as a JSON-ready document."""
    document: dict[str, Any] = {
        "resident": {**_row(session.execute(select(Resident.__table__).where(Resident.id == resident.id))
                            .mappings().one()),
                     "chat_id_kept": resident.chat_id is not None},
    }
    for table, column in _tables_about_residents():
        rows = session.execute(select(table).where(table.c[column] == resident.id)
                               .order_by(*table.primary_key.columns)).mappings()
        document[table.name] = [_row(r) for r in rows]
    concern_ids = [c["id"] for c in document.get("concern", [])]
    if concern_ids:
        document["concern_event"] = [_row(r) for r in session.execute(
            select(ConcernEvent.__table__).where(ConcernEvent.concern_id.in_(concern_ids))
            .order_by(ConcernEvent.id)).mappings()]
        document["staff_reply"] = [_row(r) for r in session.execute(
            select(StaffReply.__table__).where(StaffReply.concern_id.in_(concern_ids))
            .order_by(StaffReply.id)).mappings()]
    response_ids = [r["id"] for r in document.get("campaign_response", [])]
    if response_ids:
        document["campaign_answer"] = [_row(r) for r in session.execute(
            select(CampaignAnswer.__table__).where(CampaignAnswer.response_id.in_(response_ids))
            .order_by(CampaignAnswer.id)).mappings()]
    return document


@dataclass
class EraseReport:
    concerns_unlinked: int = 0
    campaign_responses_unlinked: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)


def _run(session: Session, statement: Any) -> int:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


def erase(session: Session, *, resident: Resident, now: datetime | None = None) -> EraseReport:
    """Erase a resident: concerns and campaign responses stay for honest statistics but are unlinked and emptied
    of text; the rest goes."""
    now = now or utcnow()
    report = EraseReport()
    concern_ids = list(session.scalars(select(Concern.id).where(Concern.resident_id == resident.id)))
    if concern_ids:
        report.rows_deleted["staff_reply"] = _run(session, delete(StaffReply).where(
            StaffReply.concern_id.in_(concern_ids)))
        session.execute(update(ConcernEvent).where(ConcernEvent.concern_id.in_(concern_ids)).values(reason=None))
        report.concerns_unlinked = _run(session, update(Concern).where(Concern.id.in_(concern_ids)).values(
            resident_id=None, text="", text_removed_at=now, key_phrases=[], lat=None, lon=None,
            idempotency_key=None, updated_at=now))
    # Campaign responses, like concerns, stay for honest results: unlinked, free text emptied.
    report.campaign_responses_unlinked = forget_respondent(session, resident_id=resident.id)
    for table, column in _tables_about_residents():
        if table.name in ("concern", "campaign_response"):
            continue
        count = _run(session, delete(table).where(table.c[column] == resident.id))
        if count:
            report.rows_deleted[table.name] = report.rows_deleted.get(table.name, 0) + count
    session.execute(delete(Resident).where(Resident.id == resident.id))
    report.rows_deleted["resident"] = 1
    session.expunge(resident)
    return report


def set_notifications(session: Session, *, resident: Resident, on: bool) -> Resident:
    """Switch campaign invitations and follow notices on or off (needs consent to switch on)."""
    if on and resident.consent_at is None:
        raise Invalid("notifications need consent")
    resident.notifications = on
    return resident


# DESIGN.md, Residents' data: a kept location is coarsened to about 250 m and kept 30 days.
LOCATION_GRID_M = 250.0
LOCATION_KEEP = timedelta(days=30)
_METRES_PER_DEGREE = 111_320.0


def coarsen(lat: float, lon: float, grid_m: float = LOCATION_GRID_M) -> tuple[float, float]:
    """Snap a point to the centre of its cell of a ~grid_m metre grid."""
    lat_step = grid_m / _METRES_PER_DEGREE
    lat_c = (math.floor(lat / lat_step) + 0.5) * lat_step
    lon_step = grid_m / (_METRES_PER_DEGREE * max(math.cos(math.radians(lat_c)), 0.01))
    lon_c = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(max(-90.0, min(90.0, lat_c)), 6), round(((lon_c + 180.0) % 360.0) - 180.0, 6)


def set_keep_location(session: Session, *, resident: Resident, on: bool) -> Resident:
    """Opt in or out of keeping the last shared location; opting out forgets it at once."""
    if on and resident.consent_at is None:
        raise Invalid("keeping a location needs consent")
    resident.keep_location = on
    if not on:
        resident.location_lat = resident.location_lon = resident.location_until = None
    return resident


def remember_location(session: Session, *, resident: Resident, lat: float, lon: float, now: datetime) -> bool:
    """Keep a coarsened copy of a shared location when the resident opted in; return whether it was kept."""
    if not resident.keep_location or resident.consent_at is None:
        return False
    resident.location_lat, resident.location_lon = coarsen(lat, lon)
    resident.location_until = now + LOCATION_KEEP
    return True


def mark_blocked(session: Session, *, secret: bytes, telegram_user_id: int) -> bool:
    """The resident blocked the bot: stop writing to them (outbox rows to inactive residents fail)."""
    resident = find(session, secret=secret, telegram_user_id=telegram_user_id)
    if resident is None:
        return False
    resident.active = False
    return True
