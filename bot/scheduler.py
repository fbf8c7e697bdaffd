"""The scheduler adapter: core.jobs on APScheduler triggers, run by the one process that holds the lease.

A plain AsyncIOScheduler rather than PTB's JobQueue: the schedule belongs to the lease, not to an Application (a
webhook worker or a second bot process hosts an Application but must not run jobs), its callbacks need no PTB
context, and it can be tested with two instances in one event loop. Every process runs the scheduler; each firing
first takes or renews the lease in the database and does nothing unless this process holds it. Catch-up is the
`tick`: at start-up, when the lease is won, and every TICK_SECONDS, each job's data check (`core.jobs.is_pending`)
decides whether it owes work, so a missed Monday or a missed day is made up from the data, never from a
trigger's misfire grace (APScheduler's 1 s default is kept for the triggers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core import jobs, lease
from core.db import Database
from core.models import utcnow
from core.settings import Settings

log = logging.getLogger("civicpulse.scheduler")

LEASE_TTL = timedelta(seconds=30)
RENEW_SECONDS = 10.0
TICK_SECONDS = 60.0


def trigger(job: jobs.Job, zone: ZoneInfo) -> BaseTrigger:
    """The APScheduler trigger of a job, in the city's zone (so 08:00 stays 08:00 across daylight saving)."""
    if job.trigger == "cron":
        return CronTrigger(timezone=zone, **job.fields)
    return IntervalTrigger(timezone=zone, **job.fields)


def next_run(job: jobs.Job, zone: ZoneInfo, now: datetime, last: datetime | None = None) -> datetime | None:
    """When the job's trigger fires next after `now` (an interval job: whole intervals on from its last run)."""
    if job.trigger == "interval":
        # Idle scheduled runs are not recorded, so the last recorded run may be many intervals back.
        every = timedelta(**job.fields)
        start = last if last is not None and last <= now else now
        return start + ((now - start) // every + 1) * every
    fire: datetime | None = trigger(job, zone).get_next_fire_time(None, now.astimezone(zone))
    return fire


class Schedule:
    """The jobs of core.jobs on their triggers plus the catch-up tick, run while this process holds the lease."""

    def __init__(self, database: Database, settings: Settings, *, owner: str | None = None,
                 lease_ttl: timedelta = LEASE_TTL, renew_seconds: float = RENEW_SECONDS,
                 tick_seconds: float = TICK_SECONDS, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.context = jobs.JobContext.from_settings(settings)
        self.owner = owner or lease.new_owner()
        self.leading = False
        self._ttl = lease_ttl
        self._renew_seconds = renew_seconds
        self._tick_seconds = tick_seconds
        self._clock = clock
        self._locks = {name: asyncio.Lock() for name in jobs.JOBS}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.scheduler = AsyncIOScheduler(timezone=self.context.zone,
                                          job_defaults={"coalesce": True, "max_instances": 1})

    def is_leading(self) -> bool:
        """Whether this process held the lease at its last renewal (the outbox sender runs only then)."""
        return self.leading

    def start(self) -> None:
        """Register every job and the tick, and start the scheduler on the running event loop."""
        for job in jobs.JOBS.values():
            self.scheduler.add_job(self.fire, trigger(job, self.context.zone), args=[job.name, "schedule"],
                                   id=job.name, name=job.name)
        # The tick runs late rather than never (no misfire grace): it is the catch-up itself.
        self.scheduler.add_job(self.tick, IntervalTrigger(seconds=self._tick_seconds), id="tick", name="tick",
                               misfire_grace_time=None)
        self.scheduler.start()

    async def run(self, stop: asyncio.Event) -> None:
        """Hold or watch the lease until stop is set; then stop the scheduler and give the lease back."""
        self.start()
        try:
            while not stop.is_set():
                gained = not self.leading
                if await self.renew() and gained:
                    self._spawn(self.tick())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._renew_seconds)
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Stop firing, let running jobs finish, and release the lease so another process takes over at once."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for held in self._locks.values():
            async with held:
                pass
        if self.leading:
            try:
                await asyncio.to_thread(self._release)
            except Exception as exc:  # the lease expires on its own
                log.warning("could not release the schedule's lease: %s", type(exc).__name__)
            self.leading = False

    def wakeup(self) -> None:
        """Make the scheduler look at the clock again now (after the wall clock jumped, e.g. in tests)."""
        self.scheduler.wakeup()

    # --- the lease ------------------------------------------------------------------------------------------
    def _acquire(self) -> bool:
        with self.database.transaction() as session:
            return lease.acquire(session, owner=self.owner, now=self._clock(), ttl=self._ttl)

    def _release(self) -> None:
        with self.database.transaction() as session:
            lease.release(session, owner=self.owner, now=self._clock())

    async def renew(self) -> bool:
        """Take or renew the lease; log when this process gains or loses it."""
        try:
            held = await asyncio.to_thread(self._acquire)
        except Exception as exc:  # the database is away: we cannot know, so we do not lead
            log.error("schedule lease: %s while renewing; not running jobs until it is back", type(exc).__name__)
            held = False
        if held != self.leading:
            log.info("schedule lease %s by %s", "taken" if held else "lost", self.owner.split(":")[0])
        self.leading = held
        return held

    # --- running jobs ---------------------------------------------------------------------------------------
    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def fire(self, name: str, trigger_name: str = "schedule") -> None:
        """A trigger fired: run the job if this process holds the lease (checked now, in the database)."""
        if await self.renew():
            # Interval jobs record only runs that did something; cron jobs record every run for `jobs list`.
            await self.run_job(name, trigger_name, record_idle=jobs.get(name).trigger == "cron")

    async def tick(self) -> None:
        """Catch up: run every job whose data says it owes work."""
        if not await self.renew():
            return
        for name in jobs.JOBS:
            try:
                due = await asyncio.to_thread(self._pending, name)
            except Exception as exc:
                log.error("job %s: %s while checking for due work", name, type(exc).__name__)
                continue
            if due:
                # Recorded even when it found nothing: a debt that a recent run settles (retention's daily run,
                # the hourly satisfaction checks) would otherwise be owed again at every tick.
                await self.run_job(name, "catch-up")

    def _pending(self, name: str) -> bool:
        with self.database.reading() as session:
            return jobs.is_pending(session, name, now=self._clock(), context=self.context)

    async def run_job(self, name: str, trigger_name: str, *, record_idle: bool = True) -> None:
        """Run one job in its own transaction on a worker thread; a failure is recorded and logged, never raised."""
        lock = self._locks[name]
        if lock.locked():
            return  # already running here (a trigger and the tick at once); the data makes a second run moot
        async with lock:
            now = self._clock()
            try:
                await asyncio.to_thread(self._run, name, trigger_name, now, record_idle)
            except Exception as exc:  # a job's failure must not stop the schedule
                log.error("job %s (%s) failed: %s", name, trigger_name, type(exc).__name__)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._record_failure, name, trigger_name, now, type(exc).__name__)

    def _run(self, name: str, trigger_name: str, now: datetime, record_idle: bool) -> None:
        with self.database.transaction() as session:
            jobs.run(session, name, now=now, context=self.context, trigger=trigger_name, record_idle=record_idle)

    def _record_failure(self, name: str, trigger_name: str, now: datetime, error: str) -> None:
        with self.database.transaction() as session:
            jobs.record_failure(session, name, now=now, trigger=trigger_name, error=error)
