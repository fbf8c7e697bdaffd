"""Tell English from Spanish, falling back on the resident's chosen language for short or unclear texts."""

from __future__ import annotations

import re
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = ("en", "es")
# Fewer words than this: too little evidence, the resident's chosen language decides.
MIN_WORDS = 3
# Below this confidence of the winning language, the text counts as unclear.
MIN_CONFIDENCE = 0.70
# At least this share of the letters must be Latin script for en/es to be considered at all
# (lingua restricted to two languages would otherwise name one of them for Arabic or Hebrew).
MIN_LATIN_SHARE = 0.5

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


def detect_language(text: str, *, prior: str | None = None) -> str | None:
    """Return "en", "es" or None; short or unclear texts take the prior when it is en/es."""
    fallback = prior if prior in SUPPORTED else None
    letters = len(_LETTER.findall(text))
    if not letters:
        return None
    if len(_LATIN.findall(text)) < MIN_LATIN_SHARE * letters:
        return None
    if len(_WORD.findall(text)) < MIN_WORDS:
        return fallback
    # Confidence over the whole text: a mixed text goes to the language most of it is written in.
    best = _detector().compute_language_confidence_values(text)[0]
    if best.value < MIN_CONFIDENCE:
        return fallback
    return _CODES.get(best.language, fallback)
