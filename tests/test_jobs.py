"""Job bodies as staff and residents notice them: one digest a week, reminders and checks once, retention exact."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import concerns, follows, jobs, lease, outbox, stats, summaries, triage
from core.db import Database
from core.errors import Invalid
from core.jobs.digest import due_week
from core.models import (
    Category,
    Concern,
    ConcernEvent,
    ConcernStatus,
    JobRun,
    Notice,
    Outbox,
    OutboxStatus,
    Resident,
    WeeklySummary,
)
from tests import builders
from tests.conftest import TEST_SECRET

MADRID = ZoneInfo("Europe/Madrid")
STAFF = (-1001, -1002)
CONTEXT = jobs.JobContext(zone=MADRID, staff_chat_ids=STAFF, retention_days=365, satisfaction_delay_days=3)
MONDAY_9 = datetime(2026, 11, 23, 8, tzinfo=UTC)  # Monday 09:00 in Madrid, W48; the digest of W47 is due


def _run(db: Database, name: str, now: datetime, context: jobs.JobContext = CONTEXT, **kw: Any) -> jobs.Outcome:
    with db.transaction() as s:
        return jobs.run(s, name, now=now, context=context, trigger="manual", **kw)[0]


def _outbox(db: Database, kind: str | None = None) -> list[Outbox]:
    with db.reading() as s:
        query = select(Outbox).order_by(Outbox.id)
        return list(s.scalars(query.where(Outbox.kind == kind) if kind else query))


def _week_of_concerns(db: Database) -> None:
    """Concerns in W47 (Mon 16 – Sun 22 November 2026) and W46, with a resident to quote."""
    with db.transaction() as s:
        resident = builders.resident(s)
        for day, text, category in [
            (16, "The camera on Elm Street records my window all night", Category.PRIVACY),
            (17, "Who can see the footage from the camera on Elm Street?", Category.PRIVACY),
            (18, "The sensor is useless, nobody reads the data", Category.USEFULNESS),
            (9, "The camera on Elm Street is too bright", Category.PRIVACY),
        ]:
            builders.concern(s, text, resident=resident, category=category,
                             now=datetime(2026, 11, day, 12, tzinfo=UTC))


# The weekly digest ----------------------------------------------------------------------------------------------

def test_the_due_week_turns_at_monday_eight_local_time() -> None:
    assert due_week(datetime(2026, 11, 23, 6, 59, tzinfo=UTC), MADRID) == "2026-W46"  # 07:59 in Madrid
    assert due_week(datetime(2026, 11, 23, 7, 0, tzinfo=UTC), MADRID) == "2026-W47"  # 08:00 in Madrid
    assert due_week(datetime(2026, 11, 29, 22, 59, tzinfo=UTC), MADRID) == "2026-W47"  # Sunday 23:59
    assert due_week(datetime(2027, 1, 4, 7, 0, tzinfo=UTC), MADRID) == "2026-W53"  # 2026 has a W53


def test_the_digest_stores_the_summary_once_and_queues_three_parts_per_staff_chat_once(db: Database) -> None:
    _week_of_concerns(db)
    first = _run(db, "weekly-digest", MONDAY_9)
    assert first.counts == {"summary_stored": 1, "chats": 2} and first.note == "2026-W47"
    rows = _outbox(db)
    assert [(r.staff_chat_id, r.kind) for r in rows] == [
        (chat, kind) for chat in STAFF for kind in ("digest_text", "digest_chart", "digest_document")]
    assert all(r.payload["iso_week"] == "2026-W47" and r.resident_id is None for r in rows)
    again = _run(db, "weekly-digest", MONDAY_9 + timedelta(hours=5))
    assert again.counts == {"summary_stored": 0, "chats": 0} and again.messages == []
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(WeeklySummary)) == 1
        assert s.scalar(select(func.count()).select_from(Notice)) == 2
        # The stored summary is the one the API serves.
        stored = summaries.get(s, iso_week="2026-W47", zone=MADRID)
        assert stored["stored"] is True and stored["totals"]["concerns"] == 3
    # A staff chat added later gets the same week's digest, and only it.
    later = _run(db, "weekly-digest", MONDAY_9 + timedelta(days=1),
                 jobs.JobContext(zone=MADRID, staff_chat_ids=(*STAFF, -1003)))
    assert later.counts == {"summary_stored": 0, "chats": 1} and len(_outbox(db)) == 9


def test_a_week_that_is_not_over_is_refused_and_a_past_week_can_be_sent(db: Database) -> None:
    with pytest.raises(Invalid):
        _run(db, "weekly-digest", MONDAY_9, week="2026-W48")
    outcome = _run(db, "weekly-digest", MONDAY_9, week="2026-W40")
    assert outcome.note == "2026-W40" and outcome.counts["chats"] == 2


def test_the_digest_renders_headlines_a_quote_the_chart_and_the_document(db: Database) -> None:
    _week_of_concerns(db)
    _run(db, "weekly-digest", MONDAY_9)
    text_row, chart_row, document_row = _outbox(db)[:3]
    with db.reading() as s:
        text = outbox.render("digest_text", text_row.payload, "en", session=s).text
        document = outbox.render("digest_document", document_row.payload, "en", session=s)
    assert text.startswith("<b>Weekly digest, 2026-W47 (2026-11-16 to 2026-11-22)</b>")
    assert "3 concerns" in text and "Privacy and personal data: 2" in text and "Response debt" in text
    assert "records my window all night" in text or "see the footage" in text
    assert document.filename == "civicpulse-summary-2026-W47.md" and document.document is not None
    assert document.document.decode().startswith("# Concerns in week 2026-W47")
    series = chart_row.payload["series"]
    assert series["categories"][0] == {"category": "privacy", "this_week": 2, "last_week": 1}
    assert [p["week"] for p in series["sentiment"]][-2:] == ["2026-W46", "2026-W47"]
    chart = outbox.render("digest_chart", chart_row.payload, "es")
    assert chart.photo is not None and chart.photo.startswith(b"\x89PNG") and "2026-W47" in chart.text


def test_an_erased_quote_never_reaches_the_digest(db: Database) -> None:
    _week_of_concerns(db)
    _run(db, "weekly-digest", MONDAY_9)
    with db.transaction() as s:
        s.execute(Concern.__table__.update().values(text="", text_removed_at=MONDAY_9))
    with db.reading() as s:
        text = outbox.render("digest_text", _outbox(db)[0].payload, "en", session=s).text
    assert "camera" not in text and "“" not in text


# Pilot reminders ------------------------------------------------------------------------------------------------

def _pilot_with_followers(db: Database, end: date) -> tuple[int, list[int]]:
    """A pilot in a district; one resident follows it, one its district, one both, one wants no notices."""
    with db.transaction() as s:
        districts = builders.districts(s)
        pilot = builders.deployment(s, code="CAM-001", name="Crossing camera", status="pilot",
                                    pilot_start=date(2026, 6, 1), pilot_end=end, lat=districts[0].center_lat,
                                    lon=districts[0].center_lon)
        ids = []
        for n, (on_pilot, on_district, notify) in enumerate(
                [(True, False, True), (False, True, True), (True, True, True), (True, False, False)]):
            who = builders.resident(s, telegram_user_id=2000 + n, chat_id=6000 + n)
            who.consent_at, who.notifications = MONDAY_9, notify
            if on_pilot:
                follows.follow(s, resident=who, deployment=pilot, now=MONDAY_9)
            if on_district:
                assert pilot.district_id is not None
                follows.follow(s, resident=who, district=s.get(type(districts[0]), pilot.district_id),
                               now=MONDAY_9)
            ids.append(who.id)
        return pilot.id, ids[:3]


def test_followers_hear_14_and_3_days_before_a_pilot_ends_once_each(db: Database) -> None:
    end = date(2026, 12, 21)
    _, told = _pilot_with_followers(db, end)
    local_9am = datetime(2026, 12, 7, 8, tzinfo=UTC)  # 09:00 in Madrid, 14 days before the end
    assert _run(db, "pilot-reminders", local_9am - timedelta(minutes=1)).messages == []  # 08:59: not yet
    first = _run(db, "pilot-reminders", local_9am)
    assert first.counts == {"pilots": 1, "residents": 3}
    assert sorted(m.resident_id for m in first.messages if m.resident_id) == told
    for hours in (1, 24, 24 * 9):  # the same day, the next, and ten days on: nothing new until 3 days before
        assert _run(db, "pilot-reminders", local_9am + timedelta(hours=hours)).messages == []
    three_days = _run(db, "pilot-reminders", local_9am + timedelta(days=11))
    assert three_days.counts == {"pilots": 1, "residents": 3}
    assert _run(db, "pilot-reminders", local_9am + timedelta(days=12)).messages == []
    rows = _outbox(db, "pilot_reminder")
    assert [r.payload["days"] for r in rows] == [14, 14, 14, 3, 3, 3]
    text = outbox.render("pilot_reminder", rows[0].payload, "es").text
    assert "CAM-001" in text and "dentro de 14 días" in text and "2026-12-21" in text


def test_pilot_reminders_wait_for_the_morning(db: Database) -> None:
    _pilot_with_followers(db, date(2026, 12, 21))
    for local_hour in (20, 23, 3, 8):  # 20:00 and 23:00 on the 7th, 03:00 and 08:00 on the 8th, Madrid time
        when = datetime(2026, 12, 7 if local_hour >= 20 else 8, local_hour - 1, tzinfo=UTC)
        assert _run(db, "pilot-reminders", when).messages == [], local_hour
    morning = _run(db, "pilot-reminders", datetime(2026, 12, 8, 8, tzinfo=UTC))  # 09:00 on the 8th
    assert morning.counts["residents"] == 3 and {m.payload["days"] for m in morning.messages} == {13}


def test_a_process_down_on_the_day_sends_only_the_reminder_still_due(db: Database) -> None:
    _pilot_with_followers(db, date(2026, 12, 21))
    late = _run(db, "pilot-reminders", datetime(2026, 12, 19, 10, tzinfo=UTC))  # 2 days left
    assert late.counts["residents"] == 3 and {m.payload["days"] for m in late.messages} == {2}
    with db.reading() as s:
        assert set(s.scalars(select(Notice.subject).where(Notice.kind == "pilot_reminder"))) == {
            next(iter(s.scalars(select(Notice.subject))))}
        assert next(iter(s.scalars(select(Notice.subject)))).endswith(":3")


# Satisfaction checks -------------------------------------------------------------------------------------------

def test_a_closed_concern_gets_one_satisfaction_check_after_the_delay_in_daytime(db: Database) -> None:
    closed_at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    with db.transaction() as s:
        resident = builders.resident(s)
        concern = builders.concern(s, resident=resident, now=closed_at - timedelta(days=2))
        other = builders.concern(s, "The lamp sensor blinks", resident=resident, now=closed_at - timedelta(days=2))
        triage.change_status(s, concern=concern, status=ConcernStatus.RESOLVED, actor="staff", now=closed_at)
        reference = concern.reference
        assert other.status == "new"
    assert _run(db, "satisfaction-checks", closed_at + timedelta(days=2, hours=23)).messages == []  # too early
    night = datetime(2026, 11, 23, 23, tzinfo=UTC)  # midnight in Madrid: never at night
    assert _run(db, "satisfaction-checks", night).messages == []
    asked = _run(db, "satisfaction-checks", datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert [m.payload for m in asked.messages] == [{"reference": reference}]
    assert _run(db, "satisfaction-checks", datetime(2026, 11, 24, 15, tzinfo=UTC)).messages == []
    # Reopened and closed again: still asked only once.
    with db.transaction() as s:
        found = triage.get_by_reference(s, reference=reference)
        triage.change_status(s, concern=found, status=ConcernStatus.REOPENED, actor="staff", now=night)
        triage.change_status(s, concern=found, status=ConcernStatus.ANSWERED, actor="staff", now=night)
    assert _run(db, "satisfaction-checks", night + timedelta(days=4, hours=10)).messages == []
    assert len(_outbox(db, "satisfaction_check")) == 1


def test_the_catch_up_looks_for_satisfaction_checks_at_most_hourly_and_in_daytime(db: Database) -> None:
    closed_at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    with db.transaction() as s:
        concern = builders.concern(s, resident=builders.resident(s), now=closed_at - timedelta(days=1))
        triage.change_status(s, concern=concern, status=ConcernStatus.ANSWERED, actor="staff", now=closed_at)
    morning = datetime(2026, 11, 24, 9, tzinfo=UTC)

    def pending(at: datetime) -> bool:
        with db.reading() as s:
            return jobs.is_pending(s, "satisfaction-checks", now=at, context=CONTEXT)

    assert pending(morning) and not pending(datetime(2026, 11, 24, 23, tzinfo=UTC))
    with db.transaction() as s:  # an hourly run that found nothing yet (e.g. just before this check fell due)
        jobs.run(s, "housekeeping", now=morning, context=CONTEXT, trigger="manual")
        s.add(JobRun(job="satisfaction-checks", trigger="schedule", status="ok", detail={}, started_at=morning))
    assert not pending(morning + timedelta(minutes=30)) and pending(morning + timedelta(minutes=61))
    _run(db, "satisfaction-checks", morning + timedelta(minutes=61))
    assert not pending(morning + timedelta(hours=3))  # asked: nothing owed any more


# Retention -----------------------------------------------------------------------------------------------------

def test_retention_empties_exactly_what_is_due_and_statistics_do_not_change(db: Database) -> None:
    now = datetime(2026, 11, 24, 3, tzinfo=UTC)
    cutoff = now - timedelta(days=365)
    with db.transaction() as s:
        old_resident = builders.resident(s, telegram_user_id=1, chat_id=501)
        old_resident.last_seen_at = cutoff - timedelta(seconds=1)
        recent = builders.resident(s, telegram_user_id=2, chat_id=502)
        recent.last_seen_at = cutoff + timedelta(seconds=1)
        recent.keep_location, recent.location_lat, recent.location_lon = True, 45.5, -73.6
        recent.location_until = now - timedelta(minutes=1)
        policy = concerns.IntakePolicy(zone=ZoneInfo("UTC"), concerns_per_hour=1000)
        old = [builders.concern(s, f"The camera number {i} on Elm Street watches the school", resident=recent,
                                now=cutoff - timedelta(days=i, seconds=1), policy=policy) for i in range(0, 40, 3)]
        young = [builders.concern(s, f"The noise sensor {i} on Oak Street is useful", resident=recent,
                                  now=cutoff + timedelta(days=i, seconds=1), policy=policy) for i in range(0, 40, 3)]
        concerns.add_to(s, concern=old[0], resident=recent, text="It also films the playground", policy=policy,
                        now=cutoff - timedelta(seconds=1))
        concerns.add_to(s, concern=young[0], resident=recent, text="And it is loud at night", policy=policy,
                        now=cutoff + timedelta(days=1))
        delivered = Outbox(resident_id=recent.id, kind="staff_reply", payload={}, status=OutboxStatus.DELIVERED,
                           sent_at=now - timedelta(days=31))
        fresh = Outbox(resident_id=recent.id, kind="staff_reply", payload={}, status=OutboxStatus.DELIVERED,
                       sent_at=now - timedelta(days=29))
        s.add_all([delivered, fresh])
        old_ids, young_ids = {c.id for c in old}, {c.id for c in young}
    with db.reading() as s:
        before = stats.aggregate(s, group_by=("category", "week")).groups
    outcome = _run(db, "retention", now)
    assert outcome.counts == {"concern_texts": len(old_ids), "follow_up_texts": 1, "chat_ids": 1, "locations": 1,
                              "outbox_delivered": 1, "outbox_failed": 0, "job_runs": 0}
    with db.reading() as s:
        assert s.execute(select(func.count()).select_from(Concern)).scalar() == len(old_ids) + len(young_ids)
        emptied = {c.id: c for c in s.scalars(select(Concern))}
        assert {i for i, c in emptied.items() if c.text == ""} == old_ids
        assert all(emptied[i].text_removed_at == now and emptied[i].key_phrases == [] for i in old_ids)
        assert all(emptied[i].text and emptied[i].text_removed_at is None for i in young_ids)
        assert all(emptied[i].label and emptied[i].category for i in old_ids)
        reasons = dict(s.execute(select(ConcernEvent.concern_id, ConcernEvent.reason)
                                 .where(ConcernEvent.kind == "addition")).all())
        assert reasons[min(old_ids)] == "" and reasons[min(young_ids)] == "And it is loud at night"
        people = {r.chat_id: r for r in s.scalars(select(Resident))}
        assert set(people) == {None, 502}
        assert people[502].location_lat is None and people[502].location_until is None
        assert [r.sent_at for r in s.scalars(select(Outbox))] == [now - timedelta(days=29)]
        after = stats.aggregate(s, group_by=("category", "week")).groups
    assert after == before
    assert _run(db, "retention", now).counts["concern_texts"] == 0  # idempotent


def test_retention_zero_keeps_texts(db: Database) -> None:
    with db.transaction() as s:
        builders.concern(s, now=datetime(2020, 1, 1, tzinfo=UTC))
    keep = jobs.JobContext(zone=MADRID, retention_days=0)
    assert _run(db, "retention", MONDAY_9, keep).counts["concern_texts"] == 0


def test_every_run_is_recorded_and_a_missing_job_is_named(db: Database) -> None:
    _run(db, "housekeeping", MONDAY_9)
    _run(db, "campaign-lifecycle", MONDAY_9)
    with db.reading() as s:
        runs = jobs.last_runs(s)
        assert set(runs) == {"housekeeping", "campaign-lifecycle"}
        assert runs["housekeeping"].status == "ok" and runs["housekeeping"].trigger == "manual"
        assert s.scalar(select(func.count()).select_from(JobRun)) == 2
    with pytest.raises(Exception, match="no job"):
        _run(db, "telepathy", MONDAY_9)


# The command ---------------------------------------------------------------------------------------------------

def _cli(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CIVICPULSE_DATABASE_URL": url, "CIVICPULSE_SECRET_KEY": TEST_SECRET,
           "PYTHONPATH": str(root), "CIVICPULSE_STAFF_CHAT_IDS": "-1001", "CIVICPULSE_TIMEZONE": "Europe/Madrid"}
    env.pop("CIVICPULSE_ENVIRONMENT", None)
    return subprocess.run([sys.executable, "-m", "civicpulse_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_jobs_run_and_list_from_the_command_line(database_url: str, tmp_path: Path, db: Database) -> None:
    first = _cli("jobs", "run", "weekly-digest", "--week", "2026-W40", url=database_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "weekly-digest: summary_stored 1, chats 1; 3 messages queued (2026-W40)" in first.stdout
    again = _cli("jobs", "run", "weekly-digest", "--week", "2026-W40", url=database_url, cwd=tmp_path)
    assert "summary_stored 0, chats 0; 0 messages queued" in again.stdout
    listed = _cli("jobs", "list", url=database_url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert set(jobs.JOBS) <= set(lines)
    assert "Mondays at 08:00 Europe/Madrid" in lines["weekly-digest"] and "ok" in lines["weekly-digest"]
    assert "T08:00:00+01:00" in lines["weekly-digest"]  # the next Monday 08:00, local time
    assert "schedule lease: free" in listed.stdout
    with db.transaction() as session:  # a running schedule holds the lease
        assert lease.acquire(session, owner="host-1", now=datetime.now(UTC), ttl=timedelta(minutes=5))
    held = _cli("jobs", "list", url=database_url, cwd=tmp_path)
    assert held.returncode == 0, held.stderr
    assert re.search(r"schedule lease: held by host-1 until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$",
                     held.stdout, re.MULTILINE), held.stdout
    before = datetime.now(UTC)
    with db.transaction() as session:  # interval jobs record only runs that did something: this one long ago
        session.add(JobRun(job="housekeeping", trigger="schedule", status="ok", detail={"flows": 1},
                           started_at=before - timedelta(hours=5, minutes=3), finished_at=before))
    relisted = _cli("jobs", "list", url=database_url, cwd=tmp_path)
    for line in relisted.stdout.splitlines()[1:len(jobs.JOBS) + 1]:
        upcoming = datetime.fromisoformat(re.findall(r"\d{4}-\d\d-\d\dT[\d:]{8}[+-]\d\d:\d\d", line)[-1])
        assert upcoming >= before.replace(microsecond=0), line  # never a next run in the past
    bad = _cli("jobs", "run", "weekly-digest", "--week", "2099-W01", url=database_url, cwd=tmp_path)
    assert bad.returncode == 1 and "not over yet" in bad.stderr
    assert len(_outbox(db)) == 3
