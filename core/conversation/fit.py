"""Fitting several pieces of text into one Telegram message, measured as Telegram measures (UTF-16 code units).

`base.visible_length` measures a rendered message; these helpers work on the plain values before they are
escaped and rendered, in the same unit (escaping changes the HTML, not what the resident reads).
"""

from __future__ import annotations

from collections.abc import Sequence

ELLIPSIS = "…"


def units(text: str) -> int:
    """Length of plain text as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def cut_units(text: str, limit: int) -> str:
    """Shorten plain text to at most `limit` UTF-16 units, marking the cut; never splits a character."""
    if units(text) <= limit:
        return text
    if limit <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit - len(ELLIPSIS):
            break
        kept.append(char)
        used += width
    return "".join(kept).rstrip() + ELLIPSIS


def shares(wanted: Sequence[int], total: int) -> list[int]:
    """Split `total` units among pieces that each want some: short pieces take what they need, and what they
    leave is shared evenly among the longer ones (no piece gets more than it wants)."""
    given = [0] * len(wanted)
    left = max(total, 0)
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    for position, i in enumerate(order):
        given[i] = min(max(wanted[i], 0), left // (len(order) - position))
        left -= given[i]
    return given
