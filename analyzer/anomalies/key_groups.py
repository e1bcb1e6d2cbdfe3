"""Rows grouped by some integer key columns: the sort of the report's per-key folds.

The folds of the report (:class:`~.aggregates.BulkFold`, :class:`analyzer.report.ends_fold.EndsFold`,
:class:`analyzer.report.sent_fold.SentFold`) sum their lines per key (a second or step, a file, a
host, a reply class, codes) at every batch and again when they join their pieces. ``np.lexsort``
of five or six key columns was the largest step of the Bulk's fold (it sorts by each key in turn);
the keys of a batch fit one 64-bit integer (a day's seconds 17 bits, the codes a few bits each), so
:func:`sorted_groups` packs them into one, with each row's place in its low bits, and sorts those
integers once: the same order (ties in input order), for a fraction of the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["sorted_groups"]

_MIN = np.iinfo(np.int64).min  # a missing second (the Bulk's lines without a time) sorts first
#: Up to this many rows (a batch's) the row's number is packed with the keys and the integers sorted;
#: more (the pieces of many batches, joined: each sorted already) are sorted by a stable argsort,
#: which merges their runs (and makes no row numbers beside them: a mapping faulted in, at that size)
_EMBED_ROWS = 1 << 15


def sorted_groups(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(``idx``, ``starts``): the order that sorts the rows by ``keys`` (the first the major one,
    ties in input order: as ``np.lexsort`` of the keys reversed) and where each run of equal keys
    starts in it. The keys are integer arrays of one length (at least one row)."""
    n = len(keys[0])
    packed = _packed(keys, n, embed=n <= _EMBED_ROWS)
    new = np.zeros(n, dtype=bool)
    new[0] = True
    if packed is None:  # (the keys' ranges do not fit 63 bits together)
        idx = np.lexsort(list(reversed(keys)))
        for k in keys:
            ks = k[idx]
            new[1:] |= ks[1:] != ks[:-1]
        return idx, np.flatnonzero(new)
    if n > _EMBED_ROWS:  # (pieces joined: runs sorted already, which a stable sort merges)
        idx = np.argsort(packed, kind="stable")
        packed = packed[idx]
    else:
        packed.sort()
        shift = _bits(n - 1)
        idx = packed & ((1 << shift) - 1)
        packed >>= shift
    new[1:] = packed[1:] != packed[:-1]
    return idx, np.flatnonzero(new)


def _bits(span: int) -> int:
    return int(span).bit_length()


def _packed(keys: Sequence[np.ndarray], n: int, embed: bool = True) -> np.ndarray | None:
    """The keys as one int64 per row, each key shifted to start at 0 (``_MIN``, a missing value,
    below all the others) and given the bits its range needs, the major key highest, the row's
    number in the lowest bits (``embed``); None when they need more than 63 bits. Made in one array, in place
    (each temporary of a few hundred thousand rows is a mapping of its own, faulted in page by
    page, once the report maps large blocks apart)."""
    shift = _bits(n - 1) if embed else 0
    spans: list[tuple[int, int, bool]] = []  # per key: the value that becomes 0 (or 1), the bits, a missing value in it
    used = shift
    for k in keys:
        if k.dtype.kind not in "iub" or (k.dtype.kind == "u" and int(k.max()) >= 1 << 63):
            return None
        lo, hi = int(k.min()), int(k.max())
        missing = lo == _MIN and hi != lo
        if missing:  # a missing second: 0, the others from 1 on
            lo = int(k[k != _MIN].min()) - 1
        used += _bits(hi - lo)
        if used > 63:
            return None
        spans.append((lo, _bits(hi - lo), missing))
    acc = np.zeros(n, dtype=np.int64)
    for k, (lo, width, missing) in zip(keys, spans, strict=True):
        acc <<= width
        np.add(acc, k, out=acc, dtype=np.int64, casting="unsafe")  # (the low bits are 0: adding is or-ing)
        if lo:
            acc -= lo
        if missing:  # (wrapped around: taken back the same way, the key's bits 0)
            at = k == _MIN
            acc[at] -= k[at] - lo
    if embed:
        acc <<= shift
        acc |= np.arange(n, dtype=np.int64)
    return acc


def group_sums(cols: Sequence[np.ndarray], idx: np.ndarray, starts: np.ndarray) -> list[np.ndarray]:
    """``np.add.reduceat(c[idx], starts)`` of each column ``c`` (the same dtype too); the columns of
    counts (integers, none negative) added together when all fit one int64 side by side, each
    given the bits of its whole sum (no group's sum is larger): gathered and summed as one (a
    batch's counts: the gather of the rows in key order, a random read, cost more than the sums).
    Where they do not fit (many batches' counts joined) each is summed apart: two words gathered
    and split again cost more than the columns apart (measured on the 1M days' chunks)."""
    out: list[np.ndarray | None] = [None] * len(cols)
    words: list[list[tuple[int, int, int]]] = [[]]
    used = 0
    for i, c in enumerate(cols):
        width = _bits(int(c.sum(dtype=np.int64))) if c.dtype.kind in "iub" and len(c) and int(c.min()) >= 0 else 64
        if width > 62:
            out[i] = np.add.reduceat(c[idx], starts)
            continue
        if used + width > 63:  # (two words gathered cost more than the columns apart: those summed apart)
            words.append([])
            used = 0
        words[-1].append((i, used, width))
        used += width
    if len(words) > 1:
        words = [[w] for word in words for w in word]
    for word in words:
        if len(word) == 1:
            i = word[0][0]
            out[i] = np.add.reduceat(cols[i][idx], starts)
        elif word:
            acc = np.zeros(len(idx), dtype=np.int64)
            above = None
            for i, shift, _ in reversed(word):  # the highest first, shifted up as the next comes (in place)
                if above is not None:
                    acc <<= above - shift
                np.add(acc, cols[i], out=acc, dtype=np.int64, casting="unsafe")
                above = shift
            summed = np.add.reduceat(acc[idx], starts)
            for i, shift, width in word:
                # (the dtype reduceat gives: numpy sums small integers as int64)
                dtype = np.add.reduceat(cols[i][:1], [0]).dtype
                got = summed >> shift
                got &= (1 << width) - 1
                out[i] = got.astype(dtype, copy=False)
    return out  # type: ignore[return-value]
