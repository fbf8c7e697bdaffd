"""Tell English from Spanish, falling back on the resident's chosen language for short or unclear texts."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from core.nlp.lexicon import lexicon
from core.nlp.text import fold, words

SUPPORTED = ("en", "es")
# Fewer words than this: too little evidence, the resident's chosen language decides.
MIN_WORDS = 3
# Below this confidence of the winning language, the text counts as unclear.
MIN_CONFIDENCE = 0.70
# At least this share of the letters must be Latin script for en/es to be considered at all
# (lingua restricted to two languages would otherwise name one of them for Arabic or Hebrew).
MIN_LATIN_SHARE = 0.5

# A text with at least this many function words of one language and none of the other is that language
# without asking lingua (function words: the stop-words of prompts/<lang>/lexicon.json that the other
# language does not share). Anything else, mixed or thin, goes to lingua.
CLEAR_FUNCTION_WORDS = 3

_CODES = {Language.ENGLISH: "en", Language.SPANISH: "es"}
_WORD = re.compile(r"[^\W\d_]{2,}")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LETTER = re.compile(r"[^\W\d_]")


@cache
def _detector() -> LanguageDetector:
    # Low-accuracy mode uses trigrams only: several times faster, and short texts go to the prior anyway.
    return (
        LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)
        .with_low_accuracy_mode()
        .build()
    )


@cache
def _function_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    english, spanish = lexicon("en").stopwords, lexicon("es").stopwords
    data = json.loads(resources.files("core.data").joinpath("other_function_words.json").read_text("utf-8"))
    others = {fold(w) for lang, found in data.items() if lang != "about" for w in found} - english - spanish
    return english - spanish, spanish - english, frozenset(others)


def _by_function_words(tokens: list[str]) -> str | None:
    """"en" or "es" when the function words settle it, "other" for another Latin-script language, else None."""
    english, spanish, others = _function_words()
    en = sum(token in english for token in tokens)
    es = sum(token in spanish for token in tokens)
    if sum(token in others for token in tokens) >= max(CLEAR_FUNCTION_WORDS, en + es + 1):
        return "other"  # French, Portuguese, Italian, German, Dutch: their words outnumber ours
    if en >= CLEAR_FUNCTION_WORDS and not es:
        return "en"
    if es >= CLEAR_FUNCTION_WORDS and not en:
        return "es"
    return None


def detect_language(text: str, *, prior: str | None = None, tokens: list[str] | None = None) -> str | None:
    """Return "en", "es" or None; short or unclear texts take the prior when it is en/es.

    `tokens` are `words(text)` when the caller has them already.
    """
    fallback = prior if prior in SUPPORTED else None
    if text.isascii():  # every letter is Latin
        if not any(ch.isalpha() for ch in text):
            return None
    else:
        letters = len(_LETTER.findall(text))
        if not letters:
            return None
        if len(_LATIN.findall(text)) < MIN_LATIN_SHARE * letters:
            return None
    if tokens is None:
        tokens = words(text)
    # Counting all-letter tokens settles most texts; the regex counts letter runs inside the others too.
    if sum(len(t) > 1 and t.isalpha() for t in tokens) < MIN_WORDS and len(_WORD.findall(text)) < MIN_WORDS:
        return fallback
    clear = _by_function_words(tokens)
    if clear == "other":
        return None
    if clear is not None:
        return clear
    # Confidence over the whole text: a mixed text goes to the language most of it is written in.
    best = _detector().compute_language_confidence_values(text)[0]
    if best.value < MIN_CONFIDENCE:
        return fallback
    return _CODES.get(best.language, fallback)
