"""Text intake as residents and staff see it: validation, redaction, language, label, phrases, category, abuse."""

from __future__ import annotations

import ast
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textblob import TextBlob

from core.errors import EmptyText, Invalid, NoContent, TooLong
from core.models import Category, Label
from core.nlp import (
    MAX_CHARS,
    analyze,
    detect_language,
    is_abusive,
    key_phrases,
    label,
    normalize,
    redact,
    suggest_category,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]


# --- normalisation and limits -------------------------------------------------------------------------


def test_normalize_composes_and_drops_control_characters() -> None:
    assert normalize("cafe\u0301") == "café"
    assert normalize("a\x00b\x07c\x1bd\x7fe\x85f") == "abcdef"
    assert normalize("  line one\n\tline two\r\n ") == "line one\n\tline two"


def test_normalize_keeps_emoji_joiners_and_direction_marks() -> None:
    family = "👩\u200d👩\u200d👧"
    rtl = "\u200fשלום\u200e ok"
    assert normalize(f"{family} and {rtl}") == f"{family} and {rtl}"


def test_empty_and_whitespace_only_text_is_refused() -> None:
    for text in ("", "   \n\t  ", "\x00\x01"):
        with pytest.raises(EmptyText):
            validate(text)


def test_text_of_exactly_the_limit_is_accepted_and_one_more_is_too_long() -> None:
    assert validate("a" * MAX_CHARS) == "a" * MAX_CHARS
    with pytest.raises(TooLong) as caught:
        analyze("a" * (MAX_CHARS + 1))
    assert caught.value.details == {"limit": MAX_CHARS, "length": MAX_CHARS + 1}
    assert str(MAX_CHARS) in caught.value.reason


def test_emoji_only_and_punctuation_only_text_has_no_content() -> None:
    for text in ("🙂🙂👍", "?!... --- !!!", "👩\u200d💻"):
        with pytest.raises(NoContent):
            analyze(text)


def test_right_to_left_text_is_accepted_without_a_language() -> None:
    for text in ("هذه الكاميرا تراقب الشارع كل يوم ولا نعرف من يشاهد", "המצלמה החדשה ברחוב שלנו מצלמת את החלונות"):
        result = analyze(text, prior_language="en")
        assert result.text == text
        assert (result.language, result.label, result.polarity) == (None, None, None)


# --- redaction ----------------------------------------------------------------------------------------


def test_every_email_address_is_replaced() -> None:
    text, flags = redact("write to ana.perez+city@example.org or j_doe@mail.example.co.uk, thanks")
    assert text == "write to [email] or [email], thanks"
    assert flags == ["email"]


def test_us_and_international_phone_numbers_are_replaced() -> None:
    text, flags = redact("Call (212) 736-5000, +34 612 345 678 or +44 20 7946 0958; fictional (555) 014-2999 too")
    assert text == "Call [phone], [phone] or [phone]; fictional [phone] too"
    assert flags == ["phone"]


def test_spanish_national_numbers_are_replaced_with_the_default_region() -> None:
    assert redact("llámame al 612 34 56 78")[0] == "llámame al [phone]"


def test_urls_with_a_query_or_credentials_are_replaced_and_plain_urls_stay() -> None:
    text, flags = redact(
        "see https://city.example.org/sensors, https://track.example.com/a?uid=8842&s=1. "
        "and http://admin:pw@cams.example.net/live"
    )
    assert text == "see https://city.example.org/sensors, [url]. and [url]"
    assert flags == ["url"]


def test_licence_plates_are_replaced() -> None:
    text, flags = redact("cars ABC 1234, 7ABC123, 1234-BCD and AB-123-CD were logged")
    assert text == "cars [plate], [plate], [plate] and [plate] were logged"
    assert flags == ["plate"]
    # Three letters and four digits is a plate even with a code's dash; three and three (Quebec) too.
    text, flags = redact("my plate is ABC-1234, hers is FGH 123 and his XYZ789; CAM-004 saw them all")
    assert text == "my plate is [plate], hers is [plate] and his [plate]; CAM-004 saw them all"
    assert flags == ["plate"]
    assert redact("USD 100, CAD 250 and ISO 9001")[1] == []


def test_an_email_address_that_holds_a_code_shape_is_still_an_email() -> None:
    text, flags = redact("write to jo-99@yahoo.com, ana.lpr-12@example.org or me@aq-017.example about AQ-017")
    assert text == "write to [email], [email] or [email] about AQ-017"
    assert flags == ["email"]


