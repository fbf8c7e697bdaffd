"""The outbox's delivery rules: claims never overlap, retries stop, blocks and crashes fail rows, messages render."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core import outbox
from core.db import Database
from core.i18n import catalog
from core.models import Outbox, OutboxStatus, Resident
from tests import builders

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _resident(db: Database, telegram_user_id: int = 1001, *, chat_id: int | None = 5001, language: str = "en",
              active: bool = True) -> int:
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=telegram_user_id, chat_id=chat_id, language=language)
        who.active = active
        return who.id


def _queue(db: Database, n: int = 1, *, resident_id: int | None = None, staff_chat_id: int | None = None,
           kind: str = "staff_reply", payload: dict[str, Any] | None = None, not_before: datetime = NOW) -> list[int]:
    with db.transaction() as s:
        rows = [Outbox(resident_id=resident_id, staff_chat_id=staff_chat_id, kind=kind, not_before=not_before,
                       payload=payload or {"reference": "C-7K2Q9", "text": f"reply {i}", "language": "en"})
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _rows(db: Database) -> dict[int, Outbox]:
    with db.reading() as s:
        return {r.id: r for r in s.scalars(select(Outbox))}


def _claim(db: Database, *, now: datetime = NOW, batch_size: int = 50) -> outbox.Batch:
    with db.transaction() as s:
        return outbox.claim(s, now=now, lease=LEASE, batch_size=batch_size)


def test_a_claim_takes_due_rows_in_order_and_holds_them_until_the_lease_ends(db: Database) -> None:
    resident = _resident(db, language="es")
    due = _queue(db, 3, resident_id=resident)
    later = _queue(db, 1, resident_id=resident, not_before=NOW + timedelta(minutes=1))
    batch = _claim(db, batch_size=2)
    assert [c.id for c in batch.rows] == due[:2]
    first = batch.rows[0]
    assert (first.chat_id, first.language, first.kind, first.attempts, first.resident_id) == (5001, "es",
                                                                                              "staff_reply", 1,
                                                                                              resident)
    assert first.payload["text"] == "reply 0" and first.expires_at == NOW + LEASE
    rows = _rows(db)
    assert [rows[i].status for i in due] == ["sending", "sending", "queued"]
    assert rows[due[0]].not_before == NOW + LEASE and rows[due[0]].attempts == 1
    # Held rows are not claimed again; the next claim takes what is left and due.
    assert [c.id for c in _claim(db).rows] == [due[2]]
    assert _claim(db).rows == [] and rows[later[0]].status == "queued"


def test_rows_nobody_can_receive_fail_at_claim_time(db: Database) -> None:
    erased = _resident(db, 1, chat_id=None)
    blocked = _resident(db, 2, chat_id=5002, active=False)
    ids = _queue(db, resident_id=erased) + _queue(db, resident_id=blocked) + _queue(db, staff_chat_id=-1001)
    batch = _claim(db)
    assert batch.failed == 2
    assert [(c.id, c.chat_id, c.language, c.resident_id) for c in batch.rows] == [(ids[2], -1001, "en", None)]
    rows = _rows(db)
    assert rows[ids[0]].status == rows[ids[1]].status == "failed"
    assert "no chat id" in (rows[ids[0]].last_error or "") and "inactive" in (rows[ids[1]].last_error or "")


def test_two_claims_never_return_the_same_row(db: Database) -> None:
    resident = _resident(db)
    ids = _queue(db, 6, resident_id=resident)
    first, second = _claim(db, batch_size=4), _claim(db, batch_size=4)
    assert [c.id for c in first.rows] == ids[:4] and [c.id for c in second.rows] == ids[4:]


def test_concurrent_claims_from_separate_connections_split_the_rows(db: Database, database_url: str) -> None:
    resident = _resident(db)
    ids = _queue(db, 120, resident_id=resident)
    taken: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def sender(slot: int) -> None:
        database = Database(database_url)
        try:
            start.wait()
            while True:
                with database.transaction() as s:
                    rows = outbox.claim(s, now=NOW, lease=LEASE, batch_size=7).rows
                if not rows:
                    return
                taken[slot] += [c.id for c in rows]
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    everything = [i for slot in taken for i in slot]
    assert len(everything) == len(set(everything)) == len(ids)
    assert {r.attempts for r in _rows(db).values()} == {1}


def test_a_fifo_claim_takes_only_the_oldest_unfinished_row_of_each_chat(db: Database) -> None:
    first, second = _resident(db, 1, chat_id=5001), _resident(db, 2, chat_id=5002)
    a = _queue(db, 3, resident_id=first)
    b = _queue(db, 2, resident_id=second)
    staff = _queue(db, 2, staff_chat_id=-1001)
    batch = _claim_fifo(db)
    assert [c.id for c in batch.rows] == [a[0], b[0], staff[0]]
    assert _claim_fifo(db).rows == []  # the next rows wait while the first ones are being sent
    with db.transaction() as s:
        outbox.retry(s, outbox_id=a[0], wait=60, reason="Bad Gateway", now=NOW)  # back in the queue, later
        outbox.mark_delivered(s, outbox_id=b[0], message_id=1, now=NOW)
        outbox.mark_failed(s, outbox_id=staff[0], reason="Chat not found")
    # The first chat's second row waits for its retried first row: each chat gets its messages in order.
    assert [c.id for c in _claim_fifo(db).rows] == [b[1], staff[1]]
    assert [c.id for c in _claim_fifo(db, now=NOW + timedelta(minutes=1)).rows] == [a[0]]


def _claim_fifo(db: Database, *, now: datetime = NOW) -> outbox.Batch:
    with db.transaction() as s:
        return outbox.claim(s, now=now, lease=LEASE, fifo=True)


def test_retry_requeues_until_the_attempts_run_out(db: Database) -> None:
    [row] = _queue(db, resident_id=_resident(db))
    for attempt in range(1, 4):
        claimed = _claim(db, now=NOW + timedelta(hours=attempt)).rows
        assert [c.attempts for c in claimed] == [attempt]
        with db.transaction() as s:
            status = outbox.retry(s, outbox_id=row, wait=30, reason="Bad Gateway", now=NOW + timedelta(hours=attempt),
                                  max_attempts=3)
        stored = _rows(db)[row]
        if attempt < 3:
            assert status is OutboxStatus.QUEUED and stored.status == "queued"
            assert stored.not_before == NOW + timedelta(hours=attempt, seconds=30)
            assert stored.last_error == "Bad Gateway"
    assert status is OutboxStatus.FAILED
    assert (stored.status, stored.last_error) == ("failed", "gave up after 3 attempts: Bad Gateway")


def test_release_gives_rows_back_without_counting_an_attempt(db: Database) -> None:
    ids = _queue(db, 2, resident_id=_resident(db))
    _claim(db)
    with db.transaction() as s:
        outbox.release(s, outbox_ids=ids, not_before=NOW + timedelta(seconds=3))
    assert {(r.status, r.attempts, r.not_before) for r in _rows(db).values()} == {
        ("queued", 0, NOW + timedelta(seconds=3))}


def test_delivered_keeps_telegrams_message_id(db: Database) -> None:
    [row] = _queue(db, resident_id=_resident(db))
    _claim(db)
    with db.transaction() as s:
        outbox.mark_delivered(s, outbox_id=row, message_id=4711, now=NOW)
    stored = _rows(db)[row]
    assert (stored.status, stored.telegram_message_id, stored.sent_at) == ("delivered", 4711, NOW)


def test_a_block_makes_the_resident_inactive_and_fails_what_waits_for_them(db: Database) -> None:
    blocker, other = _resident(db, 1, chat_id=5001), _resident(db, 2, chat_id=5002)
    delivered, sending, waiting = _queue(db, 3, resident_id=blocker)
    later = _queue(db, resident_id=blocker, not_before=NOW + timedelta(days=1))
    untouched = _queue(db, resident_id=other)
    _claim(db, batch_size=2)
    with db.transaction() as s:
        outbox.mark_delivered(s, outbox_id=delivered, message_id=1)
        assert outbox.recipient_blocked(s, outbox_id=sending) == 3
    rows = _rows(db)
    assert rows[delivered].status == "delivered"
    assert {rows[i].status for i in (sending, waiting, *later)} == {"failed"}
    assert {rows[i].last_error for i in (sending, waiting, *later)} == {outbox.BLOCKED}
    assert rows[untouched[0]].status == "queued"
    with db.reading() as s:
        assert [r.active for r in s.scalars(select(Resident).order_by(Resident.id))] == [False, True]


def test_a_blocked_staff_chat_fails_only_its_own_rows(db: Database) -> None:
    first = _queue(db, 2, staff_chat_id=-1001)
    second = _queue(db, staff_chat_id=-1002)
    _claim(db, batch_size=1)
    with db.transaction() as s:
        assert outbox.recipient_blocked(s, outbox_id=first[0]) == 2
    rows = _rows(db)
    assert [rows[i].status for i in (*first, *second)] == ["failed", "failed", "queued"]


def test_rows_left_sending_past_their_lease_fail_and_are_never_sent_again(db: Database) -> None:
    ids = _queue(db, 2, resident_id=_resident(db))
    _claim(db, batch_size=1)
    with db.transaction() as s:
        assert outbox.recover_interrupted(s, now=NOW + LEASE - timedelta(seconds=1)) == 0
    with db.transaction() as s:
        assert outbox.recover_interrupted(s, now=NOW + LEASE + timedelta(seconds=1)) == 1
    rows = _rows(db)
    assert (rows[ids[0]].status, rows[ids[0]].last_error) == ("failed", outbox.INTERRUPTED)
    assert rows[ids[1]].status == "queued"
    # A retry or failure reported late by the sender that held it changes nothing.
    with db.transaction() as s:
        assert outbox.retry(s, outbox_id=ids[0], wait=1, reason="late") is OutboxStatus.FAILED
    assert _rows(db)[ids[0]].last_error == outbox.INTERRUPTED


def test_backoff_grows_exponentially_with_jitter_up_to_a_cap() -> None:
    low = [outbox.backoff(n, rng=lambda: 0.0) for n in range(1, 12)]
    high = [outbox.backoff(n, rng=lambda: 1.0) for n in range(1, 12)]
    assert high[:4] == [5.0, 10.0, 20.0, 40.0] and low[:2] == [2.5, 5.0]
    assert max(high) == outbox.BACKOFF_CAP_SECONDS and min(low[-3:]) == outbox.BACKOFF_CAP_SECONDS / 2


# Rendering ------------------------------------------------------------------------------------------------------

HOSTILE = 'We fixed it <script>alert("x")</script> & moved the camera <b>3 m</b>'


@pytest.mark.parametrize(("language", "frame"), [("en", "Reply from the city about your concern C-7K2Q9:"),
                                                 ("es", "Respuesta de la ciudad sobre tu inquietud C-7K2Q9:")])
def test_a_staff_reply_is_escaped_and_framed_in_the_residents_language(language: str, frame: str) -> None:
    rendered = outbox.render("staff_reply", {"reference": "C-7K2Q9", "text": HOSTILE, "language": "en"}, language)
    assert rendered.parse_mode == "HTML" and rendered.buttons == []
    assert rendered.text == (f"{frame}\n\nWe fixed it &lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; moved the "
                             "camera &lt;b&gt;3 m&lt;/b&gt;")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert outbox.render("concern_status", {"reference": "C-1", "status": "resolved"}, None).text == (
        "Your concern C-1 is now: resolved.")
    assert outbox.render("concern_status", {"reference": "C-1", "status": "resolved"}, "fr").text == (
        "Your concern C-1 is now: resolved.")


def test_status_notices_name_the_status_and_who_is_responsible() -> None:
    assert outbox.render("concern_status", {"reference": "C-1", "status": "investigating"}, "es").text == (
        "Nuevo estado de tu inquietud C-1: en estudio.")
    elsewhere = outbox.render("concern_status", {"reference": "C-1", "status": "not_responsible",
                                                 "reason": "Transit <Agency> & Co"}, "en").text
    assert elsewhere.endswith("Who is responsible:\n\nTransit &lt;Agency&gt; &amp; Co")


def test_a_satisfaction_check_has_yes_and_no_buttons_for_the_bot() -> None:
    rendered = outbox.render("satisfaction_check", {"reference": "C-7K2Q9"}, "es")
    assert "C-7K2Q9" in rendered.text
    assert rendered.buttons == [[("Sí, me ayudó", "sat:y:C-7K2Q9"), ("No, reabrirla", "sat:n:C-7K2Q9")]]


SAMPLES: dict[str, dict[str, Any]] = {
    "staff_reply": {"reference": "C-7K2Q9", "text": "Thanks", "language": "en"},
    "concern_status": {"reference": "C-7K2Q9", "status": "planned"},
    "concern_merged": {"reference": "C-AAAAA", "merged_with": "C-AAAAA", "into": "C-BBBBB"},
    "announcement": {"deployment": "AQ-017", "text": "Sensor & pole moved", "language": "en", "by": "staff"},
    "deployment_created": {"code": "AQ-017", "name": "Air <quality>", "fields": ["name"], "status": "pilot",
                           "version": 1},
    "deployment_changed": {"code": "AQ-017", "name": "Air quality", "fields": ["retention_days", "vendor"],
                           "status": "active", "version": 2},
    "satisfaction_check": {"reference": "C-7K2Q9"},
    "campaign_invitation": {"code": "Ab3dEf7hJk", "title": {"en": "Shuttle <pilot>", "es": "Lanzadera"},
                            "closes_on": "2026-12-01"},
    "campaign_reminder": {"code": "Ab3dEf7hJk", "title": {"en": "Shuttle"}, "closes_on": None},
    "campaign_results": {"code": "Ab3dEf7hJk", "title": {"en": "Shuttle", "es": "Lanzadera"}, "closes_on": None,
                         "headline": {"responses": 40, "question": {"en": "Keep it?", "es": "¿Seguir?"},
                                      "kind": "single_choice", "option": {"en": "Yes", "es": "Sí"}, "share": 0.625}},
    "pilot_reminder": {"code": "CAM-001", "name": "Crossing <camera>", "pilot_end": "2026-12-21", "days": 14},
    "digest_chart": {"iso_week": "2026-W47", "series": {
        "categories": [{"category": "privacy", "this_week": 3, "last_week": 1}],
        "sentiment": [{"week": "2026-W46", "mean_polarity": None}, {"week": "2026-W47", "mean_polarity": -0.2}]}},
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", sorted(outbox.KINDS - outbox.STORED_KINDS))  # stored kinds: tests/test_jobs.py
def test_every_kind_renders_in_both_languages(kind: str, language: str) -> None:
    text = outbox.render(kind, SAMPLES[kind], language).text
    assert text.strip() and "<" not in text.replace("&lt;", "") and "{" not in text
    if kind.startswith("deployment"):
        assert "AQ-017" in text and catalog().t(language, f"status-{SAMPLES[kind]['status']}") in text


def test_merge_notices_differ_for_the_survivor_and_the_duplicate() -> None:
    survivor = outbox.render("concern_merged", {"reference": "C-B", "merged_with": "C-A", "into": "C-B"}, "en")
    duplicate = outbox.render("concern_merged", {"reference": "C-A", "merged_with": "C-A", "into": "C-B"}, "en")
    assert "C-A" in survivor.text and "you will hear about it under C-B" in duplicate.text
    announcement = outbox.render("announcement", {"district": "old-port", "text": "x", "language": "en"}, "es")
    assert announcement.text.startswith("Noticias de la ciudad sobre old-port")


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(outbox.UnknownKind):
        outbox.render("telepathy", {}, "en")


def test_long_staff_text_is_cut_to_telegrams_limit_with_an_ellipsis() -> None:
    text = "😀" * 3000 + " & more"  # each emoji counts twice in Telegram's UTF-16 limit
    rendered = outbox.render("announcement", {"deployment": "AQ-017", "text": text, "language": "en"}, "en").text
    plain = rendered.replace("&amp;", "&")
    assert plain.endswith("…") and len(plain.encode("utf-16-le")) // 2 <= outbox.MESSAGE_LIMIT
    assert len(plain.encode("utf-16-le")) // 2 > outbox.MESSAGE_LIMIT - 3
    short = outbox.render("staff_reply", {"reference": "C-1", "text": "a & b" * 700, "language": "en"}, "en")
    assert not short.text.endswith("…") and short.text.count("&amp;") == 700
