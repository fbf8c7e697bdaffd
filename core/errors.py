"""Expected failures of the domain, translated to HTTP or chat replies at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the caller can explain to the user."""

    code = "invalid"

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Invalid(DomainError):
    code = "invalid"


class EmptyText(Invalid):
    code = "empty"


class TooLong(Invalid):
    code = "too_long"


class NoContent(Invalid):
    """Text without a single letter or digit (emoji only, punctuation only)."""

    code = "no_content"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class Conflict(DomainError):
    code = "conflict"


class RateLimited(DomainError):
    code = "rate_limited"


class LimitReached(DomainError):
    """A bounded collection is full (e.g. a resident's follows): remove something before adding."""

    code = "limit_reached"


class ConfigurationError(Exception):
    """Settings that make it unsafe or impossible to start: one line per problem, naming the variable."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
