"""Complementary cell suppression, shared by public concern statistics and public campaign results."""

from __future__ import annotations


def hide(counts: list[int], minimum: int, also: frozenset[int] = frozenset()) -> list[int | None]:
    """Complementary suppression of one partition: hide every cell below `minimum` (zeros may show), then hide
    the smallest shown cells until at least two cells, together at least `minimum`, are hidden (or no
    non-empty cell is left), so the partition's total minus the shown cells reveals no small cell.

    `also`: indexes of non-empty cells to hide whatever their size, with their complement: a cell that two
    partitions share (their "no answer") must be hidden in both or in neither."""
    hidden = {i for i, c in enumerate(counts) if 0 < c < minimum or (i in also and c > 0)}
    if hidden:
        # Zeros add nothing to the hidden total, so the cells hidden next are the smallest non-empty ones.
        shown = sorted((c, i) for i, c in enumerate(counts) if i not in hidden and c > 0)
        while shown and (len(hidden) < 2 or sum(counts[i] for i in hidden) < minimum):
            hidden.add(shown.pop(0)[1])
    return [None if i in hidden else c for i, c in enumerate(counts)]
