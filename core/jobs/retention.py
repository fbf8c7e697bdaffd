"""Retention: personal data does not outlive CIVICPULSE_RETENTION_DAYS; bot bookkeeping is tidied.

Concern texts (and residents' follow-up texts) older than the period are emptied while the figures stay
(category, sentiment, label, week, status), so statistics before and after are the same. Residents inactive for
longer lose their chat id; kept locations past their date are cleared; delivered outbox rows are pruned after
OUTBOX_KEEP (staff see delivery status meanwhile), failed ones after the retention period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, delete, select, update
from sqlalchemy.orm import Session

from core import concerns, flows, updates
from core.jobs.base import JobContext, Outcome
from core.models import Concern, ConcernEvent, JobRun, Outbox, OutboxStatus, Resident

log = logging.getLogger("civicpulse.jobs")

OUTBOX_KEEP = timedelta(days=30)
JOB_RUNS_KEEP = timedelta(days=400)


def _count(session: Session, statement: Any) -> int:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


def _expired_concerns(cutoff: datetime) -> Any:
    # created_on (indexed) narrows the scan; created_at decides to the second.
    return select(Concern.id).where(Concern.created_on <= cutoff.date(), Concern.created_at < cutoff,
                                    Concern.text_removed_at.is_(None))


def retention(session: Session, *, now: datetime, context: JobContext) -> Outcome:
    """Empty what is older than the retention period and prune delivered outbox rows; log every purge's count."""
    counts = dict.fromkeys(("concern_texts", "follow_up_texts", "chat_ids", "locations", "outbox_delivered",
                            "outbox_failed", "job_runs"), 0)
    if context.retention_days > 0:
        cutoff = now - timedelta(days=context.retention_days)
        expired = _expired_concerns(cutoff)
        counts["follow_up_texts"] = _count(session, update(ConcernEvent).where(
            ConcernEvent.kind == "addition", ConcernEvent.concern_id.in_(expired), ConcernEvent.reason != "")
            .values(reason="").execution_options(synchronize_session=False))
        counts["concern_texts"] = _count(session, update(Concern).where(Concern.id.in_(expired))
                                         .values(text="", text_removed_at=now, key_phrases=[])
                                         .execution_options(synchronize_session=False))
        counts["chat_ids"] = _count(session, update(Resident).where(
            Resident.last_seen_at < cutoff, Resident.chat_id.is_not(None)).values(chat_id=None)
            .execution_options(synchronize_session=False))
        counts["outbox_failed"] = _count(session, delete(Outbox).where(
            Outbox.status == OutboxStatus.FAILED, Outbox.created_at < cutoff)
            .execution_options(synchronize_session=False))
    counts["locations"] = _count(session, update(Resident).where(
        Resident.location_until.is_not(None), Resident.location_until <= now)
        .values(location_lat=None, location_lon=None, location_until=None)
        .execution_options(synchronize_session=False))
    counts["outbox_delivered"] = _count(session, delete(Outbox).where(
        and_(Outbox.status == OutboxStatus.DELIVERED, Outbox.sent_at < now - OUTBOX_KEEP))
        .execution_options(synchronize_session=False))
    counts["job_runs"] = _count(session, delete(JobRun).where(JobRun.started_at < now - JOB_RUNS_KEEP)
                                .execution_options(synchronize_session=False))
    log.info("retention: %d concern texts and %d follow-up texts emptied, %d chat ids of inactive residents "
             "forgotten, %d kept locations cleared, %d delivered and %d failed outbox rows pruned, %d job runs "
             "pruned", counts["concern_texts"], counts["follow_up_texts"], counts["chat_ids"], counts["locations"],
             counts["outbox_delivered"], counts["outbox_failed"], counts["job_runs"])
    return Outcome(counts=counts)


def retention_pending(session: Session, *, now: datetime, context: JobContext) -> bool:
    """Whether a retention run is owed: none succeeded in the last day (its own schedule is daily)."""
    last = session.scalar(select(JobRun.started_at).where(JobRun.job == "retention", JobRun.status == "ok")
                          .order_by(JobRun.started_at.desc()).limit(1))
    return last is None or last <= now - timedelta(days=1)


def housekeeping(session: Session, *, now: datetime, context: JobContext) -> Outcome:
    """Forget handled update ids after 48 hours, flows once they expire (24 hours), and counters of questions
    asked without consent once their hour is over."""
    return Outcome(counts={"update_ids": updates.prune(session, now=now), "flows": flows.prune(session, now=now),
                           "question_counters": concerns.prune_question_counters(session, now=now)})
