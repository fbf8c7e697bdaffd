"""Text that staff type or import: what it may not hold (residents' own text is cleaned by core.nlp.text)."""

from __future__ import annotations

import re

# Category Cc (U+0000-U+001F, U+007F-U+009F) except tab, line feed and carriage return.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_problem(text: str) -> str | None:
    """Why the text cannot be kept as it is, or None.

    Residents' text is cleaned silently; a staff client or a register file that sends a bell or a terminal
    escape is told, so what residents and exports show later is what was sent.
    """
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters are not accepted"
    return f"control characters are not accepted (U+{ord(found.group()):04X} at position {found.start() + 1})"


# A spreadsheet runs a cell that starts like a formula: what people wrote must never execute when a CSV export
# is opened. Such a cell gets a leading apostrophe (OWASP's advice), which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The value as a CSV cell a spreadsheet shows as text; `from_spreadsheet` undoes it exactly.

    A value that already starts with apostrophes before a formula character gets one more, so reading it
    back gives the value as it was.
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def from_spreadsheet(value: str) -> str:
    """Undo `spreadsheet_safe` on a cell read back from a CSV export."""
    return value[1:] if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS) else value
