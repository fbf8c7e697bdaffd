"""The domain label: TextBlob's polarity (English) plus concern lexicons, negation, emphasis and the 1-5 feeling."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from core.errors import Invalid
from core.models import Label
from core.nlp.terms import TermMatcher
from core.nlp.text import fold, words

SUPPORTED = ("en", "es")


@dataclass(frozen=True)
class LabelThresholds:
    """Every weight and threshold of the label, in one place (see docs/nlp.md)."""

    # score <= negative_at -> negative; score >= positive_at -> positive; else neutral.
    negative_at: float = -0.30
    positive_at: float = 0.30
    # Added to a score unless the text asks for information or reports a fact (the lexicon's "neutral"
    # markers: "where can I", "is there", "since", "quisiera saber"): residents write to the bot mostly to object,
    # often without a single negative word ("who decided this?").
    bias: float = -0.35
    # With a neutral marker, the score is multiplied by this instead.
    neutral_damping: float = 0.75
    # A question counts as a neutral marker: a plain question is neutral, a worried one needs worried words.
    question_is_neutral: bool = True
    # English only: TextBlob's polarity (-1..1) times this weight.
    textblob_weight: float = 1.0
    # Sum of lexicon hits times this weight.
    lexicon_weight: float = 1.0
    # A negator up to `negation_window` words before a hit multiplies a positive weight by
    # negation_factor ("not safe") and a negative weight by negated_negative_factor ("no cameras").
    negation_window: int = 3
    negation_factor: float = -0.75
    negated_negative_factor: float = 0.5
    # A negator with no lexicon hit after it ("nobody answered", "can't get past", "nunca acierta") is itself
    # a mild sign of objection in concerns.
    bare_negation: float = -0.3
    # A reducer ("less", "fewer", "menos") before a hit multiplies its weight by this ("less pollution" is good news).
    reducer_factor: float = -0.75
    # Each "!" (at most 3) strengthens the score by this share; a question strengthens a negative score.
    exclamation_boost: float = 0.10
    question_boost: float = 0.25
    # Mostly upper-case text (at least 10 letters) is shouting: the score is strengthened by this share.
    caps_boost: float = 0.25
    # The resident's feeling f in 1..5 adds feeling_weight * (f - 3) / 2: 1 -> -w, 5 -> +w.
    feeling_weight: float = 1.2


THRESHOLDS = LabelThresholds()


@dataclass(frozen=True)
class Lexicon:
    """A language's concern lexicon as compiled from prompts/<lang>/lexicon.json."""

    terms: TermMatcher
    neutral: TermMatcher
    negators: frozenset[str]
    reducers: frozenset[str]
    intensifiers: dict[str, float]
    stopwords: frozenset[str]


def load_json(language: str, name: str) -> dict[str, Any]:
    """Read prompts/<language>/<name> as a JSON object."""
    data: dict[str, Any] = json.loads((resources.files("prompts") / language / name).read_text(encoding="utf-8"))
    return data


@cache
def lexicon(language: str) -> Lexicon:
    """Load and compile the lexicon of "en" or "es" once."""
    data = load_json(language, "lexicon.json")
    return Lexicon(
        terms=TermMatcher.build({k: float(v) for k, v in data["terms"].items()}),
        neutral=TermMatcher.build(data["neutral"]),
        negators=frozenset(fold(w) for w in data["negators"]),
        reducers=frozenset(fold(w) for w in data["reducers"]),
        intensifiers={fold(k): float(v) for k, v in data["intensifiers"].items()},
        stopwords=frozenset(fold(w) for w in data["stopwords"]),
    )


_UPPER = re.compile(r"[A-ZÁÉÍÓÚÑ]")
_LOWER = re.compile(r"[a-záéíóúñ]")


def check_feeling(feeling: int | None) -> None:
    """Raise Invalid unless feeling is None or an integer from 1 to 5."""
    if feeling is None:
        return
    if isinstance(feeling, bool) or not isinstance(feeling, int) or not 1 <= feeling <= 5:
        raise Invalid("feeling must be a whole number from 1 to 5", feeling=feeling)


def label(
    text: str,
    *,
    language: str | None,
    polarity: float | None,
    feeling: int | None,
    thresholds: LabelThresholds = THRESHOLDS,
) -> str | None:
    """Return the domain label for English or Spanish text, None for any other language."""
    check_feeling(feeling)
    if language not in SUPPORTED:
        return None
    return label_tokens(text, words(text), language=language, polarity=polarity, feeling=feeling, t=thresholds)


def label_tokens(
    text: str,
    tokens: list[str],
    *,
    language: str,
    polarity: float | None,
    feeling: int | None,
    t: LabelThresholds = THRESHOLDS,
) -> str:
    """Label already-tokenised text (the pipeline tokenises once)."""
    score = score_text(text, tokens, language=language, polarity=polarity, t=t)
    if feeling is not None:
        score += t.feeling_weight * (feeling - 3) / 2
    if score <= t.negative_at:
        return Label.NEGATIVE.value
    if score >= t.positive_at:
        return Label.POSITIVE.value
    return Label.NEUTRAL.value


def score_text(text: str, tokens: list[str], *, language: str, polarity: float | None, t: LabelThresholds) -> float:
    """Score the text alone (no feeling): negative below zero, positive above."""
    lex = lexicon(language)
    # Exact words only: the lexicon lists the inflections it means, and they differ in tone ("concern" -0.5,
    # "concerning" -1.2; "object" but not "objects"; "stop" but not "stops"), unlike the category keywords.
    hits = lex.terms.hits(tokens)
    covered = {i for h in hits for i in range(h.start, h.end)}
    negations = [i for i, tok in enumerate(tokens) if tok in lex.negators and i not in covered]
    used: set[int] = set()
    total = 0.0
    for hit in hits:
        weight = hit.weight
        before = tokens[hit.start - 1] if hit.start else ""
        if (boost := lex.intensifiers.get(before)) is not None:
            weight *= boost
        elif before in lex.reducers:
            weight *= t.reducer_factor
        scope = [i for i in negations if hit.start - t.negation_window <= i < hit.start]
        if scope:
            used.update(scope)
            weight *= t.negation_factor if weight > 0 else t.negated_negative_factor
        total += weight
    total += t.bare_negation * (len(negations) - len(used))
    score = t.lexicon_weight * total
    if polarity is not None and language == "en":
        score += t.textblob_weight * polarity
    asks = "?" in text
    neutral = (asks and t.question_is_neutral) or bool(lex.neutral.hits(tokens))
    score = score * t.neutral_damping if neutral else score + t.bias
    emphasis = 1.0 + t.exclamation_boost * min(text.count("!"), 3)
    upper = len(_UPPER.findall(text))
    if upper >= 10 and upper > 2 * len(_LOWER.findall(text)):
        emphasis += t.caps_boost
    if asks and score < 0:
        emphasis += t.question_boost
    return score * emphasis
