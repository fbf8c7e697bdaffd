"""Staff work on concerns: status changes with history, replies that reach the resident through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from core.errors import Invalid, InvalidTransition, NotFound
from core.models import (
    Category,
    Concern,
    ConcernEvent,
    ConcernStatus,
    Deployment,
    District,
    Label,
    Outbox,
    Resident,
    StaffReply,
    utcnow,
)
from core.pagination import Page, check_limit, cursor_id, decode_cursor, encode_cursor
from core.timeutil import in_range

MAX_REPLY_CHARS = 3500


def survivor_of(session: Session, *, concern: Concern) -> Concern | None:
    """The concern this one was merged into (merges keep it pointing at the last survivor), or None."""
    return session.get(Concern, concern.merged_into_id) if concern.merged_into_id is not None else None


def change_status(session: Session, *, concern: Concern, status: ConcernStatus, actor: str,
                  reason: str | None = None, now: datetime | None = None) -> ConcernEvent:
    """Move a concern to a new status, record who did it and why, and queue a notice for the resident.

    The reason reaches the resident only for not_responsible (it names who is); otherwise it is a staff note.
    A concern merged into another is followed through its survivor, so its own status stays `duplicate`; and a
    concern becomes `duplicate` only by a merge, which names the concern it repeats.
    """
    survivor = survivor_of(session, concern=concern)
    if survivor is not None:
        raise InvalidTransition(f"{concern.reference} was merged into {survivor.reference}; "
                                f"change the status of {survivor.reference} instead")
    if status is ConcernStatus.DUPLICATE:
        raise Invalid("a concern becomes a duplicate only by merging it into the concern it repeats (merge)")
    return _set_status(session, concern=concern, status=status, actor=actor, reason=reason, now=now)


def _set_status(session: Session, *, concern: Concern, status: ConcernStatus, actor: str, reason: str | None,
                now: datetime | None, notify: bool = True) -> ConcernEvent:
    """`notify=False` is for callers that tell the resident themselves (a merge sends its own notice)."""
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
    resident = session.get(Resident, concern.resident_id) if notify and concern.resident_id else None
    if resident is not None and resident.chat_id is not None and resident.active:
        payload = {"reference": concern.reference, "status": status.value}
        if status is ConcernStatus.NOT_RESPONSIBLE:
            payload["reason"] = (reason or "").strip()
        session.add(Outbox(resident_id=resident.id, kind="concern_status", payload=payload, created_at=now,
                           not_before=now, dedupe_key=f"status:{event.id}"))
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


def get_by_reference(session: Session, *, reference: str) -> Concern:
    """Return the concern with this public reference (any case), or raise NotFound."""
    canonical = reference.strip().upper()
    found = session.scalar(select(Concern).where(Concern.reference == canonical)) if canonical else None
    if found is None:
        raise NotFound(f"no concern with reference {reference.strip()[:20]!r}")
    return found


def correct_category(session: Session, *, concern: Concern, category: Category, actor: str,
                     now: datetime | None = None) -> ConcernEvent:
    """Set the category staff judge right; the suggester's choice stays in suggested_category."""
    if category.value == concern.category:
        raise InvalidTransition(f"the category is already {category.value}")
    now = now or utcnow()
    event = ConcernEvent(concern_id=concern.id, kind="category", from_value=concern.category,
                         to_value=category.value, actor=actor, created_at=now)
    session.add(event)
    concern.category = category.value
    concern.updated_at = now
    session.flush()
    return event


@dataclass(frozen=True)
class ConcernFilters:
    deployment: str | None = None
    category: Category | None = None
    district: str | None = None
    status: ConcernStatus | None = None
    label: Label | None = None
    polarity_min: float | None = None
    polarity_max: float | None = None
    language: str | None = None
    start: date | None = None
    end: date | None = None
    has_reply: bool | None = None
    text: str | None = None
    oldest_first: bool = False


def filtered_query(filters: ConcernFilters) -> Select[Concern]:
    """The SELECT of concerns matching the filters (no order, no page)."""
    f = filters
    if f.start and f.end and f.end < f.start:
        raise Invalid("'to' is before 'from'")
    if f.polarity_min is not None and f.polarity_max is not None and f.polarity_max < f.polarity_min:
        raise Invalid("polarity_max is below polarity_min")
    query = select(Concern)
    if f.deployment:
        query = query.join(Deployment, Concern.deployment_id == Deployment.id).where(Deployment.code == f.deployment)
    if f.district:
        query = query.join(District, Concern.district_id == District.id).where(District.slug == f.district)
    for column, value in ((Concern.category, f.category), (Concern.status, f.status), (Concern.label, f.label),
                          (Concern.language, f.language)):
        if value is not None:
            query = query.where(column == value)
    if f.start is not None:
        query = query.where(Concern.created_on >= f.start)
    if f.end is not None:
        query = query.where(Concern.created_on <= f.end)
    if f.polarity_min is not None:
        query = query.where(Concern.polarity >= f.polarity_min)
    if f.polarity_max is not None:
        query = query.where(Concern.polarity <= f.polarity_max)
    if f.has_reply is not None:
        query = query.where(Concern.first_reply_at.is_not(None) if f.has_reply else Concern.first_reply_at.is_(None))
    if f.text:
        query = query.where(func.lower(Concern.text).contains(f.text.lower(), autoescape=True))
    return query


