"""Replace residents' personal data with placeholders, keeping the project's own identifiers."""

from __future__ import annotations

import re

import phonenumbers

# The project's identifiers: deployment codes (AQ-017, LPR-12), written with the dash signs show, and concern
# references (C-7K2Q9). A code followed by "-XX" is a French-style plate (AB-123-CD), and three letters, a dash
# and four digits (ABC-1234) is the most common North American plate: neither is kept as a code. A register
# code of that shape is redacted in residents' text too: over-redaction is the safer error.
# Nor is anything inside an e-mail address (jo-99@example.org, ana.lpr-12@example.org, me@aq-017.example).
_PROTECTED = re.compile(
    r"(?<![\w.+%@-])(?:\bC-[0-9A-HJKMNP-TV-Z]{5,6}\b|\b(?![A-Z]{3}-\d{4}\b)[A-Z]{2,4}-\d{1,4}\b(?!-[A-Z]))"
    r"(?![\w.+%-]*@)",
    re.IGNORECASE,
)
# Private-use characters stand in for protected identifiers while the redactors run:
# they contain no digit, letter, '@' or '/', so no redactor can match them.
_SLOT_BASE = 0xF0000
_SLOT = re.compile("[\U000f0000-\U000fffff]")

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""
_URL_SECRET = re.compile(r"^(?:https?://)?[^/?#\s]*@|\?[^#\s]")  # credentials, or a non-empty query
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
_PLATE = re.compile(
    r"\b\d[A-Z]{3}\d{3}\b"  # 7ABC123 (California)
    r"|\b(?!(?:USD|EUR|GBP|MXN|CAD|ISO|RFC|CO2|PM2|NOX)\b)[A-Z]{3}[ -]?\d{4}\b"  # ABC 1234, ABC-1234
    r"|\b(?!(?:USD|EUR|GBP|MXN|CAD)\b)[A-Z]{3} ?\d{3}\b"  # ABC 123, ABC123 (Quebec, Ontario's older plates)
    r"|\b\d{4}[ -]?[BCDFGHJKLMNPRSTVWXYZ]{3}\b"  # 1234-BCD (Spain: consonants only)
    r"|\b[A-Z]{2}-\d{3}-[A-Z]{2}\b"  # AB-123-CD (France, Italy)
    r"|\b[A-Z]{2}\d{2} ?[A-Z]{3}\b"  # AB12 CDE (UK)
)
# Phone numbers need at least 7 digits; texts with fewer skip the (comparatively slow) matcher.
_DIGIT = re.compile(r"\d")
_MIN_PHONE_DIGITS = 7
# Besides the configured region, Spanish national numbers ("612 34 56 78") are looked for:
# the city serves English and Spanish speakers.
_EXTRA_PHONE_REGIONS = ("ES",)


def redact(text: str, *, region: str = "US") -> tuple[str, list[str]]:
    """Replace e-mails, phone numbers, secret-bearing URLs and plates; return the text and what was replaced."""
    kept: list[str] = []

    def protect(match: re.Match[str]) -> str:
        kept.append(match.group())
        return chr(_SLOT_BASE + len(kept) - 1)

    text = _PROTECTED.sub(protect, text)
    # Order matters: URLs may hold '@' and digits, and plates hold digit runs a phone matcher would take.
    flags: list[str] = []

    urls = 0

    def redact_url(match: re.Match[str]) -> str:
        nonlocal urls
        url = match.group()
        stripped = url.rstrip(_URL_TRAILING)
        if not _URL_SECRET.search(stripped):
            return url
        urls += 1
        return "[url]" + url[len(stripped) :]

    text = _URL.sub(redact_url, text)
    if urls:
        flags.append("url")
    text, n = _EMAIL.subn("[email]", text)
    if n:
        flags.append("email")
    text, n = _PLATE.subn("[plate]", text)
    if n:
        flags.append("plate")
    if len(_DIGIT.findall(text)) >= _MIN_PHONE_DIGITS:
        text, found = _redact_phones(text, region)
        if found:
            flags.append("phone")

    if kept:
        text = _SLOT.sub(lambda m: kept[ord(m.group()) - _SLOT_BASE], text)
    return text, flags


def _redact_phones(text: str, region: str) -> tuple[str, bool]:
    found = False
    for where in (region, *(r for r in _EXTRA_PHONE_REGIONS if r != region.upper())):
        # POSSIBLE, not VALID: residents type partial, fictional or foreign-format numbers
        # ("555-0142", "(555) 014-2999") that are still personal data; VALID misses them.
        # Years, times, amounts and street numbers stay (tested); over-redaction is the safer error.
        spans = [
            (m.start, m.end)
            for m in phonenumbers.PhoneNumberMatcher(text, where, leniency=phonenumbers.Leniency.POSSIBLE)
        ]
        if not spans:
            continue
        found = True
        for start, end in reversed(spans):
            text = text[:start] + "[phone]" + text[end:]
    return text, found
