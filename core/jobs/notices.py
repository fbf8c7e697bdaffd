"""Notices to residents that jobs send once: pilot reminders 14 and 3 days before a pilot ends, satisfaction checks.

Both are found from the data each time they run (what is due and has no notice yet), so a run that was missed is
made up by the next one, and a second run, or a second process, finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.jobs.base import JobContext, Outcome
from core.models import Concern, ConcernStatus, Deployment, DeploymentStatus, JobRun, Notice, Outbox, Resident
from core.versions import followers

REMINDER_HOUR = 9  # local time: reminders and checks are not sent at night
QUIET_FROM_HOUR = 20
THRESHOLDS = (3, 14)  # days before a pilot ends, tightest first
PILOT_KIND = "pilot_reminder"
SATISFACTION_KIND = "satisfaction_check"
SATISFACTION_WINDOW = timedelta(days=14)  # a check that could not be sent for two weeks is no longer asked


def _resident(resident_id: int) -> str:
    return f"resident:{resident_id}"


def _reminder_day(now: datetime, zone: ZoneInfo) -> date:
    """The local day whose reminders are due: today from 09:00 on, yesterday before."""
    return (now.astimezone(zone).replace(tzinfo=None) - timedelta(hours=REMINDER_HOUR)).date()


def _daytime(now: datetime, zone: ZoneInfo) -> bool:
    return REMINDER_HOUR <= now.astimezone(zone).hour < QUIET_FROM_HOUR


@dataclass(frozen=True)
class PilotEvent:
    deployment: Deployment
    threshold: int
    days_left: int

    @property
    def subject(self) -> str:
        assert self.deployment.pilot_end is not None
        return f"{self.deployment.id}:{self.deployment.pilot_end.isoformat()}:{self.threshold}"


def _pilot_events(session: Session, *, now: datetime, zone: ZoneInfo) -> list[PilotEvent]:
    """Pilots ending within the widest threshold; each at the tightest threshold it has reached.

    None at night: a reminder held back then goes out from 09:00 local time.
    """
    if not _daytime(now, zone):
        return []
    day = _reminder_day(now, zone)
    events = []
    for deployment in session.scalars(
            select(Deployment).where(Deployment.status == DeploymentStatus.PILOT.value,
                                     Deployment.pilot_end > day,
                                     Deployment.pilot_end <= day + timedelta(days=max(THRESHOLDS)))
            .order_by(Deployment.id)):
        assert deployment.pilot_end is not None
        days_left = (deployment.pilot_end - day).days
        threshold = next(n for n in THRESHOLDS if days_left <= n)
        events.append(PilotEvent(deployment, threshold, days_left))
    return events


def _unsent(session: Session, event: PilotEvent) -> list[int]:
    told = set(session.scalars(select(Notice.resident_id).where(Notice.kind == PILOT_KIND,
                                                                Notice.subject == event.subject)))
    return [r for r in followers(session, deployment=event.deployment) if r not in told]


def pilots_pending(session: Session, *, now: datetime, context: JobContext) -> bool:
    """Whether a follower of a pilot that is ending has not been told yet."""
    return any(_unsent(session, event) for event in _pilot_events(session, now=now, zone=context.zone))


def pilot_reminders(session: Session, *, now: datetime, context: JobContext) -> Outcome:
    """Tell each follower of a pilot (or of its district) 14 and 3 days before it ends, once per event."""
    outcome = Outcome(counts={"pilots": 0, "residents": 0})
    for event in _pilot_events(session, now=now, zone=context.zone):
        deployment, residents = event.deployment, _unsent(session, event)
        if not residents:
            continue
        outcome.counts["pilots"] += 1
        assert deployment.pilot_end is not None
        payload = {"code": deployment.code, "name": deployment.name, "pilot_end": deployment.pilot_end.isoformat(),
                   "days": event.days_left}
        for resident_id in residents:
            session.add(Notice(kind=PILOT_KIND, subject=event.subject, recipient=_resident(resident_id),
                               resident_id=resident_id, created_at=now))
            outcome.messages.append(Outbox(resident_id=resident_id, kind=PILOT_KIND, payload=payload, created_at=now,
                                           not_before=now, dedupe_key=f"pilot:{event.subject}:r{resident_id}"))
        outcome.counts["residents"] += len(residents)
    session.flush()
    return outcome


CLOSED_ASKED = tuple(s.value for s in ConcernStatus if not s.is_open and s is not ConcernStatus.DUPLICATE)


def _checks_due(session: Session, *, now: datetime, context: JobContext) -> list[tuple[int, str, int]]:
    """(concern id, reference, resident id) of closed concerns whose check is due and was never sent."""
    if not _daytime(now, context.zone):
        return []
    due_by = now - timedelta(days=context.satisfaction_delay_days)
    asked = exists().where(Notice.kind == SATISFACTION_KIND, Notice.subject == Concern.reference)
    rows = session.execute(
        select(Concern.id, Concern.reference, Concern.resident_id).join(Resident, Resident.id == Concern.resident_id)
        .where(Concern.status.in_(CLOSED_ASKED), Concern.closed_at <= due_by,
               Concern.closed_at > due_by - SATISFACTION_WINDOW, Concern.satisfied.is_(None),
               Resident.active.is_(True), Resident.chat_id.is_not(None), ~asked)
        .order_by(Concern.closed_at, Concern.id)).all()
    return [(int(i), str(ref), int(r)) for i, ref, r in rows if r is not None]


def checks_pending(session: Session, *, now: datetime, context: JobContext) -> bool:
    """Whether checks are due and the job has not looked for them in the last hour (its own schedule is hourly).

    The hour keeps the minute tick from scanning closed concerns every minute; a missed hour is still made up.
    """
    if not _daytime(now, context.zone):
        return False
    last = session.scalar(select(JobRun.started_at).where(JobRun.job == "satisfaction-checks", JobRun.status == "ok")
                          .order_by(JobRun.started_at.desc()).limit(1))
    if last is not None and now - last < timedelta(hours=1):
        return False
    return bool(_checks_due(session, now=now, context=context))


def satisfaction_checks(session: Session, *, now: datetime, context: JobContext) -> Outcome:
    """Ask each resident once, SATISFACTION_DELAY_DAYS after their concern closed, whether the answer helped."""
    outcome = Outcome(counts={"asked": 0})
    for concern_id, reference, resident_id in _checks_due(session, now=now, context=context):
        session.add(Notice(kind=SATISFACTION_KIND, subject=reference, recipient=_resident(resident_id),
                           resident_id=resident_id, created_at=now))
        outcome.messages.append(Outbox(resident_id=resident_id, kind=SATISFACTION_KIND,
                                       payload={"reference": reference}, created_at=now, not_before=now,
                                       dedupe_key=f"satisfaction:{concern_id}"))
        outcome.counts["asked"] += 1
    session.flush()
    return outcome