def test_project_identifiers_and_ordinary_numbers_stay() -> None:
    text = "AQ-017, CAM-104, WIFI-003, LPR-12 and C-7K2Q9 at 12 Elm Street: in 2026 at 10:30, 45% of $40,000"
    assert redact(text) == (text, [])
    assert redact("camera cam-104 and ref c-7k2q9")[1] == []


def test_redaction_is_idempotent() -> None:
    once, _ = redact("mail a@example.org, call (212) 736-5000, car ABC 1234, https://x.example/?a=1 about AQ-017")
    assert redact(once) == (once, [])


def test_sql_looking_text_is_kept_verbatim() -> None:
    text = "Robert'); DROP TABLE concern;--"
    assert analyze(text).text == text


# --- language -----------------------------------------------------------------------------------------


def test_short_texts_take_the_residents_language() -> None:
    assert detect_language("ok gracias", prior="es") == "es"
    assert detect_language("ok gracias", prior="en") == "en"
    assert detect_language("ok gracias") is None
    assert detect_language("ok gracias", prior="fr") is None


def test_longer_texts_are_detected_whatever_the_prior() -> None:
    assert detect_language("Who can see the footage from the new camera on my street?", prior="es") == "en"
    assert detect_language("¿Quién puede ver las grabaciones de la cámara nueva de mi calle?", prior="en") == "es"
    assert detect_language("12345 !!!", prior="en") is None


def test_function_words_settle_a_clear_text() -> None:
    # Short plain sentences that a trigram model alone reads as Spanish.
    assert detect_language("The kiosk at the clinic is racist in where it was placed.", prior="es") == "en"
    assert detect_language("Hello. Can I opt out of the wifi beacon at the clinic.") == "en"
    assert detect_language("Quiero saber para qué sirve el sensor de la esquina", prior="en") == "es"


def test_mixed_text_goes_to_the_majority_language() -> None:
    text = "No queremos más cámaras en el barrio, nadie nos preguntó nada, thanks"
    assert detect_language(text, prior="en") == "es"


# --- sentiment ----------------------------------------------------------------------------------------


class FixedAnalyzer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def score(self, text: str) -> tuple[float, float]:
        self.calls.append(text)
        return (0.123456, 0.654321)


def test_english_polarity_comes_from_the_analyzer_unchanged() -> None:
    fake = FixedAnalyzer()
    result = analyze("Email me at ana@example.org about the camera on my street", analyzer=fake)
    assert fake.calls == ["Email me at [email] about the camera on my street"]
    assert (result.polarity, result.subjectivity) == (0.123456, 0.654321)
    assert result.as_dict()["polarity"] == 0.1235


def test_spanish_text_has_no_polarity_but_has_a_label() -> None:
    fake = FixedAnalyzer()
    result = analyze("No queremos cámaras de vigilancia en nuestro barrio", analyzer=fake)
    assert fake.calls == []
    assert (result.language, result.polarity, result.subjectivity) == ("es", None, None)
    assert result.label == Label.NEGATIVE


def test_textblob_figures_are_textblobs_own() -> None:
    text = "The new sensor is great"
    before = TextBlob(text).sentiment
    result = analyze(text)
    assert (result.polarity, result.subjectivity) == (before.polarity, before.subjectivity)
    assert TextBlob(text).sentiment == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Stop spying on us, this surveillance is creepy and unacceptable.", Label.NEGATIVE),
        ("Who decided to put cameras outside the school?", Label.NEGATIVE),
        ("Thank you, the new bike counter works great!", Label.POSITIVE),
        ("Where can I read the list of sensors on Elm Street?", Label.NEUTRAL),
        ("No queremos cámaras de vigilancia en nuestro barrio", Label.NEGATIVE),
        ("Gracias, el nuevo sensor funciona muy bien", Label.POSITIVE),
        ("¿Dónde puedo ver la lista de sensores de mi calle?", Label.NEUTRAL),
    ],
)
def test_clear_cases_get_the_expected_label(text: str, expected: Label) -> None:
    assert analyze(text).label == expected


def test_the_residents_feeling_weighs_strongly() -> None:
    text = "Where can I read the list of sensors on Elm Street?"
    assert analyze(text, feeling=1).label == Label.NEGATIVE
    assert analyze(text, feeling=3).label == Label.NEUTRAL
    assert analyze(text, feeling=5).label == Label.POSITIVE


def test_feeling_out_of_range_is_invalid() -> None:
    for feeling in (0, 6, -1):
        with pytest.raises(Invalid):
            analyze("the camera on my street", feeling=feeling)
        with pytest.raises(Invalid):
            label("the camera", language="en", polarity=0.0, feeling=feeling)


