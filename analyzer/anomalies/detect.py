"""Run the detectors: the list in the order they run, and :func:`detect_anomalies`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from .. import heap
from .abuse import detect_abuse
from .aggregates import Bulk, span
from .context import Context, _truthy
from .delivery import (
    detect_concentration,
    detect_deferral_buildup,
    detect_failure_spike,
    detect_new_signature,
)
from .finding import _RANK, Finding, merge_related
from .health import detect_server_trouble, detect_session_ends, detect_silence
from .longwindow import detect_slow_abuse
from .params import default_params
from .severity import apply_severity_policy

#: The detectors, in the order they run. Each is ``fn(ctx) -> list[Finding]``.
DETECTORS: list[Callable[[Context], list[Finding]]] = [
    detect_server_trouble,
    detect_silence,
    detect_failure_spike,
    detect_concentration,
    detect_abuse,
    detect_slow_abuse,
    detect_deferral_buildup,
    detect_session_ends,
    detect_new_signature,
]


#: From this many rows in the window on, what each detector freed goes back to the system before the
#: next runs (~2.5 CPU-ms a time: below it, a 1M-3M-line day's, the stream holds the report's peak).
GIVE_BACK_ROWS = 300_000


def _prepare(df: pd.DataFrame, kb: Any) -> pd.DataFrame:
    if "cause" not in df.columns:
        from ..classify import classify
        df = classify(df, kb)
    if df["ts"].is_monotonic_increasing:  # the usual case: no copy of a large table
        return df.reset_index(drop=True)
    return df.sort_values("ts", kind="stable").reset_index(drop=True)


def _with_ts(df: pd.DataFrame) -> pd.DataFrame:
    return df.dropna(subset=["ts"]) if df["ts"].isna().any() else df


def detect_anomalies(events: pd.DataFrame, baseline: pd.DataFrame | None = None, params: dict[str, Any] | None = None,
                     now: Any = None, *, kb: Any = None,
                     detectors: Iterable[Callable[[Context], list[Finding]]] | None = None,
                     bulk: Bulk | None = None, bulk_history: Bulk | None = None) -> list[Finding]:
    """Run the detectors over ``events`` against ``baseline``; findings most severe first.

    ``bulk`` and ``bulk_history`` are the lines of the window and of the baseline that were
    folded apart from the rows (:mod:`.aggregates`); without them every line is a row."""
    params = params or default_params()
    if kb is None:
        from ..classify import default_rules
        kb = default_rules()
    events = _prepare(_with_ts(events), kb)
    bulk = bulk.cut(timed=True) if bulk is not None else None
    if events.empty and (bulk is None or not len(bulk.table)):
        return []
    first = span(events["ts"], bulk)[0]
    hist = events.iloc[0:0]
    if baseline is not None and len(baseline):
        hist = _prepare(_with_ts(baseline), kb)
        hist = hist[_truthy(hist["ts"] < first)][list(events.columns.intersection(hist.columns))]
        hist = hist.reindex(columns=events.columns)
    if bulk_history is not None:
        bulk_history = bulk_history.cut(None, first, timed=True)
    ctx = Context(events=events, history=hist, params=params, kb=kb,
                  now=None if now is None else pd.Timestamp(now),
                  bucket=pd.Timedelta(seconds=int(params["general"]["bucket"])), bulk=bulk,
                  bulk_history=bulk_history)
    found: list[Finding] = []
    give_back = len(events) >= GIVE_BACK_ROWS
    for fn in (detectors or DETECTORS):
        found.extend(fn(ctx))
        if give_back:
            # what the detector freed back to the system before the next one's temporaries: left in
            # the C heap, the detectors' peaks stacked up (measured at 10M Exim lines: 745 -> 675 MiB RSS)
            heap.give_back()
    found = apply_severity_policy(merge_related(found), ctx)  # what severity means: anomalies.toml [severity]
    # the detectors' temporaries (and the context's cached tables) back to the system before the
    # caller goes on: what they freed stayed in the C heap, under the next phase's peak
    # (measured: 61 MiB at 3M Exim lines, at the start of the report's build)
    del ctx, events, hist
    heap.give_back()
    far = pd.Timestamp.max.tz_localize("UTC")
    found.sort(key=lambda f: (-_RANK[f.severity], f.window_start if f.window_start is not None else far,
                              f.detector, f.entity))
    return found
