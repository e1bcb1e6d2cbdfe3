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


def sorted_groups(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(``idx``, ``starts``): the order that sorts the rows by ``keys`` (the first the major one,
    ties in input order: as ``np.lexsort`` of the keys reversed) and where each run of equal keys
    starts in it. The keys are integer arrays of one length (at least one row)."""
    n = len(keys[0])
    packed = _packed(keys, n)
    new = np.zeros(n, dtype=bool)
    new[0] = True
    if packed is None:  # (the keys' ranges do not fit 63 bits together)
        idx = np.lexsort(list(reversed(keys)))
        for k in keys:
            ks = k[idx]
            new[1:] |= ks[1:] != ks[:-1]
        return idx, np.flatnonzero(new)
    packed.sort()
    shift = _bits(n - 1)
    idx = packed & ((1 << shift) - 1)
    packed >>= shift
    new[1:] = packed[1:] != packed[:-1]
    return idx, np.flatnonzero(new)


def _bits(span: int) -> int:
    return int(span).bit_length()


def _packed(keys: Sequence[np.ndarray], n: int) -> np.ndarray | None:
    """The keys as one int64 per row, each key shifted to start at 0 (``_MIN``, a missing value,
    below all the others) and given the bits its range needs, the major key highest, the row's
    number in the lowest bits; None when they need more than 63 bits."""
    used = _bits(n - 1)
    acc: np.ndarray | None = None
    for k in keys:
        if k.dtype.kind not in "iub":
            return None
        k = k.astype(np.int64, copy=False) if k.dtype.kind != "u" or k.dtype.itemsize < 8 else k
        if k.dtype.kind == "u":  # (uint64: only when it fits int64)
            if int(k.max()) >= 1 << 63:
                return None
            k = k.astype(np.int64)
        lo, hi = int(k.min()), int(k.max())
        if lo == _MIN and hi != lo:  # a missing second: 0, the others from 1 on
            lo2 = int(k[k != _MIN].min())
            code = k - (lo2 - 1)
            code[k == _MIN] = 0
            span = hi - lo2 + 1
        else:
            code = k - lo
            span = hi - lo
        width = _bits(span)
        used += width
        if used > 63:
            return None
        acc = code if acc is None else (acc << width) | code
    assert acc is not None
    return (acc << _bits(n - 1)) | np.arange(n, dtype=np.int64)


def group_sums(cols: Sequence[np.ndarray], idx: np.ndarray, starts: np.ndarray) -> list[np.ndarray]:
    """``np.add.reduceat(c[idx], starts)`` of each column ``c`` (the same dtype too), the columns of
    counts (integers, none negative) added together: as many as fit one int64 side by side, each
    given the bits of its whole sum (no group's sum is larger), are gathered and summed as one
    (a gather of the rows in key order, a random read, cost more than the sums)."""
    out: list[np.ndarray | None] = [None] * len(cols)
    words: list[list[tuple[int, int, int]]] = [[]]
    used = 0
    for i, c in enumerate(cols):
        width = _bits(int(c.sum(dtype=np.int64))) if c.dtype.kind in "iub" and len(c) and int(c.min()) >= 0 else 64
        if width > 62:
            out[i] = np.add.reduceat(c[idx], starts)
            continue
        if used + width > 63:
            words.append([])
            used = 0
        words[-1].append((i, used, width))
        used += width
    for word in words:
        if len(word) == 1:
            i = word[0][0]
            out[i] = np.add.reduceat(cols[i][idx], starts)
        elif word:
            acc = np.zeros(len(idx), dtype=np.int64)
            for i, shift, _ in word:
                acc |= cols[i].astype(np.int64) << shift
            summed = np.add.reduceat(acc[idx], starts)
            for i, shift, width in word:
                # (the dtype reduceat gives: numpy sums small integers as int64)
                dtype = np.add.reduceat(cols[i][:1], [0]).dtype
                out[i] = ((summed >> shift) & ((1 << width) - 1)).astype(dtype, copy=False)
    return out  # type: ignore[return-value]
