"""Consultations answered in the chat: a real PTB Application against the local Bot API emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.emulator import EmulatorServer
from bot.emulator_client import EmulatorClient, buttons
from core import campaigns
from core.db import Database
from core.models import Campaign, CampaignAnswer, CampaignResponse, Concern, utcnow
from core.settings import Settings
from tests import builders
from tests.botkit import BotRunner, consented
from tests.botkit import Resident as Chat
from tests.test_campaigns import spec


@pytest.fixture
def code(db: Database) -> str:
    with db.transaction() as session:
        builders.districts(session)
        builders.demo_register(session)
        campaign = campaigns.create(session, owner="transit office", spec=campaigns.parse_spec(spec()), now=utcnow())
        campaigns.open_campaign(session, campaign=campaign, now=utcnow())
        return campaign.code


@pytest.fixture
def bot(db: Database, bot_settings: Settings, emulator_server: EmulatorServer, code: str) -> Iterator[BotRunner]:
    with BotRunner(bot_settings, db, emulator_server.bot_api_url) as running:
        yield running


def _answers(db: Database) -> dict[int, CampaignAnswer]:
    with db.reading() as session:
        return {a.question_index: a for a in session.scalars(select(CampaignAnswer))}


def test_every_question_type_skip_back_and_change(bot: BotRunner, phone: EmulatorClient, db: Database,
                                                  code: str) -> None:
    chat = consented(phone, 401)
    intro, q1 = chat.say(f"/start c_{code}", count=2)
    assert "The Elm Street shuttle" in intro["plain"] and "4 questions" in intro["plain"]
    assert "Question 1 of 4" in q1["plain"] and [label for label, _ in buttons(q1)] == ["Yes", "No", "Unsure"]
    q2 = chat.press(q1, "Unsure")[0]
    assert "Question 2 of 4" in q2["plain"] and "Done" in [label for label, _ in buttons(q2)]
    q2_again = chat.press_edit(q2, "Work")
    assert "✓ Work" in [label for label, _ in buttons(q2_again)]
    q2_both = chat.press_edit(q2_again, "School")
    assert "✓ School" in [label for label, _ in buttons(q2_both)]
    q3 = chat.press(q2_both, "Done")[0]
    assert "Question 3 of 4" in q3["plain"]
    back = chat.press(q3, "Back")[0]
    assert "Question 2 of 4" in back["plain"] and "✓ Work" in [label for label, _ in buttons(back)]
    q3 = chat.press(back, "Done")[0]
    q4 = chat.press(q3, data=buttons(q3)[3][1])[0]  # 4 on the 1–5 scale
    assert "Question 4 of 4" in q4["plain"] and "Skip" in [label for label, _ in buttons(q4)]
    thanks, summary = chat.say("Please run it on Sundays too, my mother works weekends", count=2)
    assert "Thank you for answering" in thanks["plain"]
    assert "Unsure" in summary["plain"] and "Work, School" in summary["plain"] and "4 of 5" in summary["plain"]
    answers = _answers(db)
    assert answers[0].value == 2 and answers[2].value == 4 and "Sundays" in (answers[3].text or "")
    assert answers[3].label is not None  # free text analysed by the intake …
    with db.reading() as session:
        assert session.scalars(select(Concern)).all() == []  # … and not stored as a concern
    change = chat.press(summary, "Change answer 1")[0]
    assert "Question 1 of 4" in change["plain"]
    summary = chat.press(change, "Yes")[0]
    assert "Yes" in summary["plain"] and _answers(db)[0].value == 0


def test_skip_where_allowed(bot: BotRunner, phone: EmulatorClient, db: Database, code: str) -> None:
    chat = consented(phone, 402)
    _, q1 = chat.say(f"/start c_{code}", count=2)
    assert "Skip" not in [label for label, _ in buttons(q1)]  # required
    q2 = chat.press(q1, "No")[0]
    q3 = chat.press(q2, "Skip")[0]
    assert "Question 3 of 4" in q3["plain"]
    assert _answers(db)[1].skipped


def test_resume_where_left_off_across_a_restart(db: Database, bot_settings: Settings, emulator_server: EmulatorServer,
                                                phone: EmulatorClient, code: str) -> None:
    with BotRunner(bot_settings, db, emulator_server.bot_api_url):
        chat = consented(phone, 403)
        _, q1 = chat.say(f"/start c_{code}", count=2)
        chat.press(q1, "Yes")
    with BotRunner(bot_settings, db, emulator_server.bot_api_url):
        listing = chat.say("/campaigns")  # not following anything: the list is empty, the link still works
        assert "no open consultations" in listing[0]["plain"]
        resumed = chat.say(f"/start c_{code}")[0]
        assert "Question 2 of 4" in resumed["plain"]


def test_campaigns_lists_what_the_resident_follows(bot: BotRunner, phone: EmulatorClient, code: str) -> None:
    chat = consented(phone, 404)
    chat.say("/follow AQ-017")
    listing = chat.say("/campaigns")[0]
    assert buttons(listing) == [("The Elm Street shuttle", f"cs:{code}")]
    intro, q1 = chat.press(listing, "The Elm Street shuttle", count=2)
    assert "Tell us before the council votes." in intro["plain"] and "Question 1 of 4" in q1["plain"]


def test_answers_after_close_are_refused_politely(bot: BotRunner, phone: EmulatorClient, db: Database,
                                                 code: str) -> None:
    chat = consented(phone, 405)
    _, q1 = chat.say(f"/start c_{code}", count=2)
    with db.transaction() as session:
        campaign = session.scalars(select(Campaign)).one()
        campaigns.close_campaign(session, campaign=campaign, now=utcnow())
    assert "closed" in chat.press(q1, "Yes")[0]["plain"]
    assert "closed" in chat.say(f"/start c_{code}")[0]["plain"]
    with db.reading() as session:
        assert session.scalars(select(CampaignAnswer)).all() == []


def test_answering_needs_consent_then_carries_on(bot: BotRunner, phone: EmulatorClient, db: Database,
                                                 code: str) -> None:
    chat = Chat(phone, 406)
    ask = chat.say(f"/start c_{code}")[0]
    assert "consent" in ask["plain"]
    thanks, intro, q1 = chat.press(ask, "I agree", count=3)
    assert "Thank you" in thanks["plain"] and "shuttle" in intro["plain"] and "Question 1 of 4" in q1["plain"]


def test_in_spanish(bot: BotRunner, phone: EmulatorClient, db: Database, code: str) -> None:
    chat = consented(phone, 407, "es")
    chat.press(chat.say("/language")[0], "Español")
    intro, q1 = chat.say(f"/start c_{code}", count=2)
    assert "Cuéntanos antes de la votación." in intro["plain"] and "4 preguntas" in intro["plain"]
    assert "Pregunta 1 de 4" in q1["plain"] and [label for label, _ in buttons(q1)] == ["Sí", "No", "No sé"]
    with db.reading() as session:
        assert session.scalars(select(CampaignResponse)).all() == []  # nothing stored before the first answer


def test_an_organizer_tries_a_draft_in_the_bot_and_those_answers_are_dropped_at_open(
        db: Database, bot_settings: Settings, emulator_server: EmulatorServer, phone: EmulatorClient) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from core import apikeys
    from core.models import Role

    with db.transaction() as session:
        builders.districts(session)
        builders.demo_register(session)
        _, key = apikeys.create(session, role=Role.ORGANIZER, principal="transit office")
    client = TestClient(create_app(bot_settings, db))
    auth = {"Authorization": f"Bearer {key}"}
    created = client.post("/api/v1/campaigns", json=spec(), headers=auth)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    payload = client.get(f"/api/v1/campaigns/{campaign_id}/preview", headers=auth).json()["try_in_bot"]["payload"]
    with BotRunner(bot_settings, db, emulator_server.bot_api_url):
        chat = consented(phone, 420)
        forged = chat.say(f"/start p_0000000000000000_{payload.split('_', 2)[2]}")[0]
        assert "not open" in forged["plain"]  # a wrong token finds nothing
        note, intro, q1 = chat.say(f"/start {payload}", count=3)
        assert "Preview" in note["plain"] and "shuttle" in intro["plain"] and "Question 1 of 4" in q1["plain"]
        chat.press(chat.press(q1, "Yes")[0], "Skip")
        with db.reading() as session:
            assert len(session.scalars(select(CampaignAnswer)).all()) == 2
        assert client.post(f"/api/v1/campaigns/{campaign_id}/open", headers=auth).status_code == 200
        with db.reading() as session:
            assert session.scalars(select(CampaignAnswer)).all() == []  # the preview's answers are gone
        shown = client.get(f"/api/v1/campaigns/{campaign_id}/preview", headers=auth).json()
        assert shown.get("try_in_bot") is None  # only drafts are tried this way
