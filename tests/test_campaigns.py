"""Consultations in the core: answering every question type, resume, close refusal, targeting, the lifecycle job,
suppression, and erase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import campaigns, outbox, residents
from core.db import Database
from core.errors import Invalid, InvalidTransition, NotFound
from core.models import (
    Campaign,
    CampaignAnswer,
    CampaignAnswerPhrase,
    CampaignResponse,
    Concern,
    Deployment,
    Follow,
    Outbox,
    Resident,
)
from core.suppression import hide
from tests import builders

NOW = datetime(2026, 11, 10, 9, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def spec(**overrides: Any) -> dict[str, Any]:
    """A campaign with one question of each kind, in English and Spanish."""
    values: dict[str, Any] = {
        "title": {"en": "The Elm Street shuttle", "es": "El lanzadera de Elm Street"},
        "description": {"en": "Tell us before the council votes.", "es": "Cuéntanos antes de la votación."},
        "questions": [
            {"kind": "single_choice", "required": True, "text": {"en": "Keep it?", "es": "¿Seguir?"},
             "options": [{"en": "Yes", "es": "Sí"}, {"en": "No", "es": "No"}, {"en": "Unsure", "es": "No sé"}]},
            {"kind": "multiple_choice", "text": {"en": "What for?", "es": "¿Para qué?"},
             "options": [{"en": "Work", "es": "Trabajo"}, {"en": "School", "es": "Escuela"},
                         {"en": "Shops", "es": "Tiendas"}]},
            {"kind": "scale", "required": True, "text": {"en": "How useful?", "es": "¿Qué tan útil?"}},
            {"kind": "free_text", "text": {"en": "Anything else?", "es": "¿Algo más?"}},
        ],
        "target": {"deployments": ["AQ-017"]},
        "results_public": True,
    }
    values.update(overrides)
    return values


def make(session: Session, owner: str = "transit office", **overrides: Any) -> Campaign:
    return campaigns.create(session, owner=owner, spec=campaigns.parse_spec(spec(**overrides)), now=NOW)


def resident(session: Session, number: int, *, notifications: bool = True, follow: Any = None,
             location: tuple[float, float] | None = None, language: str = "en") -> Resident:
    who = builders.resident(session, telegram_user_id=9000 + number, chat_id=19000 + number, language=language)
    residents.give_consent(session, resident=who, now=NOW)
    residents.set_notifications(session, resident=who, on=notifications)
    if follow is not None:
        session.add(Follow(resident_id=who.id, **follow))
    if location is not None:
        residents.set_keep_location(session, resident=who, on=True)
        residents.remember_location(session, resident=who, lat=location[0], lon=location[1], now=NOW)
    session.flush()
    return who


@pytest.fixture
def place(db: Database) -> dict[str, int]:
    with db.transaction() as s:
        districts = {d.slug: d.id for d in builders.districts(s)}
        builders.demo_register(s)
        return districts


def test_every_question_type_is_validated_and_resumable(db: Database, place: dict[str, int]) -> None:
    with db.transaction() as s:
        campaign = make(s)
        campaigns.open_campaign(s, campaign=campaign, now=NOW)
        who = resident(s, 1)
        code = campaign.code
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=9001)
        campaign = campaigns.open_for_resident(s, code=code, resident=who, now=NOW)
        view = campaigns.next_question(s, campaign=campaign, resident=who, language="es", now=NOW)
        assert view is not None and view.index == 0 and view.text == "¿Seguir?" and view.options[0] == "Sí"
        assert view.header == "Pregunta 1 de 4"
        for bad in (3, -1, True, "0", [0]):
            with pytest.raises(Invalid):
                campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=bad, now=NOW,
                                 policy=builders.POLICY)
        with pytest.raises(Invalid):  # required
            campaigns.skip(s, campaign=campaign, resident=who, question_index=0, now=NOW)
        with pytest.raises(Invalid):  # in order
            campaigns.answer(s, campaign=campaign, resident=who, question_index=2, value=3, now=NOW,
                             policy=builders.POLICY)
        campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=1, now=NOW,
                         policy=builders.POLICY)
        for bad_list in ([], [3], [True], 1):
            with pytest.raises(Invalid):
                campaigns.answer(s, campaign=campaign, resident=who, question_index=1, value=bad_list, now=NOW,
                                 policy=builders.POLICY)
        campaigns.answer(s, campaign=campaign, resident=who, question_index=1, value=[2, 0, 2], now=NOW,
                         policy=builders.POLICY)
    # A new transaction (a restarted bot) resumes from the stored response.
    with db.transaction() as s:
        who = builders.resident(s, telegram_user_id=9001)
        campaign = campaigns.get_by_code(s, code=code)
        state = campaigns.progress(s, campaign=campaign, resident=who, now=NOW)
        assert state.current_index == 2 and state.answered == [0, 1] and not state.completed
        for bad_scale in (0, 6, 2.5):
            with pytest.raises(Invalid):
                campaigns.answer(s, campaign=campaign, resident=who, question_index=2, value=bad_scale,
                                 now=NOW, policy=builders.POLICY)
        campaigns.answer(s, campaign=campaign, resident=who, question_index=2, value=4, now=NOW,
                         policy=builders.POLICY)
        state = campaigns.back(s, campaign=campaign, resident=who, now=NOW)
        assert state.current_index == 2
        view = campaigns.next_question(s, campaign=campaign, resident=who, language="en", now=NOW)
        assert view is not None and view.current == 4  # the stored answer is shown again
        campaigns.answer(s, campaign=campaign, resident=who, question_index=2, value=5, now=NOW,
                         policy=builders.POLICY)
        with pytest.raises(Invalid):  # not reached yet
            campaigns.finish(s, campaign=campaign, resident=who, now=NOW)
        campaigns.answer(s, campaign=campaign, resident=who, question_index=3,
                         value="Call me on 555-123-4567, the shuttle is great but too slow", now=NOW,
                         policy=builders.POLICY)
        assert campaigns.next_question(s, campaign=campaign, resident=who, language="en", now=NOW) is None
        state = campaigns.finish(s, campaign=campaign, resident=who, now=NOW)
        assert state.completed and state.at_end
        campaigns.change_answer(s, campaign=campaign, resident=who, question_index=1, value=None, now=NOW,
                                policy=builders.POLICY)
        summary = campaigns.summary_of_answers(s, campaign=campaign, resident=who, language="en")
        assert [a.answer for a in summary][:3] == ["No", "(skipped)", "5 of 5"]
        text = s.scalar(select(CampaignAnswer).where(CampaignAnswer.question_index == 3))
        assert text is not None and "555" not in (text.text or "") and text.language == "en"
        assert text.polarity is not None and text.label and text.category and text.key_phrases is not None
        assert s.scalar(select(func.count()).select_from(Concern)) == 0  # answers are not concerns
        campaigns.change_answer(s, campaign=campaign, resident=who, question_index=3, value="Too slow shuttle",
                                now=NOW, policy=builders.POLICY)
        phrases = set(s.scalars(select(CampaignAnswerPhrase.phrase)))
        assert phrases and phrases == set(s.scalar(select(CampaignAnswer.key_phrases)
                                                   .where(CampaignAnswer.question_index == 3)) or [])
        assert s.scalar(select(func.count()).select_from(CampaignResponse)) == 1


def test_answers_after_close_are_refused_and_drafts_are_unknown(db: Database, place: dict[str, int]) -> None:
    with db.transaction() as s:
        campaign = make(s, closes_at=NOW + timedelta(days=7))
        who = resident(s, 1)
        with pytest.raises(NotFound):
            campaigns.open_for_resident(s, code=campaign.code, resident=who, now=NOW)
        with pytest.raises(NotFound):
            campaigns.open_for_resident(s, code="nope", resident=who, now=NOW)
        campaigns.open_campaign(s, campaign=campaign, now=NOW)
        with pytest.raises(InvalidTransition):
            campaigns.edit(s, campaign=campaign, changes={"results_public": False}, now=NOW)
        later = NOW + timedelta(days=8)
        with pytest.raises(campaigns.CampaignClosed):  # past closes_at, before the job closed it
            campaigns.open_for_resident(s, code=campaign.code, resident=who, now=later)
        with pytest.raises(campaigns.CampaignClosed):
            campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=0, now=later,
                             policy=builders.POLICY)
        campaigns.close_campaign(s, campaign=campaign, now=NOW)
        with pytest.raises(campaigns.CampaignClosed):
            campaigns.open_for_resident(s, code=campaign.code, resident=who, now=NOW)
        with pytest.raises(InvalidTransition):
            campaigns.open_campaign(s, campaign=campaign, now=NOW)


def test_consent_is_needed_to_answer(db: Database, place: dict[str, int]) -> None:
    with db.transaction() as s:
        campaign = make(s)
        campaigns.open_campaign(s, campaign=campaign, now=NOW)
        who = builders.resident(s, telegram_user_id=1)
        with pytest.raises(campaigns.NeedsConsent):
            campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=0, now=NOW,
                             policy=builders.POLICY)


def test_reach_and_lifecycle_notices(db: Database, place: dict[str, int]) -> None:
    with db.transaction() as s:
        aq017 = s.scalar(select(Deployment).where(Deployment.code == "AQ-017"))
        assert aq017 is not None
        follower = resident(s, 1, follow={"deployment_id": aq017.id})
        resident(s, 2, follow={"deployment_id": aq017.id}, notifications=False)  # not reached
        district_follower = resident(s, 3, follow={"district_id": place["harbour"]})
        nearby = resident(s, 4, location=(45.4910, -73.6400))  # ~60 m from AQ-017
        resident(s, 5, location=(45.5200, -73.5600))  # far away, eastfield
        by_deployment = make(s, target={"deployments": ["AQ-017"]}, opens_at=NOW,
                             closes_at=NOW + timedelta(days=10))
        by_district = make(s, target={"districts": ["harbour", "eastfield"]})
        by_radius = make(s, target={"radius": {"lat": 45.4910, "lon": -73.6400, "radius_m": 300}})
        assert campaigns.estimate_reach(s, campaign=by_deployment, now=NOW) == 2
        assert campaigns.estimate_reach(s, campaign=by_district, now=NOW) == 2  # follower + eastfield location
        assert campaigns.estimate_reach(s, campaign=by_radius, now=NOW) == 2  # AQ-017 lies inside the radius
        # Kept locations expire after 30 days.
        assert campaigns.estimate_reach(s, campaign=by_radius, now=NOW + timedelta(days=31)) == 1
        ids = {"follower": follower.id, "district": district_follower.id, "nearby": nearby.id}
        code = by_deployment.code
    with db.transaction() as s:
        report = campaigns.lifecycle(s, now=NOW, min_group_size=5, zone=UTC_ZONE)
        assert report.opened == [code] and report.invitations == 2
        again = campaigns.lifecycle(s, now=NOW + timedelta(minutes=1), min_group_size=5, zone=UTC_ZONE)
        assert again.invitations == 0 and again.opened == []
        rows = list(s.scalars(select(Outbox).where(Outbox.kind == "campaign_invitation")))
        assert sorted(r.resident_id for r in rows) == sorted([ids["follower"], ids["nearby"]])
        rendered = outbox.render("campaign_invitation", rows[0].payload, "es")
        assert "El lanzadera" in rendered.text and rendered.buttons[0][0][1] == f"cs:{code}"
        # The follower starts and does not finish; the nearby resident finishes.
        campaign = campaigns.get_by_code(s, code=code)
        for rid, finish in ((ids["follower"], False), (ids["nearby"], True)):
            who = s.get(Resident, rid)
            assert who is not None
            campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=0, now=NOW,
                             policy=builders.POLICY)
            if finish:
                for i, value in ((1, [0]), (2, 3), (3, "Great shuttle")):
                    campaigns.answer(s, campaign=campaign, resident=who, question_index=i, value=value,
                                     now=NOW, policy=builders.POLICY)
                campaigns.finish(s, campaign=campaign, resident=who, now=NOW)
    with db.transaction() as s:
        early = campaigns.lifecycle(s, now=NOW + timedelta(days=4), min_group_size=5, zone=UTC_ZONE)
        assert early.reminders == 0
        half = campaigns.lifecycle(s, now=NOW + timedelta(days=5), min_group_size=5, zone=UTC_ZONE)
        assert half.reminders == 1
        assert campaigns.lifecycle(s, now=NOW + timedelta(days=6), min_group_size=5, zone=UTC_ZONE).reminders == 0
        reminder = s.scalar(select(Outbox).where(Outbox.kind == "campaign_reminder"))
        assert reminder is not None and reminder.resident_id == ids["follower"]
        assert "2026-11-20" in outbox.render("campaign_reminder", reminder.payload, "en").text
        closing = campaigns.lifecycle(s, now=NOW + timedelta(days=10), min_group_size=1, zone=UTC_ZONE)
        assert closing.closed == [code] and closing.results_messages == 2
        assert campaigns.lifecycle(s, now=NOW + timedelta(days=11), min_group_size=1,
                                   zone=UTC_ZONE).results_messages == 0
        result = s.scalar(select(Outbox).where(Outbox.kind == "campaign_results"))
        assert result is not None
        text = outbox.render("campaign_results", result.payload, "en").text
        assert "2 people answered" in text and "“Yes”" in text and "100 %" in text


def test_suppression_hides_small_cells_and_their_complement() -> None:
    assert hide([60, 37, 3], 5) == [60, None, None]  # 3 alone would be N - 97
    assert hide([50, 1, 1, 48], 5) == [50, None, None, None]  # 1 + 1 < 5: one more
    assert hide([9, 2, 1, 0], 5) == [None, None, None, 0]  # "not yes" would be a group of 3
    assert hide([10, 0, 12], 5) == [10, 0, 12]
    assert hide([40, 40], 5) == [40, 40]
    assert hide([40, 30, 6], 5, also=frozenset({2})) == [40, None, None]  # a shared cell hidden elsewhere
    assert hide([40, 30, 0], 5, also=frozenset({2})) == [40, 30, 0]  # nothing to hide in an empty one


def test_public_results_only_when_closed_and_allowed(db: Database, place: dict[str, int]) -> None:
    with db.transaction() as s:
        campaign = make(s)
        campaigns.open_campaign(s, campaign=campaign, now=NOW)
        for number in range(18):
            who = resident(s, number)
            choice = 0 if number < 10 else 1 if number < 16 else 2  # 10 yes, 6 no, 2 unsure
            campaigns.answer(s, campaign=campaign, resident=who, question_index=0, value=choice, now=NOW,
                             policy=builders.POLICY)
        with pytest.raises(NotFound):
            campaigns.public_results(s, campaign=campaign, min_group_size=5)
        campaigns.close_campaign(s, campaign=campaign, now=NOW)
        public = campaigns.public_results(s, campaign=campaign, min_group_size=5)
        first = public["questions"][0]
        assert public["responses"] == 18 and first["answered"] is None
        # "Unsure" (2) is too small, and "No" is hidden with it, or 18 - 10 - 6 would give it away.
        assert [o["count"] for o in first["options"]] == [10, None, None] and first["no_answer"] == 0
        assert public["suppressed"] > 0 and all(q["answered"] is None for q in public["questions"])
        full = campaigns.results(s, campaign=campaign)
        assert [o["count"] for o in full["questions"][0]["options"]] == [10, 6, 2]


def test_free_text_labels_and_categories_hide_their_shared_no_answer_together(db: Database,
                                                                             place: dict[str, int]) -> None:
    # 21 respondents; 15 answer the free-text question (labels 10 / 2 / 3; categories 12 / 3) and 6 do not.
    # The categories hide safety's 3 and, with it, the 6 without an answer. Were the labels to show those 6,
    # 21 - 6 - 12 would give safety's 3 away.
    labels = ["negative"] * 10 + ["neutral"] * 2 + ["positive"] * 3
    categories = ["usefulness"] * 12 + ["safety"] * 3
    with db.transaction() as s:
        campaign = make(s, questions=[spec()["questions"][3]])
        campaigns.open_campaign(s, campaign=campaign, now=NOW)
        for number in range(21):
            who = resident(s, number)
            if number < 15:
                campaigns.answer(s, campaign=campaign, resident=who, question_index=0,
                                 value=f"The shuttle stop number {number} needs a shelter", now=NOW,
                                 policy=builders.POLICY)
            else:
                campaigns.skip(s, campaign=campaign, resident=who, question_index=0, now=NOW)
        s.flush()
        answers = s.scalars(select(CampaignAnswer).where(~CampaignAnswer.skipped)
                            .order_by(CampaignAnswer.id)).all()
        for answer, label, category in zip(answers, labels, categories, strict=True):
            answer.label, answer.category = label, category
        campaigns.close_campaign(s, campaign=campaign, now=NOW)
    with db.reading() as s:
        found = campaigns.get_by_code(s, code=campaign.code)
        free = campaigns.public_results(s, campaign=found, min_group_size=5)["questions"][0]
        full = campaigns.results(s, campaign=found)["questions"][0]
    assert full["no_answer"] == 6 and full["labels"]["negative"] == 10
    assert {c["category"]: c["count"] for c in free["categories"]} == {"usefulness": 12, "safety": None}
    assert free["no_answer"] is None
    assert free["labels"]["negative"] == 10
    hidden = [n for n in (free["labels"]["neutral"], free["labels"]["positive"], free["no_answer"]) if n is None]
    assert len(hidden) == 3  # 2 + 3 + 6: nothing left to subtract


def test_erase_keeps_answers_unlinked_and_empties_text(db: Database, place: dict[str, int]) -> None:
    with db.transaction() as s:
        campaign = make(s)
        campaigns.open_campaign(s, campaign=campaign, now=NOW)
        who = resident(s, 1)
        for i, value in ((0, 2), (1, [1]), (2, 2), (3, "My name is Ana and the shuttle is loud")):
            campaigns.answer(s, campaign=campaign, resident=who, question_index=i, value=value, now=NOW,
                             policy=builders.POLICY)
        assert s.scalar(select(func.count()).select_from(CampaignAnswerPhrase)) > 0
        document = residents.export(s, resident=who)
        assert len(document["campaign_response"]) == 1 and len(document["campaign_answer"]) == 4
        report = residents.erase(s, resident=who)
        assert report.campaign_responses_unlinked == 1
    with db.reading() as s:
        response = s.scalar(select(CampaignResponse))
        assert response is not None and response.resident_id is None
        answers = {a.question_index: a for a in s.scalars(select(CampaignAnswer))}
        assert answers[0].value == 2 and answers[3].text == "" and answers[3].label is not None
        assert s.scalar(select(func.count()).select_from(CampaignAnswerPhrase)) == 0
        assert campaigns.results(s, campaign=campaigns.get_by_code(s, code=campaign.code))["responses"] == 1
