"""Concern intake: what a resident sends is stored redacted, analysed, once, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import concerns
from core.db import Database
from core.errors import EmptyText, NoContent, RateLimited, TooLong
from core.models import Concern
from tests import builders


def _count(db: Database) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Concern)) or 0


def test_stored_text_is_redacted_but_keeps_our_identifiers(db: Database) -> None:
    with db.transaction() as s:
        who = builders.resident(s)
        c = builders.concern(s, "Camera AQ-017 films my door. Mail jane.doe@example.org or call +1 202-555-0173; "
                                "see C-7K2Q9 and https://tracker.example/x?id=88", resident=who)
        reference = c.reference
    with db.reading() as s:
        stored = s.scalar(select(Concern).where(Concern.reference == reference))
        assert stored is not None
        assert "jane.doe@example.org" not in stored.text and "[email]" in stored.text
        assert "555-0173" not in stored.text and "[phone]" in stored.text
        assert "AQ-017" in stored.text and "C-7K2Q9" in stored.text
        assert "?id=88" not in stored.text
        assert {"email", "phone"} <= set(stored.flags)
        assert stored.reference.startswith("C-") and len(stored.reference) == 7


def test_english_gets_textblob_figures_and_spanish_gets_none(db: Database) -> None:
    with db.transaction() as s:
        en = builders.concern(s, "This camera is a terrible idea and nobody asked us")
        es = builders.concern(s, "No queremos cámaras vigilando a nuestros hijos en la escuela")
        figures = (en.language, en.polarity, en.label, es.language, es.polarity, es.subjectivity, es.label)
    assert figures[0] == "en" and figures[1] is not None and figures[2] == "negative"
    assert figures[3] == "es" and figures[4] is None and figures[5] is None and figures[6] == "negative"


def test_sql_looking_text_is_stored_verbatim(db: Database) -> None:
    text = "Robert'); DROP TABLE concern;-- why does the sensor on Elm St record us?"
    with db.transaction() as s:
        reference = builders.concern(s, text).reference
    with db.reading() as s:
        assert s.scalar(select(Concern.text).where(Concern.reference == reference)) == text
    assert _count(db) == 1


@pytest.mark.parametrize(("text", "error"), [
    ("", EmptyText), ("   \n\t ", EmptyText), ("x" * 4001, TooLong), ("😡😡😡", NoContent), ("?!... ---", NoContent),
])
def test_unusable_text_is_refused_and_nothing_is_stored(db: Database, text: str, error: type[Exception]) -> None:
    with pytest.raises(error), db.transaction() as s:
        builders.concern(s, text)
    assert _count(db) == 0


def test_longest_allowed_and_right_to_left_text_are_accepted(db: Database) -> None:
    with db.transaction() as s:
        long = builders.concern(s, ("The cameras on Elm Street worry me. " * 200)[:3999] + "!")
        rtl = builders.concern(s, "מי רואה את הצילומים של המצלמה הזאת؟ \u200fمن يرى التسجيلات؟")
        assert len(long.text) == 4000
        assert "\u200f" in rtl.text and rtl.language is None


def test_the_same_idempotency_key_stores_one_concern(db: Database) -> None:
    with db.transaction() as s:
        first = builders.concern(s, "The new speed radar on Maple Ave flashes all night", idempotency_key="upd-1")
    with db.transaction() as s:
        second = builders.concern(s, "The new speed radar on Maple Ave flashes all night", idempotency_key="upd-1")
    assert first.reference == second.reference
    assert _count(db) == 1


def test_a_failed_transaction_leaves_no_concern(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.transaction() as s:
        builders.concern(s, "Stop tracking our phones on Harbour Road")
        raise Boom
    assert _count(db) == 0


def test_residents_are_limited_per_hour(db: Database) -> None:
    policy = concerns.IntakePolicy(zone=ZoneInfo("UTC"), concerns_per_hour=3)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with db.transaction() as s:
        who = builders.resident(s)
        for i in range(3):
            builders.concern(s, f"Concern number {i} about the camera", resident=who, policy=policy,
                             now=now + timedelta(minutes=i))
    with pytest.raises(RateLimited), db.transaction() as s:
        who = builders.resident(s)
        builders.concern(s, "One more about the camera", resident=who, policy=policy, now=now + timedelta(minutes=5))
    with db.transaction() as s:
        who = builders.resident(s)
        builders.concern(s, "An hour later about the camera", resident=who, policy=policy,
                         now=now + timedelta(minutes=65))
    assert _count(db) == 4


def test_iso_week_and_local_date_follow_the_city_time_zone(db: Database) -> None:
    # Sunday 2026-11-29 23:30 in Honolulu is Monday 09:30 UTC: the city's week is still W48.
    moment = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    policy = concerns.IntakePolicy(zone=ZoneInfo("Pacific/Honolulu"))
    with db.transaction() as s:
        c = builders.concern(s, "The kiosk at the station is always broken", policy=policy, now=moment)
        assert (c.iso_week, c.created_on.isoformat()) == ("2026-W48", "2026-11-29")
        assert c.created_at == moment and c.created_at.tzinfo is not None


def test_location_places_the_concern_in_its_district(db: Database) -> None:
    with db.transaction() as s:
        districts = builders.districts(s)
        target = districts[0]
        c = builders.concern(s, "Too many cameras here", lat=target.center_lat, lon=target.center_lon)
        assert c.district_id == target.id


def test_a_drawn_reference_that_is_taken_is_drawn_again(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["C-AAAAA", "C-AAAAA", "C-AAAAA", "C-BBBBB"])
    monkeypatch.setattr(concerns, "new_reference", lambda: next(draws))
    with db.transaction() as s:
        first = builders.concern(s, "The radar sign on Oak Road is wrong")
    with db.transaction() as s:
        second = builders.concern(s, "The radar sign on Oak Road is still wrong", idempotency_key="k-2")
    assert (first.reference, second.reference) == ("C-AAAAA", "C-BBBBB")
    assert _count(db) == 2


def test_the_returned_concern_is_the_stored_row_and_tracked_by_the_session(db: Database) -> None:
    with db.transaction() as s:
        c = builders.concern(s, "The air sensor on Elm Street has been broken for weeks")
        assert c in s and c.id is not None
        assert s.get(Concern, c.id) is c  # the identity map holds it: no second copy of the row
        assert c.status == "new" and c.language == "en" and c.key_phrases
        c.status = "acknowledged"  # a change made after intake is written at commit like any other
        concern_id = c.id
    with db.reading() as s:
        stored = s.get(Concern, concern_id)
        assert stored is not None
        assert stored.status == "acknowledged"
        assert (stored.reference, stored.text, stored.iso_week) == (c.reference, c.text, c.iso_week)


def test_references_use_only_the_readable_alphabet() -> None:
    drawn = {concerns.new_reference() for _ in range(2000)}
    assert len(drawn) > 1990
    assert all(r.startswith("C-") and len(r) == 7 and set(r[2:]) <= set(concerns.REFERENCE_ALPHABET) for r in drawn)
    assert set("".join(r[2:] for r in drawn)) == set(concerns.REFERENCE_ALPHABET)


def test_an_earlier_analysis_is_relabelled_with_the_feeling_given_later(db: Database) -> None:
    from core import nlp

    raw = "Thanks for the new bike counter on Canal Path, mail me at jo@example.org"
    early = nlp.analyze(raw)
    assert early.flags == ["email"]
    for feeling in (None, 1, 3, 5):
        again = nlp.analyze(raw, feeling=feeling)
        assert nlp.with_feeling(early, feeling) == again
    with db.transaction() as s:
        c = concerns.submit(s, text=early.text, analysis=early, feeling=1, policy=builders.POLICY)
        assert c.flags == ["email"] and c.text == early.text and c.feeling == 1
        assert c.label == nlp.analyze(raw, feeling=1).label
        with pytest.raises(ValueError, match="not of this text"):
            concerns.submit(s, text="Another text entirely", analysis=early, policy=builders.POLICY)
