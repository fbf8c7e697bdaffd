"""The organizer API over HTTP with real keys: campaigns from draft to archive, the owner boundary, reach,
results (full and suppressed), and the anonymised CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core import apikeys, campaigns, residents
from core.db import Database
from core.models import Deployment, Follow, Outbox, Resident, Role
from tests import builders
from tests.builders import auth
from tests.test_campaigns import spec

ROLES = {"alice": Role.ORGANIZER, "bob": Role.ORGANIZER, "staff desk": Role.STAFF, "admin desk": Role.ADMIN}


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        builders.districts(s)
        builders.demo_register(s)
        return {name: apikeys.create(s, role=role, principal=name)[1] for name, role in ROLES.items()}


def created(client: TestClient, key: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/campaigns", json=spec(**overrides), headers=auth(key))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_contract_paths_are_published(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}", "/api/v1/campaigns/{campaign_id}/open",
                 "/api/v1/campaigns/{campaign_id}/close", "/api/v1/campaigns/{campaign_id}/archive",
                 "/api/v1/campaigns/{campaign_id}/results"):
        assert path in paths


def test_draft_to_archive(client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["alice"])
    campaign = created(client, keys["alice"])
    cid = campaign["id"]
    assert campaign["status"] == "draft" and campaign["owner"] == "alice" and campaign["languages"] == ["en", "es"]
    assert campaign["start_payload"] == f"c_{campaign['code']}" and 1 <= len(campaign["code"]) <= 64
    edited = client.patch(f"/api/v1/campaigns/{cid}", json={"title": {"en": "Shuttle, again", "es": "Otra vez"},
                                                             "results_public": False}, headers=h)
    assert edited.status_code == 200 and edited.json()["title"]["en"] == "Shuttle, again"
    assert edited.json()["questions"] == campaign["questions"] and not edited.json()["results_public"]
    preview = client.get(f"/api/v1/campaigns/{cid}/preview", headers=h).json()["languages"]
    assert preview["es"]["questions"][0]["header"] == "Pregunta 1 de 4"
    assert preview["es"]["questions"][0]["options"] == ["Sí", "No", "No sé"]
    assert "Shuttle, again" in preview["en"]["invitation"]
    assert client.post(f"/api/v1/campaigns/{cid}/close", headers=h).status_code == 409
    assert client.post(f"/api/v1/campaigns/{cid}/archive", headers=h).status_code == 409
    opened = client.post(f"/api/v1/campaigns/{cid}/open", headers=h)
    assert opened.status_code == 200 and opened.json()["status"] == "open" and opened.json()["opened_at"]
    refused = client.patch(f"/api/v1/campaigns/{cid}", json={"results_public": True}, headers=h)
    assert refused.status_code == 409 and "draft" in refused.json()["detail"]
    assert client.post(f"/api/v1/campaigns/{cid}/open", headers=h).status_code == 409
    assert client.post(f"/api/v1/campaigns/{cid}/close", headers=h).json()["status"] == "closed"
    assert client.post(f"/api/v1/campaigns/{cid}/archive", headers=h).json()["status"] == "archived"
    assert [c["id"] for c in client.get("/api/v1/campaigns", params={"status": "archived"}, headers=h)
            .json()["items"]] == [cid]


@pytest.mark.parametrize(("change", "reason"), [
    ({"questions": [{"kind": "scale", "text": {"en": "a", "es": "b"}, "options": [{"en": "x", "es": "y"}]}]},
     "no options"),
    ({"questions": [{"kind": "single_choice", "text": {"en": "a", "es": "b"}, "options": [{"en": "x", "es": "y"}]}]},
     "2 to 10 options"),
    ({"questions": [{"kind": "free_text", "text": {"en": "only English"}}]}, "title's languages"),
    ({"questions": [{"kind": "ranking", "text": {"en": "a", "es": "b"}}]}, None),
    ({"questions": []}, None),
    ({"target": {}}, "target needs"),
    ({"target": {"deployments": ["ZZ-999"]}}, "unknown deployment ZZ-999"),
    ({"target": {"districts": ["atlantis"]}}, "unknown district atlantis"),
    ({"target": {"radius": {"lat": 45.5, "lon": -73.6, "radius_m": 10_000_000}}}, None),
    ({"title": {"en": "bad\u0000title", "es": "x"}}, None),
    ({"title": {"fr": "Navette"}}, None),
    ({"opens_at": "2026-12-02T00:00:00+00:00", "closes_at": "2026-12-01T00:00:00+00:00"}, "after opens_at"),
    ({"opens_at": "2026-12-02T00:00:00"}, None),
    ({"questions": [{"kind": "single_choice", "text": {"en": "a", "es": "b"},
                     "options": [{"en": "A", "es": "x"}, {"en": "a", "es": "y"}]}]}, "'a' (en) is given twice"),
    ({"questions": [{"kind": "multiple_choice", "text": {"en": "a", "es": "b"},
                     "options": [{"en": "A", "es": "Sí"}, {"en": "B", "es": "Sí"}]}]}, "'Sí' (es) is given twice"),
    ({"closes_at": "2020-01-01T00:00:00+00:00"}, "closes_at: the time has passed"),
])
def test_every_shape_is_validated(client: TestClient, keys: dict[str, str], change: dict[str, Any],
                                  reason: str | None) -> None:
    response = client.post("/api/v1/campaigns", json=spec(**change), headers=auth(keys["alice"]))
    assert response.status_code == 422, response.text
    if reason:
        assert reason in response.json()["detail"]


def test_writes_answer_times_as_reads_do_and_a_change_of_nothing_is_not_audited(
        client: TestClient, keys: dict[str, str]) -> None:
    h = auth(keys["alice"])
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    sent = later.astimezone(timezone(timedelta(hours=-12))).isoformat()
    campaign = created(client, keys["alice"], closes_at=sent)
    cid = campaign["id"]
    read = client.get(f"/api/v1/campaigns/{cid}", headers=h).json()
    assert campaign["closes_at"] == read["closes_at"] and read["closes_at"].endswith("Z")
    patched = client.patch(f"/api/v1/campaigns/{cid}", json={"closes_at": sent}, headers=h)
    assert patched.status_code == 200 and patched.json()["closes_at"] == read["closes_at"]
    moved = client.patch(f"/api/v1/campaigns/{cid}", json={"closes_at": (later + timedelta(days=1)).astimezone(
        timezone(timedelta(hours=5, minutes=30))).isoformat()}, headers=h).json()
    assert moved["closes_at"] == client.get(f"/api/v1/campaigns/{cid}", headers=h).json()["closes_at"]
    assert datetime.fromisoformat(moved["closes_at"]) == later + timedelta(days=1)
    # The same values again, or only nulls (null leaves a field as it is), write nothing.
    same = client.patch(f"/api/v1/campaigns/{cid}", json={"title": campaign["title"],
                                                          "results_public": campaign["results_public"]}, headers=h)
    assert same.status_code == 200 and same.json()["updated_at"] == moved["updated_at"]
    nothing = client.patch(f"/api/v1/campaigns/{cid}", json={"target": None}, headers=h)
    assert nothing.status_code == 422 and nothing.json() == {"detail": "nothing to change"}
    past = client.patch(f"/api/v1/campaigns/{cid}", json={"closes_at": "2020-01-01T00:00:00Z"}, headers=h)
    assert past.status_code == 422 and "closes_at: the time has passed" in past.json()["detail"]
    events = client.get("/api/v1/audit", headers=auth(keys["admin desk"])).json()["items"]
    assert [(e["action"], e["detail"].get("fields")) for e in events if e["target"] == campaign["code"]] == [
        ("campaign.edit", ["closes_at"]), ("campaign.create", None)]


def test_organizers_see_only_their_own(client: TestClient, keys: dict[str, str]) -> None:
    mine = created(client, keys["alice"])["id"]
    bob = auth(keys["bob"])
    for method, path in (("get", ""), ("patch", ""), ("get", "/preview"), ("get", "/estimate"), ("post", "/open"),
                         ("post", "/close"), ("post", "/archive"), ("get", "/results"), ("get", "/responses.csv")):
        kwargs: dict[str, Any] = {"json": {"results_public": True}} if method == "patch" else {}
        response = getattr(client, method)(f"/api/v1/campaigns/{mine}{path}", headers=bob, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code)
    assert client.get("/api/v1/campaigns/999999", headers=bob).status_code == 404  # the same answer as another's
    assert client.get("/api/v1/campaigns", headers=bob).json()["items"] == []
    # Staff and admins see everyone's and may close any, but edit only their own; the public may not list.
    staff = auth(keys["staff desk"])
    assert [c["id"] for c in client.get("/api/v1/campaigns", headers=staff).json()["items"]] == [mine]
    assert client.patch(f"/api/v1/campaigns/{mine}", json={"results_public": True}, headers=staff).status_code == 403
    assert client.post(f"/api/v1/campaigns/{mine}/open", headers=auth(keys["alice"])).status_code == 200
    assert client.post(f"/api/v1/campaigns/{mine}/close", headers=auth(keys["admin desk"])).status_code == 200
    assert client.get("/api/v1/campaigns").status_code == 401


def _resident(db: Database, number: int, *, follow: dict[str, int] | None = None,
              location: tuple[float, float] | None = None, notifications: bool = True) -> int:
    now = datetime.now(UTC)
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=7000 + number, chat_id=17000 + number)
        residents.give_consent(s, resident=who, now=now)
        residents.set_notifications(s, resident=who, on=notifications)
        if follow:
            s.add(Follow(resident_id=who.id, **follow))
        if location:
            residents.set_keep_location(s, resident=who, on=True)
            residents.remember_location(s, resident=who, lat=location[0], lon=location[1], now=now)
        return who.id


def test_reach_by_deployment_district_and_radius(client: TestClient, keys: dict[str, str], db: Database) -> None:
    with db.reading() as s:
        cam = s.scalar(select(Deployment).where(Deployment.code == "CAM-004"))
        assert cam is not None and cam.district_id is not None
        cam_id, old_town = cam.id, cam.district_id
    _resident(db, 1, follow={"deployment_id": cam_id})
    _resident(db, 2, follow={"district_id": old_town})
    _resident(db, 3, location=(cam.lat + 0.001, cam.lon))  # ~110 m from the camera
    _resident(db, 4, location=(45.52, -73.56))  # eastfield, far away
    _resident(db, 5, follow={"deployment_id": cam_id}, notifications=False)
    h = auth(keys["alice"])
    cases = [({"deployments": ["CAM-004"]}, 2),  # its follower and the location ~110 m away
             ({"districts": ["old-town"]}, 3),  # the district's follower, the camera's (it is in it), the location
             ({"radius": {"lat": 45.52, "lon": -73.56, "radius_m": 500}}, 1),
             ({"districts": ["eastfield"], "deployments": ["CAM-004"]}, 3)]
    for target, expected in cases:
        campaign = created(client, keys["alice"], target=target)
        estimate = client.get(f"/api/v1/campaigns/{campaign['id']}/estimate", headers=h).json()
        assert estimate["residents"] == expected, target
        assert estimate["enough_to_publish"] is (expected >= 5)


def test_invitations_follow_the_estimate(client: TestClient, keys: dict[str, str], db: Database) -> None:
    follower = _resident(db, 1, follow={"deployment_id": 1})
    _resident(db, 2, location=(45.52, -73.56))
    with db.reading() as s:
        first = s.get(Deployment, 1)
        assert first is not None
    campaign = created(client, keys["alice"], target={"deployments": [first.code]})
    client.post(f"/api/v1/campaigns/{campaign['id']}/open", headers=auth(keys["alice"]))
    with db.transaction() as s:
        report = campaigns.lifecycle(s, now=datetime.now(UTC), min_group_size=5, zone=builders.POLICY.zone)
    assert report.invitations == 1
    with db.reading() as s:
        row = s.scalar(select(Outbox).where(Outbox.kind == "campaign_invitation"))
        assert row is not None and row.resident_id == follower and row.payload["code"] == campaign["code"]


def _answer_all(db: Database, code: str, count: int, choice: Any) -> None:
    """`count` residents answer every question; one in four does not finish."""
    now = datetime.now(UTC)
    for number in range(count):
        rid = _resident(db, 100 + number)
        with db.transaction() as s:
            who = s.get(Resident, rid)
            assert who is not None
            campaign = campaigns.get_by_code(s, code=code)
            value = choice(number) if callable(choice) else choice
            campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=value, now=now,
                             policy=builders.POLICY)
            campaigns.answer(s, campaign=campaign, resident=who, question_index=1, value=[0, 2], now=now,
                             policy=builders.POLICY)
            campaigns.answer(s, campaign=campaign, resident=who, question_index=2, value=1 + number % 5, now=now,
                             policy=builders.POLICY)
            campaigns.answer(s, campaign=campaign, resident=who, question_index=3,
                             value="The shuttle is slow and noisy at night", now=now, policy=builders.POLICY)
            if number % 4:
                campaigns.finish(s, campaign=campaign, resident=who, now=now)


def test_results_full_for_the_owner_and_suppressed_for_the_public(client: TestClient, keys: dict[str, str],
                                                                  db: Database) -> None:
    campaign = created(client, keys["alice"])
    cid, h = campaign["id"], auth(keys["alice"])
    client.post(f"/api/v1/campaigns/{cid}/open", headers=h)
    _answer_all(db, campaign["code"], 14, lambda n: 0 if n < 10 else 1 if n < 13 else 2)  # 10 yes, 3 no, 1 unsure
    assert client.get(f"/api/v1/campaigns/{cid}/results").status_code == 404  # open: nothing published
    full = client.get(f"/api/v1/campaigns/{cid}/results", headers=h).json()
    assert full["responses"] == 14 and full["completed"] == 10 and full["completion_rate"] == round(10 / 14, 4)
    single, multiple, scale, free = full["questions"]
    assert [o["count"] for o in single["options"]] == [10, 3, 1] and single["answered"] == 14
    assert [o["count"] for o in multiple["options"]] == [14, 0, 14]
    assert [d["count"] for d in scale["distribution"]] == [3, 3, 3, 3, 2]
    assert scale["mean"] == round(40 / 14, 4) and scale["median"] == 3.0 and scale["std_dev"] > 1
    assert free["answers"][0]["label"] == "negative" and free["answers"][0]["language"] == "en"
    assert free["labels"]["negative"] == 14 and free["key_phrases"] and free["answers"][0]["category"]
    client.post(f"/api/v1/campaigns/{cid}/close", headers=h)
    public = client.get(f"/api/v1/campaigns/{cid}/results").json()
    single = public["questions"][0]
    # "Unsure" (1) is too small, so "No" (3) goes with it: 14 - 10 gives only their sum, 4 < 5 — so all hide.
    assert [o["count"] for o in single["options"]] == [None, None, None]
    assert single["answered"] is None and single["skipped"] is None
    assert public["completed"] is None  # 4 did not finish: a group below 5
    scale = public["questions"][2]
    assert all(d["count"] is None for d in scale["distribution"]) and scale["mean"] is None
    assert public["questions"][3]["answers"] == [] and public["suppressed"] > 0
    # Another organizer is the public here, and so is a key-less caller.
    assert client.get(f"/api/v1/campaigns/{cid}/results", headers=auth(keys["bob"])).json() == public


def test_results_stay_private_unless_the_owner_allowed_them(client: TestClient, keys: dict[str, str],
                                                            db: Database) -> None:
    campaign = created(client, keys["alice"], results_public=False)
    cid, h = campaign["id"], auth(keys["alice"])
    client.post(f"/api/v1/campaigns/{cid}/open", headers=h)
    client.post(f"/api/v1/campaigns/{cid}/close", headers=h)
    assert client.get(f"/api/v1/campaigns/{cid}/results").status_code == 404
    assert client.get(f"/api/v1/campaigns/{cid}/results", headers=h).status_code == 200


def test_csv_is_anonymised_and_one_response_per_resident(client: TestClient, keys: dict[str, str],
                                                         db: Database) -> None:
    campaign = created(client, keys["alice"])
    cid, h = campaign["id"], auth(keys["alice"])
    client.post(f"/api/v1/campaigns/{cid}/open", headers=h)
    _answer_all(db, campaign["code"], 6, 1)
    with db.transaction() as s:  # answering again changes the one response; it never adds another
        who = s.scalar(select(Resident).order_by(Resident.id).limit(1))
        assert who is not None
        campaigns.answer(s, campaign=campaigns.get_by_code(s, code=campaign["code"]), resident=who,
                         question_index=0, value=2, now=datetime.now(UTC), policy=builders.POLICY)
        pseudonyms = [r.pseudonym for r in s.scalars(select(Resident))]
    response = client.get(f"/api/v1/campaigns/{cid}/responses.csv", headers=h)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 6 and sorted(int(r["respondent"]) for r in rows) == list(range(1, 7))
    assert set(rows[0]) >= {"respondent", "district", "q1", "q2", "q3", "q4", "q4_label", "q4_category"}
    assert sorted(r["q1"] for r in rows) == ["No"] * 5 + ["Unsure"] and {r["q2"] for r in rows} == {"Work;Shops"}
    assert not any(p in response.text for p in pseudonyms)
    assert not any(column.startswith("resident") for column in rows[0])


def test_answers_after_close_are_refused(client: TestClient, keys: dict[str, str], db: Database) -> None:
    campaign = created(client, keys["alice"])
    client.post(f"/api/v1/campaigns/{campaign['id']}/open", headers=auth(keys["alice"]))
    rid = _resident(db, 1)
    client.post(f"/api/v1/campaigns/{campaign['id']}/close", headers=auth(keys["alice"]))
    with db.transaction() as s:
        who = s.get(Resident, rid)
        assert who is not None
        closed = campaigns.get_by_code(s, code=campaign["code"])
        with pytest.raises(campaigns.CampaignClosed):
            campaigns.answer(s, campaign=closed, resident=who, question_index=0, value=0,
                             now=datetime.now(UTC) + timedelta(seconds=1), policy=builders.POLICY)
