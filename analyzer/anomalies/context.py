"""What every detector reads (:class:`Context`), how it builds a :class:`Finding` from event
rows, and the column helpers the detectors share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .aggregates import Bulk, span
from .arrow_columns import categorical_eq
from .finding import Finding, _fingerprint

#: The columns the detectors read: enough to ask a history store for (baseline=...).
BASELINE_COLUMNS = ("ts", "program", "queue_id", "event", "direction", "client_ip", "relay_host", "sender", "recipient",
                    "status", "smtp_stage", "reply_text", "delay", "quit", "sasl_username", "detail", "source",
                    "line_no", "reply_class", "outcome", "cause", "provider", "severity")
#: The outcomes that count as a failed delivery attempt.
FAILURES = ("transient_failure", "permanent_failure")

#: Detectors whose finding is an attack: their own fix, not the cause's, comes first.
ATTACK_DETECTORS = frozenset({"abuse", "long_window"})


@dataclass
class Context:
    """What every detector reads: the window's events, the history before them, parameters."""

    events: pd.DataFrame          # the report window, classified, sorted by ts
    history: pd.DataFrame         # baseline rows before the window (may be empty)
    params: dict[str, Any]
    kb: Any = None
    now: pd.Timestamp | None = None
    bucket: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(hours=1))
    #: the lines of the window and of the history folded apart from the rows (connects, normal
    #: disconnects, TLS and postscreen passes: :mod:`.aggregates`); None when every line is a row
    bulk: Bulk | None = None
    bulk_history: Bulk | None = None

    @cached_property
    def window_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last time of the window's lines (rows and folded)."""
        return span(self.events["ts"], self.bulk)

    @property
    def first_ts(self) -> pd.Timestamp:
        return self.window_span[0]

    @property
    def last_ts(self) -> pd.Timestamp:
        return self.window_span[1]

    @cached_property
    def folded_first_seen(self) -> pd.Series:
        """The first time (ns) of each queue id (by hash) among the folded lines, history and window."""
        parts = [b.qids for b in (self.bulk_history, self.bulk) if b is not None and len(b.qids)]
        if not parts:
            return pd.Series([], dtype=np.int64)
        return Bulk(self.bulk.table if self.bulk is not None else Bulk.empty().table,
                    pd.concat(parts, ignore_index=True)).first_seen()

    @cached_property
    def all_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last time of all lines, history and window."""
        a, b = self.window_span
        if len(self.history) or (self.bulk_history is not None and len(self.bulk_history.table)):
            ha, hb = span(self.history["ts"], self.bulk_history)
            if ha is not None and not pd.isna(ha):
                a, b = min(a, ha), max(b, hb)
        return a, b

    @cached_property
    def all(self) -> pd.DataFrame:
        """History and window together (history first)."""
        if len(self.history) == 0:
            return self.events
        return pd.concat([self.history, self.events], ignore_index=True)

    def fix_for(self, cause: str | None, detector: str) -> tuple[str, ...]:
        """The steps a finding suggests: the cause's own fix; for the attack detectors, whose finding
        is the attack (a dictionary attack is not "add the missing address"), the detector's steps
        first and then the cause's."""
        own = tuple(self.params.get(detector, {}).get("fix", ()))
        steps: tuple[str, ...] = ()
        if cause and self.kb is not None and cause in self.kb.causes:
            steps = tuple(self.kb.causes[cause].get("fix") or ())
        if detector in ATTACK_DETECTORS and own:
            return own + tuple(s for s in steps if s not in own)
        return steps or own

    def cause_title(self, cause: str | None) -> str:
        if cause and self.kb is not None and cause in self.kb.causes:
            return str(self.kb.causes[cause].get("title", cause))
        return cause or ""


def _finding(ctx: Context, *, detector: str, severity: str, title: str, entity: str, rows: pd.DataFrame | None,
             observed: float, expected: float | None, cause: str | None = None, detail: str = "",
             start: pd.Timestamp | None = None, end: pd.Timestamp | None = None, unit: str = "count",
             evidence: tuple[tuple[str, int], ...] | None = None) -> Finding:
    """A finding whose window and evidence come from ``rows`` (unless given: ``start``, ``end``,
    ``evidence``, the first ``max_evidence`` lines that name their file and line)."""
    n = int(ctx.params["general"]["max_evidence"])
    if rows is not None and len(rows):
        ts = rows["ts"]
        start = ts.min() if start is None else start
        end = ts.max() if end is None else end
    if evidence is None:
        evidence = _evidence(rows, n) if rows is not None else ()
    return Finding(_fingerprint(detector, entity, cause, start), severity, title, detector, start, end,
                   entity, float(observed), None if expected is None else float(expected), evidence,
                   cause, ctx.fix_for(cause, detector), detail, unit)


def _evidence(rows: pd.DataFrame, n: int) -> tuple[tuple[str, int], ...]:
    """(file, line) of the first ``n`` of ``rows`` that name both, in their order (the rows'
    ``dropna`` and ``head`` read as masks: no copy of the rows)."""
    if not len(rows):
        return ()
    source, line = rows["source"], rows["line_no"]
    at = np.flatnonzero(source.notna().to_numpy(dtype=bool) & line.notna().to_numpy(dtype=bool))[:n]
    if not len(at):
        return ()
    return tuple((str(s), int(x)) for s, x in zip(source.iloc[at].tolist(), line.iloc[at].tolist(), strict=True))


def _domain(s: pd.Series) -> pd.Series:
    """The domain of an address column, lower-cased; null where there is none (RE2 over the
    Arrow array: no Python call per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.astype("string[pyarrow]").array, type=pa.string())
    found = pc.struct_field(pc.extract_regex(arr, r"@(?P<domain>[^@<>\s]+)>?$"), [0])
    return pd.Series(pd.arrays.ArrowStringArray(pc.utf8_lower(found)), index=s.index)


def _truthy(s: pd.Series) -> np.ndarray:
    return s.fillna(False).to_numpy(dtype=bool)


def _str_eq(s: pd.Series, value: str | Iterable[str]) -> np.ndarray:
    """Where ``s`` equals ``value`` (or one of the values), null as False; a Categorical compared
    on its codes (a value per category, not pandas' comparison of the column)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return categorical_eq(s, [value] if isinstance(value, str) else list(value))
    if isinstance(value, str):
        return _truthy(s == value)
    return _truthy(s.isin(list(value)))
