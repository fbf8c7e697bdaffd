"""Normalise and validate resident text; the shared tokeniser the other NLP modules use."""

from __future__ import annotations

import re
import unicodedata

from core.errors import EmptyText, NoContent, TooLong

MAX_CHARS = 4000

# Category Cc is exactly U+0000-U+001F and U+007F-U+009F; newline and tab are kept.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A word: letters/digits, with inner apostrophes ("don't", "l'eau") and hyphens ("e-mail", "co-op").
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
# Spanish and other Latin accents folded for matching only (ñ kept: "año" is not "ano").
# Redaction placeholders are not words of the resident's ("[email]" is not about e-mail).
_PLACEHOLDER = re.compile(r"\[(?:email|phone|url|plate)\]")
_FOLD = str.maketrans("áàâäãéèêëíìîïóòôöõúùûüç", "aaaaaeeeeiiiiooooouuuuc")


def normalize(text: str) -> str:
    """Return NFC text without control characters (newline and tab kept), trimmed."""
    text = unicodedata.normalize("NFC", text)
    return _CONTROL.sub("", text).strip()


def validate(text: str, *, max_chars: int = MAX_CHARS) -> str:
    """Return the normalised text, or raise the domain error that explains why it is unusable."""
    text = normalize(text)
    if not text:
        raise EmptyText("the text is empty")
    if len(text) > max_chars:
        raise TooLong(f"the text is longer than {max_chars} characters", limit=max_chars, length=len(text))
    if not any(ch.isalnum() for ch in text):
        raise NoContent("the text has no letter or digit")
    return text


def words(text: str) -> list[str]:
    """Split text into lower-case, accent-folded word tokens for lexicon lookups."""
    text = _PLACEHOLDER.sub(" ", text) if "[" in text else text
    return [w.replace("’", "'") for w in _WORD.findall(text.lower().translate(_FOLD))]


def display_words(text: str) -> list[str]:
    """Split text into lower-case word tokens, accents kept (for phrases shown to people)."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def fold(term: str) -> str:
    """Fold a lexicon entry the same way `words` folds text."""
    return term.lower().translate(_FOLD).replace("’", "'")
