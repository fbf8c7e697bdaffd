"""The staff API over HTTP with real keys for each role: concerns, statistics, keys, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core import apikeys, concerns
from core.db import Database
from core.models import ApiKey, Concern, ConcernStatus, Outbox, Resident, Role
from core.settings import Settings
from tests import builders
from tests.builders import auth

TELEGRAM_ID = 31337000
CHAT_ID = 99887766


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        return {role.value: apikeys.create(s, role=role, principal=f"{role.value} desk")[1] for role in Role}


@pytest.fixture
def references(db: Database) -> list[str]:
    base = datetime(2026, 11, 10, 9, tzinfo=UTC)
    with db.transaction() as s:
        builders.districts(s)
        d = builders.deployment(s, code="CAM-104", technology="camera", lat=45.4907, lon=-73.6395)
        who = builders.resident(s, telegram_user_id=TELEGRAM_ID, chat_id=CHAT_ID)
        texts = ["Who watches the footage from this camera?", "The camera films into my kitchen window",
                 "Thank you for the new bike counter", "¿Quién ve las grabaciones de la cámara?"]
        return [builders.concern(s, t, resident=who, deployment=d if i < 2 else None,
                                 now=base + timedelta(hours=i)).reference for i, t in enumerate(texts)]


def test_missing_bad_or_malformed_keys_get_401(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/api/v1/concerns").status_code == 401
    assert client.get("/api/v1/concerns", headers=auth("cp_not-a-real-key")).status_code == 401
    response = client.get("/api/v1/concerns", headers={"Authorization": f"Token {keys['staff']}"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_role_boundaries(client: TestClient, keys: dict[str, str], references: list[str]) -> None:
    # Organizers never read concerns, in lists or one by one.
    assert client.get("/api/v1/concerns", headers=auth(keys["organizer"])).status_code == 403
    assert client.get(f"/api/v1/concerns/{references[0]}", headers=auth(keys["organizer"])).status_code == 403
    # Staff cannot manage keys or read the audit log; admins can.
    assert client.post("/api/v1/apikeys", json={"role": "staff", "name": "x"},
                       headers=auth(keys["staff"])).status_code == 403
    assert client.get("/api/v1/audit", headers=auth(keys["staff"])).status_code == 403
    assert client.get("/api/v1/concerns", headers=auth(keys["admin"])).status_code == 200


def test_list_filters_and_pages(client: TestClient, keys: dict[str, str], references: list[str]) -> None:
    h = auth(keys["staff"])
    everything = client.get("/api/v1/concerns", headers=h).json()["items"]
    assert [c["reference"] for c in everything] == references[::-1]  # newest first
    on_camera = client.get("/api/v1/concerns", params={"deployment": "cam104"}, headers=h).json()["items"]
    assert {c["reference"] for c in on_camera} == set(references[:2])
    assert {c["deployment"] for c in on_camera} == {"CAM-104"}
    spanish = client.get("/api/v1/concerns", params={"language": "es"}, headers=h).json()["items"]
    assert [c["reference"] for c in spanish] == [references[3]]
    found = client.get("/api/v1/concerns", params={"q": "KITCHEN"}, headers=h).json()["items"]
    assert [c["reference"] for c in found] == [references[1]]
    first = client.get("/api/v1/concerns", params={"limit": 3, "sort": "oldest"}, headers=h).json()
    second = client.get("/api/v1/concerns", params={"limit": 3, "sort": "oldest", "cursor": first["next_cursor"]},
                        headers=h).json()
    assert [c["reference"] for c in first["items"] + second["items"]] == references
    assert second["next_cursor"] is None


@pytest.mark.parametrize("params", [{"limit": 201}, {"cursor": "garbage"}, {"from": "2026-02-01", "to": "2026-01-01"},
                                    {"polarity_min": "nan"}, {"polarity_min": 2}, {"status": "lost"},
                                    {"deployment": "DROP TABLE"}, {"has_reply": "perhaps"}])
def test_bad_filters_are_422(client: TestClient, keys: dict[str, str], params: dict[str, object]) -> None:
    response = client.get("/api/v1/concerns", params=params, headers=auth(keys["staff"]))
    assert response.status_code == 422 and response.json()["detail"]


def test_triage_reply_and_audit(client: TestClient, keys: dict[str, str], references: list[str], db: Database
                                ) -> None:
    h = auth(keys["staff"])
    ref = references[1]
    refused = client.post(f"/api/v1/concerns/{ref}/status", json={"status": "not_responsible"}, headers=h)
    assert refused.status_code == 422 and "who is responsible" in refused.json()["detail"]
    moved = client.post(f"/api/v1/concerns/{ref}/status", json={"status": "investigating", "reason": "site visit"},
                        headers=h).json()
    assert moved["status"] == "investigating"
    assert moved["history"][-1] | {"created_at": None} == {
        "reference": ref, "kind": "status", "from_value": "new", "to_value": "investigating", "reason": "site visit",
        "actor": "staff desk", "created_at": None}
    suggested = moved["suggested_category"]
    target = "equity" if suggested != "equity" else "cost"
    corrected = client.post(f"/api/v1/concerns/{ref}/category", json={"category": target}, headers=h).json()
    assert (corrected["category"], corrected["suggested_category"]) == (target, suggested)
    assert client.post(f"/api/v1/concerns/{ref}/category", json={"category": target}, headers=h).status_code == 409
    replied = client.post(f"/api/v1/concerns/{ref}/replies", json={"text": "We will re-aim the camera this week."},
                          headers=h)
    assert replied.status_code == 201 and replied.json()["delivery"] == "queued"
    detail = client.get(f"/api/v1/concerns/{ref}", headers=h).json()
    assert detail["replies"][0]["delivery"] == "queued" and detail["first_reply_at"]
    with db.reading() as s:
        queued = s.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [(o.kind, o.payload["reference"]) for o in queued] == [("concern_status", ref), ("staff_reply", ref)]
    events = client.get("/api/v1/audit", headers=auth(keys["admin"])).json()["items"]
    assert [e["action"] for e in events][:3] == ["concern.reply", "concern.category", "concern.status"]
    assert all(e["principal"] == "staff desk" for e in events[:3])
    text = str(detail) + str(events)
    assert str(TELEGRAM_ID) not in text and str(CHAT_ID) not in text


def test_bad_writes_are_refused_with_reasons(client: TestClient, keys: dict[str, str], references: list[str]
                                             ) -> None:
    h = auth(keys["staff"])
    ref = references[0]
    assert client.post(f"/api/v1/concerns/{ref}/replies", json={"text": "a\x00b"}, headers=h).status_code == 422
    assert client.post(f"/api/v1/concerns/{ref}/replies", json={"text": ""}, headers=h).status_code == 422
    assert client.post(f"/api/v1/concerns/{ref}/replies", json={"text": "x" * 3501}, headers=h).status_code == 422
    assert client.post(f"/api/v1/concerns/{ref}/status", json={"status": "new"}, headers=h).status_code == 409
    assert client.post(f"/api/v1/concerns/{ref}/status", json={"status": "resolved", "extra": 1},
                       headers=h).status_code == 422
    assert client.post("/api/v1/concerns/C-ZZZZZ/status", json={"status": "resolved"}, headers=h).status_code == 404
    assert client.post(f"/api/v1/concerns/{ref}/status", content=b"{not json", headers=h).status_code == 422


def test_stats_are_suppressed_for_the_public_and_organizers(client: TestClient, keys: dict[str, str],
                                                            references: list[str]) -> None:
    params = {"group_by": "category"}
    staff = client.get("/api/v1/stats", params=params, headers=auth(keys["staff"])).json()
    assert sum(g["count"] for g in staff["groups"]) == 4 and staff["suppressed"] == 0
    for headers in ({}, auth(keys["organizer"])):
        public = client.get("/api/v1/stats", params=params, headers=headers).json()
        assert public["groups"] == [] and public["suppressed"] >= 1  # every weekly group is below 5
    assert client.get("/api/v1/stats", params={"group_by": "colour"}).status_code == 422


def test_keys_are_issued_used_and_revoked(client: TestClient, keys: dict[str, str], db: Database) -> None:
    h = auth(keys["admin"])
    created = client.post("/api/v1/apikeys", json={"role": "organizer", "name": "Consultations team"}, headers=h)
    assert created.status_code == 201
    body = created.json()
    assert client.get("/api/v1/stats", params={"group_by": "week"}, headers=auth(body["key"])).status_code == 200
    listed = client.get("/api/v1/apikeys", headers=h).json()
    assert body["key"] not in str(listed)
    mine = next(k for k in listed if k["id"] == body["id"])
    assert mine["last_used_at"] is not None and mine["role"] == "organizer"
    assert client.delete(f"/api/v1/apikeys/{body['id']}", headers=h).status_code == 204
    assert client.get("/api/v1/stats", params={"group_by": "week"}, headers=auth(body["key"])).status_code == 401
    assert client.delete("/api/v1/apikeys/999999", headers=h).status_code == 404
    with db.reading() as s:
        stored = s.scalar(select(ApiKey).where(ApiKey.id == body["id"]))
        assert stored is not None and body["key"] not in (stored.key_hash, stored.prefix)


def test_revoking_a_revoked_key_changes_nothing_and_names_are_one_line(client: TestClient, keys: dict[str, str],
                                                                       db: Database) -> None:
    from core.models import AuditEvent

    h = auth(keys["admin"])
    key_id = client.post("/api/v1/apikeys", json={"role": "staff", "name": "Mobility desk"}, headers=h).json()["id"]
    assert [client.delete(f"/api/v1/apikeys/{key_id}", headers=h).status_code for _ in range(2)] == [204, 204]
    with db.reading() as s:
        revocations = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "apikey.revoke")))
    assert [e.target for e in revocations] == [str(key_id)]
    for name in ("Mobility\tdesk", "Mobility\ndesk", "Mobility desk\r\nsecond line", "bell\x07"):
        refused = client.post("/api/v1/apikeys", json={"role": "staff", "name": name}, headers=h)
        assert refused.status_code == 422, name


def test_concern_exports_stream_every_row_safely(client: TestClient, keys: dict[str, str], references: list[str],
                                                  db: Database) -> None:
    import csv
    import io

    import geojson

    h = auth(keys["staff"])
    with db.transaction() as s:
        builders.concern(s, "=HYPERLINK(\"http://evil.example\") the camera is spying")
    response = client.get("/api/v1/concerns.csv", headers=h)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["reference"] for r in rows][:4] == references
    assert rows[-1]["text"].startswith("'=")  # a spreadsheet shows it, never runs it
    assert rows[0]["deployment"] == "CAM-104"
    only_es = list(csv.DictReader(io.StringIO(client.get("/api/v1/concerns.csv", params={"language": "es"},
                                                         headers=h).text)))
    assert [r["reference"] for r in only_es] == [references[3]]
    assert client.get("/api/v1/concerns.csv", headers=auth(keys["organizer"])).status_code == 403
    assert client.get("/api/v1/concerns.csv", params={"from": "2026-02-02", "to": "2026-01-01"},
                      headers=h).status_code == 422
    collection = geojson.loads(client.get("/api/v1/concerns.geojson", headers=h).text)
    assert collection.is_valid
    assert {f["id"] for f in collection["features"]} == set(references[:2])  # the two placed at CAM-104
    assert str(CHAT_ID) not in response.text and str(TELEGRAM_ID) not in response.text


def test_csv_export_at_volume(client: TestClient, keys: dict[str, str], db: Database) -> None:
    from sqlalchemy import insert

    from core.models import Concern

    n = 20_000
    now = datetime(2026, 11, 2, tzinfo=UTC)
    rows = [{"reference": f"C-V{i:05d}", "kind": "concern", "category": "privacy", "text": f"volume row {i}",
             "status": "new", "source": "bot", "iso_week": "2026-W45", "created_on": now.date(), "created_at": now,
             "updated_at": now, "key_phrases": [], "flags": []} for i in range(n)]
    with db.transaction() as s:
        s.execute(insert(Concern), rows)
    lines = 0
    with client.stream("GET", "/api/v1/concerns.csv", headers=auth(keys["staff"])) as response:
        for line in response.iter_lines():
            lines += bool(line)
    assert lines == n + 1


def test_trends_give_weekly_series_with_change(client: TestClient, keys: dict[str, str], references: list[str],
                                               db: Database) -> None:
    with db.transaction() as s:
        for i in range(3):
            builders.concern(s, f"Later concern {i} about noise", now=datetime(2026, 11, 18, 9 + i, tzinfo=UTC))
    body = client.get("/api/v1/stats/trends", params={"from": "2026-11-02", "to": "2026-11-22"},
                      headers=auth(keys["staff"])).json()
    (series,) = body["series"]
    assert [(p["week"], p["count"], p["change"]) for p in series["points"]] == [
        ("2026-W45", 0, None), ("2026-W46", 4, None), ("2026-W47", 3, -0.25)]
    public = client.get("/api/v1/stats/trends", params={"from": "2026-11-02", "to": "2026-11-22"}).json()
    assert public["series"] == [] and public["suppressed"] == 2
    assert client.get("/api/v1/stats/trends", params={"group_by": "week"}).status_code == 422


def test_about_describes_the_system_in_both_languages(client: TestClient, settings: Settings) -> None:
    en = client.get("/api/v1/about").json()
    es = client.get("/api/v1/about", params={"language": "es"}).json()
    for record in (en, es):
        assert {"purposes", "data_types", "processing", "access", "storage", "retention", "personal_data",
                "rights"} <= set(record)
        assert record["retention"] == settings.retention_days and record["personal_data"] is True
    assert "TextBlob" in en["processing"] and en["description"] != es["description"]
    assert client.get("/api/v1/about", params={"language": "fr"}).status_code == 422


def test_merge_keeps_the_oldest_with_both_histories_and_tells_both(client: TestClient, keys: dict[str, str],
                                                                  references: list[str], db: Database) -> None:
    h = auth(keys["staff"])
    with db.transaction() as s:
        other = builders.resident(s, telegram_user_id=4242, chat_id=4343)
        newer = builders.concern(s, "Same camera, same problem: it films my kitchen", resident=other).reference
    client.post(f"/api/v1/concerns/{newer}/status", json={"status": "acknowledged"}, headers=h)
    merged = client.post(f"/api/v1/concerns/{newer}/merge", json={"reference": references[1]}, headers=h)
    assert merged.status_code == 200
    body = merged.json()
    assert body["survivor"]["reference"] == references[1] and body["duplicate"] == newer
    assert body["survivor"]["merged"] == [newer]
    assert {e["reference"] for e in body["survivor"]["history"]} == {references[1], newer}
    assert client.get(f"/api/v1/concerns/{newer}", headers=h).json()["status"] == "duplicate"
    with db.reading() as s:
        told = sorted(o.payload["reference"] for o in s.scalars(select(Outbox).where(Outbox.kind == "concern_merged")))
    assert told == sorted([references[1], newer])
    again = client.post(f"/api/v1/concerns/{newer}/merge", json={"reference": references[1]}, headers=h)
    assert again.status_code == 409
    assert client.post(f"/api/v1/concerns/{references[0]}/merge", json={"reference": references[0]},
                       headers=h).status_code == 422


def test_a_merged_concern_keeps_its_status_and_duplicate_comes_only_from_a_merge(
        client: TestClient, keys: dict[str, str], references: list[str], db: Database) -> None:
    h = auth(keys["staff"])
    survivor, duplicate = references[0], references[1]
    assert client.post(f"/api/v1/concerns/{duplicate}/merge", json={"reference": survivor},
                       headers=h).status_code == 200
    for status in ("reopened", "resolved", "duplicate"):
        refused = client.post(f"/api/v1/concerns/{duplicate}/status", json={"status": status}, headers=h)
        assert refused.status_code == 409
        assert refused.json()["detail"] == (f"{duplicate} was merged into {survivor}; "
                                            f"change the status of {survivor} instead")
    assert client.get(f"/api/v1/concerns/{duplicate}", headers=h).json()["status"] == "duplicate"
    assert client.get(f"/api/v1/concerns/{survivor}", headers=h).json()["merged"] == [duplicate]
    # The survivor is changed as usual, and merging stays possible with the pair unchanged.
    assert client.post(f"/api/v1/concerns/{survivor}/status", json={"status": "resolved"},
                       headers=h).status_code == 200
    assert client.post(f"/api/v1/concerns/{references[2]}/merge", json={"reference": survivor},
                       headers=h).status_code == 200
    # Marking a concern duplicate without naming the one it repeats is refused: that is what merge does.
    named = client.post(f"/api/v1/concerns/{references[3]}/status", json={"status": "duplicate"}, headers=h)
    assert named.status_code == 422 and "merg" in named.json()["detail"]
    assert client.get(f"/api/v1/concerns/{references[3]}", headers=h).json()["status"] == "new"
    events = client.get("/api/v1/audit", headers=auth(keys["admin"])).json()["items"]
    assert [e["action"] for e in events if e["action"] == "concern.status"] == ["concern.status"]


def test_dissatisfaction_with_a_merged_concern_reopens_the_concern_it_was_merged_into(
        client: TestClient, keys: dict[str, str], references: list[str], db: Database) -> None:
    h = auth(keys["staff"])
    with db.transaction() as s:
        other = builders.resident(s, telegram_user_id=4242, chat_id=4343)
        newer = builders.concern(s, "Same camera, it films my kitchen too", resident=other).reference
    survivor = references[1]
    client.post(f"/api/v1/concerns/{newer}/status", json={"status": "resolved"}, headers=h)  # asked, then merged
    client.post(f"/api/v1/concerns/{newer}/merge", json={"reference": survivor}, headers=h)
    client.post(f"/api/v1/concerns/{survivor}/status", json={"status": "resolved"}, headers=h)
    with db.transaction() as s:
        mine = s.scalar(select(Concern).where(Concern.reference == newer))
        resident = s.get(Resident, mine.resident_id)
        reopened = concerns.answer_satisfaction(s, concern=mine, resident=resident, satisfied=False,
                                                reason="It still films my kitchen", policy=builders.POLICY)
    assert reopened
    merged = client.get(f"/api/v1/concerns/{newer}", headers=h).json()
    assert merged["status"] == "duplicate" and merged["satisfied"] is False
    detail = client.get(f"/api/v1/concerns/{survivor}", headers=h).json()
    assert detail["status"] == "reopened" and detail["closed_at"] is None and detail["merged"] == [newer]
    assert {"reference": newer, "kind": "addition", "reason": "It still films my kitchen", "actor": "resident"} \
        in [{k: e[k] for k in ("reference", "kind", "reason", "actor")} for e in detail["history"]]
    # Staff go on with the survivor; the merged concern still refuses changes of its own.
    assert client.post(f"/api/v1/concerns/{newer}/status", json={"status": "resolved"},
                       headers=h).status_code == 409


def test_announcements_reach_each_follower_once(client: TestClient, keys: dict[str, str], references: list[str],
                                                db: Database) -> None:
    from core import residents
    from core.deployments import get_by_code
    from core.models import Follow

    with db.transaction() as s:
        camera = get_by_code(s, code="CAM-104")
        for telegram_id, district_too in ((800, True), (801, False)):
            who = builders.resident(s, telegram_user_id=telegram_id, chat_id=telegram_id + 1)
            residents.give_consent(s, resident=who)
            who.notifications = True
            s.add(Follow(resident_id=who.id, deployment_id=camera.id))
            if district_too:
                s.add(Follow(resident_id=who.id, district_id=camera.district_id))
    h = auth(keys["staff"])
    sent = client.post("/api/v1/announcements", json={"deployment": "CAM-104", "text": "Maintenance on Monday."},
                       headers=h)
    assert sent.status_code == 201 and sent.json() == {"recipients": 2}
    with db.reading() as s:
        assert len(s.scalars(select(Outbox).where(Outbox.kind == "announcement")).all()) == 2
    bad = [{"text": "no target"}, {"deployment": "CAM-104", "district": "old-town", "text": "both"},
           {"deployment": "CAM-104", "text": ""}]
    assert [client.post("/api/v1/announcements", json=b, headers=h).status_code for b in bad] == [422, 422, 422]
    assert client.post("/api/v1/announcements", json={"district": "atlantis", "text": "x"},
                       headers=h).status_code == 404
    assert client.post("/api/v1/announcements", json={"deployment": "CAM-104", "text": "x"},
                       headers=auth(keys["organizer"])).status_code == 403


def test_reply_templates_per_status_in_both_languages(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["staff"])
    en = client.get("/api/v1/reply-templates", params={"reference": "C-7K2Q9"}, headers=h).json()
    es = client.get("/api/v1/reply-templates", params={"language": "es"}, headers=h).json()
    assert set(en) == set(es) == {s.value for s in ConcernStatus} - {"new"}
    assert "C-7K2Q9" in en["resolved"] and en["resolved"] != es["resolved"]
    assert client.get("/api/v1/reply-templates", headers=auth(keys["organizer"])).status_code == 403
