"""The report's time table: one row per hour, day, week or month, chosen by the span of the window,
and only for the periods that have events (a quiet night or a weekend without mail is no row).

:func:`granularity` picks the period, :func:`timeline` counts, :func:`rows_for_display` gives the
renderers a header and a label per row.
"""

from __future__ import annotations

from collections.abc import Mapping
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
             max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """Counts of each of ``kinds`` (boolean masks over ``ts``, or counts: a time that stands for
    several lines, as a folded second does) per period, for the periods with at
    least one event: ``{"granularity", "rows": [{"start", **counts}], "omitted"}``.

    ``per_message`` maps a kind to ``(message keys, lines name)``: that kind is counted per
    distinct message in each period (a message deferred 12 times in an hour is one deferred
    message there; a line without a key counts alone), and its line count is kept under the
    lines name (``{"deferred": (queue_ids, "deferrals")}``, as pflogsumm counts)."""
    ok = ts.notna().to_numpy(dtype=bool)
    if not ok.any():
        return {"granularity": "hour", "rows": [], "omitted": 0}
    period = granularity(ts.min(), ts.max())
    ns = ts[ok].dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]")
    starts, which = np.unique(_period_start(ns, period), return_inverse=True)  # the periods with an event
    counts = {k: np.bincount(which, weights=_weights(m)[ok], minlength=len(starts)).astype(np.int64)
              for k, m in kinds.items()}
    for kind, (keys, lines_name) in (per_message or {}).items():
        counts[lines_name] = counts[kind]
        counts[kind] = _distinct_per_period(which, np.asarray(kinds[kind], dtype=bool)[ok],
                                            pd.Series(np.asarray(keys, dtype=object)[ok]), len(starts))
    rows = [{"start": iso(pd.Timestamp(s.astype("datetime64[s]").item(), tz="UTC")),
             **{k: int(c[i]) for k, c in counts.items()}}
            for i, s in enumerate(starts[:max_rows])]
    return {"granularity": period, "rows": rows, "omitted": max(0, len(starts) - max_rows)}


def _weights(m: Any) -> np.ndarray:
    """A kind's mask as weights (True 1), or its counts as they are."""
    a = np.asarray(m)
    return a.astype(bool) if a.dtype == object else a


def _distinct_per_period(which: np.ndarray, mask: np.ndarray, keys: pd.Series, n: int) -> np.ndarray:
    """How many distinct keys the rows in ``mask`` have in each of ``n`` periods (``which``: the
    period of each row); rows whose key is missing count one each."""
    codes, _ = pd.factorize(keys[mask], use_na_sentinel=True)
    periods = which[mask]
    known = codes >= 0
    width = int(codes.max(initial=-1)) + 1  # 0 when no row has a key
    distinct = np.zeros(n, dtype=np.int64)
    if width:
        pairs = np.unique(periods[known].astype(np.int64) * width + codes[known])  # (period, key) once
        distinct = np.bincount(pairs // width, minlength=n)
    return (distinct + np.bincount(periods[~known], minlength=n)).astype(np.int64)


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
