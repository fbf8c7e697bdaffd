"""The resident bot end to end: a real PTB Application long polling the local Bot API emulator over HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import event, func, select

from bot.emulator import EmulatorServer
from bot.emulator_client import EmulatorClient, buttons
from core.db import Database
from core.models import Concern, ConcernEvent, Deployment, FlowState, Follow, Resident
from core.settings import Settings
from tests import builders
from tests.botkit import BotRunner, consented
from tests.botkit import Resident as Chat

ELM = (45.4907, -73.6395)  # next to AQ-017 in the demo register


@pytest.fixture
def bot(city: Database, bot_settings: Settings, emulator_server: EmulatorServer) -> Iterator[BotRunner]:
    with BotRunner(bot_settings, city, emulator_server.bot_api_url) as running:
        yield running


def count(db: Database, model: type, *where: object) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ---- finding out what a deployment is ---------------------------------------------------------------------

def test_start_explains_what_is_kept_and_offers_consent_and_language(bot: BotRunner, phone: EmulatorClient) -> None:
    welcome = Chat(phone, 101).say("/start")[0]
    assert "/forget" in welcome["plain"] and "/mydata" in welcome["plain"]
    labels = [label for label, _ in buttons(welcome)]
    assert "I agree" in labels and "Español" in labels


def test_the_command_menu_is_published_in_both_languages(bot: BotRunner, phone: EmulatorClient) -> None:
    commands = phone.stats()["commands"]
    assert "report" in json.dumps(commands) and "Plantear una inquietud" in json.dumps(commands, ensure_ascii=False)


def test_deep_link_with_a_code_opens_the_card(bot: BotRunner, phone: EmulatorClient) -> None:
    card = Chat(phone, 102).say("/start AQ-017")[0]
    assert "Air quality sensor, Elm Street school" in card["plain"]
    assert "How long it is kept: 5 years (1,825 days)" in card["plain"]
    assert {label for label, _ in buttons(card)} >= {"Raise a concern", "Ask a question", "Follow", "Nearby"}


def test_unknown_code_says_so_and_offers_near(bot: BotRunner, phone: EmulatorClient) -> None:
    reply = Chat(phone, 103).say("/start ZZ-999")[0]
    assert "ZZ-999" in reply["plain"] and "/near" in reply["plain"]


@pytest.mark.parametrize("typed", ["aq017", "AQ-017", "aq 017", "aq-17"])
def test_typing_a_code_in_any_form_opens_the_card(bot: BotRunner, phone: EmulatorClient, typed: str) -> None:
    assert "AQ-017" in Chat(phone, 104).say(typed)[0]["plain"]


def test_unpublished_fields_say_so(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    with city.transaction() as session:
        builders.deployment(session, code="CAM-900", name="Unregistered camera", technology="camera",
                            personal_data=None, retention_days=None, accountable_org=None, purposes=None)
    card = Chat(phone, 105).say("CAM-900")[0]["plain"]
    assert "How long it is kept: the city has not published this" in card
    assert "Personal data: the city has not published this" in card


def test_near_asks_for_location_and_lists_nearest_with_distance(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 106)
    ask = chat.say("/near")[0]
    assert ask["reply_markup"]["keyboard"][0][0]["request_location"] is True
    listing = chat.location(*ELM)[0]
    first_label, first_data = buttons(listing)[0]
    assert first_data == "c:AQ-017" and "m away" in first_label
    card = chat.press(listing, data=first_data)[0]
    assert "Air quality sensor" in card["plain"]


def test_a_venue_and_a_live_location_also_list_nearby(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 107)
    venue = chat.location(*ELM, venue={"title": "School", "address": "Elm Street"})[0]
    live = chat.location(*ELM, live_period=600)[0]
    assert buttons(venue)[0][1] == buttons(live)[0][1] == "c:AQ-017"


def test_words_search_the_register(bot: BotRunner, phone: EmulatorClient) -> None:
    results = Chat(phone, 108).say("camera on Elm street")[0]
    codes = [data for _, data in buttons(results)]
    assert "c:CAM-004" in codes


def test_search_reads_plurals_districts_and_chat_words_as_people_mean_them(bot: BotRunner,
                                                                         phone: EmulatorClient) -> None:
    chat = Chat(phone, 178)
    cameras = [data for _, data in buttons(chat.say("cameras")[0])]
    assert "c:CAM-004" in cameras and "c:CAM-031" in cameras
    spanish = [data for _, data in buttons(Chat(phone, 179, "es").say("cámaras")[0])]
    assert "c:CAM-004" in spanish
    old_town = [data for _, data in buttons(chat.say("Old Town")[0])]
    assert "c:FRT-001" in old_town and "c:LID-004" in old_town  # in the district, named or not
    many = chat.say("air sensor")[0]
    assert "devices match; these 8 are closest to your words" in many["plain"]
    assert len(buttons(many)) == 8 and buttons(many)[0][1].startswith("c:AQ-")
    assert buttons(chat.say("no thanks")[0]) == []  # not a search: "no" is not inside "north"


def test_button_labels_show_names_as_written(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    with city.transaction() as session:
        builders.deployment(session, code="WIFI-900", name="Parks & Rec <Wi-Fi> hotspot")
    results = Chat(phone, 109).say("Parks Rec hotspot")[0]
    assert "WIFI-900 · Parks & Rec <Wi-Fi> hotspot" in [label for label, _ in buttons(results)]


def test_plain_questions_are_answered_from_the_record(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 109)
    chat.say("CAM-004")
    recording = chat.say("is it recording me?")[0]["plain"]
    assert "Personal data: yes, it processes personal data" in recording
    kept = chat.say("how long is it kept?")[0]["plain"]
    assert "How long it is kept: 30 days" in kept


def test_spanish_question_is_answered_in_spanish(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 110, "es")
    chat.say("CAM-004")
    answer = chat.say("¿me está grabando?")[0]["plain"]
    assert "Datos personales: sí, trata datos personales" in answer


def test_the_card_names_the_vendor_and_a_vendor_question_is_answered_with_it(bot: BotRunner,
                                                                           phone: EmulatorClient) -> None:
    chat = Chat(phone, 114)
    card = chat.say("FRT-001")[0]["plain"]
    assert "Vendor: Visage Match Analytics" in card
    answer = chat.say("which company made it?")[0]["plain"]
    assert "Vendor: Visage Match Analytics" in answer


def test_pilot_dates_read_well_when_only_one_is_published(bot: BotRunner, phone: EmulatorClient,
                                                          city: Database) -> None:
    with city.transaction() as session:
        builders.deployment(session, code="AQ-902", pilot_start=date(2026, 2, 1), lat=45.6, lon=-73.5)
        builders.deployment(session, code="AQ-903", pilot_end=date(2027, 1, 31), lat=45.61, lon=-73.5)
    assert "Pilot dates: from 2026-02-01 (the end date is not published)" in Chat(phone, 115).say("AQ-902")[0]["plain"]
    spanish = Chat(phone, 116, "es").say("AQ-903")[0]["plain"]
    assert "hasta el 2027-01-31 (la fecha de inicio no está publicada)" in spanish


def test_distances_are_written_as_each_language_writes_numbers(bot: BotRunner, phone: EmulatorClient,
                                                               city: Database) -> None:
    with city.transaction() as session:  # about 1.2 km north of the point shared below
        builders.deployment(session, code="AQ-904", lat=45.8108, lon=-73.2)
    far = {"es": "a 1,2 km", "en": "1.2 km away"}
    for user, language in ((117, "es"), (118, "en")):
        listing = Chat(phone, user, language).location(45.8, -73.2)[0]
        assert next(label for label, _ in buttons(listing) if "AQ-904" in label).endswith(far[language])


def test_words_that_name_what_a_question_is_about_still_search(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 119)
    assert "c:FRT-001" in [data for _, data in buttons(chat.say("facial recognition")[0])]
    assert "c:LPR-002" in [data for _, data in buttons(chat.say("licence plate reader")[0])]
    # A question with no card open still asks which device is meant.
    assert "Which device" in chat.say("is it recording me?")[0]["plain"]


def test_retention_is_said_in_years_or_months_when_it_is_whole(bot: BotRunner, phone: EmulatorClient) -> None:
    spanish = Chat(phone, 112, "es")
    assert "Cuánto tiempo se guardan: 3 meses (90 días)" in spanish.say("LPR-002")[0]["plain"]
    assert "Cuánto tiempo se guardan: 1 año (365 días)" in spanish.say("LID-004")[0]["plain"]
    english = Chat(phone, 113)
    assert "How long it is kept: 10 years (3,650 days)" in english.say("BIK-008")[0]["plain"]
    assert "How long it is kept: 14 days" in english.say("CAM-015")[0]["plain"]


def test_unanswerable_question_is_stored_for_staff(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = Chat(phone, 111)
    card = chat.say("AQ-017")[0]
    chat.press(card, "Ask a question")
    reply = chat.say("Will the school parents association be invited to the review meeting?")[0]["plain"]
    assert "passed your question" in reply
    with city.reading() as session:
        stored = session.scalars(select(Concern).where(Concern.kind == "question")).all()
    assert len(stored) == 1 and stored[0].resident_id is None  # asking needs no consent: stored unlinked


# ---- raising a concern -------------------------------------------------------------------------------------

def _report_from_card(chat: Chat, text: str, code: str = "CAM-004") -> list[dict]:
    card = chat.say(code)[0]
    ask_text = chat.press(card, "Raise a concern")[0]
    assert "in one message" in ask_text["plain"]
    category = chat.say(text)[0]
    return [category]


def test_raising_a_concern_from_a_card_end_to_end(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 120)
    category = _report_from_card(chat, "This camera films my front door all day, who sees the footage?")[0]
    first_label, first_data = buttons(category)[0]
    assert first_label.startswith("✓")  # the suggested category comes first
    feeling = chat.press(category, data=first_data)[0]
    confirm = chat.press(feeling, data="e:2")[0]
    assert "Please check" in confirm["plain"] and "films my front door" in confirm["plain"]
    done = chat.press(confirm, "Send")[0]["plain"]
    with city.reading() as session:
        concern = session.scalars(select(Concern)).one()
    assert concern.reference in done
    assert concern.feeling == 2 and concern.category == first_data[2:].partition("|")[0]
    assert count(city, FlowState) == 0


def test_a_general_concern_asks_for_a_location(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 121)
    target = chat.say("/report")[0]
    ask_text = chat.press(target, "Something general")[0]
    assert "in one message" in ask_text["plain"]
    category = chat.say("The new smart bins on our street are never emptied")[0]
    feeling = chat.press(category, data=buttons(category)[0][1])[0]
    where = chat.press(feeling, data="e:0")[0]
    assert where["reply_markup"]["keyboard"][0][0]["request_location"] is True
    confirm = chat.location(*ELM)[0]
    assert "Location: shared" in confirm["plain"]
    chat.press(confirm, "Send")
    with city.reading() as session:
        concern = session.scalars(select(Concern)).one()
    assert concern.deployment_id is None and concern.lat == ELM[0] and concern.district_id is not None


def test_raising_needs_consent_first_then_carries_on(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 122)
    card = chat.say("CAM-004")[0]
    ask = chat.press(card, "Raise a concern")[0]
    assert "consent" in ask["plain"]
    replies = chat.press(ask, "I agree", count=2)
    assert "Thank you" in replies[0]["plain"] and "in one message" in replies[1]["plain"]


def test_personal_data_is_redacted_before_it_is_kept(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 123)
    _report_from_card(chat, "Call me on +1 514 555 0199 or mail jo@example.org about CAM-004")
    with city.reading() as session:
        state = session.scalars(select(FlowState)).one()
    assert "[phone]" in state.data["text"] and "[email]" in state.data["text"] and "CAM-004" in state.data["text"]
    kept = json.dumps(state.data)  # the draft's random nonce is hex, so look for the whole number, not digits
    assert "514 555 0199" not in kept and "5145550199" not in kept and "jo@example.org" not in kept


def test_a_filed_concern_keeps_what_redaction_found(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 129)
    category = _report_from_card(chat, "Call me on +1 514 555 0199 or mail jo@example.org, the camera films my door")[0]
    feeling = chat.press(category, data=buttons(category)[0][1])[0]
    confirm = chat.press(feeling, data="e:1")[0]
    chat.press(confirm, "Send")
    with city.reading() as session:
        concern = session.scalars(select(Concern)).one()
    assert "[phone]" in concern.text and "[email]" in concern.text and "555" not in concern.text
    assert {"phone", "email"} <= set(concern.flags)  # not lost by analysing the redacted draft again
    assert concern.feeling == 1 and concern.label == "negative"


def test_cancel_leaves_the_flow_at_any_step(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 124)
    _report_from_card(chat, "The camera points at the playground")
    assert "Cancelled" in chat.say("/cancel")[0]["plain"]
    assert count(city, FlowState) == 0 and count(city, Concern) == 0


def test_too_long_keeps_the_draft_and_offers_the_first_part(bot: BotRunner, phone: EmulatorClient,
                                                            city: Database) -> None:
    chat = consented(phone, 125)
    card = chat.say("CAM-004")[0]
    chat.press(card, "Raise a concern")
    too_long = chat.say("The camera on the corner " + "x" * 4050)[0]
    assert "the limit is 4,000" in too_long["plain"]
    category = chat.press(too_long, "Use the first")[0]
    feeling = chat.press(category, data=buttons(category)[0][1])[0]
    confirm = chat.press(feeling, data="e:0")[0]
    assert len(confirm["text"]) <= 4096  # the preview is cut
    chat.press(confirm, "Send")
    with city.reading() as session:
        assert len(session.scalars(select(Concern)).one().text) == 4000


@pytest.mark.parametrize("text", ["😡😡😡", "!!! ???", "\u2063"])
def test_empty_or_emoji_only_text_is_asked_again(bot: BotRunner, phone: EmulatorClient, city: Database,
                                                 text: str) -> None:
    chat = consented(phone, 126)
    card = chat.say("CAM-004")[0]
    chat.press(card, "Raise a concern")
    reply = chat.say(text)[0]["plain"]
    assert "words" in reply or "empty" in reply
    with city.reading() as session:
        assert session.scalars(select(FlowState)).one().step == "text"


def test_near_duplicate_is_offered_as_an_addition(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 127)
    text = "The camera at Elm and Maple films into my bedroom window at night"
    for attempt in range(2):
        category = _report_from_card(chat, text if attempt == 0 else text + " again")[0]
        feeling = chat.press(category, data="k:privacy")[0]
        confirm = chat.press(feeling, data="e:0")[0]
        outcome = chat.press(confirm, "Send")[0]
    assert "Add this to it" in outcome["plain"]
    added = chat.press(outcome, "Add to")[0]["plain"]
    assert "Added to" in added
    assert count(city, Concern) == 1
    assert count(city, ConcernEvent, ConcernEvent.kind == "addition") == 1


def test_per_resident_limit_is_explained_and_nothing_partial_stored(bot: BotRunner, phone: EmulatorClient,
                                                                    city: Database) -> None:
    chat = consented(phone, 128)
    with city.transaction() as session:
        resident = session.scalars(select(Resident)).one()
        for i in range(10):
            builders.concern(session, f"Earlier concern number {i} about the camera", resident=resident)
    card = chat.say("CAM-004")[0]
    reply = chat.press(card, "Raise a concern")[0]["plain"]
    assert "10 concerns in the last hour" in reply
    assert count(city, Concern) == 10 and count(city, FlowState, FlowState.flow == "report") == 0


def test_a_restart_mid_flow_loses_nothing(city: Database, bot_settings: Settings, emulator_server: EmulatorServer,
                                          phone: EmulatorClient) -> None:
    with BotRunner(bot_settings, city, emulator_server.bot_api_url):
        chat = consented(phone, 129)
        category = _report_from_card(chat, "Who decided to put a camera next to the clinic?")[0]
    with BotRunner(bot_settings, city, emulator_server.bot_api_url):
        feeling = chat.press(category, data="k:surveillance")[0]
        confirm = chat.press(feeling, data="e:1")[0]
        chat.press(confirm, "Send")
    with city.reading() as session:
        concern = session.scalars(select(Concern)).one()
    assert concern.category == "surveillance" and "clinic" in concern.text


def test_a_redelivered_update_is_handled_once(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 130)
    category = _report_from_card(chat, "The camera is pointed at the bus stop benches")[0]
    feeling = chat.press(category, data="k:surveillance")[0]
    confirm = chat.press(feeling, data="e:0")[0]
    send = next(d for _, d in buttons(confirm) if d.partition("|")[0] == "ok")
    sent = phone.press(chat.user_id, confirm["message_id"], data=send)
    done = phone.wait(chat.user_id, after=chat.last_id, count=1)
    chat.last_id = done[-1]["message_id"]
    update = {"update_id": sent["update_id"], "callback_query": {
        "id": "redelivered", "from": {"id": chat.user_id, "is_bot": False, "first_name": "R"},
        "chat_instance": "1", "data": send,
        "message": {"message_id": confirm["message_id"], "date": 0, "chat": {"id": chat.user_id, "type": "private"}}}}
    phone.raw_update(update)
    assert chat.quiet(1.0) == []
    assert count(city, Concern) == 1


def _at_confirmation(phone: EmulatorClient, user_id: int, text: str, category: str) -> tuple[Chat, dict]:
    """A consented resident who wrote a concern about CAM-004 and has its confirmation in front of them."""
    chat = consented(phone, user_id)
    feeling = chat.press(_report_from_card(chat, text)[0], data=f"k:{category}")[0]
    return chat, chat.press(feeling, data="e:0")[0]


def test_a_database_failure_says_nothing_was_saved_and_the_draft_survives(
        bot: BotRunner, phone: EmulatorClient, city: Database, caplog: pytest.LogCaptureFixture) -> None:
    chat, confirm = _at_confirmation(phone, 9813377, "The camera at the library films the reading room windows",
                                     "surveillance")

    def fail(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CONCERN"):
            raise OSError("disk I/O error")  # the database failing, as the outside world may

    event.listen(city.engine, "before_cursor_execute", fail)
    try:
        with caplog.at_level(logging.ERROR):
            told = chat.press(confirm, "Send")[0]["plain"]
    finally:
        event.remove(city.engine, "before_cursor_execute", fail)
    assert "Nothing from your last message was saved" in told
    assert count(city, Concern) == 0 and count(city, FlowState, FlowState.flow == "report") == 1
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "error while handling update" in logged and "reading room" not in logged
    assert str(chat.user_id) not in logged
    done = chat.press(confirm, "Send")[0]["plain"]  # the same button again, once the database is back
    with city.reading() as session:
        assert session.scalars(select(Concern)).one().reference in done


def test_a_press_counts_when_its_acknowledgement_fails(bot: BotRunner, phone: EmulatorClient,
                                                       city: Database) -> None:
    chat, confirm = _at_confirmation(phone, 133, "The sensor box on my fence hums all night long", "noise")
    phone.fault("answerCallbackQuery", error_code=500, times=1)
    done = chat.press(confirm, "Send")[0]["plain"]
    with city.reading() as session:
        assert session.scalars(select(Concern)).one().reference in done


def test_a_failure_after_the_commit_says_the_message_was_saved(bot: BotRunner, phone: EmulatorClient,
                                                               city: Database) -> None:
    chat, confirm = _at_confirmation(phone, 132, "The new sensor on the corner beeps every night at two", "noise")
    phone.fault("sendMessage", error_code=400, description="Bad Request: message is malformed",
                chat_id=chat.user_id, times=1)
    told = chat.press(confirm, "Send")[0]["plain"]
    assert "after your message was saved" in told and "/mine" in told
    assert count(city, Concern) == 1 and count(city, FlowState, FlowState.flow == "report") == 0


# ---- my concerns, follows, notifications --------------------------------------------------------------------

def test_mine_lists_status_and_staff_reply_paginated(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 140)
    from core import triage

    with city.transaction() as session:
        resident = session.scalars(select(Resident)).one()
        made = [builders.concern(session, f"Concern {i} about the sensor on Elm Street", resident=resident)
                for i in range(7)]
        triage.reply(session, concern=made[-1], text="We moved the sensor <b>away</b> from the window.",
                     author="staff")
    first = chat.say("/mine")[0]
    assert "page 1 of 2" in first["plain"] and "We moved the sensor <b>away</b>" in first["plain"]
    second = chat.press(first, "Next")[0]
    assert "page 2 of 2" in second["plain"]


def test_follow_unfollow_and_following(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 141)
    card = chat.say("AQ-017")[0]
    assert "You follow AQ-017" in chat.press(card, "Follow")[0]["plain"]
    assert "You follow" in chat.say("/follow Old Town")[0]["plain"]
    listing = chat.say("/following")[0]["plain"]
    assert "AQ-017" in listing and "Old Town" in listing
    assert "no longer follow" in chat.say("/unfollow AQ-017")[0]["plain"]
    assert count(city, Follow) == 1


def test_notifications_and_kept_location_opt_in(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 142)
    state = chat.say("/notifications")[0]
    chat.press(state, "Switch notices on")
    chat.press(state, "Keep my location")
    chat.location(*ELM)
    with city.reading() as session:
        resident = session.scalars(select(Resident)).one()
    assert resident.notifications and resident.keep_location
    assert resident.location_lat is not None and resident.location_lat != ELM[0]  # coarsened


def test_satisfaction_no_with_a_reason_reopens(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 143)
    from core import triage
    from core.models import ConcernStatus

    with city.transaction() as session:
        resident = session.scalars(select(Resident)).one()
        concern = builders.concern(session, "The noise monitor beeps at night", resident=resident)
        triage.change_status(session, concern=concern, status=ConcernStatus.RESOLVED, actor="staff")
        reference = concern.reference
    # The satisfaction question itself is sent by a scheduled job; its buttons carry sat:y|n:<reference>.
    ask = chat.raw_press(f"sat:n:{reference}")[0]
    assert "still wrong" in ask["plain"]
    assert "open again" in chat.say("It still beeps every night at 2am")[0]["plain"]
    with city.reading() as session:
        stored = session.scalars(select(Concern)).one()
    assert stored.status == "reopened" and stored.satisfied is False


def test_satisfaction_no_on_an_open_or_merged_concern_keeps_the_reason_and_names_the_right_one(
        bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 144)
    from core import triage
    from core.models import ConcernStatus

    with city.transaction() as session:
        resident = session.scalars(select(Resident)).one()
        concern = builders.concern(session, "The noise monitor beeps at night", resident=resident)
        triage.change_status(session, concern=concern, status=ConcernStatus.RESOLVED, actor="staff")
        triage.change_status(session, concern=concern, status=ConcernStatus.REOPENED, actor="staff")
        other = builders.concern(session, "The sensor on the pole beeps after midnight")
        merged = builders.concern(session, "Beeping sensor pole keeps us awake", resident=resident)
        triage.merge(session, first=other, second=merged, actor="staff")
        reference, merged_ref, survivor_ref = concern.reference, merged.reference, other.reference
    chat.raw_press(f"sat:n:{reference}")
    assert f"{reference} is still open; your reason is added" in chat.say("It beeps at 2am still")[0]["plain"]
    chat.raw_press(f"sat:n:{merged_ref}")
    answer = chat.say("Nothing changed at all")[0]["plain"]
    assert survivor_ref in answer and merged_ref not in answer
    with city.reading() as session:
        reasons = {e.reason for e in session.scalars(select(ConcernEvent).where(ConcernEvent.kind == "addition"))}
    assert reasons == {"It beeps at 2am still", "Nothing changed at all"}


# ---- the resident's data -----------------------------------------------------------------------------------

def test_mydata_sends_a_json_document_without_raw_ids(bot: BotRunner, phone: EmulatorClient) -> None:
    # An id long enough that it cannot turn up by chance inside a timestamp or another number.
    chat = consented(phone, 7_391_845_026)
    _report_from_card(chat, "The camera should not film the playground")
    document = chat.say("/mydata")[0]
    content = phone.file(document["document"]["file_id"])
    exported = json.loads(content)
    assert exported["flow_state"][0]["flow"] == "report"
    assert str(chat.user_id) not in content.decode()


def test_forget_asks_then_erases(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 151)
    category = _report_from_card(chat, "The camera should not film the playground")[0]
    feeling = chat.press(category, data="k:privacy")[0]
    chat.press(chat.press(feeling, data="e:0")[0], "Send")
    ask = chat.say("/forget")[0]
    assert "cannot be undone" in ask["plain"]
    done = chat.press(ask, "Yes, erase")[0]["plain"]
    assert "one concern was emptied" in done
    with city.reading() as session:
        assert session.scalars(select(Resident)).all() == []
        assert session.scalars(select(Concern)).one().text == ""


def test_language_switch_changes_every_reply(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 152)
    ask = chat.say("/language")[0]
    assert "español" in chat.press(ask, "Español")[0]["plain"]
    assert "Qué puedo hacer" in chat.say("/help")[0]["plain"]
    phone.fault("sendMessage", error_code=400, description="Bad Request: message is malformed",
                chat_id=chat.user_id, times=1)
    assert "Algo falló" in chat.say("AQ-017")[0]["plain"]  # the error, too, in the language chosen


# ---- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document", "contact", "poll"])
def test_non_text_gets_a_friendly_reply(bot: BotRunner, phone: EmulatorClient, kind: str) -> None:
    assert "text and locations" in Chat(phone, 160).attach(kind)[0]["plain"]


def test_edited_messages_are_ignored_on_purpose(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = consented(phone, 161)
    sent = phone.say(chat.user_id, "AQ-017")
    chat.last_id = phone.wait(chat.user_id, after=sent["message_id"])[0]["message_id"]
    phone.edit(chat.user_id, sent["message_id"], "CAM-004")
    assert chat.quiet(0.8) == []


def test_group_chats_get_an_explanation_and_nothing_is_stored(bot: BotRunner, phone: EmulatorClient,
                                                              city: Database) -> None:
    phone.say(170, "/start", chat_id=-100170, chat_type="group")
    reply = phone.wait(-100170, after=0)[0]
    assert "private chats" in reply["plain"]
    assert count(city, Resident) == 0


def test_unknown_command_and_stale_buttons_get_a_clear_answer(bot: BotRunner, phone: EmulatorClient,
                                                              city: Database) -> None:
    chat = consented(phone, 171)
    assert "/help" in chat.say("/teleport")[0]["plain"]
    category = _report_from_card(chat, "The camera points at the playground")[0]
    confirm = chat.press(chat.press(category, data="k:privacy")[0], data="e:0")[0]
    chat.say("/cancel")
    assert "earlier message" in chat.press(confirm, "Send")[0]["plain"]
    assert count(city, Concern) == 0


def test_words_at_the_location_step_are_not_dropped_silently(bot: BotRunner, phone: EmulatorClient,
                                                             city: Database) -> None:
    chat = consented(phone, 174)
    target = chat.say("/report")[0]
    chat.press(target, "Something general")
    sticker = chat.attach("sticker")[0]["plain"]
    assert "as a text message" in sticker  # the draft is waiting for words, and says so
    category = chat.say("The bins on Maple Avenue overflow every weekend")[0]
    where = chat.press(chat.press(category, data="k:noise")[0], data="e:0")[0]
    address = chat.say("Corner of Elm Street and Maple Avenue, by the library")[0]["plain"]
    assert "cannot place an address" in address
    with city.reading() as session:
        assert session.scalars(select(FlowState)).one().step == "location"
    confirm = chat.say("Skip")[0]  # the keyboard's Skip button sends its label
    assert "Location: not shared" in confirm["plain"] and where["message_id"] < confirm["message_id"]
    chat.press(confirm, "Send")
    later = chat.say("Skip")[0]  # the keyboard pressed again after its step
    assert "nothing to skip" in later["plain"] and later["reply_markup"] == {"remove_keyboard": True}


def test_a_new_concern_over_a_written_draft_says_the_draft_was_set_aside(bot: BotRunner, phone: EmulatorClient
                                                                         ) -> None:
    chat = consented(phone, 176)
    _report_from_card(chat, "The camera at the bus stop films the benches")
    card = chat.say("/start AQ-017")[0]
    replaced, ask_text = chat.press(card, "Raise a concern", count=2)
    assert "films the benches" in replaced["plain"] and "set aside" in replaced["plain"]
    assert "AQ-017" in ask_text["plain"]


def test_follow_looks_up_before_asking_consent_and_quotes_a_long_name_whole(bot: BotRunner,
                                                                          phone: EmulatorClient) -> None:
    chat = Chat(phone, 177)
    name = "This is a very long district name that surely does not exist anywhere in town"
    unknown = chat.say(f"/follow {name}")[0]["plain"]
    assert name in unknown
    asked = chat.say("/follow Old Town")[0]
    agree = next(d for _, d in buttons(asked) if d.startswith("y:"))
    assert agree.startswith("y:fd:")  # the district's slug, not the words as typed
    done = chat.press(asked, data=agree, count=2)[-1]["plain"]
    assert "Old Town" in done


def test_report_with_a_code_keeps_it_through_the_consent_question(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 175)
    asked = chat.say("/report AQ-017")[0]
    agreed = chat.press(asked, data=next(d for _, d in buttons(asked) if d.startswith("y:")), count=2)
    assert "AQ-017" in agreed[-1]["plain"] and "in one message" in agreed[-1]["plain"]


def test_buttons_of_an_earlier_draft_do_not_act_on_the_current_one(bot: BotRunner, phone: EmulatorClient,
                                                                  city: Database) -> None:
    chat = consented(phone, 172)
    category = _report_from_card(chat, "First draft: the drone is loud at night")[0]
    old_confirm = chat.press(chat.press(category, data="k:noise")[0], data="e:0")[0]
    chat.say("/cancel")
    category = _report_from_card(chat, "Second draft: the kiosk wifi asks for my e-mail")[0]
    feeling = chat.press(category, data="k:privacy")[0]
    # The first draft's Send and Cancel are refused; the second draft goes on where it was.
    assert "earlier message" in chat.press(old_confirm, "Send")[0]["plain"]
    assert "earlier message" in chat.press(old_confirm, "Cancel")[0]["plain"]
    assert count(city, Concern) == 0
    confirm = chat.press(feeling, data="e:3")[0]
    assert "Second draft" in confirm["plain"]
    chat.press(confirm, "Send")
    with city.reading() as session:
        concern = session.scalars(select(Concern)).one()
    assert concern.text.startswith("Second draft") and concern.category == "privacy"
    # Its own Cancel after it was sent is refused too, rather than answering "Cancelled. Nothing was sent."
    assert "earlier message" in chat.press(confirm, "Cancel")[0]["plain"]


def test_a_device_picked_near_me_while_raising_a_concern_is_the_concerns(bot: BotRunner, phone: EmulatorClient,
                                                                        city: Database) -> None:
    chat = consented(phone, 173)
    target = chat.say("/report")[0]
    asked = chat.press(target, "near me")[0]
    assert "location" in asked["plain"].lower()
    with city.reading() as session:
        first = session.scalars(select(Deployment).order_by(Deployment.id)).first()
        assert first is not None
        code, lat, lon = first.code, first.lat, first.lon
    listing = chat.location(lat, lon)[0]
    picked = chat.press(listing, code)[0]
    assert code in picked["plain"] and "concern" in picked["plain"].lower()  # the text is asked, no card
    chat.say("It blinks all night into the bedroom")
    with city.reading() as session:
        flow = session.scalars(select(FlowState)).one()
    assert flow.step == "category" and flow.data["code"] == code


def test_a_concern_in_spanish_end_to_end(bot: BotRunner, phone: EmulatorClient, city: Database) -> None:
    chat = Chat(phone, 180, "es")
    welcome = chat.say("/start")[0]
    assert "¿Estás de acuerdo?" in welcome["plain"]
    chat.press(welcome, "Estoy de acuerdo")
    card = chat.say("CAM-004")[0]
    assert "Cuánto tiempo se guardan: 30 días" in card["plain"]
    ask = chat.press(card, "Plantear una inquietud")[0]
    assert "Cuéntame tu inquietud" in ask["plain"]
    category = chat.say("La cámara graba la entrada de mi casa y nadie me avisó")[0]
    assert "Mi sugerencia" in category["plain"]
    feeling = chat.press(category, data=buttons(category)[0][1])[0]
    confirm = chat.press(feeling, data="e:1")[0]
    assert "Revisa antes de enviar" in confirm["plain"]
    done = chat.press(confirm, "Enviar")[0]["plain"]
    with city.reading() as session:
        concern = session.scalars(select(Concern)).one()
    assert concern.reference in done and "registrada" in done
    assert concern.language == "es" and concern.polarity is None  # TextBlob figures are English-only
    mine = chat.say("/mine")[0]["plain"]
    assert "Tus inquietudes" in mine and concern.reference in mine


def test_staff_chats_stay_silent_unless_addressed(city: Database, bot_settings: Settings,
                                                  emulator_server: EmulatorServer, phone: EmulatorClient) -> None:
    staff = -100200
    settings = bot_settings.model_copy(update={"staff_chat_ids": [staff]})
    with BotRunner(settings, city, emulator_server.bot_api_url):
        phone.say(201, "good morning team", chat_id=staff, chat_type="supergroup")
        assert phone.wait(staff, after=0, timeout=0.8) == []
        phone.say(201, "@civicpulse_bot are you there?", chat_id=staff, chat_type="supergroup")
        reply = phone.wait(staff, after=0, timeout=5)
    assert reply and "weekly digest" in reply[0]["plain"]
    assert count(city, Resident) == 0


def test_no_message_exceeds_telegrams_limit_with_the_longest_texts(bot: BotRunner, phone: EmulatorClient,
                                                                  city: Database) -> None:
    from core import triage

    chat = consented(phone, 190)
    with city.transaction() as session:
        builders.deployment(session, code="CAM-901", name="N" * 200, technology="camera",
                            description=("<Long & detailed> " * 223)[:4000])  # the register's longest
        resident = session.scalars(select(Resident)).one()
        for i in range(6):
            concern = builders.concern(session, f"Concern {i} " + "é<&>" * 990, resident=resident,
                                       policy=builders.POLICY)
            triage.reply(session, concern=concern, text="Réponse <b> & " * 250, author="staff")
    card = chat.say("CAM-901")[0]
    mine = chat.say("/mine")[0]
    for message in (card, mine):
        assert len(message["plain"].encode("utf-16-le")) // 2 <= 4096
    assert "CAM-901" in card["plain"] and "<Long & detailed>" in card["plain"]
    assert "page 1 of 2" in mine["plain"] and "Réponse <b> &" in mine["plain"]
