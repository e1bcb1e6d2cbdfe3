"""Sums per (key, time bucket) on integer codes for the delivery and health detectors.

The failure-spike, cause-spike, concentration and session-end detectors count lines (or weights)
per (destination, provider or cause, bucket) and per bucket. Done with pandas, each took a copy
of the lines' columns with a bucket column (``dt.floor``: a new Arrow array, read back through
Python objects where the folded lines' buckets joined it) and grouped them on two keys. Here a
line is a key code and a bucket start (int64 nanoseconds, UTC) and the sums come from one sort
of the packed pairs and ``bincount``; the keys keep the order a group-by gives them (a
Categorical's category order, else sorted values), so the detectors meet their candidates, and
report their findings, in the same order as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .aggregates import _seconds_ns
from .client_counts import step_of, times_at

#: Time zones whose wall time is UTC's: a bucket is their times' integer floor.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "utc", "+00:00", "Z", "GMT", "Etc/GMT"})


def _floors_in_utc(dtype: object) -> bool:
    """Whether ``dt.floor`` of a column of ``dtype`` is the floor of its UTC nanoseconds (its
    wall time is UTC's, or it has no zone): pandas floors a zoned time on its wall time."""
    tz = getattr(dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else dtype, "tz", None)
    return tz is None or str(tz) in _UTC_NAMES


def floor_ns(ts: pd.Series, pos: np.ndarray, step: int) -> np.ndarray:
    """The bucket (start, int64 ns since the epoch, UTC) of the times ``ts`` at ``pos`` for
    buckets of ``step`` ns: ``ts.dt.floor`` of them, as integers. Times must be known."""
    if _floors_in_utc(ts.dtype):
        return step_of(times_at(ts, pos), step)
    return _seconds_ns(ts.iloc[pos].dt.floor(pd.Timedelta(step, unit="ns")))[1]


def group_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a key column (-1 null) and its names, the codes in the order a group-by
    sorts the keys: a Categorical's category order, else the values sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), np.asarray(s.cat.categories, dtype=object)
    codes, uniq = pd.factorize(s, sort=True, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniq, dtype=object)


def pair_sums(key: np.ndarray, bucket: np.ndarray, step: int, weights: list[np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The distinct (key, bucket) pairs of the lines with a key (``key`` >= 0; ``bucket``: starts
    of ``step`` ns), sorted by key code then bucket, and per pair the sum of each of ``weights``
    (int64). Where the pairs that can be are few against the lines (keys x buckets: a few causes
    over a week's hours), summed per pair number a slice of lines at a time (``bincount``): no
    sort, nor whole-length temporaries, of the lines' pairs."""
    dense = _dense_pair_sums(key, bucket, step, weights)
    if dense is not None:
        return dense
    has = key >= 0
    if not has.all():
        key, bucket, weights = key[has], bucket[has], [w[has] for w in weights]
    if not len(key):
        return key, bucket, [np.zeros(0, np.int64) for _ in weights]
    lo = int(bucket.min())
    at = (bucket - lo) // step
    span = int(at.max()) + 1
    uniq, inv = np.unique(key * span + at, return_inverse=True)
    sums = [np.bincount(inv, weights=w, minlength=len(uniq)).astype(np.int64) for w in weights]
    return uniq // span, (uniq % span) * step + lo, sums


#: Lines summed a slice at a time by :func:`_dense_pair_sums`.
_SLICE = 1 << 16


def _dense_pair_sums(key: np.ndarray, bucket: np.ndarray, step: int, weights: list[np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None:
    """:func:`pair_sums` by counts per pair number (``key * span + bucket number``) where there
    are at most about as many pair numbers as lines, else None. The same pairs (those with a
    line), in the same order (pair numbers ascending: by key, then bucket), the same sums (each
    a float sum of integers, exact below 2**53, as ``np.unique`` + ``bincount`` gave them)."""
    n = len(key)
    if n < _SLICE:
        return None
    has = key >= 0
    if not has.any():
        return None
    top = np.iinfo(np.int64).max
    lo = int(bucket.min(where=has, initial=top))
    hi = int(bucket.max(where=has, initial=-top - 1))
    span = (hi - lo) // step + 1
    size = (int(key.max()) + 1) * span
    if size > 2 * n + (1 << 20):
        return None
    counts = np.zeros(size, dtype=np.int64)
    sums = [np.zeros(size, dtype=np.float64) for _ in weights]
    for i in range(0, n, _SLICE):
        s = slice(i, min(i + _SLICE, n))
        keep = has[s]
        pair = key[s][keep].astype(np.int64) * span
        pair += (bucket[s][keep] - lo) // step
        counts += np.bincount(pair, minlength=size)
        for total, w in zip(sums, weights, strict=True):
            total += np.bincount(pair, weights=w[s][keep], minlength=size)
    present = np.flatnonzero(counts)
    return present // span, (present % span) * step + lo, [t[present].astype(np.int64) for t in sums]


def bucket_sums(bucket: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct buckets (sorted) and per bucket the sum of each of ``weights`` (int64)."""
    uniq, inv = np.unique(bucket, return_inverse=True)
    return uniq, [np.bincount(inv, weights=w, minlength=len(uniq)).astype(np.int64) for w in weights]
