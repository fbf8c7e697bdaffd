"""Telegram updates the bot has handled, so a redelivered update (same update_id) is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.models import ProcessedUpdate

# DESIGN.md, Offline facts: scoped to the bot and kept 48 hours.
KEEP = timedelta(hours=48)
_TABLE = cast(Table, ProcessedUpdate.__table__)
# RETURNING tells whether the row went in (rowcount after ON CONFLICT DO NOTHING is not portable).
_INSERTS = {
    "sqlite": sqlite_insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.update_id),
    "postgresql": pg_insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.update_id),
}


def claim(session: Session, *, bot_id: int, update_id: int, now: datetime) -> bool:
    """Record the update as handled; return False when it already was (by this or another worker)."""
    connection = session.connection()
    inserted = connection.execute(
        _INSERTS[connection.dialect.name], {"bot_id": bot_id, "update_id": update_id, "created_at": now}).scalar()
    return inserted is not None


def prune(session: Session, *, now: datetime) -> int:
    """Forget handled updates older than 48 hours; return how many."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(ProcessedUpdate).where(ProcessedUpdate.created_at < now - KEEP))
    return int(result.rowcount)
