"""Exact counts per client (or network) and time step for the abuse detectors, on integer codes.

The detectors of :mod:`.abuse`, :mod:`.longwindow` and :mod:`.delivery` (rejects per client)
count the inbound rejects and authentication failures per (client, bucket), per (client, day)
and over the span, some as distinct recipients. Done with pandas, each took a copy of the
lines' columns (client address, recipient, user name, file ... as strings), added bucket
columns, and grouped them. Here the same counts come from one integer code per line and key:
the distinct (key, step, value) triples are found by one ``lexsort`` of int64 arrays (nulls
left out, as ``nunique`` leaves them out). Only the few flagged entities' lines are then taken
from the table, in their order, for the finding (evidence, cause, user names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .aggregates import _seconds_ns
from .arrow_columns import _one_array

DAY_NS = 86_400 * 1_000_000_000


def codes_of(s: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column (-1 for null) and its distinct values as Python objects (sorted
    as strings when ``sort``: the order a group-by gives its keys)."""
    codes, uniq = pd.factorize(s, sort=sort, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniq, dtype=object)


def value_codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column (-1 for null), equal codes for equal values, without a Python
    object per distinct value (recipients are many: a dictionary attack's are all distinct)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64)
    data = getattr(s.array, "_pa_array", None)
    if data is None:
        return pd.factorize(s, use_na_sentinel=True)[0].astype(np.int64, copy=False)
    enc = pc.dictionary_encode(_one_array(data))
    return pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def times_ns(ts: pd.Series) -> np.ndarray:
    """Each time as int64 nanoseconds since the epoch (UTC)."""
    return _seconds_ns(ts)[1]


def step_of(ns: np.ndarray, step_ns: int) -> np.ndarray:
    """The start (ns) of each time's step (``dt.floor`` of a UTC time by ``step_ns``)."""
    return (ns // step_ns) * step_ns


def per_key(keys: list[np.ndarray], distinct: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct key tuples (``keys``: int64 arrays of one length, sorted as a tuple) and per
    tuple the number of lines, or with ``distinct`` (codes, -1 null) the number of distinct
    non-null values (0 when every value is null, as ``nunique`` gives)."""
    n = len(keys[0])
    if n == 0:
        return [k[:0] for k in keys], np.zeros(0, dtype=np.int64)
    cols = keys if distinct is None else [*keys, distinct]
    order = np.lexsort(cols[::-1])
    srt = [c[order] for c in cols]
    new_key = np.zeros(n, dtype=bool)
    new_key[0] = True
    for k in srt[:len(keys)]:
        new_key[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new_key)
    uniq = [k[starts] for k in srt[:len(keys)]]
    if distinct is None:
        return uniq, np.diff(np.r_[starts, n])
    d = srt[-1]
    first_value = new_key.copy()
    first_value[1:] |= d[1:] != d[:-1]
    counted = (first_value & (d >= 0)).astype(np.int64)
    return uniq, np.add.reduceat(counted, starts)


def runs(steps: np.ndarray, step_ns: int) -> list[np.ndarray]:
    """Sorted step starts (ns) grouped into runs of consecutive steps (:func:`.baseline._runs`)."""
    steps = np.sort(np.asarray(steps, dtype=np.int64))
    if not len(steps):
        return []
    cut = np.flatnonzero(np.diff(steps) > step_ns) + 1
    return np.split(steps, cut)


def by_name(names: np.ndarray, wanted: np.ndarray) -> list[int]:
    """The distinct codes of ``wanted``, sorted by their names (the order a group-by gives its keys)."""
    return sorted((int(c) for c in np.unique(np.asarray(wanted, dtype=np.int64))), key=lambda c: str(names[c]))


@dataclass
class Lines:
    """Some lines of a table (positions ``pos``, in table order) with their key codes and times."""

    pos: np.ndarray
    ns: np.ndarray

    @classmethod
    def of(cls, df: pd.DataFrame, mask: np.ndarray) -> Lines:
        pos = np.flatnonzero(mask)
        return cls(pos, times_ns(df["ts"].iloc[pos]) if len(pos) else np.zeros(0, dtype=np.int64))

    def codes(self, df: pd.DataFrame, col: str, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The codes of column ``col`` at these lines (-1 null) and its values."""
        if col not in df.columns:
            return np.full(len(self.pos), -1, dtype=np.int64), np.zeros(0, dtype=object)
        return codes_of(df[col].iloc[self.pos], sort=sort)

    def values(self, df: pd.DataFrame, col: str, sel: np.ndarray | None = None) -> np.ndarray:
        """:func:`value_codes` of column ``col`` at these lines (or at those of them ``sel``)."""
        pos = self.pos if sel is None else self.pos[sel]
        if col not in df.columns:
            return np.full(len(pos), -1, dtype=np.int64)
        return value_codes(df[col].iloc[pos])

    def rows(self, df: pd.DataFrame, sel: np.ndarray, cols: list[str]) -> pd.DataFrame:
        """The table's ``cols`` at the lines selected (a mask over these lines), in table order."""
        return df.iloc[self.pos[sel]][[c for c in cols if c in df.columns]]
