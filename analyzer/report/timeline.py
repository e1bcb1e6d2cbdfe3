"""The report's time table: one row per hour, day, week or month, chosen by the span of the window,
and only for the periods that have events (a quiet night or a weekend without mail is no row).

:func:`granularity` picks the period, :func:`timeline` counts, :func:`rows_for_display` gives the
renderers a header and a label per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

#: (longest span, period): the first period whose span limit the window fits in.
SPANS: tuple[tuple[pd.Timedelta, str], ...] = (
    (pd.Timedelta(days=2), "hour"),
    (pd.Timedelta(weeks=8), "day"),
    (pd.Timedelta(weeks=104), "week"),
)
#: Beyond the last span limit (two years: test-suite logs dated over decades).
LONGEST = "month"
#: At most this many rows; the rest is counted in ``omitted`` (a sparse table of the busiest span
#: stays far below it: 48 hours, 56 days, 104 weeks).
MAX_ROWS = 120
HEADERS = {"hour": "hour (UTC)", "day": "day (UTC)", "week": "week from (UTC)", "month": "month (UTC)"}
_LABEL_CHARS = {"hour": 13, "day": 10, "week": 10, "month": 7}


def granularity(first: pd.Timestamp | None, last: pd.Timestamp | None) -> str:
    """The period of the time table for events from ``first`` to ``last``."""
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return "hour"
    span = last - first
    for limit, name in SPANS:
        if span <= limit:
            return name
    return LONGEST


def _period_start(ns: np.ndarray, period: str) -> np.ndarray:
    """The start of each time's period (``ns``: datetime64[ns], UTC)."""
    if period == "hour":
        return ns.astype("datetime64[h]")
    if period == "month":
        return ns.astype("datetime64[M]")
    day = ns.astype("datetime64[D]")
    if period == "day":
        return day
    weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (ISO weekday 3 from Monday 0)
    return day - weekday.astype("timedelta64[D]")


def timeline(ts: pd.Series, kinds: Mapping[str, np.ndarray], *, iso: Any,
             per_message: Mapping[str, tuple[Any, str]] | None = None,
             max_rows: int = MAX_ROWS, more: Sequence[tuple[pd.Series, Mapping[str, np.ndarray]]] = ()) -> dict[str, Any]:
    """Counts of each of ``kinds`` (boolean masks over ``ts``, or counts: a time that stands for
    several lines, as a folded second does) per period, for the periods with at
    least one event: ``{"granularity", "rows": [{"start", **counts}], "omitted"}``.

    ``per_message`` maps a kind to ``(message keys, lines name)``: that kind is counted per
    distinct message in each period (a message deferred 12 times in an hour is one deferred
    message there; a line without a key counts alone), and its line count is kept under the
    lines name (``{"deferred": (queue_ids, "deferrals")}``, as pflogsumm counts). The keys are
    one per time, or one per line of that kind only (in order: the mask's true rows), when the
    mask does not cover every time (no object per other line).

    ``more``: further times, each part with its counts of some of the kinds (0 of the others,
    no per-message keys): the folded seconds beside the rows. The table is that of all the times
    joined, their counts with them; the parts are counted where they lie (not joined into one
    column of times and one of counts per kind: measured +60 MiB in the report's build at 10M
    Exim lines)."""
    parts = [(ts, kinds), *more]
    oks = [t.notna().to_numpy(dtype=bool) for t, _ in parts]
    if not any(ok.any() for ok in oks):
        return {"granularity": "hour", "rows": [], "omitted": 0}
    span = [(t.min(), t.max()) for (t, _), ok in zip(parts, oks, strict=True) if ok.any()]
    period = granularity(min(lo for lo, _ in span), max(hi for _, hi in span))
    # the periods with an event (each part's times with one)
    starts, whiches = _periods([t if ok.all() else t[ok] for (t, _), ok in zip(parts, oks, strict=True)], period)
    counts: dict[str, np.ndarray] = {}
    for (_, ks), ok, which in zip(parts, oks, whiches, strict=True):
        pos = None if ok.all() else np.flatnonzero(ok)  # the rows with a time, when not all have one
        for k, m in ks.items():
            got = _count(which, m if pos is None else np.asarray(m)[pos], len(starts))
            counts[k] = counts[k] + got if k in counts else got
    for k in kinds:  # (the rows' kinds first, in their order, as the joined table had them)
        counts[k] = counts.pop(k)
    which, ok = whiches[0], oks[0]
    pos = None if ok.all() else np.flatnonzero(ok)
    for kind, (keys, lines_name) in (per_message or {}).items():
        counts[lines_name] = counts[kind]
        mask = np.asarray(kinds[kind], dtype=bool)
        mine = np.flatnonzero(mask if pos is None else mask[pos])  # of the rows with a time
        # the keys as codes (-1: none), not a Python object per key
        codes = pd.factorize(keys if isinstance(keys, pd.Series) else np.asarray(keys, dtype=object),
                             use_na_sentinel=True)[0]
        if len(codes) != len(mask):  # the kind's lines' keys only: those of the lines with a time
            codes = codes if pos is None else codes[ok[mask]]
        else:
            codes = codes[mine if pos is None else pos[mine]]
        counts[kind] = _distinct_coded(which[mine], codes, len(starts), missing_each=True)
    rows = [{"start": iso(pd.Timestamp(s.astype("datetime64[s]").item(), tz="UTC")),
             **{k: int(c[i]) for k, c in counts.items()}}
            for i, s in enumerate(starts[:max_rows])]
    return {"granularity": period, "rows": rows, "omitted": max(0, len(starts) - max_rows)}


