"""A status change made through the staff API is queued for the resident who raised the concern."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core import apikeys, outbox
from core.db import Database
from core.models import Concern, ConcernEvent, Outbox, Resident, Role
from tests import builders


@pytest.fixture
def staff(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        return {"Authorization": f"Bearer {apikeys.create(s, role=Role.STAFF, principal='status desk')[1]}"}


def _concern(db: Database, *, telegram_user_id: int, chat_id: int | None, active: bool = True) -> str:
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=telegram_user_id, chat_id=chat_id, language="es")
        who.active = active
        return builders.concern(s, "La cámara de la esquina graba mi ventana", resident=who).reference


def _notices(db: Database) -> list[Outbox]:
    with db.reading() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == "concern_status").order_by(Outbox.id)))


def test_a_status_change_queues_one_notice_for_the_resident(client: TestClient, staff: dict[str, str],
                                                            db: Database) -> None:
    reference = _concern(db, telegram_user_id=501, chat_id=601)
    moved = client.post(f"/api/v1/concerns/{reference}/status",
                        json={"status": "investigating", "reason": "internal: site visit on Tuesday"}, headers=staff)
    assert moved.status_code == 200
    notices = _notices(db)
    with db.reading() as s:
        event_id = s.scalar(select(ConcernEvent.id).where(ConcernEvent.kind == "status"))
        resident_id = s.scalar(select(Resident.id).where(Resident.chat_id == 601))
    assert len(notices) == 1
    notice = notices[0]
    # A staff note is not sent to the resident: only the reference and the new status are.
    assert notice.payload == {"reference": reference, "status": "investigating"}
    assert (notice.resident_id, notice.status, notice.dedupe_key) == (resident_id, "queued", f"status:{event_id}")


def test_not_responsible_tells_the_resident_who_is(client: TestClient, staff: dict[str, str], db: Database) -> None:
    reference = _concern(db, telegram_user_id=502, chat_id=602)
    client.post(f"/api/v1/concerns/{reference}/status",
                json={"status": "not_responsible", "reason": "  Provincial Transport Agency "}, headers=staff)
    assert [n.payload for n in _notices(db)] == [
        {"reference": reference, "status": "not_responsible", "reason": "Provincial Transport Agency"}]


def test_no_notice_for_a_resident_who_cannot_hear_it(client: TestClient, staff: dict[str, str], db: Database) -> None:
    erased = _concern(db, telegram_user_id=503, chat_id=None)
    blocked = _concern(db, telegram_user_id=504, chat_id=604, active=False)
    for reference in (erased, blocked):
        assert client.post(f"/api/v1/concerns/{reference}/status", json={"status": "acknowledged"},
                           headers=staff).status_code == 200
    assert _notices(db) == []


def test_a_merge_sends_its_own_notice_not_a_status_notice(client: TestClient, staff: dict[str, str],
                                                          db: Database) -> None:
    older = _concern(db, telegram_user_id=505, chat_id=605)
    newer = _concern(db, telegram_user_id=506, chat_id=606)
    assert client.post(f"/api/v1/concerns/{newer}/merge", json={"reference": older},
                       headers=staff).status_code == 200
    with db.reading() as s:
        kinds = sorted(o.kind for o in s.scalars(select(Outbox)))
    assert kinds == ["concern_merged", "concern_merged"]


def test_merging_two_concerns_of_one_resident_tells_them_once(client: TestClient, staff: dict[str, str],
                                                              db: Database) -> None:
    older = _concern(db, telegram_user_id=507, chat_id=607)
    with db.transaction() as s:
        resident = s.scalar(select(Resident).join(Concern, Concern.resident_id == Resident.id)
                            .where(Concern.reference == older))
        newer = builders.concern(s, "The same camera again, still filming the playground", resident=resident).reference
    merged = client.post(f"/api/v1/concerns/{newer}/merge", json={"reference": older}, headers=staff)
    assert merged.status_code == 200 and merged.json()["duplicate"] == newer
    with db.reading() as s:
        (notice,) = s.scalars(select(Outbox).where(Outbox.kind == "concern_merged"))
    for language in ("en", "es"):
        text = outbox.render(notice.kind, notice.payload, language).text
        assert older in text and newer in text
