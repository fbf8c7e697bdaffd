"""Concern intake: from a resident's raw words to a stored, redacted, analysed concern."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Table, bindparam, delete, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ClassManager, Session, configure_mappers, make_transient_to_detached

from core import nlp
from core.deployments import locate_district
from core.errors import Invalid, NotFound, RateLimited
from core.geo import valid_point
from core.models import (
    Category,
    Concern,
    ConcernEvent,
    ConcernKind,
    ConcernStatus,
    Deployment,
    QuestionCounter,
    Resident,
    utcnow,
)
from core.nlp.text import words as nlp_words
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
    # One draw from the OS per reference; 256 is a multiple of the alphabet's 32 letters, so no letter is favoured.
    drawn = secrets.token_bytes(REFERENCE_LENGTH)
    return "C-" + "".join(REFERENCE_ALPHABET[b % len(REFERENCE_ALPHABET)] for b in drawn)

REFERENCE_DRAWS = 20


RATE_WINDOW = timedelta(hours=1)  # DESIGN.md, Settings: CONCERNS_PER_HOUR, per resident
_RECENT = (select(func.count()).select_from(Concern)  # built once: every step of the concern flow asks
           .where(Concern.resident_id == bindparam("resident_id"), Concern.created_at >= bindparam("since")))


def _check_rate(session: Session, resident: Resident, policy: IntakePolicy, now: datetime) -> None:
    since = now - RATE_WINDOW
    recent = session.scalar(_RECENT, {"resident_id": resident.id, "since": since}) or 0
    if recent >= policy.concerns_per_hour:
        raise RateLimited(f"at most {policy.concerns_per_hour} concerns per hour", limit=policy.concerns_per_hour)


_COUNTER = cast(Table, QuestionCounter.__table__)
_COUNTER_INSERTS = {  # a resident's first counted question makes their row; two at once share it
    "sqlite": sqlite_insert(_COUNTER).on_conflict_do_nothing(index_elements=["resident_id"]),
    "postgresql": pg_insert(_COUNTER).on_conflict_do_nothing(index_elements=["resident_id"]),
}


def _count_unlinked(session: Session, asker: Resident, policy: IntakePolicy, now: datetime) -> None:
    """Count a question stored unlinked against its asker's hourly limit; raise RateLimited past the limit.

    The limit runs in windows of an hour from the first question counted, so every question counted in the
    current window was asked in the last hour (what the resident is told).
    """
    start = now.replace(second=0, microsecond=0)  # to the minute: not the instant of the question stored
    session.execute(_COUNTER_INSERTS[session.connection().dialect.name],
                    {"resident_id": asker.id, "window_started_at": start, "asked": 0})
    counter = session.scalars(select(QuestionCounter).where(QuestionCounter.resident_id == asker.id)
                              .with_for_update().execution_options(populate_existing=True)).one()
    if counter.window_started_at <= now - RATE_WINDOW:
        counter.window_started_at, counter.asked = start, 0
    if counter.asked >= policy.concerns_per_hour:
        raise RateLimited(f"at most {policy.concerns_per_hour} concerns per hour", limit=policy.concerns_per_hour)
    counter.asked += 1


def prune_question_counters(session: Session, *, now: datetime) -> int:
    """Delete the counters whose hour is over (a new window starts afresh); return how many."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(QuestionCounter).where(QuestionCounter.window_started_at <= now - RATE_WINDOW))
    return int(result.rowcount)


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
    asked_by: Resident | None = None,
    deployment: Deployment | None = None,
    category: Category | None = None,
    feeling: int | None = None,
    kind: ConcernKind = ConcernKind.CONCERN,
    lat: float | None = None,
    lon: float | None = None,
    idempotency_key: str | None = None,
    source: str = "bot",
    analyzer: nlp.SentimentAnalyzer | None = None,
    analysis: nlp.Analysis | None = None,
    now: datetime | None = None,
) -> Concern:
    """Record a concern with its redacted text and analysis; the same idempotency key stores it once.

    `asked_by`: with no `resident`, who asked (a resident without consent): the concern stays unlinked, but it
    counts against their hourly limit.
    `analysis`: the text's analysis made earlier (the bot's flow analyses the text when it arrives, and the
    resident gives a feeling later); `text` is then its redacted text, and only the label is made again.
    """
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise Invalid(f"idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    if (lat is None) != (lon is None) or (lat is not None and lon is not None and not valid_point(lat, lon)):
        raise Invalid("a location needs both lat (-90..90) and lon (-180..180)")
    # Analysis first: it touches no table, so on SQLite the write lock is taken only for the statements below.
    if analysis is None:
        analysis = nlp.analyze(text, prior_language=resident.language if resident else None, feeling=feeling,
                               region=policy.phone_region, analyzer=analyzer)
    elif analysis.text != text:
        raise ValueError("the analysis given is not of this text")
    else:
        analysis = nlp.with_feeling(analysis, feeling)
    if idempotency_key is not None:
        existing = session.scalar(select(Concern).where(Concern.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    now = now or utcnow()
    if resident is not None:
        _check_rate(session, resident, policy, now)
    elif asked_by is not None:
        _count_unlinked(session, asked_by, policy, now)
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



@cache
def _class_manager() -> ClassManager[Concern]:
    configure_mappers()  # a Concern built by hand below needs its attributes set up, as building one by call does
    return sa_inspect(Concern).class_manager
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
    # What a query would do when it loads the row: fill the instance's state directly. Constructing it
    # with Concern(**values) fires an attribute event per column, which costs more than the INSERT.
    concern = _class_manager().new_instance()
    concern.__dict__.update(values, id=new_id)
    make_transient_to_detached(concern)
    session.add(concern)
    return concern


def check_rate(session: Session, *, resident: Resident, policy: IntakePolicy, now: datetime | None = None) -> None:
    """Raise RateLimited when the resident has reached the hourly limit (before they write a draft)."""
    _check_rate(session, resident, policy, now or utcnow())


# DESIGN.md, Heuristics: same resident, deployment and category, within 7 days, token Jaccard >= 0.5.
DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_JACCARD = 0.5


def jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two texts (lower-case, accent-folded words)."""
    left, right = set(nlp_words(a)), set(nlp_words(b))
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def find_near_duplicate(session: Session, *, resident: Resident, deployment_id: int | None, category: str,
                        text: str, now: datetime | None = None) -> Concern | None:
    """Return the resident's recent concern that the new text nearly repeats (the most similar), or None."""
    now = now or utcnow()
    query = (select(Concern).where(Concern.resident_id == resident.id, Concern.category == category,
                                   Concern.created_at >= now - DUPLICATE_WINDOW, Concern.text != "")
             .order_by(Concern.created_at.desc()).limit(50))
    query = query.where(Concern.deployment_id.is_(None) if deployment_id is None
                        else Concern.deployment_id == deployment_id)
    best: tuple[float, Concern] | None = None
    for candidate in session.scalars(query):
        score = jaccard(candidate.text, text)
        if score >= DUPLICATE_JACCARD and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None


MAX_ADDITIONS = 20


def add_to(session: Session, *, concern: Concern, resident: Resident, text: str, policy: IntakePolicy,
           now: datetime | None = None) -> ConcernEvent:
    """Add a resident's follow-up text (redacted) to their own concern's history."""
    if concern.resident_id != resident.id:
        raise NotFound("no such concern of yours")
    analysis = nlp.analyze(text, prior_language=resident.language, region=policy.phone_region)
    count = session.scalar(select(func.count()).select_from(ConcernEvent).where(
        ConcernEvent.concern_id == concern.id, ConcernEvent.kind == "addition")) or 0
    if count >= MAX_ADDITIONS:
        raise RateLimited(f"at most {MAX_ADDITIONS} additions to one concern", limit=MAX_ADDITIONS)
    now = now or utcnow()
    event = ConcernEvent(concern_id=concern.id, kind="addition", reason=analysis.text, actor="resident",
                         created_at=now)
    session.add(event)
    concern.updated_at = now
    session.flush()
    return event


def answer_satisfaction(session: Session, *, concern: Concern, resident: Resident, satisfied: bool,
                        reason: str | None = None, policy: IntakePolicy, now: datetime | None = None) -> bool:
    """Record whether the resident is satisfied; "no" with a reason reopens a closed concern. Return reopened.

    A concern merged into another stays `duplicate`: the resident was told they hear about it under the concern
    it was merged into, so "no" reopens that one. Their reason stays on their own concern (as an addition, which
    the survivor's history shows), so erasing them or retention still reaches it.
    """
    if concern.resident_id != resident.id:
        raise NotFound("no such concern of yours")
    now = now or utcnow()
    concern.satisfied = satisfied
    concern.satisfaction_at = now
    concern.updated_at = now
    survivor = session.get(Concern, concern.merged_into_id) if concern.merged_into_id is not None else None
    if survivor is not None and not satisfied and reason is not None:
        return _reopen_survivor(session, concern=concern, survivor=survivor, resident=resident, reason=reason,
                                policy=policy, now=now)
    if satisfied or reason is None or survivor is not None:
        session.flush()
        return False
    redacted = nlp.analyze(reason, prior_language=resident.language, region=policy.phone_region).text
    if ConcernStatus(concern.status).is_open:  # reopened meanwhile: the reason joins its history, not dropped
        session.add(ConcernEvent(concern_id=concern.id, kind="addition", reason=redacted, actor="resident",
                                 created_at=now))
        session.flush()
        return False
    session.add(ConcernEvent(concern_id=concern.id, kind="status", from_value=concern.status,
                             to_value=ConcernStatus.REOPENED.value, reason=redacted, actor="resident",
                             created_at=now))
    concern.status = ConcernStatus.REOPENED.value
    concern.closed_at = None
    session.flush()
    return True


def _reopen_survivor(session: Session, *, concern: Concern, survivor: Concern, resident: Resident, reason: str,
                     policy: IntakePolicy, now: datetime) -> bool:
    redacted = nlp.analyze(reason, prior_language=resident.language, region=policy.phone_region).text
    session.add(ConcernEvent(concern_id=concern.id, kind="addition", reason=redacted, actor="resident",
                             created_at=now))
    if ConcernStatus(survivor.status).is_open:
        session.flush()
        return False
    session.add(ConcernEvent(concern_id=survivor.id, kind="status", from_value=survivor.status,
                             to_value=ConcernStatus.REOPENED.value, actor="resident",
                             reason=f"the resident of {concern.reference} (merged into it) is not satisfied",
                             created_at=now))
    survivor.status = ConcernStatus.REOPENED.value
    survivor.closed_at = None
    survivor.updated_at = now
    session.flush()
    return True


def list_mine(session: Session, *, resident: Resident, offset: int = 0, limit: int = 5) -> tuple[list[Concern], int]:
    """The resident's concerns, newest first, a page at a time, with the total."""
    total = session.scalar(select(func.count()).select_from(Concern).where(Concern.resident_id == resident.id)) or 0
    rows = list(session.scalars(select(Concern).where(Concern.resident_id == resident.id)
                                .order_by(Concern.created_at.desc(), Concern.id.desc()).offset(offset).limit(limit)))
    return rows, int(total)