def _utc_ns(ts: pd.Series) -> np.ndarray:
    """The times (none missing) as datetime64[ns] UTC; an Arrow column cast in Arrow, without the
    pandas copies of a tz_convert."""
    import pyarrow as pa

    if isinstance(ts.dtype, pd.ArrowDtype) and pa.types.is_timestamp(ts.dtype.pyarrow_dtype):
        arr = ts.array._pa_array.cast(pa.timestamp("ns", ts.dtype.pyarrow_dtype.tz))
        return arr.cast(pa.int64()).to_numpy().view("datetime64[ns]")
    return ts.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]")


def _periods(parts: Sequence[pd.Series], period: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """(the sorted distinct period starts, each part's times' indices among them) of the times of
    ``parts`` (none missing), as ``np.unique(..., return_inverse=True)`` of them joined gives them,
    by counting over the span of periods a slice at a time rather than sorting every time (fewer
    temporaries of the rows' length: measured +56 MiB in ``volumes`` at 3M Exim lines). Each
    slice's period starts are written where its indices go, then turned into them in place (no
    list of every slice's starts beside the indices)."""
    # (int32: a period start in hours, days or months since 1970 fits, as does an index among them;
    # np.bincount copies a slice of them at a time into its index type, :func:`_count`)
    whiches = [np.empty(len(t), dtype=np.int32) for t in parts]
    unit, low, high = None, None, None
    for t, which in zip(parts, whiches, strict=True):
        for i in range(0, len(t), _SLICE):
            p = _period_start(_utc_ns(t.iloc[i:i + _SLICE]), period)
            unit = p.dtype
            v = p.view(np.int64)
            which[i:i + len(v)] = v
            lo, hi = int(v.min()), int(v.max())
            low, high = (lo, hi) if low is None else (min(low, lo), max(high, hi))
    n = sum(len(t) for t in parts)
    if high - low > 4 * n + 10_000:  # a sparse span (decades by the week): sort instead
        starts, inv = np.unique(np.concatenate(whiches), return_inverse=True)
        inv = inv.reshape(-1)
        at = np.cumsum([0] + [len(w) for w in whiches])
        return starts.astype(np.int64).view(unit), [inv[a:b] for a, b in pairwise(at)]
    present = np.zeros(high - low + 1, dtype=bool)
    for which in whiches:
        for i in range(0, len(which), _SLICE):
            present[which[i:i + _SLICE] - low] = True
    rank = np.cumsum(present, dtype=np.int32)
    rank -= 1
    starts = (np.flatnonzero(present) + low).astype(np.int64).view(unit)
    for which in whiches:
        for i in range(0, len(which), _SLICE):
            w = which[i:i + _SLICE]
            w -= low
            np.take(rank, w, out=w, mode="clip")  # (in place: each index read before its slot is written)
    return starts, whiches


#: Times per slice in :func:`_periods`.
_SLICE = 200_000


def _count(which: np.ndarray, m: Any, n: int) -> np.ndarray:
    """A kind's count per period: a mask's true rows, or counts summed (a folded second stands for
    several lines); a slice of :data:`_SLICE` times at a time (each kind's selected indices or
    float weights were a temporary of the rows' length: the build's peak at 10M Exim lines). The
    weights are line counts: their float sums are exact, whatever the slices."""
    a = np.asarray(m)
    flags = a.dtype == bool or a.dtype == object
    out = np.zeros(n, dtype=np.int64 if flags else np.float64)  # (the weights summed as floats, made int once)
    for i in range(0, len(which), _SLICE):
        w, part = which[i:i + _SLICE], a[i:i + _SLICE]
        out += np.bincount(w[part.astype(bool)], minlength=n) if flags else np.bincount(w, weights=part, minlength=n)
    return out.astype(np.int64, copy=False)


def distinct_per_group(groups: np.ndarray, keys: pd.Series, n: int, *, missing_each: bool = False) -> np.ndarray:
    """How many distinct keys some rows have in each of ``n`` groups (``groups``: each row's group,
    ``0 .. n-1``: a timeline's periods, a top table's clients); rows whose key is missing count not
    at all, or one each (``missing_each``)."""
    return _distinct_coded(groups, pd.factorize(keys, use_na_sentinel=True)[0], n, missing_each=missing_each)


def _distinct_coded(groups: np.ndarray, codes: np.ndarray, n: int, *, missing_each: bool = False) -> np.ndarray:
    """:func:`distinct_per_group` of keys given as codes from 0 (-1: missing)."""
    known = codes >= 0
    width = int(codes.max(initial=-1)) + 1  # 0 when no row has a key
    distinct = np.zeros(n, dtype=np.int64)
    if width:
        pairs = np.unique(groups[known].astype(np.int64) * width + codes[known])  # (group, key) once
        distinct = np.bincount(pairs // width, minlength=n)
    if missing_each:
        distinct = distinct + np.bincount(groups[~known], minlength=n)
    return distinct.astype(np.int64)


def delay_stats(delays: np.ndarray, *, own: bool = False) -> dict[str, float | None]:
    """The delays' ``p50``, ``p90``, ``p99`` and ``max`` (rounded to the millisecond; None without
    any delay): the three quantiles by one numpy call (one partition of the delays, not a sort and
    a pandas frame each), as ``Series.quantile`` computes each (linear; the missing ones apart).
    ``own``: the caller's array may be reordered (partitioned in place, not copied)."""
    if not len(delays):
        return {"p50": None, "p90": None, "p99": None, "max": None}
    nan = np.isnan(delays)
    d = delays[~nan] if nan.any() or not own else delays
    del nan
    qs = np.quantile(d, [0.5, 0.9, 0.99], method="linear", overwrite_input=True) if len(d) else np.full(3, np.nan)
    return {"p50": round(float(qs[0]), 3), "p90": round(float(qs[1]), 3), "p99": round(float(qs[2]), 3),
            "max": round(float(d.max() if len(d) else np.nan), 3)}


def rows_for_display(volumes: Mapping[str, Any]) -> tuple[str, list[tuple[str, Mapping[str, Any]]], int]:
    """For a renderer: the time column's header, (label, row) per row, and how many rows were left
    out. Reads ``timeline`` (falls back to ``per_hour`` of reports made before it existed)."""
    tl = volumes.get("timeline")
    if tl is None:
        return HEADERS["hour"], [(str(h["hour"])[:13].replace("T", " ") + ":00", h) for h in volumes.get("per_hour", [])], 0
    period = tl["granularity"]
    n = _LABEL_CHARS.get(period, 13)
    return (HEADERS.get(period, period),
            [(str(r["start"])[:n].replace("T", " ") + (":00" if period == "hour" else ""), r) for r in tl["rows"]],
            int(tl.get("omitted", 0)))
