"""Residents are pseudonymous, can export everything about them, and can be erased."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import func, select, text

from core import residents, triage
from core.db import Database
from core.models import Base, Concern, ConcernStatus, Follow, Outbox, Resident
from tests import builders

TELEGRAM_ID = 424242424
CHAT_ID = 777000111


def _setup(db: Database) -> tuple[int, str]:
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=TELEGRAM_ID, chat_id=CHAT_ID)
        residents.give_consent(s, resident=who)
        d = builders.deployment(s)
        s.add(Follow(resident_id=who.id, deployment_id=d.id))
        c = builders.concern(s, "My neighbour Ana and I hate the camera pointing at number 12 Elm Street",
                             resident=who, deployment=d, lat=45.49, lon=-73.64, idempotency_key="tg-update-1")
        triage.reply(s, concern=c, text="We are looking into the camera angle.", author="staff")
        triage.change_status(s, concern=c, status=ConcernStatus.ANSWERED, actor="staff", reason="angle fixed")
        return who.id, c.reference


def test_pseudonym_is_an_hmac_not_the_id(db: Database) -> None:
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=TELEGRAM_ID)
        assert str(TELEGRAM_ID) not in who.pseudonym and len(who.pseudonym) == 64
        assert residents.pseudonym(b"other-secret", TELEGRAM_ID) != who.pseudonym


def test_export_contains_everything_but_no_raw_ids(db: Database) -> None:
    _resident_id, reference = _setup(db)
    with db.reading() as s:
        who = builders.resident(s, telegram_user_id=TELEGRAM_ID)
        document = residents.export(s, resident=who)
    dumped = json.dumps(document)
    assert document["concern"][0]["reference"] == reference
    assert document["follow"] and document["outbox"] and document["staff_reply"] and document["concern_event"]
    assert str(TELEGRAM_ID) not in dumped and str(CHAT_ID) not in dumped
    assert document["resident"]["chat_id_kept"] is True


def test_erase_leaves_nothing_that_identifies_the_resident(db: Database) -> None:
    resident_id, reference = _setup(db)
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=TELEGRAM_ID)
        pseudonym = who.pseudonym
        report = residents.erase(s, resident=who)
    assert report.concerns_unlinked == 1
    needles = {pseudonym, str(CHAT_ID), str(TELEGRAM_ID), "Ana", "number 12 Elm", "tg-update-1"}
    with db.reading() as s:
        # Walk every table of the schema, so tables added later are covered without editing this test.
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).mappings():
                for column, value in row.items():
                    fk_to_resident = any(fk.column.table.name == "resident" for fk in table.c[column].foreign_keys)
                    assert not (fk_to_resident and value == resident_id), (table.name, column)
                    if isinstance(value, str | int | list | dict):
                        rendered = json.dumps(value) if not isinstance(value, str) else value
                        assert not any(n in rendered for n in needles), (table.name, column, value)
            if table.name == "resident":
                assert s.execute(select(table)).first() is None
        kept = s.scalar(select(Concern).where(Concern.reference == reference))
        assert kept is not None and kept.text == "" and kept.resident_id is None
        assert kept.category and kept.status == "answered"  # statistics stay honest
        assert s.scalar(select(text("count(*)")).select_from(Outbox)) == 0


def test_two_transactions_meeting_a_new_resident_at_once_both_get_the_same_row(db: Database) -> None:
    # Webhook workers can take a new resident's first two updates at once: the second to insert must not fail.
    secret, user = b"secret-for-the-race-test", 515151515
    first_inserted = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_inserted.wait(5)
            with db.transaction() as s:  # waits for the first transaction's row (or, on SQLite, its lock)
                seen.append(residents.get_or_create(s, secret=secret, telegram_user_id=user).id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    with db.transaction() as s:
        seen.append(residents.get_or_create(s, secret=secret, telegram_user_id=user).id)
        first_inserted.set()
        time.sleep(0.5)  # the other transaction reaches its insert while this one is still open
    worker.join(10)
    assert errors == [] and len(seen) == 2 and seen[0] == seen[1]
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Resident)) == 1
