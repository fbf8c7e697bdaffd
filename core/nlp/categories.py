"""Suggest a concern category from per-language keyword lists in prompts/<lang>/categories.json."""

from __future__ import annotations

from functools import cache

from core.models import Category
from core.nlp.lexicon import SUPPORTED, load_json
from core.nlp.terms import TermMatcher
from core.nlp.text import words

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


@cache
def _matcher(language: str) -> TermMatcher:
    data = load_json(language, "categories.json")["categories"]
    unknown = set(data) - set(_RANK)
    if unknown:
        raise ValueError(f"prompts/{language}/categories.json names unknown categories: {sorted(unknown)}")
    # One matcher for all categories: a single pass over the tokens instead of thirteen.
    return TermMatcher.build_groups(data)


def suggest_category(text: str, *, language: str | None) -> str:
    """Return the best-matching Category value, "other" when no keyword matches."""
    return suggest_from_tokens(words(text), language=language)


def suggest_from_tokens(tokens: list[str], *, language: str | None) -> str:
    """Suggest a category for already-tokenised text; without a language both lists count."""
    languages = (language,) if language in SUPPORTED else SUPPORTED
    scores: dict[str, float] = {}
    for lang in languages:
        for hit in _matcher(lang).hits(tokens):
            scores[hit.group] = scores.get(hit.group, 0.0) + hit.weight
    best = max(scores.items(), key=lambda kv: (kv[1], -_RANK[kv[0]]), default=None)
    if best is None or best[1] <= 0:
        return Category.OTHER.value
    return best[0]
