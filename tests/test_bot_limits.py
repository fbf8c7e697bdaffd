"""Limits a resident can reach through the chat: long summaries and lists still arrive, and caps are explained."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.emulator import EmulatorServer
from bot.emulator_client import EmulatorClient, buttons
from core import campaigns, concerns, follows
from core.campaigns.definition import MAX_QUESTIONS
from core.conversation.fit import cut_units, shares, units
from core.db import Database
from core.errors import RateLimited
from core.models import (
    CampaignAnswer,
    CampaignResponse,
    Concern,
    ConcernKind,
    Follow,
    QuestionCounter,
    Resident,
    utcnow,
)
from core.settings import Settings
from tests import builders
from tests.botkit import BotRunner, consented
from tests.botkit import Resident as Chat

TELEGRAM_LIMIT = 4096


@pytest.fixture
def bot(city: Database, bot_settings: Settings, emulator_server: EmulatorServer) -> Iterator[BotRunner]:
    with BotRunner(bot_settings, city, emulator_server.bot_api_url) as running:
        yield running


def count(db: Database, model: type, *where: object) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def telegram_length(message: dict[str, Any]) -> int:
    return len(message["plain"].encode("utf-16-le")) // 2


# ---- a consultation's summary -----------------------------------------------------------------------------

def _long_free_text_campaign(db: Database) -> str:
    more = "Tell us <all> & more. " * 12
    questions = [{"kind": "free_text", "required": True,
                  "text": {"en": f"Question {n}: how would the shuttle change your week? {more}"}}
                 for n in range(1, MAX_QUESTIONS + 1)]
    assert all(280 <= len(q["text"]["en"]) <= 320 for q in questions)
    spec = {"title": {"en": "T" * 200}, "description": {"en": "Twenty long questions."}, "questions": questions,
            "target": {"deployments": ["AQ-017"]}}
    with db.transaction() as session:
        campaign = campaigns.create(session, owner="transit office", spec=campaigns.parse_spec(spec), now=utcnow())
        campaigns.open_campaign(session, campaign=campaign, now=utcnow())
        return campaign.code


def test_a_long_summary_arrives_whole_and_the_response_is_completed(bot: BotRunner, phone: EmulatorClient,
                                                                    city: Database) -> None:
    code = _long_free_text_campaign(city)
    chat = consented(phone, 801)
    intro, question = chat.say(f"/start c_{code}", count=2)
    assert f"Question 1 of {MAX_QUESTIONS}" in question["plain"]
    seen = [intro, question]
    for n in range(1, MAX_QUESTIONS + 1):
        # ~250 characters, with markup characters and an emoji (two UTF-16 units) in every answer
        answer = f"Answer {n} 🚌 <b>&amp; " + "the shuttle would let me reach work on time & shop <later> " * 4
        assert 240 <= len(answer) <= 260
        got = chat.say(answer, count=2 if n == MAX_QUESTIONS else 1, timeout=15)
        assert got, f"no reply to answer {n}"
        seen += got
    thanks, summary = seen[-2:]
    assert "Thank you for answering" in thanks["plain"]
    assert "Your answers to" in summary["plain"]
    assert all(telegram_length(m) <= TELEGRAM_LIMIT for m in seen)
    # Every answer is in the summary, each cut the same way, with a button to change it.
    assert all(f"{n}. Question {n}:" in summary["plain"] for n in range(1, MAX_QUESTIONS + 1))
    assert all(f"Answer {n} 🚌 <b>&amp; the shuttle" in summary["plain"] for n in range(1, MAX_QUESTIONS + 1))
    assert "…" in summary["plain"] and telegram_length(summary) > TELEGRAM_LIMIT - 200  # the room is used
    assert [label for label, _ in buttons(summary)] == [f"Change answer {n}" for n in range(1, MAX_QUESTIONS + 1)]
    with city.reading() as session:
        response = session.scalars(select(CampaignResponse)).one()
        assert response.completed_at is not None
        assert session.scalar(select(func.count()).select_from(CampaignAnswer)) == MAX_QUESTIONS
    # Changing an answer shows the same summary again, still in one message.
    change = chat.press(summary, "Change answer 20")[0]
    assert f"Question 20 of {MAX_QUESTIONS}" in change["plain"]
    again = chat.say("Changed: " + "a much longer answer with <tags> & ampersands " * 40, timeout=15)[0]
    assert "Your answers to" in again["plain"] and telegram_length(again) <= TELEGRAM_LIMIT


def test_room_is_shared_and_text_cut_in_telegrams_units() -> None:
    assert shares([5, 300, 40], 1000) == [5, 300, 40]
    assert shares([5, 300, 400], 305) == [5, 150, 150]
    assert cut_units("short", 10) == "short"
    cut = cut_units("ab🚌cdef", 4)  # the emoji takes two units and is never split
    assert cut == "ab…" and units(cut) <= 4
    assert units(cut_units("🚌" * 10, 7)) <= 7


# ---- follows ----------------------------------------------------------------------------------------------

def test_following_many_long_names_is_paged_and_the_cap_is_explained(bot: BotRunner, phone: EmulatorClient,
                                                                      city: Database) -> None:
    chat = consented(phone, 802)
    with city.transaction() as session:
        resident = session.scalars(select(Resident)).one()
        for n in range(1, follows.MAX_FOLLOWS + 1):
            name = (f"Camera {n:03d} on a very long street name é<&> 🚌 " * 6)[:199]
            d = builders.deployment(session, code=f"LN-{n:03d}", name=name, technology="camera")
            follows.follow(session, resident=resident, deployment=d, now=utcnow())
    first = chat.say("/following")[0]
    assert telegram_length(first) <= TELEGRAM_LIMIT
    assert "You follow (100, page 1 of 10)" in first["plain"]
    assert "LN-001 · Camera 001" in first["plain"] and "LN-011" not in first["plain"]
    labels = [label for label, _ in buttons(first)]
    assert labels == [f"Unfollow LN-{n:03d}" for n in range(1, 11)] + ["Next ›"]
    last = first
    for page in range(2, 11):
        last = chat.press(last, "Next")[0]
        assert f"page {page} of 10" in last["plain"] and telegram_length(last) <= TELEGRAM_LIMIT
    assert "LN-100 ·" in last["plain"] and [label for label, _ in buttons(last)][-1] == "‹ Previous"

    refused = chat.say("/follow AQ-017")[0]["plain"]
    assert "already follow 100 devices and districts" in refused and "/following" in refused
    refused = chat.say("/follow Old Town")[0]["plain"]
    assert "did not add Old Town" in refused
    assert count(city, Follow) == follows.MAX_FOLLOWS
    assert "You already follow LN-001" in chat.say("/follow LN-001")[0]["plain"]  # following again is no new follow
    assert "no longer follow" in chat.say("/unfollow LN-001")[0]["plain"]
    assert "You follow AQ-017" in chat.say("/follow AQ-017")[0]["plain"]  # room again after unfollowing one


# ---- questions without consent ----------------------------------------------------------------------------

GROUPS = ["school parents association", "bakery owners", "cycling club", "library friends", "senior centre",
          "youth football team", "tenants union", "church choir", "chess club", "garden society", "dog walkers",
          "market vendors"]


def test_questions_without_consent_are_limited_per_hour_and_stay_unlinked(bot: BotRunner, phone: EmulatorClient,
                                                                         city: Database) -> None:
    chat = Chat(phone, 803)
    assert "CAM-004" in chat.say("CAM-004")[0]["plain"]
    replies = [chat.say(f"Will the {group} be invited to the review meeting?")[0]["plain"] for group in GROUPS]
    assert all("passed your question to the city" in r for r in replies[:10])
    assert all("could not pass your question on" in r and "10 concerns and questions" in r for r in replies[10:])
    stored = count(city, Concern, Concern.kind == ConcernKind.QUESTION)
    assert stored == 10 and count(city, Concern, Concern.resident_id.is_not(None)) == 0
    # Erasing the resident takes their counter with them.
    confirm = chat.say("/forget")[0]
    chat.press(confirm, "Yes, erase")
    assert count(city, QuestionCounter) == 0 and count(city, Resident) == 0
    assert count(city, Concern) == 10


def test_the_hour_of_unlinked_questions_starts_again_and_ends_in_housekeeping(db: Database) -> None:
    from core import jobs
    from core.jobs.base import JobContext

    now = utcnow().replace(microsecond=0)
    policy = builders.POLICY
    with db.transaction() as session:
        asker = builders.resident(session, telegram_user_id=804)

        def ask(at: Any, n: int) -> Concern:
            return concerns.submit(session, text=f"Why was question number {n} not answered anywhere?",
                                   policy=policy, asked_by=asker, kind=ConcernKind.QUESTION, now=at)

        for n in range(policy.concerns_per_hour):
            assert ask(now + timedelta(minutes=n), n).resident_id is None
        with pytest.raises(RateLimited), session.begin_nested():
            ask(now + timedelta(minutes=30), 99)
        ask(now + timedelta(minutes=61), 100)  # an hour after the window began: counted afresh
        counter = session.get(QuestionCounter, asker.id)
        assert counter is not None and counter.asked == 1 and counter.window_started_at.second == 0
    with db.transaction() as session:
        context = JobContext(zone=policy.zone, min_group_size=5)
        jobs.run(session, "housekeeping", now=now + timedelta(minutes=90), context=context, trigger="manual")
        assert session.get(QuestionCounter, asker.id) is not None  # its hour is not over yet
        jobs.run(session, "housekeeping", now=now + timedelta(minutes=125), context=context, trigger="manual")
        assert session.get(QuestionCounter, asker.id) is None
