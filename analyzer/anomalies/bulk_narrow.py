"""A Bulk's table of folded seconds held narrow (the weekly's week of them), and read whole.

The weekly report folds a week's traffic lines into one row per second, file, host and kind
(:mod:`analyzer.weekly.events`: ~1.7M rows at 7x3M lines, 40 bytes a row of times and line
numbers as the nightly report's :class:`~analyzer.anomalies.aggregates.Bulk` holds them). It
holds them narrow when they fit (:func:`narrow_times`, 18 bytes):

* ``sec`` as int32 (whole seconds since the epoch: every second from 1901 to 2038 fits);
* the first and last time as int32 nanoseconds within the row's second, ``ts_min_sub`` and
  ``ts_max_sub``, in place of ``ts_min``/``ts_max`` (nanoseconds since the epoch);
* ``last_line`` as float32 (line numbers of magnitude below 2**24 are exact in it);
* in place of ``last_order`` (the order key of the last line, :func:`order_key`: that line's
  microseconds within its second, the rank of its (host, source) pair, its line number), only the
  rank, ``last_pair`` (int16): the key is made again from the row where it is read.

The readers of a Bulk's times and order keys go through :func:`ns` and :func:`last_orders`,
which read both forms; a column renamed, not retyped, so a reader that reads the whole form
from a narrow table fails loudly rather than reading offsets as times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LINE_MAX", "PAIR_COLUMN", "PAIR_MAX", "SUB", "extreme_ns", "last_orders", "narrow_times", "ns", "order_columns", "order_key",
           "row_orders", "widen_times"]

# the canonical order key of a line within its second: microseconds, (host, source) rank, line number
_US_SHIFT, _PAIR_SHIFT = 43, 30
PAIR_MAX, LINE_MAX = (1 << 13) - 1, (1 << 30) - 1
_NS = 1_000_000_000
#: The narrow column of each whole time column.
SUB = {"ts_min": "ts_min_sub", "ts_max": "ts_max_sub"}
_LINE_EXACT = 1 << 24  # float32 holds every integer of smaller magnitude


def order_key(us: np.ndarray, pair: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Where each line falls among the lines of its second (one int64): its microseconds within
    the second (``us`` mod 10**6), its (host, source) rank ``pair`` (at most :data:`PAIR_MAX`), its
    line number (clipped to ``[0, LINE_MAX]``)."""
    us, pair, line = (np.asarray(x, dtype=np.int64) for x in (us, pair, line))
    return (np.mod(us, 10**6) << _US_SHIFT) | (pair << _PAIR_SHIFT) | np.clip(line, 0, LINE_MAX)


def _at(v: np.ndarray, rows: Any) -> np.ndarray:
    return v if rows is None else v[rows]


def ns(t: pd.DataFrame, which: str, rows: Any = None) -> np.ndarray:
    """Column ``which`` (``ts_min`` or ``ts_max``) of a Bulk's table as int64 nanoseconds, of
    ``rows`` (a mask or positions; all rows when None), whichever form the table holds."""
    if which in t.columns:
        return _at(t[which].to_numpy(), rows).astype(np.int64, copy=False)
    return _at(t["sec"].to_numpy(), rows).astype(np.int64) * _NS + _at(t[SUB[which]].to_numpy(), rows)


def extreme_ns(t: pd.DataFrame, which: str, rows: Any = None, *, largest: bool = False) -> int:
    """The least (``largest``: the greatest) of column ``which`` (int64 nanoseconds) over ``rows``
    of a Bulk's table (at least one), whichever form it holds; of a narrow one without making the
    times whole: a time within its second orders as its second, then as its offset in it."""
    if which in t.columns:
        v = _at(t[which].to_numpy(), rows)
        return int(v.max() if largest else v.min())
    sec, sub = _at(t["sec"].to_numpy(), rows), _at(t[SUB[which]].to_numpy(), rows)
    s = int(sec.max() if largest else sec.min())
    at = sub[sec == s]
    return s * _NS + int(at.max() if largest else at.min())


def last_orders(t: pd.DataFrame, rows: Any = None) -> np.ndarray:
    """The ``last_order`` of ``rows`` of a Bulk's table (int64), whichever form the table holds."""
    if "last_order" in t.columns:
        return _at(t["last_order"].to_numpy(), rows).astype(np.int64, copy=False)
    us = _at(t[SUB["ts_max"]].to_numpy(), rows).astype(np.int64) // 1000
    line = np.nan_to_num(_at(t["last_line"].to_numpy(), rows), nan=0).astype(np.int64)
    return order_key(us, _at(t["last_pair"].to_numpy(), rows), line)


