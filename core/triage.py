"""Staff work on concerns: status changes with history, replies that reach the resident through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.errors import Invalid, InvalidTransition
from core.models import Concern, ConcernEvent, ConcernStatus, Outbox, Resident, StaffReply, utcnow

MAX_REPLY_CHARS = 3500


def change_status(session: Session, *, concern: Concern, status: ConcernStatus, actor: str,
                  reason: str | None = None, now: datetime | None = None) -> ConcernEvent:
    """Move a concern to a new status and record who did it and why."""
    now = now or utcnow()
    current = ConcernStatus(concern.status)
    if status is current:
        raise InvalidTransition(f"the concern is already {status.value}")
    if status is ConcernStatus.NOT_RESPONSIBLE and not (reason and reason.strip()):
        raise Invalid("not_responsible needs a reason that names who is responsible")
    if status is ConcernStatus.NEW:
        raise InvalidTransition("a concern cannot return to new; use reopened")
    event = ConcernEvent(concern_id=concern.id, kind="status", from_value=current.value, to_value=status.value,
                         reason=reason, actor=actor, created_at=now)
    session.add(event)
    concern.status = status.value
    concern.updated_at = now
    concern.closed_at = None if status.is_open else now
    session.flush()
    return event


def reply(session: Session, *, concern: Concern, text: str, author: str, language: str | None = None,
          now: datetime | None = None) -> StaffReply:
    """Store a staff reply and queue it for the resident's chat in the same transaction."""
    text = text.strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        raise Invalid(f"a reply needs 1 to {MAX_REPLY_CHARS} characters")
    now = now or utcnow()
    staff_reply = StaffReply(concern_id=concern.id, text=text, language=language or concern.language,
                             author=author, created_at=now)
    session.add(staff_reply)
    resident = session.get(Resident, concern.resident_id) if concern.resident_id else None
    if resident is not None and resident.chat_id is not None and resident.active:
        outbox = Outbox(resident_id=resident.id, kind="staff_reply",
                        payload={"reference": concern.reference, "text": text,
                                 "language": staff_reply.language},
                        created_at=now, not_before=now)
        session.add(outbox)
        session.flush()
        staff_reply.outbox_id = outbox.id
    if concern.first_reply_at is None:
        concern.first_reply_at = now
    concern.updated_at = now
    session.flush()
    return staff_reply
