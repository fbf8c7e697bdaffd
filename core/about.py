"""The system's own transparency record, in the shape it asks of every deployment."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from core.i18n import DEFAULT_LANGUAGE, LANGUAGES


@cache
def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((resources.files("prompts") / "about.json").read_text(encoding="utf-8"))
    return loaded


def describe(*, language: str | None, retention_days: int, min_group_size: int, public_url: str) -> dict[str, Any]:
    """Return the record: DTPR fields, plain-language text, retention and rights."""
    data = _data()
    text = data["text"][language if language in LANGUAGES else DEFAULT_LANGUAGE]
    return {
        **data["record"],
        **text,
        "language": language if language in LANGUAGES else DEFAULT_LANGUAGE,
        "retention": retention_days if retention_days > 0 else "unknown",
        "retention_note": "days a concern's text is kept; counts and categories stay for statistics"
        if retention_days > 0 else "concern texts are kept until a resident erases them",
        "min_group_size": min_group_size,
        "info_url": public_url + "/api/v1/about",
        "register_url": public_url + "/api/v1/deployments",
    }
