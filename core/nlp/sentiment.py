"""The TextBlob seam: sentiment figures and part-of-speech tags. The only module that imports TextBlob."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from textblob.en import parser
from textblob.en import sentiment as pattern_sentiment


class SentimentAnalyzer(Protocol):
    """Something that scores English text as (polarity in -1..1, subjectivity in 0..1)."""

    def score(self, text: str) -> tuple[float, float]:
        """Return (polarity, subjectivity) for English text."""
        ...


class TextBlobAnalyzer:
    """TextBlob's pattern-based sentiment, its raw figures; needs no NLTK corpora."""

    def score(self, text: str) -> tuple[float, float]:
        """Return TextBlob's (polarity, subjectivity) for English text."""
        polarity, subjectivity, _ = _read(text)
        return polarity, subjectivity


def pos_tags(text: str) -> list[tuple[str, str]]:
    """Tag English text with Penn Treebank tags using the Pattern tagger (no NLTK data needed)."""
    return list(_read(text)[2])


@lru_cache(maxsize=256)
def _read(text: str) -> tuple[float, float, tuple[tuple[str, str], ...]]:
    """Tokenise once, then score and tag: what TextBlob(text).sentiment and PatternTagger().tag(text) return.

    TextBlob's own calls tokenise the same text twice and build a namedtuple class per call; intake scores
    and tags every English concern, so it shares one tokenisation (tests check the figures are identical).
    """
    sentences = parser.find_tokens(text)
    lowered = [word.lower() for word in " ".join(sentences).split()]
    score = pattern_sentiment(lowered)
    tags = tuple((token[0], token[1]) for sentence in sentences for token in parser.find_tags(sentence.split(" ")))
    return float(score[0]), float(score[1]), tags
