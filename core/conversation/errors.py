"""Domain errors as the resident reads them."""

from __future__ import annotations

from core.conversation.base import Turn
from core.errors import DomainError, EmptyText, NoContent, NotFound, RateLimited, TooLong


def explain(turn: Turn, exc: DomainError) -> None:
    """Tell the resident, in their language, why their message could not be used."""
    if isinstance(exc, TooLong):
        turn.say("error-too-long", length=int(str(exc.details.get("length", 0))),
                 limit=int(str(exc.details.get("limit", 0))))
    elif isinstance(exc, EmptyText):
        turn.say("error-empty")
    elif isinstance(exc, NoContent):
        turn.say("error-no-content")
    elif isinstance(exc, RateLimited):
        turn.say("error-rate-limited", limit=int(str(exc.details.get("limit", 0))))
    elif isinstance(exc, NotFound):
        turn.say("error-not-found")
    else:
        turn.say("error-invalid")