def test_label_is_none_outside_english_and_spanish() -> None:
    assert label("la caméra de ma rue", language="fr", polarity=None, feeling=2) is None
    assert label("the camera", language=None, polarity=None, feeling=None) is None


# --- key phrases, category, abuse ---------------------------------------------------------------------


def test_english_key_phrases_are_noun_phrases_without_placeholders() -> None:
    phrases = key_phrases("The new parking sensors on Main Road log my phone. Contact [email]", language="en")
    assert "new parking sensors" in phrases
    assert phrases[0] == "new parking sensors"
    assert all("[" not in p and p == p.lower() for p in phrases)
    assert len(phrases) == len(set(phrases))


def test_spanish_key_phrases_are_runs_of_content_words() -> None:
    phrases = key_phrases("Los sensores de ruido nuevos de la plaza mayor no funcionan.", language="es")
    assert {"plaza mayor", "ruido nuevos", "sensores"} <= set(phrases)
    assert phrases.index("plaza mayor") < phrases.index("sensores")
    assert key_phrases("the camera on my street", language=None) == []
    assert len(key_phrases(" ".join(f"word{i} sensor{i}." for i in range(20)), language="en", limit=3)) <= 3


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("How long do you keep the footage from the drones?", "en", Category.RETENTION),
        ("The streetlight buzzes all night and I cannot sleep", "en", Category.NOISE),
        ("Is the vendor selling our data to third parties?", "en", Category.ACCESS_SHARING),
        ("These robots will cost bus drivers their jobs", "en", Category.JOBS),
        ("¿Cuánto cuesta este programa de cámaras? Es un despilfarro", "es", Category.COST),
        ("La silla de ruedas no pasa por la rampa", "es", Category.ACCESSIBILITY),
        ("How long do you keep the footage", None, Category.RETENTION),
        ("hello there friend", "en", Category.OTHER),
        ("These speed cameras are just a cash grab", "en", Category.COST),
        ("Las cámaras del parque me preocupan mucho por los niños pequeños", "es", Category.SAFETY),
        ("No puedo leer la letra pequeña del cartel", "es", Category.ACCESSIBILITY),
    ],
)
def test_category_suggestion(text: str, language: str | None, expected: Category) -> None:
    assert suggest_category(text, language=language) == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # Inflections of listed keywords count: "activist" (listed: "activists"), "barrendero" ("barrenderos").
        ("One activist was followed home", "en", Category.SURVEILLANCE),
        ("Both my grandmothers gave up on it", "en", Category.ACCESSIBILITY),
        ("Extraño al barrendero de mi cuadra", "es", Category.JOBS),
        # A device name alone decides nothing: a camera that costs too much is about cost.
        ("That camera cost two million dollars", "en", Category.COST),
        # Derived words do not borrow a keyword's meaning ("market" is not "marketing").
        ("Love the new counter on Market Street", "en", Category.USEFULNESS),
    ],
)
def test_category_keywords_match_inflections_not_derivations(text: str, language: str, expected: Category) -> None:
    assert suggest_category(text, language=language) == expected


def test_category_stemming_needs_no_nltk_data_and_leaves_short_and_listed_words() -> None:
    from core.nlp.categories import _matcher

    _, canonical = _matcher("es")
    assert canonical["cama"] == "cama"  # too short to stem: "cama" (bed) is not "cámara"
    assert canonical.tokens(["sindicatos", "ruidosos"]) == ["sindicatos", "ruidosos"]
    _, canonical = _matcher("en")
    assert canonical["activist"] == "activists"
    assert canonical["the"] == "the"


def test_insults_and_swearing_are_flagged() -> None:
    assert is_abusive("you idiots never listen", language="en")
    assert is_abusive("what a load of bullshit", language="en")
    assert is_abusive("sois unos gilipollas", language="es")
    assert is_abusive("sois unos gilipollas", language=None)
    assert "abuse" in analyze("Stop this bullshit surveillance, you idiots").flags


def test_ordinary_civic_words_are_not_abuse() -> None:
    for text in ("facial recognition at the speed hump", "the poles on the steep slope", "a gay couple was filmed"):
        assert not is_abusive(text, language="en")
    assert not is_abusive("el gato negro y la cámara", language="es")


def test_analysis_as_dict_has_exactly_the_stored_fields() -> None:
    result = analyze("Stop tracking our phones! Mail me at a@example.org", feeling=2)
    data = result.as_dict()
    assert list(data) == ["text", "language", "category", "polarity", "subjectivity", "label", "key_phrases", "flags"]
    assert data["text"] == "Stop tracking our phones! Mail me at [email]"
    assert data["language"] == "en" and data["label"] == Label.NEGATIVE and data["flags"] == ["email"]
    assert data["category"] == Category.PRIVACY
    json.dumps(data)


