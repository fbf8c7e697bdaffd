"""Scheduled work as core functions: each job body takes a session and `now`, finds due work in the data, does it,
records that it did (a notice, a stored summary), and returns what must be sent as outbox rows.

`run` is what every edge calls (the scheduler adapter in bot/, `civicpulse jobs run`): it runs one body in the
caller's transaction, adds the outbox rows and records the run in `job_run`. Schedules are data here; bot/scheduler.py
turns them into APScheduler triggers. Catch-up never relies on a trigger's misfire grace: each job has a `pending`
check on the data that the scheduler's frequent tick calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Invalid, NotFound
from core.jobs.base import JobContext, Outcome
from core.jobs.digest import pending as digest_pending
from core.jobs.digest import weekly_digest
from core.jobs.notices import checks_pending, pilot_reminders, pilots_pending, satisfaction_checks
from core.jobs.retention import housekeeping, retention, retention_pending
from core.models import JobRun

__all__ = ["JOBS", "Job", "JobContext", "Outcome", "last_runs", "record_failure", "run"]

log = logging.getLogger("civicpulse.jobs")

Body = Callable[..., Outcome]
Pending = Callable[..., bool]


def campaign_lifecycle(session: Session, *, now: datetime, context: JobContext) -> Outcome:
    """Open and close consultations on time and queue their invitations, reminders and results."""
    try:
        from core.campaigns.lifecycle import lifecycle
    except ImportError:
        return Outcome(note="no campaigns yet")
    report = lifecycle(session, now=now, min_group_size=context.min_group_size, zone=context.zone)
    # The campaign module writes its own outbox rows (deduplicated); here they are only counted.
    return Outcome(counts={"opened": len(report.opened), "closed": len(report.closed),
                           "invitations": report.invitations, "reminders": report.reminders,
                           "results_messages": report.results_messages})


@dataclass(frozen=True)
class Job:
    """A job: its body, when it runs (APScheduler trigger fields in the city's zone), and its catch-up check."""

    name: str
    body: Body
    trigger: str  # "cron" or "interval"
    fields: dict[str, Any]
    schedule: str  # how `jobs list` describes it
    pending: Pending | None = None
    takes_week: bool = False


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("weekly-digest", weekly_digest, "cron", {"day_of_week": "mon", "hour": 8, "minute": 0},
        "Mondays at 08:00", digest_pending, takes_week=True),
    Job("pilot-reminders", pilot_reminders, "cron", {"hour": 9, "minute": 0}, "daily at 09:00", pilots_pending),
    Job("satisfaction-checks", satisfaction_checks, "cron", {"hour": "9-19", "minute": 5},
        "hourly at :05, 09:05 to 19:05", checks_pending),
    Job("retention", retention, "cron", {"hour": 3, "minute": 30}, "daily at 03:30", retention_pending),
    Job("campaign-lifecycle", campaign_lifecycle, "interval", {"minutes": 1}, "every minute"),
    Job("housekeeping", housekeeping, "interval", {"minutes": 10}, "every 10 minutes"),
)}


def get(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise NotFound(f"no job {name!r}; the jobs are {', '.join(JOBS)}")
    return job


def run(session: Session, name: str, *, now: datetime, context: JobContext, trigger: str,
        week: str | None = None, record_idle: bool = True) -> tuple[Outcome, JobRun | None]:
    """Run one job's body in the caller's transaction, queue what it returns, and record the run."""
    job = get(name)
    if week is not None and not job.takes_week:
        raise Invalid(f"{name} does not take a week")
    started = time.perf_counter()
    outcome = job.body(session, now=now, context=context, **({"week": week} if week else {}))
    session.add_all(outcome.messages)
    session.flush()
    if outcome.idle and not record_idle:
        return outcome, None
    detail: dict[str, Any] = {**outcome.counts, "messages": len(outcome.messages)}
    if outcome.note:
        detail["note"] = outcome.note
    record = JobRun(job=name, trigger=trigger, status="ok", detail=detail, started_at=now,
                    finished_at=now + timedelta(seconds=time.perf_counter() - started))
    session.add(record)
    session.flush()
    log.info("job %s (%s): %s", name, trigger, ", ".join(f"{k} {v}" for k, v in detail.items()))
    return outcome, record


def is_pending(session: Session, name: str, *, now: datetime, context: JobContext) -> bool:
    """Whether the data says the job owes work (the catch-up check); jobs without one never catch up."""
    job = get(name)
    return job.pending is not None and job.pending(session, now=now, context=context)


def record_failure(session: Session, name: str, *, now: datetime, trigger: str, error: str) -> JobRun:
    """Record a run that failed (its own transaction was rolled back); `error` names the exception type only."""
    record = JobRun(job=name, trigger=trigger, status="failed", detail={"error": error[:200]}, started_at=now,
                    finished_at=now)
    session.add(record)
    session.flush()
    return record


def last_runs(session: Session) -> dict[str, JobRun]:
    """The latest recorded run of each job."""
    found: dict[str, JobRun] = {}
    for name in JOBS:
        latest = session.scalar(select(JobRun).where(JobRun.job == name)
                                .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
        if latest is not None:
            found[name] = latest
    return found
