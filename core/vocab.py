"""The register's vocabularies (DTPR-aligned ids with English and Spanish labels), from one data file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

FIELDS = ("technology", "purpose", "data_type", "processing", "access", "storage")


@dataclass(frozen=True)
class Term:
    id: str
    label: dict[str, str]
    description: dict[str, str]
    code_prefix: str | None = None

    def label_in(self, language: str | None) -> str:
        return self.label.get(language or "en") or self.label["en"]


@dataclass(frozen=True)
class Vocabularies:
    terms: dict[str, dict[str, Term]]

    def ids(self, field: str) -> frozenset[str]:
        return frozenset(self.terms[field])

    def get(self, field: str, term_id: str) -> Term | None:
        return self.terms[field].get(term_id)

    def label(self, field: str, term_id: str, language: str | None) -> str:
        term = self.get(field, term_id)
        return term.label_in(language) if term else term_id


def _term(raw: dict[str, Any]) -> Term:
    return Term(id=raw["id"], label=dict(raw["label"]), description=dict(raw.get("description", {})),
                code_prefix=raw.get("code_prefix"))


@cache
def vocabularies() -> Vocabularies:
    """Load the vocabularies once."""
    raw = json.loads((resources.files("core") / "data" / "vocabularies.json").read_text(encoding="utf-8"))
    return Vocabularies({field: {t["id"]: _term(t) for t in raw[field]} for field in FIELDS})
