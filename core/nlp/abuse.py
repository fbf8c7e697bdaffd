"""Flag abusive text: better_profanity's word list (English) and prompts/es/profanity.txt, by token lookup."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources

from core.nlp.terms import TermMatcher
from core.nlp.text import fold, words

SUPPORTED = ("en", "es")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _plain(entry: str) -> bool:
    return " ".join(words(entry)) == " ".join(fold(entry).split())


@cache
def _matcher(language: str) -> TermMatcher:
    entries: Iterable[str]
    if language == "en":
        # better_profanity's own matcher costs ~13 ms a text; the same list in a set costs microseconds.
        shipped = _lines((resources.files("better_profanity") / "profanity_wordlist.txt").read_text(encoding="utf-8"))
        extra = _lines((resources.files("prompts") / "en" / "profanity_extra.txt").read_text(encoding="utf-8"))
        removed = {line[1:].strip().lower() for line in extra if line.startswith("-")}
        added = [line[1:].strip() if line.startswith("+") else line for line in extra if not line.startswith("-")]
        # Entries spelt with symbols ("sh!t", "f.u.c.k") cannot be whole tokens of ours: they are skipped.
        entries = [w for w in shipped if w.lower() not in removed and _plain(w)] + added
    else:
        entries = _lines((resources.files("prompts") / language / "profanity.txt").read_text(encoding="utf-8"))
    return TermMatcher.build(entries)


def is_abusive(text: str, *, language: str | None) -> bool:
    """Return True when the text contains a listed insult or swear word (both lists when language is None)."""
    return abusive_tokens(words(text), language=language)


def abusive_tokens(tokens: list[str], *, language: str | None) -> bool:
    """Check already-tokenised text against the abuse lists."""
    languages = (language,) if language in SUPPORTED else SUPPORTED
    return any(_matcher(lang).hits(tokens) for lang in languages)
