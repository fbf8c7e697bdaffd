"""Suggest a concern category from per-language keyword lists in prompts/<lang>/categories.json (stem-tolerant)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache, lru_cache

from nltk.stem.snowball import SnowballStemmer

from core.models import Category
from core.nlp.lexicon import SUPPORTED, lexicon, load_json
from core.nlp.terms import TermMatcher
from core.nlp.text import words

_STEMMER_LANGUAGE = {"en": "english", "es": "spanish"}
# Shorter words and stems are not matched by stem: "cama" and "cámaras" share the Spanish stem "cam".
MIN_STEM = 4
CANONICAL_LIMIT = 50_000

# Ties go to the earlier category: the specific data-protection concerns first, "other" never wins a tie.
PRIORITY: tuple[Category, ...] = (
    Category.SURVEILLANCE,
    Category.PRIVACY,
    Category.RETENTION,
    Category.ACCESS_SHARING,
    Category.EQUITY,
    Category.SAFETY,
    Category.ACCESSIBILITY,
    Category.COST,
    Category.JOBS,
    Category.NOISE,
    Category.ENVIRONMENT,
    Category.USEFULNESS,
    Category.OTHER,
)
_RANK = {category.value: i for i, category in enumerate(PRIORITY)}


@lru_cache(maxsize=200_000)
def stem(language: str, word: str) -> str:
    """Snowball stem of an already folded word ("tracking" -> "track", "vigilan" -> "vigil"); needs no NLTK data."""
    root: str = _stemmer(language).stem(word)
    return root


@cache
def _stemmer(language: str) -> SnowballStemmer:
    return SnowballStemmer(_STEMMER_LANGUAGE[language])


class Canonical(dict[str, str]):
    """Map a token to the keyword-list word with the same stem, so inflections match ("cameras" -> "camera").

    The listed word may be at most one letter longer than the token: "pole" finds "poles", but "market" does not
    find "marketing" (a derived word, not an inflection). A token that a list names itself (as a word, inside a
    phrase or by a stem* prefix), a stopword and a short token stay as they are; so does a token whose stem no
    listed word has.
    Lookups are remembered: `[canonical[t] for t in tokens]` is a dict lookup per token once a word was seen.
    """

    def __init__(self, language: str, entries: Iterable[str], protected: Iterable[str] = ()) -> None:
        super().__init__()
        self.language = language
        self.known: set[str] = set(protected)
        prefixes: set[str] = set()
        self.by_stem: dict[str, str] = {}
        for entry in entries:
            if entry.endswith("*"):
                prefixes.update(words(entry[:-1]))
                continue
            for word in words(entry):
                self.known.add(word)
        for word in sorted(self.known - set(protected), key=lambda w: (len(w), w)):
            if len(word) >= MIN_STEM and len(root := stem(language, word)) >= MIN_STEM:
                self.by_stem.setdefault(root, word)
        self.prefixes = tuple(sorted(prefixes))

    def __missing__(self, token: str) -> str:
        word = token
        if len(token) >= MIN_STEM and token not in self.known and not token.startswith(self.prefixes):
            root = stem(self.language, token)
            if len(root) >= MIN_STEM and (listed := self.by_stem.get(root)) and len(listed) <= len(token) + 1:
                word = listed
        if len(self) >= CANONICAL_LIMIT:
            self.clear()
        self[token] = word
        return word

    def tokens(self, tokens: list[str]) -> list[str]:
        """Return tokens with every inflected keyword replaced by its listed form."""
        return [self[t] for t in tokens]


def canonical_for(language: str, groups: Mapping[str, Iterable[str]], protected: Iterable[str] = ()) -> Canonical:
    """Build a Canonical over every entry of every group."""
    return Canonical(language, (e for entries in groups.values() for e in entries), protected)


@cache
def _matcher(language: str) -> tuple[TermMatcher, Canonical]:
    data = load_json(language, "categories.json")["categories"]
    unknown = set(data) - set(_RANK)
    if unknown:
        raise ValueError(f"prompts/{language}/categories.json names unknown categories: {sorted(unknown)}")
    # One matcher for all categories: a single pass over the tokens instead of thirteen. Inflected keywords
    # ("cameras", "vigilan") are first mapped to their listed form; stopwords are never mapped.
    return TermMatcher.build_groups(data), canonical_for(language, data, lexicon(language).stopwords)


def suggest_category(text: str, *, language: str | None) -> str:
    """Return the best-matching Category value, "other" when no keyword matches."""
    return suggest_from_tokens(words(text), language=language)


def suggest_from_tokens(tokens: list[str], *, language: str | None) -> str:
    """Suggest a category for already-tokenised text; without a language both lists count."""
    languages = (language,) if language in SUPPORTED else SUPPORTED
    scores: dict[str, float] = {}
    for lang in languages:
        matcher, canonical = _matcher(lang)
        for hit in matcher.hits(canonical.tokens(tokens)):
            scores[hit.group] = scores.get(hit.group, 0.0) + hit.weight
    best = max(scores.items(), key=lambda kv: (kv[1], -_RANK[kv[0]]), default=None)
    if best is None or best[1] <= 0:
        return Category.OTHER.value
    return best[0]
