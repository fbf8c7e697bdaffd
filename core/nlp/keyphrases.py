"""Key phrases: English noun phrases (Pattern tagger + an NLTK chunk grammar); Spanish content-word runs."""

from __future__ import annotations

import re
from functools import cache

from core.nlp.lexicon import lexicon
from core.nlp.sentiment import pos_tags
from core.nlp.text import display_words, fold

# Adjectives, participles and nouns ending in a noun: "new parking sensors", "licence plate readers".
# As an NLTK chunk grammar this is GRAMMAR; NLTK's RegexpParser spends more time building its trees than the
# tagger spends tagging, so the same rule runs as one regular expression over a letter per tag
# (A: JJ*, VBN, VBG; N: NN*; x: any other). A test checks both give the same phrases.
GRAMMAR = r"NP: {<JJ.*|VBN|VBG|NN.*>*<NN.*>}"
_NOUN_PHRASE = re.compile(r"[AN]*N")
# At most this many words per Spanish phrase (longer runs are cut into pieces of this size).
SPANISH_MAX_WORDS = 3
# Words shorter than this are not content words in the Spanish method.
SPANISH_MIN_LETTERS = 3

# Redaction placeholders and identifiers are not key phrases; they become phrase breaks.
_PLACEHOLDER = re.compile(r"\[(?:email|phone|url|plate)\]|\S*\d\S*", re.IGNORECASE)
_MAY_HOLD_PLACEHOLDER = re.compile(r"[\[\d]")
_BREAKS = re.compile(r"[.,;:!?¿¡()\[\]\"“”«»/\n\t]+|\s-\s")


@cache
def _tag_letter(tag: str) -> str:
    if tag.startswith("NN"):
        return "N"
    if tag.startswith("JJ") or tag in ("VBN", "VBG"):
        return "A"
    return "x"


def noun_phrases(tagged: list[tuple[str, str]]) -> list[list[str]]:
    """The words of each noun phrase of GRAMMAR in (word, Penn tag) pairs, in order."""
    letters = "".join(_tag_letter(tag) for _, tag in tagged)
    return [[word for word, _ in tagged[m.start():m.end()]] for m in _NOUN_PHRASE.finditer(letters)]


def key_phrases(text: str, *, language: str | None, limit: int = 5) -> list[str]:
    """Return up to `limit` lower-case key phrases, longest first; [] for other languages."""
    if limit <= 0:
        return []
    if language == "en":
        found = _english(text)
    elif language == "es":
        found = _spanish(text)
    else:
        return []
    return _rank(found, limit)


def _english(text: str) -> list[tuple[str, ...]]:
    stop = lexicon("en").stopwords
    tagged = pos_tags(_without_placeholders(text, " , "))
    if not tagged:
        return []
    phrases: list[tuple[str, ...]] = []
    for phrase in noun_phrases(tagged):
        toks = display_words(" ".join(phrase))
        while toks and fold(toks[0]) in stop:
            toks.pop(0)
        while toks and fold(toks[-1]) in stop:
            toks.pop()
        if toks and not (len(toks) == 1 and len(toks[0]) < 3):
            phrases.append(tuple(toks))
    return phrases


def _without_placeholders(text: str, replacement: str) -> str:
    # Most texts hold neither a digit nor a bracket, and the search is much cheaper than the substitution.
    return _PLACEHOLDER.sub(replacement, text) if _MAY_HOLD_PLACEHOLDER.search(text) else text


def _spanish(text: str) -> list[tuple[str, ...]]:
    # Runs of content words between stop-words and punctuation, cut to SPANISH_MAX_WORDS words.
    stop = lexicon("es").stopwords
    phrases: list[tuple[str, ...]] = []
    for chunk in _BREAKS.split(_without_placeholders(text, " . ")):
        run: list[str] = []
        for tok in [*display_words(chunk), ""]:
            if tok and fold(tok) not in stop and len(tok) >= SPANISH_MIN_LETTERS and not tok.isdigit():
                run.append(tok)
                continue
            for i in range(0, len(run), SPANISH_MAX_WORDS):
                phrases.append(tuple(run[i : i + SPANISH_MAX_WORDS]))
            run = []
    return phrases


def _rank(found: list[tuple[str, ...]], limit: int) -> list[str]:
    # Longest first (more words, then more letters), earlier first on ties; a phrase inside a kept one is dropped.
    order = sorted(dict.fromkeys(found), key=lambda p: (-len(p), -sum(map(len, p)), found.index(p)))
    kept: list[tuple[str, ...]] = []
    for phrase in order:
        if any(_inside(phrase, longer) for longer in kept):
            continue
        kept.append(phrase)
        if len(kept) == limit:
            break
    return [" ".join(p) for p in kept]


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    size = len(short)
    return any(long[i : i + size] == short for i in range(len(long) - size + 1))
