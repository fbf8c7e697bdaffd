"""The one intake pipeline: validate, redact, detect the language, score, label, key phrases, category, abuse."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from core.nlp.abuse import abusive_tokens
from core.nlp.categories import suggest_from_tokens
from core.nlp.keyphrases import key_phrases
from core.nlp.language import detect_language
from core.nlp.lexicon import check_feeling, label_tokens
from core.nlp.redact import redact
from core.nlp.sentiment import SentimentAnalyzer, TextBlobAnalyzer
from core.nlp.text import MAX_CHARS, validate, words


@dataclass(frozen=True)
class Analysis:
    """What intake stores about a concern's text (the text already redacted)."""

    text: str
    language: str | None
    category: str
    polarity: float | None
    subjectivity: float | None
    label: str | None
    key_phrases: list[str]
    flags: list[str]

    def as_dict(self) -> dict[str, object]:
        """Return the analysis as plain JSON-ready values, figures rounded to 4 decimals."""
        return {
            "text": self.text,
            "language": self.language,
            "category": self.category,
            "polarity": None if self.polarity is None else round(self.polarity, 4),
            "subjectivity": None if self.subjectivity is None else round(self.subjectivity, 4),
            "label": self.label,
            "key_phrases": list(self.key_phrases),
            "flags": list(self.flags),
        }


@cache
def _default_analyzer() -> SentimentAnalyzer:
    return TextBlobAnalyzer()


def analyze(
    text: str,
    *,
    prior_language: str | None = None,
    feeling: int | None = None,
    region: str = "US",
    analyzer: SentimentAnalyzer | None = None,
    max_chars: int = MAX_CHARS,
) -> Analysis:
    """Validate, redact and analyse a resident's text; raise a DomainError when it is unusable."""
    check_feeling(feeling)
    text, flags = redact(validate(text, max_chars=max_chars), region=region)
    tokens = words(text)
    language = detect_language(text, prior=prior_language, tokens=tokens)
    polarity: float | None = None
    subjectivity: float | None = None
    if language == "en":
        polarity, subjectivity = (analyzer or _default_analyzer()).score(text)
    label = None
    if language is not None:
        label = label_tokens(text, tokens, language=language, polarity=polarity, feeling=feeling)
    if abusive_tokens(tokens, language=language):
        flags = [*flags, "abuse"]
    return Analysis(
        text=text,
        language=language,
        category=suggest_from_tokens(tokens, language=language),
        polarity=polarity,
        subjectivity=subjectivity,
        label=label,
        key_phrases=key_phrases(text, language=language),
        flags=flags,
    )


def with_feeling(analysis: Analysis, feeling: int | None) -> Analysis:
    """The same analysis labelled with the resident's feeling (given after the text, e.g. in the bot's flow).

    Equal to analysing the text again with `feeling`, without doing the rest of the work again.
    """
    check_feeling(feeling)
    if analysis.language is None:
        return analysis
    label = label_tokens(analysis.text, words(analysis.text), language=analysis.language,
                         polarity=analysis.polarity, feeling=feeling)
    return replace(analysis, label=label)
