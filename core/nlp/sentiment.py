"""The TextBlob seam: sentiment figures and part-of-speech tags. The only module that imports TextBlob."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from textblob import TextBlob
from textblob.en.taggers import PatternTagger


class SentimentAnalyzer(Protocol):
    """Something that scores English text as (polarity in -1..1, subjectivity in 0..1)."""

    def score(self, text: str) -> tuple[float, float]:
        """Return (polarity, subjectivity) for English text."""
        ...


class TextBlobAnalyzer:
    """TextBlob's pattern-based sentiment, its raw figures; needs no NLTK corpora."""

    def score(self, text: str) -> tuple[float, float]:
        """Return TextBlob's (polarity, subjectivity) for English text."""
        sentiment = TextBlob(text).sentiment
        return float(sentiment.polarity), float(sentiment.subjectivity)


@cache
def _tagger() -> PatternTagger:
    return PatternTagger()


def pos_tags(text: str) -> list[tuple[str, str]]:
    """Tag English text with Penn Treebank tags using the Pattern tagger (no NLTK data needed)."""
    return [(word, tag) for word, tag in _tagger().tag(text)]