def list_for_staff(session: Session, *, filters: ConcernFilters, limit: int = 50, cursor: str | None = None
                   ) -> Page[Concern]:
    """List concerns matching the filters, newest (or oldest) first, a page at a time."""
    check_limit(limit)
    f = filters
    query = filtered_query(f)
    if cursor:
        at, raw_id = decode_cursor(cursor, 2)
        try:
            moment = datetime.fromisoformat(str(at))
        except ValueError as exc:
            raise Invalid("invalid cursor") from exc
        if moment.tzinfo is None or not in_range(moment):
            raise Invalid("invalid cursor")
        last_id = cursor_id(raw_id)
        if f.oldest_first:
            query = query.where(or_(Concern.created_at > moment,
                                    and_(Concern.created_at == moment, Concern.id > last_id)))
        else:
            query = query.where(or_(Concern.created_at < moment,
                                    and_(Concern.created_at == moment, Concern.id < last_id)))
    order = (Concern.created_at.asc(), Concern.id.asc()) if f.oldest_first else (Concern.created_at.desc(),
                                                                                   Concern.id.desc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more and rows else None
    return Page(rows, next_cursor)


@dataclass(frozen=True)
class ConcernDetail:
    concern: Concern
    deployment_code: str | None
    district_slug: str | None
    history: list[tuple[str, ConcernEvent]]  # (reference of the concern it happened to, event), oldest first
    replies: list[tuple[StaffReply, str | None]]  # (reply, delivery status of its outbox row)
    merged: list[str]  # references merged into this concern


def detail(session: Session, *, concern: Concern) -> ConcernDetail:
    """Return a concern with its history and its replies' delivery status."""
    code = (session.scalar(select(Deployment.code).where(Deployment.id == concern.deployment_id))
            if concern.deployment_id else None)
    slug = (session.scalar(select(District.slug).where(District.id == concern.district_id))
            if concern.district_id else None)
    merged = merged_into(session, concern=concern)
    references = {c.id: c.reference for c in [concern, *merged]}
    # A survivor of merges carries the histories of the concerns merged into it.
    history = [(references[e.concern_id], e) for e in session.scalars(
        select(ConcernEvent).where(ConcernEvent.concern_id.in_(references)).order_by(ConcernEvent.created_at,
                                                                                     ConcernEvent.id))]
    replies: list[tuple[StaffReply, str | None]] = [(r, s) for r, s in session.execute(
        select(StaffReply, Outbox.status).outerjoin(Outbox, StaffReply.outbox_id == Outbox.id)
        .where(StaffReply.concern_id == concern.id).order_by(StaffReply.id)).all()]
    return ConcernDetail(concern, code, slug, history, replies, [c.reference for c in merged])


def merge(session: Session, *, first: Concern, second: Concern, actor: str, now: datetime | None = None
          ) -> tuple[Concern, Concern]:
    """Merge two concerns: the older survives with both histories, the other becomes its duplicate.

    Every resident involved is told the outcome through the outbox. Return (survivor, duplicate).
    """
    if first.id == second.id:
        raise Invalid("a concern cannot be merged with itself")
    for concern in (first, second):
        if concern.merged_into_id is not None:
            raise InvalidTransition(f"{concern.reference} is already merged into another concern")
    now = now or utcnow()
    survivor, duplicate = sorted((first, second), key=lambda c: (c.created_at, c.id))
    session.add(ConcernEvent(concern_id=survivor.id, kind="merge", from_value=duplicate.reference,
                             to_value=survivor.reference, actor=actor, created_at=now))
    if ConcernStatus(duplicate.status) is not ConcernStatus.DUPLICATE:
        _set_status(session, concern=duplicate, status=ConcernStatus.DUPLICATE, actor=actor,
                    reason=f"merged into {survivor.reference}", now=now, notify=False)
    duplicate.merged_into_id = survivor.id
    # Concerns merged earlier into the duplicate follow it into the survivor, so one chain never forks.
    for earlier in session.scalars(select(Concern).where(Concern.merged_into_id == duplicate.id)):
        earlier.merged_into_id = survivor.id
    # One notice per resident: someone who raised both concerns hears once that they were joined.
    both = survivor.resident_id is not None and survivor.resident_id == duplicate.resident_id
    for concern in (survivor,) if both else (survivor, duplicate):
        resident = session.get(Resident, concern.resident_id) if concern.resident_id else None
        if resident is not None and resident.chat_id is not None and resident.active:
            payload: dict[str, object] = {"reference": concern.reference, "merged_with": duplicate.reference,
                                          "into": survivor.reference}
            if both:
                payload["both"] = True
            session.add(Outbox(resident_id=resident.id, kind="concern_merged", created_at=now, not_before=now,
                               payload=payload, dedupe_key=f"merge:{duplicate.id}:{survivor.id}:r{resident.id}"))
    session.flush()
    return survivor, duplicate


def merged_into(session: Session, *, concern: Concern) -> list[Concern]:
    """The concerns merged into this one, oldest first."""
    return list(session.scalars(select(Concern).where(Concern.merged_into_id == concern.id)
                                .order_by(Concern.created_at, Concern.id)))
