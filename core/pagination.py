"""Opaque keyset cursors for lists."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from core.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ID = 2**31 - 1  # the largest row id both databases store: ids are INTEGER, 32 bits on PostgreSQL


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """Decode a cursor made by encode_cursor, or raise Invalid."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Invalid("invalid cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise Invalid("invalid cursor")
    return values


def cursor_id(value: Any) -> int:
    """A row id taken from a cursor: an integer from 1 to MAX_ID, or raise Invalid like any malformed cursor."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise Invalid("invalid cursor")
    return value


MAX_KEY = 200


def cursor_key(value: Any) -> str:
    """A sort key taken from a cursor (a code or a slug): a string of 1 to MAX_KEY printable characters, or raise
    Invalid like any malformed cursor (a number, null or a list is not one, and PostgreSQL cannot hold a NUL)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY or not value.isprintable():
        raise Invalid("invalid cursor")
    return value


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def newest_first(session: Session, query: Select[T], id_column: Any, *, limit: int,
                 cursor: str | None) -> Page[T]:
    """Run `query` a page at a time, newest (highest id) first, with an opaque cursor after the last id."""
    check_limit(limit)
    if cursor:
        (raw,) = decode_cursor(cursor, 1)
        query = query.where(id_column < cursor_id(raw))
    rows = list(session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(getattr(rows[-1], "id")) if more and rows else None)  # noqa: B009
