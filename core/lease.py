"""One owner at a time: a lease row (owner, expires_at) that a process takes, renews, and gives back.

It works the same on SQLite and PostgreSQL because it is plain SQL: a conditional UPDATE takes a lease that is
free, expired or already ours (the database serialises two UPDATEs of one row, and the loser re-reads the row
and matches nothing), and an INSERT inside a savepoint creates the row the first time (a unique-key race is
lost quietly). Clocks of the competing processes only need to agree to well within the lease's length.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import SchedulerLease

SCHEDULE = "schedule"  # the lease that decides who runs the scheduled jobs and the outbox sender


@dataclass(frozen=True)
class Holder:
    owner: str
    expires_at: datetime


def new_owner() -> str:
    """A name for this process that no other process shares: host, pid and a random suffix."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(session: Session, *, owner: str, now: datetime, ttl: timedelta, name: str = SCHEDULE) -> bool:
    """Take or renew the lease until now + ttl; return whether `owner` holds it."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(SchedulerLease)
        .where(SchedulerLease.name == name,
               or_(SchedulerLease.owner == owner, SchedulerLease.expires_at <= now))
        .values(owner=owner, expires_at=now + ttl,
                acquired_at=case((SchedulerLease.owner == owner, SchedulerLease.acquired_at), else_=now)))
    if result.rowcount:
        return True
    if session.get(SchedulerLease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SchedulerLease(name=name, owner=owner, expires_at=now + ttl, acquired_at=now))
    except IntegrityError:
        return False  # another process created it first; it holds the lease
    return True


def release(session: Session, *, owner: str, now: datetime, name: str = SCHEDULE) -> bool:
    """Give the lease up at once (on shutdown) so another process takes over without waiting for it to expire."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.owner == owner,
                                     SchedulerLease.expires_at > now)
        .values(expires_at=now))
    return bool(result.rowcount)


def holder(session: Session, *, now: datetime, name: str = SCHEDULE) -> Holder | None:
    """Who holds the lease now, or None when nobody does."""
    row = session.execute(select(SchedulerLease.owner, SchedulerLease.expires_at)
                          .where(SchedulerLease.name == name)).first()
    if row is None or row.expires_at <= now:
        return None
    return Holder(row.owner, row.expires_at)
