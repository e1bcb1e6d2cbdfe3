"""The links between queue ids that pass 1 of :mod:`analyzer.narrow` holds when only their
closure is wanted (``trace``, and every reader of :func:`analyzer.narrow.collect_matching` or
:func:`analyzer.narrow.collect_store_matching`): each batch's distinct links kept as they come,
never merged into one sorted set.

A log names most links once (an Exim delivery's "queued as" id at the next hop, a Postfix
content filter's re-injection): a 10M-line Exim day holds ~480k of them, 16 bytes each, nearly all
distinct. Merging them into sorted runs (:class:`analyzer.narrow_sets._Sorted`, which ``search``
still needs for its components) copied each link again and again, a few MiB of transient copies at
a time, which the C heap kept: the main process's peak grew ~17 MiB from 1M to 10M lines beside
the ~7 MiB the links themselves take. The closure of a few keys over the batches' links
(:func:`closure`) needs no sorted set: each round tests every link's two ends against the keys
found so far (a binary search in those few keys).
"""

from __future__ import annotations

import numpy as np

from .narrow_sets import _member

__all__ = ["LinkRuns", "closure"]


def _distinct_pairs(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of an (n, 2) array of uint64 as its two columns, each contiguous."""
    v = np.ascontiguousarray(pairs, dtype=np.uint64).view(np.dtype((np.void, 16))).ravel()
    u = np.unique(v).view(np.uint64).reshape(-1, 2)
    return np.ascontiguousarray(u[:, 0]), np.ascontiguousarray(u[:, 1])


class LinkRuns:
    """Links (pairs of keys) added a batch at a time, each batch's distinct pairs kept as two
    arrays (its ends); a pair seen in two batches is held twice (a message's links seldom span
    batches)."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(a) for a, _ in self.runs)

    def add(self, pairs: np.ndarray) -> None:
        if len(pairs):
            self.runs.append(_distinct_pairs(pairs))


def closure(keys: np.ndarray, links: LinkRuns) -> np.ndarray:
    """``keys`` and every key linked to them through ``links``, transitively; sorted, distinct
    (what :func:`analyzer.narrow._closure` gives of the same links as one array). Each round
    adds the far ends of the links with one end in the set (hop chains are short)."""
    keys = np.unique(np.asarray(keys, dtype=np.uint64))
    while len(keys) and links.runs:
        found = []
        for a, b in links.runs:
            in_a, in_b = _member(a, keys), _member(b, keys)
            found.append(a[in_b & ~in_a])
            found.append(b[in_a & ~in_b])
        new = np.setdiff1d(np.concatenate(found), keys)
        if not len(new):
            break
        keys = np.union1d(keys, new)
    return keys
