"""The audit log: who changed what, when. Every write through the staff API records one event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AuditEvent, utcnow
from core.pagination import Page, newest_first


def record(session: Session, *, principal: str, role: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, now: datetime | None = None) -> AuditEvent:
    """Append one audit event in the caller's transaction."""
    event = AuditEvent(principal=principal, role=role, action=action, target=target, detail=detail or {},
                       created_at=now or utcnow())
    session.add(event)
    return event


def list_events(session: Session, *, limit: int = 50, cursor: str | None = None) -> Page[AuditEvent]:
    """Newest first, a page at a time."""
    return newest_first(session, select(AuditEvent), AuditEvent.id, limit=limit, cursor=cursor)