def _fits(t: pd.DataFrame) -> bool:
    """Whether the times and line numbers of a whole table fit :func:`narrow_times`."""
    sec = t["sec"].to_numpy()
    if sec.dtype.kind != "i" or not len(sec):
        return False
    if int(sec.min()) <= -(1 << 31) or int(sec.max()) >= 1 << 31:  # (the null second too)
        return False
    lo = sec.astype(np.int64) * _NS
    for c in SUB:
        v = t[c].to_numpy()
        if v.dtype.kind != "i" or not bool(((v >= lo) & (v < lo + _NS)).all()):
            return False
    line = t["last_line"].to_numpy()
    known = line[~np.isnan(line)]
    return not len(known) or bool((np.abs(known) < _LINE_EXACT).all() and (known == np.floor(known)).all())


def narrow_times(t: pd.DataFrame, pair: np.ndarray) -> pd.DataFrame | None:
    """A whole table (``sec``, ``ts_min``, ``ts_max``, ``last_line``; ``pair``: the rank of each
    row's last line's pair, whose ``last_order`` is :func:`order_key` of it, ``ts_max`` and
    ``last_line``) in the narrow form, its other columns as they are; None when it does not fit."""
    if not _fits(t):
        return None
    lo = t["sec"].to_numpy().astype(np.int64) * _NS
    made = {"sec": lambda: ("sec", t["sec"].to_numpy().astype(np.int32)),
            "last_order": lambda: ("last_pair", np.asarray(pair).astype(np.int16)),
            "last_line": lambda: ("last_line", t["last_line"].to_numpy().astype(np.float32))}
    for whole, sub in SUB.items():
        made[whole] = lambda whole=whole, sub=sub: (sub, (t[whole].to_numpy() - lo).astype(np.int32))
    return _replaced(t, made)


def widen_times(t: pd.DataFrame) -> pd.DataFrame:
    """A table in the whole form (a narrow one made whole; a whole one as it is), the columns in
    the narrow ones' places."""
    if "last_order" in t.columns:
        return t
    made = {"sec": lambda: ("sec", t["sec"].to_numpy().astype(np.int64)),
            "last_pair": lambda: ("last_order", last_orders(t)),
            "last_line": lambda: ("last_line", t["last_line"].to_numpy().astype(np.float64))}
    for whole, sub in SUB.items():
        made[sub] = lambda whole=whole: (whole, ns(t, whole))
    return _replaced(t, made)


def _replaced(t: pd.DataFrame, made: dict[str, Any]) -> pd.DataFrame:
    """``t``'s columns in their order, each one of ``made`` replaced by what its function gives (a
    name and values), made as it is reached; ``t``'s ``attrs`` kept."""
    out: dict[str, Any] = {}
    for c in t.columns:
        name, values = made[c]() if c in made else (c, t[c])
        out[name] = values
    frame = pd.DataFrame(out, copy=False)
    frame.attrs.update(t.attrs)
    return frame


#: The kept rows' narrow stand-in for their order key (``ORDER_COLUMN``, int64): the rank of the
#: row's (host, source) pair (int16), the key made again from it, the row's time and line number.
PAIR_COLUMN = "_pair"


def order_columns(df: pd.DataFrame) -> list[str]:
    """The column of ``df`` its rows' order keys are read from (:func:`row_orders`), if any."""
    from .aggregates import ORDER_COLUMN

    return [c for c in (ORDER_COLUMN, PAIR_COLUMN) if c in df.columns][:1]


def row_orders(rows: pd.DataFrame) -> np.ndarray | None:
    """The order key of each of ``rows`` (int64): their ``ORDER_COLUMN``, or made from their
    :data:`PAIR_COLUMN`, ``ts`` (its integer, in its unit) and ``line_no`` as the weekly made it
    (:func:`order_key`); None when the rows have neither."""
    from .aggregates import ORDER_COLUMN

    if ORDER_COLUMN in rows.columns:
        return rows[ORDER_COLUMN].to_numpy(dtype=np.int64, na_value=0)
    if PAIR_COLUMN not in rows.columns:
        return None
    us = rows["ts"].astype("int64[pyarrow]").to_numpy(dtype=np.int64, na_value=0)
    return order_key(us, rows[PAIR_COLUMN].to_numpy(dtype=np.int64, na_value=0),
                     rows["line_no"].to_numpy(dtype=np.int64, na_value=0))
