"""The schedule through the real APScheduler with a travelling wall clock (asyncio's monotonic clock stays real).

time-machine moves datetime.now (APScheduler's and ours) while the event loop keeps sleeping in real time, so
after each jump the scheduler is woken up to look at the clock again, as it would after a real wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from bot.scheduler import Schedule, next_run
from core import follows, jobs, lease
from core.db import Database
from core.models import JobRun, Notice, Outbox, WeeklySummary
from core.settings import Settings
from tests import builders

STAFF = [-1001, -1002]


@pytest.fixture
def city(settings: Settings) -> Settings:
    return settings.model_copy(update={"timezone": "Europe/Madrid", "staff_chat_ids": STAFF})


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(check):
        assert loop.time() < deadline, "the schedule did not get there in time"
        await asyncio.sleep(0.1)


class Running:
    """A Schedule running in the current event loop, as bot.runner runs it."""

    def __init__(self, database: Database, settings: Settings, **kwargs: Any) -> None:
        self.schedule = Schedule(database, settings, **{"tick_seconds": 3600.0, "renew_seconds": 0.5, **kwargs})
        self.stop = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self.schedule.run(self.stop))

    async def leading(self) -> None:
        await _until(lambda: self.schedule.leading)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 20)


def _runs(db: Database, job: str = "weekly-digest") -> list[JobRun]:
    with db.reading() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)))


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _digest_of(db: Database, week: str) -> tuple[int, int, int]:
    """(summaries stored, staff chats told, outbox rows) for one week."""
    return (_count(db, WeeklySummary, WeeklySummary.iso_week == week),
            _count(db, Notice, Notice.kind == "weekly_digest", Notice.subject == week),
            sum(1 for r in _outbox(db) if r.payload.get("iso_week") == week))


def _outbox(db: Database) -> list[Outbox]:
    with db.reading() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def _scheduled(db: Database, week: str) -> JobRun:
    [run] = [r for r in _runs(db) if r.detail.get("note") == week and r.detail.get("chats")]
    return run


def test_the_monday_digest_fires_once_at_eight_local_time_across_a_daylight_saving_change(
        db: Database, city: Settings) -> None:
    # Madrid: CEST (UTC+2) until Sunday 25 October 2026, CET (UTC+1) after. 07:59:55 local on Monday 19 October.
    with time_machine.travel(datetime(2026, 10, 19, 5, 59, 55, tzinfo=UTC), tick=True) as clock:
        async def main() -> None:
            running = Running(db, city)
            await running.leading()
            await _until(lambda: _digest_of(db, "2026-W41") == (1, 2, 6))  # caught up at start: last week's
            assert _digest_of(db, "2026-W42") == (0, 0, 0)  # not before 08:00
            await _until(lambda: _digest_of(db, "2026-W42") == (1, 2, 6))
            first = _scheduled(db, "2026-W42")
            assert first.trigger == "schedule"
            assert abs(first.started_at - datetime(2026, 10, 19, 6, 0, tzinfo=UTC)) < timedelta(seconds=2)
            # A week later, after the change to winter time: 08:00 local is now 07:00 UTC.
            clock.move_to(datetime(2026, 10, 26, 6, 59, 57, tzinfo=UTC))
            running.schedule.wakeup()
            await asyncio.sleep(1)
            assert _digest_of(db, "2026-W43") == (0, 0, 0)
            await _until(lambda: _digest_of(db, "2026-W43") == (1, 2, 6))
            second = _scheduled(db, "2026-W43")
            assert second.trigger == "schedule"
            assert abs(second.started_at - datetime(2026, 10, 26, 7, 0, tzinfo=UTC)) < timedelta(seconds=2)
            await asyncio.sleep(1.5)  # the trigger and the tick get another chance to double it
            running.schedule.wakeup()
            await running.close()

        asyncio.run(main())
    for week in ("2026-W41", "2026-W42", "2026-W43"):
        assert _digest_of(db, week) == (1, 2, 6), week
    assert _count(db, WeeklySummary) == 3


def test_a_missed_monday_is_caught_up_after_a_restart_and_never_sent_twice(db: Database, city: Settings) -> None:
    with time_machine.travel(datetime(2026, 11, 22, 19, 0, tzinfo=UTC), tick=True) as clock:  # a Sunday evening
        async def main() -> None:
            running = Running(db, city)
            await running.leading()
            await _until(lambda: _digest_of(db, "2026-W46") == (1, 2, 6))
            await running.close()  # the process goes down before Monday 08:00
            clock.move_to(datetime(2026, 11, 23, 11, 30, tzinfo=UTC))  # it comes back on Monday at 12:30 local
            restarted = Running(db, city)
            await restarted.leading()
            await _until(lambda: _digest_of(db, "2026-W47") == (1, 2, 6))
            assert _scheduled(db, "2026-W47").trigger == "catch-up"
            await restarted.close()
            again = Running(db, city)  # and once more: nothing is owed
            await again.leading()
            await again.schedule.tick()
            await again.close()

        asyncio.run(main())
    assert _digest_of(db, "2026-W47") == (1, 2, 6) and len(_outbox(db)) == 12


def test_a_catch_up_that_finds_nothing_settles_the_debt_instead_of_running_every_tick(
        db: Database, city: Settings) -> None:
    # 14:00 local: retention (daily at 03:30) has never run, so the catch-up owes it once; it empties nothing.
    with time_machine.travel(datetime(2026, 11, 24, 13, 0, tzinfo=UTC), tick=True):
        async def main() -> None:
            running = Running(db, city)
            await running.leading()
            await _until(lambda: len(_runs(db, "retention")) == 1)
            for _ in range(3):  # the minute ticks that follow find nothing owed
                await running.schedule.tick()
            await running.close()

        asyncio.run(main())
    [run] = _runs(db, "retention")
    assert run.trigger == "catch-up" and run.status == "ok" and run.detail["concern_texts"] == 0


def test_two_schedulers_make_one_digest_and_the_other_takes_over_when_the_first_stops(
        db: Database, city: Settings, database_url: str) -> None:
    first_db, second_db = Database(database_url), Database(database_url)
    try:
        with time_machine.travel(datetime(2026, 11, 23, 6, 59, 57, tzinfo=UTC), tick=True) as clock:
            async def main() -> None:
                with first_db.transaction() as s:  # last week's digest went out already
                    jobs.run(s, "weekly-digest", now=datetime(2026, 11, 16, 7, tzinfo=UTC),
                             context=jobs.JobContext.from_settings(city), trigger="manual")
                one, two = Running(first_db, city), Running(second_db, city)
                await _until(lambda: one.schedule.leading or two.schedule.leading)
                await asyncio.sleep(1)
                assert one.schedule.leading != two.schedule.leading  # exactly one owner
                await _until(lambda: _digest_of(db, "2026-W47") == (1, 2, 6))
                await asyncio.sleep(1.5)
                leader, follower = (one, two) if one.schedule.leading else (two, one)
                await leader.close()  # the lease is given back: the other process takes over at once
                await follower.leading()
                with second_db.reading() as s:
                    holder = lease.holder(s, now=datetime.now(UTC))
                    assert holder is not None and holder.owner == follower.schedule.owner
                # The next Monday the new owner sends, once.
                clock.move_to(datetime(2026, 11, 30, 6, 59, 58, tzinfo=UTC))
                follower.schedule.wakeup()
                await _until(lambda: _digest_of(db, "2026-W48") == (1, 2, 6))
                await asyncio.sleep(1.5)
                await follower.close()

            asyncio.run(main())
    finally:
        first_db.dispose()
        second_db.dispose()
    assert _digest_of(db, "2026-W47") == (1, 2, 6) and _digest_of(db, "2026-W48") == (1, 2, 6)
    assert [r.trigger for r in _runs(db) if r.detail.get("chats")] == ["manual", "schedule", "schedule"]


def test_the_same_job_run_twice_at_once_has_one_effect(db: Database, city: Settings, database_url: str) -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    start = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        database = Database(database_url)
        try:
            start.wait()
            with database.transaction() as s:
                jobs.run(s, "weekly-digest", now=now, context=jobs.JobContext.from_settings(city), trigger="manual")
            results.append("ok")
        except Exception as exc:  # the loser of a unique-key race: its transaction is rolled back
            results.append(type(exc).__name__)
        finally:
            database.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert "ok" in results and len(results) == 2
    assert _digest_of(db, "2026-W47") == (1, 2, 6)


def test_pilot_notices_go_out_14_and_3_days_before_the_end_once_through_the_schedule(
        db: Database, city: Settings) -> None:
    with db.transaction() as s:
        pilot = builders.deployment(s, code="CAM-001", name="Crossing camera", status="pilot",
                                    pilot_start=date(2026, 6, 1), pilot_end=date(2026, 12, 21))
        for n in range(3):
            who = builders.resident(s, telegram_user_id=3000 + n, chat_id=7000 + n)
            who.consent_at, who.notifications = datetime(2026, 6, 1, tzinfo=UTC), True
            follows.follow(s, resident=who, deployment=pilot, now=datetime(2026, 6, 1, tzinfo=UTC))
    quiet = city.model_copy(update={"staff_chat_ids": []})

    def reminders() -> list[int]:
        return [r.payload["days"] for r in _outbox(db) if r.kind == "pilot_reminder"]

    # 08:59:57 in Madrid, 14 days before the end.
    with time_machine.travel(datetime(2026, 12, 7, 7, 59, 57, tzinfo=UTC), tick=True) as clock:
        async def main() -> None:
            running = Running(db, quiet)
            await running.leading()
            await asyncio.sleep(1)
            assert reminders() == []
            await _until(lambda: reminders() == [14, 14, 14])
            [run] = [r for r in _runs(db, "pilot-reminders") if r.detail.get("residents")]
            assert run.trigger == "schedule"
            clock.move_to(datetime(2026, 12, 10, 8, 0, 2, tzinfo=UTC))  # days later: nothing new
            running.schedule.wakeup()
            await running.schedule.tick()
            clock.move_to(datetime(2026, 12, 18, 7, 59, 58, tzinfo=UTC))  # 3 days before, 08:59:58
            running.schedule.wakeup()
            await _until(lambda: reminders() == [14, 14, 14, 3, 3, 3])
            clock.move_to(datetime(2026, 12, 19, 8, 0, 5, tzinfo=UTC))
            running.schedule.wakeup()
            await running.schedule.tick()
            await running.close()

        asyncio.run(main())
    assert reminders() == [14, 14, 14, 3, 3, 3]


def test_the_lease_has_one_owner_until_it_expires_or_is_given_back(db: Database) -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    ttl = timedelta(seconds=30)

    def take(owner: str, at: datetime) -> bool:
        with db.transaction() as s:
            return lease.acquire(s, owner=owner, now=at, ttl=ttl)

    assert take("a", now) and take("a", now + timedelta(seconds=20))  # taken, renewed
    assert not take("b", now + timedelta(seconds=49))  # renewed until now + 50 s
    assert take("b", now + timedelta(seconds=50))  # expired: taken over
    assert not take("a", now + timedelta(seconds=51))
    with db.transaction() as s:
        assert not lease.release(s, owner="a", now=now + timedelta(seconds=52))  # not a's to give
        assert lease.release(s, owner="b", now=now + timedelta(seconds=52))
        assert lease.holder(s, now=now + timedelta(seconds=52)) is None
    assert take("a", now + timedelta(seconds=52))


def test_next_runs_follow_local_time() -> None:
    from zoneinfo import ZoneInfo

    madrid = ZoneInfo("Europe/Madrid")
    saturday = datetime(2026, 10, 24, 12, tzinfo=UTC)
    assert next_run(jobs.JOBS["weekly-digest"], madrid, saturday) == datetime(2026, 10, 26, 8, tzinfo=madrid)
    assert next_run(jobs.JOBS["weekly-digest"], madrid, saturday).utcoffset() == timedelta(hours=1)  # type: ignore[union-attr]
    assert next_run(jobs.JOBS["housekeeping"], madrid, saturday, saturday) == saturday + timedelta(minutes=10)
    # An interval job records only the runs that did something: the next one is the next tick ahead, not one
    # interval after a run long past.
    hours_ago = saturday - timedelta(hours=3, minutes=4)
    assert next_run(jobs.JOBS["housekeeping"], madrid, saturday, hours_ago) == saturday + timedelta(minutes=6)
    assert next_run(jobs.JOBS["campaign-lifecycle"], madrid, saturday, hours_ago) == saturday + timedelta(minutes=1)
    assert next_run(jobs.JOBS["campaign-lifecycle"], madrid, saturday) == saturday + timedelta(minutes=1)
