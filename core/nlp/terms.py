"""Look up weighted words, stems ("track*") and phrases in a token list; shared by label, category and abuse."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.nlp.text import words

Entries = Mapping[str, float] | Iterable[str]
MEMO_LIMIT = 50_000


@dataclass(frozen=True)
class Hit:
    """A lexicon entry of `group` found at tokens[start:end]."""

    start: int
    end: int
    term: str
    weight: float
    group: str = ""


@dataclass
class TermMatcher:
    """Greedy longest-match lookup of exact words, phrases and word stems; case- and accent-insensitive.

    One matcher can hold several groups (the categories): a span matches every group that lists the
    longest entry found there, in a single pass over the tokens.
    """

    exact: dict[tuple[str, ...], list[tuple[str, str, float]]] = field(default_factory=dict)
    prefixes: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)
    phrase_starts: set[str] = field(default_factory=set)
    longest: int = 1
    prefix_lengths: tuple[int, ...] = ()
    # Single-word lookups (exact, then the longest stem) remembered per token: residents' words repeat a lot.
    _memo: dict[str, list[tuple[str, str, float]] | None] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Entries) -> TermMatcher:
        """Compile entries ("word", "some phrase", "stem*") with their weights (1.0 for a plain list)."""
        return cls.build_groups({"": entries})

    @classmethod
    def build_groups(cls, groups: Mapping[str, Entries]) -> TermMatcher:
        """Compile several named groups of entries into one matcher."""
        matcher = cls()
        for group, entries in groups.items():
            weighted = dict(entries) if isinstance(entries, Mapping) else dict.fromkeys(entries, 1.0)
            for term, weight in weighted.items():
                matcher._add(group, term, float(weight))
        matcher.prefix_lengths = tuple(sorted({len(p) for p in matcher.prefixes}, reverse=True))
        return matcher

    def _add(self, group: str, term: str, weight: float) -> None:
        if term.endswith("*"):
            stem_words = words(term[:-1])
            if len(stem_words) != 1:
                raise ValueError(f"a stem must be one word: {term!r}")
            self.prefixes.setdefault(stem_words[0], []).append((group, term, weight))
            return
        key = tuple(words(term))
        if not key:
            raise ValueError(f"an entry without a word: {term!r}")
        self.exact.setdefault(key, []).append((group, term, weight))
        if len(key) > 1:
            self.phrase_starts.add(key[0])
            self.longest = max(self.longest, len(key))

    def _word(self, token: str) -> list[tuple[str, str, float]] | None:
        entries = self.exact.get((token,))
        if entries is None:
            for length in self.prefix_lengths:
                if len(token) >= length and (entries := self.prefixes.get(token[:length])) is not None:
                    break
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[token] = entries
        return entries

    def hits(self, tokens: list[str]) -> list[Hit]:
        """Return the entries found in tokens; at each position the longest phrase wins and its words are used up."""
        found: list[Hit] = []
        i, n = 0, len(tokens)
        exact, memo = self.exact, self._memo
        while i < n:
            token = tokens[i]
            size = 1
            entries = None
            if token in self.phrase_starts:
                for size in range(min(self.longest, n - i), 1, -1):
                    entries = exact.get(tuple(tokens[i : i + size]))
                    if entries is not None:
                        break
                else:
                    size = 1
            if entries is None:
                entries = memo[token] if token in memo else self._word(token)
            if entries is not None:
                found.extend(Hit(i, i + size, term, weight, group) for group, term, weight in entries)
            i += size
        return found
