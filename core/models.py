"""The schema as typed SQLAlchemy models; Alembic migrations are generated from and checked against it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC; return timezone-aware datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; civicpulse stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class DeploymentStatus(StrEnum):
    PROPOSED = "proposed"
    PILOT = "pilot"
    ACTIVE = "active"
    PAUSED = "paused"
    RETIRED = "retired"


class Category(StrEnum):
    PRIVACY = "privacy"
    SURVEILLANCE = "surveillance"
    RETENTION = "retention"
    ACCESS_SHARING = "access_sharing"
    EQUITY = "equity"
    USEFULNESS = "usefulness"
    SAFETY = "safety"
    NOISE = "noise"
    ACCESSIBILITY = "accessibility"
    COST = "cost"
    JOBS = "jobs"
    ENVIRONMENT = "environment"
    OTHER = "other"


class ConcernKind(StrEnum):
    CONCERN = "concern"
    QUESTION = "question"


class ConcernStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    PLANNED = "planned"
    REOPENED = "reopened"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    NOT_RESPONSIBLE = "not_responsible"
    DUPLICATE = "duplicate"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset(
    {ConcernStatus.NEW, ConcernStatus.ACKNOWLEDGED, ConcernStatus.INVESTIGATING, ConcernStatus.PLANNED,
     ConcernStatus.REOPENED}
)


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    ORGANIZER = "organizer"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class District(Base):
    __tablename__ = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    center_lat: Mapped[float] = mapped_column(Float)
    center_lon: Mapped[float] = mapped_column(Float)
    # Part of the district index's fingerprint: a polygon rewritten in place by any process is seen by all.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    __tablename__ = "deployment"
    __table_args__ = (
        CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
        CheckConstraint("lon >= -180 AND lon <= 180", name="lon_range"),
        Index("ix_deployment_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    technology: Mapped[str] = mapped_column(String(64), index=True)
    purposes: Mapped[list[str] | None] = mapped_column(JSON)
    data_types: Mapped[list[str] | None] = mapped_column(JSON)
    processing: Mapped[list[str] | None] = mapped_column(JSON)
    access: Mapped[list[str] | None] = mapped_column(JSON)
    storage: Mapped[list[str] | None] = mapped_column(JSON)
    # NULL: the city has not published it; 0: nothing is kept; n: kept n days.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    personal_data: Mapped[bool | None] = mapped_column(Boolean)
    legal_basis: Mapped[str | None] = mapped_column(String(500))
    privacy_url: Mapped[str | None] = mapped_column(String(500))
    info_url: Mapped[str | None] = mapped_column(String(500))
    accountable_org: Mapped[str | None] = mapped_column(String(200))
    accountable_contact: Mapped[str | None] = mapped_column(String(200))
    vendor: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), index=True)
    pilot_start: Mapped[date | None] = mapped_column(Date)
    pilot_end: Mapped[date | None] = mapped_column(Date)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    district: Mapped[District | None] = relationship(lazy="raise")


class DeploymentVersion(Base):
    """One change of a register record: who, when, which fields, and the values after it."""

    __tablename__ = "deployment_version"
    __table_args__ = (UniqueConstraint("deployment_id", "version", name="uq_deployment_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Resident(Base):
    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    # Kept only to reply; erased on request or after inactivity.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8))
    consent_at: Mapped[datetime | None]
    notifications: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Opt-in: the last shared location, coarsened (~250 m), kept 30 days, for campaign targeting.
    keep_location: Mapped[bool] = mapped_column(Boolean, default=False)
    location_lat: Mapped[float | None] = mapped_column(Float)
    location_lon: Mapped[float | None] = mapped_column(Float)
    location_until: Mapped[datetime | None]


class Concern(Base):
    __tablename__ = "concern"
    __table_args__ = (
        CheckConstraint("feeling IS NULL OR (feeling >= 1 AND feeling <= 5)", name="feeling_range"),
        Index("ix_concern_iso_week_category", "iso_week", "category"),
        Index("ix_concern_created_on", "created_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default=ConcernKind.CONCERN)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id", ondelete="SET NULL"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id", ondelete="SET NULL"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    suggested_category: Mapped[str | None] = mapped_column(String(32))
    # Redacted at intake; emptied ("") by erase and retention.
    text: Mapped[str] = mapped_column(Text)
    text_removed_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(8))
    feeling: Mapped[int | None] = mapped_column(SmallInteger)
    polarity: Mapped[float | None] = mapped_column(Float)
    subjectivity: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(32))
    key_phrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32), default=ConcernStatus.NEW, index=True)
    source: Mapped[str] = mapped_column(String(16), default="bot")
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    iso_week: Mapped[str] = mapped_column(String(8))
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("concern.id", ondelete="SET NULL"))

    deployment: Mapped[Deployment | None] = relationship(lazy="raise")
    district: Mapped[District | None] = relationship(lazy="raise")


class ConcernEvent(Base):
    """One entry of a concern's history: a status change, a category correction, a merge."""

    __tablename__ = "concern_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concern.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(String(64))
    to_value: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffReply(Base):
    __tablename__ = "staff_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concern.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    author: Mapped[str] = mapped_column(String(200))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Follow(Base):
    __tablename__ = "follow"
    __table_args__ = (
        UniqueConstraint("resident_id", "deployment_id", name="uq_follow_resident_deployment"),
        UniqueConstraint("resident_id", "district_id", name="uq_follow_resident_district"),
        CheckConstraint("(deployment_id IS NULL) <> (district_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_not_before", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), index=True)
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(32))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WeeklySummary(Base):
    """A week's summary as computed and stored (quotes by reference, resolved when read)."""

    __tablename__ = "weekly_summary"

    id: Mapped[int] = mapped_column(primary_key=True)
    iso_week: Mapped[str] = mapped_column(String(8), unique=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowState(Base):
    """Where a resident is in a bot flow (a draft concern and its step); redacted text only, expires."""

    __tablename__ = "flow_state"

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class QuestionCounter(Base):
    """How many questions a resident without consent filed in their current hour (at most one row each).

    Those questions are stored unlinked (asking needs no consent), yet the hourly limit applies to them: this
    row counts them without pointing at any. The window's start is kept to the minute, not to the instant of a
    stored question; housekeeping deletes the row once its hour is over, and erase and /mydata cover it.
    """

    __tablename__ = "question_counter"

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    asked: Mapped[int] = mapped_column(Integer)


class ProcessedUpdate(Base):
    """A Telegram update the bot has handled, so a redelivered one is handled once (kept 48 h)."""

    __tablename__ = "processed_update"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"
    FREE_TEXT = "free_text"


class Campaign(Base):
    """An organizer's consultation: texts per language, target, questions in order, times, status."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(32), default=CampaignStatus.DRAFT, index=True)
    languages: Mapped[list[str]] = mapped_column(JSON)
    title: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{"kind", "required", "text": {lang: str}, "options": [{lang: str}, ...]}, ...] — fixed once open.
    questions: Mapped[list[Any]] = mapped_column(JSON)
    target_deployments: Mapped[list[str]] = mapped_column(JSON)
    target_districts: Mapped[list[str]] = mapped_column(JSON)
    target_lat: Mapped[float | None] = mapped_column(Float)
    target_lon: Mapped[float | None] = mapped_column(Float)
    target_radius_m: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    results_public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    # When the lifecycle job wrote each notice batch (data-driven and idempotent: NULL means not yet).
    invitations_at: Mapped[datetime | None]
    reminders_at: Mapped[datetime | None]
    results_sent_at: Mapped[datetime | None]


class CampaignResponse(Base):
    """One resident's response to a campaign: where they are (for resume) and their district at answer time."""

    __tablename__ = "campaign_response"
    __table_args__ = (
        UniqueConstraint("campaign_id", "resident_id", name="uq_campaign_response_resident"),
        # Covers the per-district counts of results (an index-only scan of one campaign).
        Index("ix_campaign_response_campaign_district", "campaign_id", "district_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # NULL once the resident is erased: the answers stay (emptied of text) so results stay honest.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id", ondelete="SET NULL"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"))
    current_index: Mapped[int] = mapped_column(SmallInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class CampaignAnswer(Base):
    """One answer to one question: an option index or scale value, a bit mask of options, or analysed text."""

    __tablename__ = "campaign_answer"
    __table_args__ = (
        UniqueConstraint("response_id", "question_index", name="uq_campaign_answer_question"),
        # One question's answers, newest first (free-text listings, key phrases).
        Index("ix_campaign_answer_campaign_question", "campaign_id", "question_index", "id"),
        # Covers the one grouped query behind every distribution of results (an index-only scan, in group order).
        Index("ix_campaign_answer_figures", "campaign_id", "question_index", "skipped", "value", "mask", "label",
              "category", "polarity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("campaign_response.id", ondelete="CASCADE"))
    # Repeated from the response so results aggregate one table by campaign without a join.
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    question_index: Mapped[int] = mapped_column(SmallInteger)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    value: Mapped[int | None] = mapped_column(SmallInteger)  # single choice: option index; scale: 1..5
    mask: Mapped[int | None] = mapped_column(Integer)  # multiple choice: bit i set when option i was chosen
    # Free text: redacted at answer time and analysed like a concern; emptied by erase.
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    polarity: Mapped[float | None] = mapped_column(Float)
    subjectivity: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    key_phrases: Mapped[list[str] | None] = mapped_column(JSON)
    flags: Mapped[list[str] | None] = mapped_column(JSON)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


# Scheduled work: one owner of the schedule, a record of every job run, and what each job already told whom.

class SchedulerLease(Base):
    """Who runs the schedule and the outbox sender until when; renewed by its owner, taken over once expired."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """One run of a scheduled job (by its schedule, the catch-up tick or `civicpulse jobs run`) and what it did."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Notice(Base):
    """A message a job queued once for one recipient (a digest of a week, a pilot reminder, a satisfaction check).

    The unique key is what makes a job's effect idempotent: it outlives the outbox row, which retention prunes.
    """

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("kind", "subject", "recipient", name="uq_notice_kind_subject_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(40))  # "resident:<id>" or "chat:<staff chat id>"
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The sender claims a row only when no older row of its chat is unfinished: (recipient, id) keeps that check one
# index range scan whatever the planner's statistics say (a broadcast fills the table faster than ANALYZE runs).
Index("ix_outbox_resident_id_id", Outbox.resident_id, Outbox.id)
Index("ix_outbox_staff_chat_id_id", Outbox.staff_chat_id, Outbox.id)


class CampaignAnswerPhrase(Base):
    """One key phrase of a free-text answer, so results count phrases with an index-only GROUP BY."""

    __tablename__ = "campaign_answer_phrase"
    __table_args__ = (Index("ix_campaign_answer_phrase_question", "campaign_id", "question_index", "phrase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("campaign_answer.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    question_index: Mapped[int] = mapped_column(SmallInteger)
    phrase: Mapped[str] = mapped_column(String(200))
