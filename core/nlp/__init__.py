"""Text intake for concerns: normalise, validate, redact, language, sentiment label, key phrases, category, abuse."""

from core.nlp.abuse import is_abusive
from core.nlp.categories import suggest_category
from core.nlp.keyphrases import key_phrases
from core.nlp.language import detect_language
from core.nlp.lexicon import LabelThresholds, label
from core.nlp.pipeline import Analysis, analyze, with_feeling
from core.nlp.redact import redact
from core.nlp.sentiment import SentimentAnalyzer, TextBlobAnalyzer
from core.nlp.text import MAX_CHARS, normalize, validate

__all__ = [
    "MAX_CHARS",
    "Analysis",
    "LabelThresholds",
    "SentimentAnalyzer",
    "TextBlobAnalyzer",
    "analyze",
    "detect_language",
    "is_abusive",
    "key_phrases",
    "label",
    "normalize",
    "redact",
    "suggest_category",
    "validate",
    "with_feeling",
]
