"""Resident- and staff-facing messages from prompts/<language>/*.ftl (Project Fluent), rendered strictly."""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from typing import Any

from fluent.runtime import FluentBundle, FluentResource

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


class MissingMessage(KeyError):
    """A message key that the language does not define."""


class RenderError(ValueError):
    """A message that could not be rendered completely (e.g. a missing variable)."""


class Catalog:
    """The messages of every language."""

    def __init__(self) -> None:
        self._bundles: dict[str, FluentBundle] = {}
        for language in LANGUAGES:
            bundle = FluentBundle([language], use_isolating=False)
            folder = resources.files("prompts") / language
            for entry in sorted(folder.iterdir(), key=lambda p: p.name):
                if entry.name.endswith(".ftl"):
                    bundle.add_resource(FluentResource(entry.read_text(encoding="utf-8")))
            self._bundles[language] = bundle

    def keys(self, language: str) -> set[str]:
        return set(self._bundles[language]._messages)

    def t(self, language: str | None, key: str, **args: Any) -> str:
        """Render a message in the language (English when unknown); raise on a missing key or variable."""
        if not args:
            return self._plain(language, key)
        return self._render(language, key, args)

    @lru_cache(maxsize=4096)  # noqa: B019 - one catalog per process, kept for its lifetime
    def _plain(self, language: str | None, key: str) -> str:
        return self._render(language, key, {})

    def _render(self, language: str | None, key: str, args: dict[str, Any]) -> str:
        bundle = self._bundles.get(language or DEFAULT_LANGUAGE, self._bundles[DEFAULT_LANGUAGE])
        if not bundle.has_message(key):
            raise MissingMessage(key)
        message = bundle.get_message(key)
        if message.value is None:
            raise MissingMessage(key)
        text, errors = bundle.format_pattern(message.value, args)
        if errors:
            raise RenderError(f"{key}: {errors[0]}")
        return str(text)


@cache
def catalog() -> Catalog:
    return Catalog()


def t(language: str | None, key: str, **args: Any) -> str:
    return catalog().t(language, key, **args)
