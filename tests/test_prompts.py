"""Every message exists in every language and renders with its variables; a missing variable raises."""

from __future__ import annotations

import pytest

from core.i18n import LANGUAGES, MissingMessage, RenderError, catalog


def _variables(language: str) -> dict[str, set[str]]:
    """Every message's variables, read from the .ftl files themselves."""
    from importlib import resources

    from fluent.syntax import FluentParser, ast, visitor

    class Collect(visitor.Visitor):
        def __init__(self) -> None:
            self.names: set[str] = set()

        def visit_VariableReference(self, node: ast.VariableReference) -> None:
            self.names.add(node.id.name)

    found: dict[str, set[str]] = {}
    for entry in (resources.files("prompts") / language).iterdir():
        if entry.name.endswith(".ftl"):
            for message in FluentParser().parse(entry.read_text(encoding="utf-8")).body:
                if isinstance(message, ast.Message):
                    collect = Collect()
                    collect.visit(message)
                    found[message.id.name] = collect.names
    return found


def test_every_key_exists_in_every_language() -> None:
    keys = {language: catalog().keys(language) for language in LANGUAGES}
    everything = set().union(*keys.values())
    for language in LANGUAGES:
        assert everything - keys[language] == set(), language


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders(language: str) -> None:
    variables = _variables(language)
    for key in sorted(catalog().keys(language)):
        # Every variable a message names is given a sample value; numbers exercise plural selectors.
        assert catalog().t(language, key, **dict.fromkeys(variables[key], 2)).strip()


def test_missing_key_or_variable_raises() -> None:
    with pytest.raises(MissingMessage):
        catalog().t("en", "no-such-message")
    with pytest.raises(RenderError):
        catalog().t("es", "error-too-long")
