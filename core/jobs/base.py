"""What every job body shares: its settings, what it returns, and the record of notices already queued."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Notice, Outbox
from core.settings import Settings


@dataclass(frozen=True)
class JobContext:
    """The settings the job bodies read."""

    zone: ZoneInfo
    staff_chat_ids: tuple[int, ...] = ()
    retention_days: int = 365
    satisfaction_delay_days: int = 3
    min_group_size: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> JobContext:
        return cls(zone=settings.zone, staff_chat_ids=tuple(settings.staff_chat_ids),
                   retention_days=settings.retention_days, satisfaction_delay_days=settings.satisfaction_delay_days,
                   min_group_size=settings.min_group_size)


@dataclass
class Outcome:
    """What a job did (counts for the log and `jobs list`) and what must be sent (outbox rows, not yet added)."""

    counts: dict[str, int] = field(default_factory=dict)
    messages: list[Outbox] = field(default_factory=list)
    note: str | None = None

    @property
    def idle(self) -> bool:
        return not self.messages and not any(self.counts.values())


def notice_exists(session: Session, *, kind: str, subject: str, recipient: str) -> bool:
    return session.scalar(select(Notice.id).where(Notice.kind == kind, Notice.subject == subject,
                                                  Notice.recipient == recipient)) is not None
