"""Look up weighted words, stems ("track*") and phrases in a token list; shared by label, category and abuse."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.nlp.text import words


@dataclass(frozen=True)
class Hit:
    """A lexicon entry found at tokens[start:end]."""

    start: int
    end: int
    term: str
    weight: float


@dataclass
class TermMatcher:
    """Greedy longest-match lookup of exact words, phrases and word stems; case- and accent-insensitive."""

    exact: dict[tuple[str, ...], tuple[str, float]] = field(default_factory=dict)
    prefixes: dict[str, tuple[str, float]] = field(default_factory=dict)
    phrase_starts: set[str] = field(default_factory=set)
    longest: int = 1
    prefix_lengths: tuple[int, ...] = ()

    @classmethod
    def build(cls, entries: Mapping[str, float] | Iterable[str]) -> TermMatcher:
        """Compile entries ("word", "some phrase", "stem*") with their weights (1.0 for a plain list)."""
        weighted = dict(entries) if isinstance(entries, Mapping) else dict.fromkeys(entries, 1.0)
        matcher = cls()
        for term, weight in weighted.items():
            if term.endswith("*"):
                stem_words = words(term[:-1])
                if len(stem_words) > 1:
                    raise ValueError(f"a stem must be one word: {term!r}")
                stem = "".join(stem_words)
                if stem:
                    matcher.prefixes[stem] = (term, float(weight))
                continue
            key = tuple(words(term))
            if not key:
                continue
            matcher.exact[key] = (term, float(weight))
            if len(key) > 1:
                matcher.phrase_starts.add(key[0])
                matcher.longest = max(matcher.longest, len(key))
        matcher.prefix_lengths = tuple(sorted({len(p) for p in matcher.prefixes}, reverse=True))
        return matcher

    def hits(self, tokens: list[str]) -> list[Hit]:
        """Return the non-overlapping entries found in tokens, longest phrase first at each position."""
        found: list[Hit] = []
        i, n = 0, len(tokens)
        exact, prefixes = self.exact, self.prefixes
        while i < n:
            token = tokens[i]
            if token in self.phrase_starts:
                for size in range(min(self.longest, n - i), 1, -1):
                    entry = exact.get(tuple(tokens[i : i + size]))
                    if entry is not None:
                        found.append(Hit(i, i + size, entry[0], entry[1]))
                        i += size
                        break
                else:
                    entry = None
                if entry is not None:
                    continue
            entry = exact.get((token,))
            if entry is None:
                for length in self.prefix_lengths:
                    if len(token) >= length and (entry := prefixes.get(token[:length])) is not None:
                        break
            if entry is not None:
                found.append(Hit(i, i + 1, entry[0], entry[1]))
            i += 1
        return found