# --- offline and structure ----------------------------------------------------------------------------


def test_intake_and_key_phrases_work_without_nltk_data(tmp_path: Path) -> None:
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    script = (
        "from core.nlp import analyze, key_phrases\n"
        "en = analyze('The new parking sensors on Elm Street log every phone that walks past. Why?')\n"
        "es = analyze('Las cámaras nuevas de la calle Independencia graban hacia las ventanas.')\n"
        "assert en.language == 'en' and en.polarity is not None and en.key_phrases, en\n"
        "assert es.language == 'es' and es.polarity is None and es.key_phrases, es\n"
        "assert key_phrases('licence plate readers at the school gate', language='en')\n"
        "print('ok')\n"
    )
    env = {**os.environ, "NLTK_DATA": str(empty), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert not any(empty.iterdir())


def test_textblob_is_imported_only_by_the_sentiment_module() -> None:
    importers = set()
    for path in (ROOT / "core" / "nlp").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textblob" or n.startswith("textblob.") for n in names):
                importers.add(path.name)
    assert importers == {"sentiment.py"}


def test_labelled_set_is_well_formed() -> None:
    path = ROOT / "tests" / "data" / "labelled_concerns.csv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["id", "language", "text", "label", "category", "technology", "feeling", "split"]
    assert len({r["id"] for r in rows}) == len(rows) > 0
    categories = {c.value for c in Category}
    labels = {lab.value for lab in Label}
    for row in rows:
        assert row["language"] in {"en", "es"}
        assert row["label"] in labels
        assert row["category"] in categories
        assert row["feeling"] in {"", "1", "2", "3", "4", "5"}
        assert row["split"] in {"tune", "holdout"}
        assert row["text"].strip()
    expected = {(lang, split) for lang in ("en", "es") for split in ("tune", "holdout")}
    assert {(r["language"], r["split"]) for r in rows} == expected


def test_shared_tokenisation_gives_textblobs_own_figures_and_tags() -> None:
    import csv
    from pathlib import Path

    from textblob import TextBlob
    from textblob.en.taggers import PatternTagger

    from core.nlp.sentiment import TextBlobAnalyzer, pos_tags

    path = Path(__file__).parent / "data" / "labelled_concerns.csv"
    texts = [row["text"] for row in csv.DictReader(path.open(encoding="utf-8"))]
    texts += ["a/b test, don't stop!! Mr. Smith's cameras... e.g. 5th St.", "I   said\nno. Really not good"]
    tagger = PatternTagger()
    for text in texts:
        blob = TextBlob(text).sentiment
        assert TextBlobAnalyzer().score(text) == (blob.polarity, blob.subjectivity), text
        assert pos_tags(text) == tagger.tag(text), text


def test_noun_phrase_chunks_are_those_of_nltks_regexp_parser() -> None:
    from nltk import RegexpParser
    from nltk.tree import Tree

    from core.nlp.keyphrases import GRAMMAR, noun_phrases
    from core.nlp.sentiment import pos_tags

    path = Path(__file__).parent / "data" / "labelled_concerns.csv"
    texts = [row["text"] for row in csv.DictReader(path.open(encoding="utf-8")) if row["language"] == "en"]
    texts += ["Broken new smart parking sensors, collected data and the flashing lights near the bus stop.",
              "Stop it.", "", "Cameras cameras cameras!"]
    parser = RegexpParser(GRAMMAR)
    compared = 0
    for text in texts:
        tagged = pos_tags(text)
        if not tagged:
            continue
        expected = [[word for word, _ in t.leaves()] for t in parser.parse(tagged) if isinstance(t, Tree)]
        assert noun_phrases(tagged) == expected, text
        compared += bool(expected)
    assert compared > 50


@pytest.mark.parametrize("text", [
    "La caméra de la rue enregistre nos visages et nous ne savons pas qui regarde les images.",
    "A câmera da rua grava nossos rostos e não sabemos quem vê as imagens.",
    "La telecamera della strada registra i nostri volti e non sappiamo chi guarda le immagini.",
    "Die Kamera in der Straße filmt unsere Gesichter und wir wissen nicht, wer die Bilder sieht.",
])
def test_other_latin_script_languages_are_neither_english_nor_spanish(text: str) -> None:
    # Their function words outnumber English's and Spanish's own: no language, so no English polarity
    # (TextBlob read German as English and gave 0.0) and no Spanish lexicon on French.
    found = analyze(text, prior_language="en")
    assert found.language is None and found.polarity is None and found.subjectivity is None
