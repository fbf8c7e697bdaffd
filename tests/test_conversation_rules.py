"""The bot's heuristics, one definition each: near-duplicates, intents, kept locations, flow expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import concerns, flows, residents, updates
from core.conversation.find import match_intent
from core.db import Database
from core.geo import haversine_m
from core.models import FlowState, utcnow
from tests import builders


def test_jaccard_is_token_overlap_over_union() -> None:
    assert concerns.jaccard("the camera films my door", "the camera films my door") == 1.0
    assert concerns.jaccard("camera films door", "camera films window") == pytest.approx(2 / 4)
    assert concerns.jaccard("", "anything") == 0.0


def test_near_duplicate_needs_same_resident_deployment_category_and_seven_days(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        builders.districts(session)
        cam = builders.deployment(session, code="CAM-004", technology="camera")
        other = builders.deployment(session, code="CAM-005", technology="camera", lat=45.5, lon=-73.6)
        me = builders.resident(session, 1)
        someone = builders.resident(session, 2, chat_id=5002)
        text = "The camera films my front door every night"
        earlier = builders.concern(session, text, resident=me, deployment=cam, category=concerns.Category.PRIVACY,
                                   now=now - timedelta(days=6))

        def dup(**kw: object) -> object:
            args = {"resident": me, "deployment_id": cam.id, "category": "privacy", "text": text + " again",
                    "now": now, **kw}
            return concerns.find_near_duplicate(session, **args)  # type: ignore[arg-type]

        assert dup() is earlier
        assert dup(resident=someone) is None
        assert dup(deployment_id=other.id) is None
        assert dup(category="surveillance") is None
        assert dup(text="Completely different words about budgets") is None
        assert dup(now=now + timedelta(days=2)) is None  # more than 7 days after the earlier one


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("Is it recording me?", "en", "recording"),
    ("who can see the data", "en", "access"),
    ("How long is it kept?", "en", "retention"),
    ("Who do I contact about this?", "en", "contact"),
    ("When does the pilot end?", "en", "pilot_end"),
    ("¿Me está grabando?", "es", "recording"),
    ("¿Cuánto tiempo se guardan los datos?", "es", "retention"),
    ("¿Hasta cuándo estará?", "es", "pilot_end"),
    ("Nice weather today", "en", None),
])
def test_questions_match_their_intent(text: str, language: str, intent: str | None) -> None:
    assert match_intent(text, language) == intent


def test_a_kept_location_is_coarsened_to_about_250_m() -> None:
    for lat, lon in [(45.4907, -73.6395), (-33.86, 151.21), (64.1, -21.9)]:
        c_lat, c_lon = residents.coarsen(lat, lon)
        assert haversine_m(lat, lon, c_lat, c_lon) <= 180  # within half a cell's diagonal
        assert residents.coarsen(lat + 0.0001, lon + 0.0001) in {(c_lat, c_lon), residents.coarsen(lat + 0.0001,
                                                                                                     lon + 0.0001)}
    assert residents.coarsen(45.49070, -73.63950) == residents.coarsen(45.49071, -73.63951)


def test_flows_expire_after_24_hours_and_update_ids_after_48(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        resident = builders.resident(session)
        flows.put(session, resident=resident, flow="report", step="text", data={"x": 1}, now=now)
        assert flows.current(session, resident=resident, now=now + timedelta(hours=23)) is not None
        assert flows.current(session, resident=resident, now=now + timedelta(hours=24, seconds=1)) is None
        assert session.scalars(select(FlowState)).all() == []
        assert updates.claim(session, bot_id=1, update_id=7, now=now)
        assert not updates.claim(session, bot_id=1, update_id=7, now=now)
        assert updates.claim(session, bot_id=2, update_id=7, now=now)  # scoped to the bot
        assert updates.prune(session, now=now + timedelta(hours=47)) == 0
        assert updates.prune(session, now=now + timedelta(hours=49)) == 2


def test_a_changed_record_shows_its_new_card_at_once(db: Database) -> None:
    from zoneinfo import ZoneInfo

    from core import conversation
    from core.conversation import Env, Event

    env = Env(secret=b"k" * 32, policy=concerns.IntakePolicy(zone=ZoneInfo("UTC")), user_id=7, chat_id=7,
              now=utcnow(), language_code="en")

    def card() -> str:
        with db.transaction() as session:
            replies = conversation.handle(session, env=env, event=Event("text", text="aq-017"))
        return replies[0].text

    with db.transaction() as session:
        builders.deployment(session)
    first = card()
    assert "Environment Office" in first and card() == first  # the same record: the same card
    with db.transaction() as session:
        builders.deployment(session, accountable_org="Public Works & Parks", retention_days=30)
    changed = card()
    assert "Public Works &amp; Parks" in changed and "Environment Office" not in changed
    assert "30" in changed and changed != first
    with db.transaction() as session:
        builders.deployment(session, accountable_org=None, retention_days=30)
    unpublished = card()
    assert "Public Works" not in unpublished and "Environment Office" not in unpublished
    assert unpublished.count("the city has not published this") == changed.count("the city has not published this") + 1
