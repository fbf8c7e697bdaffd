"""Every message exists in every language and renders with its variables; a missing variable raises."""

from __future__ import annotations

import pytest

from core.i18n import LANGUAGES, MissingMessage, RenderError, catalog

SAMPLE_ARGS = {"days": 3, "metres": 120, "km": 1.5, "length": 4001, "limit": 4000}


def test_every_key_exists_in_every_language() -> None:
    keys = {language: catalog().keys(language) for language in LANGUAGES}
    everything = set().union(*keys.values())
    for language in LANGUAGES:
        assert everything - keys[language] == set(), language


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders(language: str) -> None:
    for key in sorted(catalog().keys(language)):
        assert catalog().t(language, key, **SAMPLE_ARGS).strip()


def test_missing_key_or_variable_raises() -> None:
    with pytest.raises(MissingMessage):
        catalog().t("en", "no-such-message")
    with pytest.raises(RenderError):
        catalog().t("es", "error-too-long")
