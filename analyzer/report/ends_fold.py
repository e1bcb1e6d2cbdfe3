"""The nightly report's abnormal session ends, folded instead of kept as rows (#12).

An inbound session's end that is no failure and names no message (:func:`is_foldable_end`:
Postfix's unclosed ``disconnect`` info lines, lost connections, timeouts, too many errors, its
pipelining ``protocol_error`` info lines; Exim's lost connections and timeouts) was 40% of the
report's kept rows at 1M Postfix lines. What the report reads of one:

* its second, file, host, reply class and whether it closed (the window's event count and span,
  the timeline's periods, the servers, the reply classes, the silence detector, the normal and
  unclosed disconnects): the :class:`~analyzer.anomalies.aggregates.Bulk`'s table, by the BulkFold;
* of the lost connections and timeouts, all sides of the window: counts per (minute, event, stage,
  cause) and each key's first lines, as the weekly report folds them (:mod:`analyzer.anomalies.folded`:
  ``Bulk.ends``/``end_examples``, read by the session-end detector), each minute split at the
  window's limits (a cut at the limits keeps whole steps), the examples with their host (the
  findings' servers);
* inside the window: the lines per (SMTP stage, event) of the abnormal ends (``session_ends``) and,
  of the lines the cause lists show (a state: not an info line that went well), per (cause, fix):
  the lines, their outcomes, the distinct clients (as 64-bit hashes), the events, and the first
  :data:`CANDIDATES` lines that may be an example, in input order (``outcomes.states``).

:class:`EndsFold` keeps these; :meth:`EndsFold.result` is ``(ends, end examples, report part)``:
the first two go into the Bulk, the third reaches ``build_report`` as ``sections["ends"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..anomalies.aggregates import _eq, _seconds_ns, _values, qid_hash, row_order
from ..anomalies.context import FAILURES
from .sent_fold import SENT_STEP

__all__ = ["CANDIDATES", "END_EVENTS", "EndsFold", "is_foldable_end"]

#: The session ends folded (inbound, no failure, of no message).
END_EVENTS = ("disconnect", "lost_connection", "timeout", "too_many_errors", "protocol_error")
#: Of those, the ones the session-end detector counts (:func:`analyzer.anomalies.folded.is_session_end`).
DETECTED = ("lost_connection", "timeout")
#: Of those, the ones ``session_ends.by_stage`` counts.
ABNORMAL = ("lost_connection", "timeout", "too_many_errors")
#: Lines kept per cause as example candidates: the cause lists look at the first 200 (build._example).
CANDIDATES = 200
#: Lines kept per detector key and side of the window as evidence (a finding shows at most 5).
EXAMPLES = 5
#: The columns read.
NEEDS = frozenset({"ts", "event", "direction", "outcome", "severity", "cause", "fix_id", "queue_id", "recipient",
                   "sasl_username", "cause_ref", "smtp_stage", "client_ip", "source", "line_no", "host", "reply_text",
                   "detail"})


def is_foldable_end(batch: pd.DataFrame) -> np.ndarray:
    """Inbound session ends (:data:`END_EVENTS`, direction inbound) with a time and a cause, that
    are no failure, no expiry and no resource trouble, and name no message, recipient, SASL user
    nor borrowed cause (their status, a session end's kind, is read by nothing the report shows). None in a table lacking a column read."""
    if not set(batch.columns) >= NEEDS:
        return np.zeros(len(batch), dtype=bool)
    m = _eq(batch["event"], END_EVENTS)
    if not m.any():
        return m
    m &= _eq(batch["direction"], "inbound") & ~_eq(batch["outcome"], FAILURES)
    m &= ~_eq(batch["cause"], ("queue.expired", "local.resource")) & batch["cause"].notna().to_numpy(dtype=bool)
    m &= batch["ts"].notna().to_numpy(dtype=bool)
    for c in ("queue_id", "recipient", "sasl_username", "cause_ref"):
        m &= batch[c].isna().to_numpy(dtype=bool)
    return m


def _meaningful_text(reply: np.ndarray, detail: np.ndarray) -> np.ndarray:
    """Per line the text an example would show (build._example: the reply text where it means
    something, else the detail), cut to 300 characters; None where neither does."""
    from .build import _meaningful

    out = np.full(len(reply), None, dtype=object)
    for i in range(len(reply)):
        for v in (reply[i], detail[i]):
            if _meaningful(v):
                out[i] = str(v)[:300]
                break
    return out


class EndsFold:
    """Folds the lines of :func:`is_foldable_end` (``add(batch, mask)``) for ``window``."""

    COMPACT_EVERY = 16

    def __init__(self, window: Any) -> None:
        self.since = None if window.since is None else pd.Timestamp(window.since).value
        self.until = None if window.until is None else pd.Timestamp(window.until).value
        self._ends: list[pd.DataFrame] = []  # per (side, step, event, stage, cause)
        self._examples: list[pd.DataFrame] = []
        self._stages: dict[tuple[str, str], int] = {}
        self._states: dict[str, dict[str, Any]] = {}  # per cause list key (build._pair_codes' names)
        self._candidates: list[pd.DataFrame] = []

    def _side(self, ns: np.ndarray) -> np.ndarray:
        side = np.ones(len(ns), dtype=np.int8)
        if self.since is not None:
            side[ns < self.since] = 0
        if self.until is not None:
            side[ns >= self.until] = 2
        return side

    def add(self, batch: pd.DataFrame, mask: np.ndarray) -> None:
        if not mask.any():
            return
        rows = batch.loc[mask, sorted(NEEDS)]
        order = row_order(batch)[mask]
        sec, ns = _seconds_ns(rows["ts"])
        side = self._side(ns)
        event = _values(rows["event"])
        det = np.isin(event, DETECTED)
        if det.any():
            t = pd.DataFrame({"side": side[det], "sec": (sec[det] // SENT_STEP) * SENT_STEP, "event": event[det],
                              "smtp_stage": _values(rows["smtp_stage"])[det], "cause": _values(rows["cause"])[det],
                              "ts": ns[det], "order": order[det], "source": _values(rows["source"])[det],
                              "line_no": rows["line_no"].to_numpy(dtype=np.float64, na_value=np.nan)[det],
                              "host": _values(rows["host"])[det]})
            self._ends.append(_counts(t))
            self._examples.append(_first(t, _END_KEYS, EXAMPLES))
            if len(self._ends) >= self.COMPACT_EVERY:
                self._compact_ends()
        inside = side == 1
        if not inside.any():
            return
        if not inside.all():
            rows, order, ns, event = rows[inside], order[inside], ns[inside], event[inside]
        bad = np.isin(event, ABNORMAL)
        if bad.any():
            stage = rows["smtp_stage"].astype(object).where(rows["smtp_stage"].notna(), "unknown").to_numpy()[bad]
            for (st, e), n in pd.DataFrame({"s": stage, "e": event[bad]}).value_counts(sort=False).items():
                self._stages[(str(st), str(e))] = self._stages.get((str(st), str(e)), 0) + int(n)
        notable = ~(_eq(rows["severity"], "info") & _eq(rows["outcome"], ("ok", "info")))
        if notable.any():
            self._add_states(rows[notable], order[notable], ns[notable], event[notable])

    def _add_states(self, rows: pd.DataFrame, order: np.ndarray, ns: np.ndarray, event: np.ndarray) -> None:
        cause = _values(rows["cause"])
        fix = _values(rows["fix_id"])
        # the cause lists' key (build._pair_codes): cause and fix, the cause where there is no fix
        key = np.array([f"{c}\x00{c if f is None else f}" for c, f in zip(cause, fix, strict=True)], dtype=object)
        outcome = _values(rows["outcome"])
        has_client = rows["client_ip"].notna().to_numpy(dtype=bool)
        hashes = qid_hash(rows["client_ip"])
        codes, uniq = pd.factorize(key)
        for i, k in enumerate(uniq):
            at = codes == i
            st = self._states.setdefault(str(k), {"n": 0, "outcomes": {}, "events": set(),
                                                  "clients": np.zeros(0, np.uint64)})
            st["n"] += int(at.sum())
            said = outcome[at]
            for v, n in zip(*np.unique(said[pd.notna(said)].astype(str), return_counts=True), strict=True):
                st["outcomes"][str(v)] = st["outcomes"].get(str(v), 0) + int(n)
            st["events"].update(str(e) for e in set(event[at].tolist()) if e is not None)
            st["clients"] = np.union1d(st["clients"], hashes[at & has_client])
        ok = rows["source"].notna().to_numpy(dtype=bool) & rows["line_no"].notna().to_numpy(dtype=bool)
        if ok.any():
            c = pd.DataFrame({"k": key[ok], "ts": ns[ok], "order": order[ok], "at": np.flatnonzero(ok)})
            c = _first(c, ["k"], CANDIDATES)  # (their texts looked at only for the few that may be examples)
            at = c.pop("at").to_numpy()
            c["source"] = _values(rows["source"].iloc[at])
            c["line_no"] = rows["line_no"].iloc[at].to_numpy(dtype=np.float64, na_value=np.nan)
            c["text"] = _meaningful_text(_values(rows["reply_text"].iloc[at]), _values(rows["detail"].iloc[at]))
            self._candidates = [_first(pd.concat([*self._candidates, c], ignore_index=True), ["k"], CANDIDATES)]

    def _compact_ends(self) -> None:
        self._ends = [_counts(pd.concat(self._ends, ignore_index=True))]
        self._examples = [_first(pd.concat(self._examples, ignore_index=True), _END_KEYS, EXAMPLES)]

    def result(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict[str, Any]]:
        """(``Bulk.ends``, ``Bulk.end_examples``: None without any; ``sections["ends"]``)."""
        ends = examples = None
        if self._ends:
            self._compact_ends()
            ends = self._ends[0].drop(columns=["side"])
            examples = self._examples[0].drop(columns=["side"])
        self._ends, self._examples = [], []
        cand = self._candidates[0] if self._candidates else None
        states = {}
        for key, st in self._states.items():
            mine = cand[(cand["k"] == key).to_numpy(dtype=bool)] if cand is not None else None
            if mine is not None and len(mine):
                st["candidates"] = (mine["ts"].to_numpy(np.int64), mine["order"].to_numpy(np.int64),
                                    mine["source"].to_numpy(dtype=object), mine["line_no"].to_numpy(dtype=float),
                                    mine["text"].to_numpy(dtype=object))
            states[key] = st
        part = {"stages": dict(self._stages), "states": states}
        self._stages, self._states, self._candidates = {}, {}, []
        return ends, examples, part


#: The detector's keys (:data:`analyzer.anomalies.folded.END_KEYS`) with the side of the window.
_END_KEYS = ["side", "sec", "event", "smtp_stage", "cause"]


def _counts(t: pd.DataFrame) -> pd.DataFrame:
    """Lines (or counts) per :data:`_END_KEYS`: ``n``, ``ts_min``, ``ts_max``."""
    if "n" not in t.columns:
        t = t.assign(n=np.ones(len(t), np.int64), ts_min=t["ts"], ts_max=t["ts"])
    g = t.groupby(_END_KEYS, dropna=False, sort=True).agg(n=("n", "sum"), ts_min=("ts_min", "min"),
                                                          ts_max=("ts_max", "max")).reset_index()
    for c in _END_KEYS[2:]:
        g[c] = _values(g[c])
    return g


def _first(t: pd.DataFrame, keys: list[str], n: int) -> pd.DataFrame:
    """Each key's first ``n`` lines, by time and then input order."""
    t = t.sort_values(["ts", "order"], kind="stable")
    keep = t.groupby(keys, dropna=False, sort=False).cumcount().to_numpy() < n
    return t[keep].reset_index(drop=True)


def _mode(counts: dict[str, int]) -> str | None:
    """The most frequent value, the least among equals (as a mode over sorted values)."""
    if not counts:
        return None
    top = max(counts.values())
    return min(k for k, n in counts.items() if n == top)


def merged_entry(rows: Any, at: np.ndarray, outcome: pd.Series, dirs: pd.Series, st: dict[str, Any], apart: bool,
                 masks: dict[str, np.ndarray]) -> dict[str, Any]:
    """A cause list entry's unit, outcome, direction, clients and example over its rows (``at`` of
    ``rows``; ``outcome`` and ``dirs`` theirs, as :func:`.build._cause_list` reads them) and its
    folded lines ``st`` (:class:`EndsFold`'s part), as over the rows they were."""
    from .build import CLIENT_UNITS, _example
    from .rows_at import take

    if not apart:
        unit = "messages"
    else:
        events = set(take(rows, "event", at).dropna().astype(str)) | st["events"]
        unit = next((u for u, names in CLIENT_UNITS if events and events <= set(names)), "attempts")
    said = outcome.dropna().astype(str).value_counts()
    outcomes = {str(k): int(n) for k, n in said.items() if n}
    for k, n in st["outcomes"].items():
        outcomes[k] = outcomes.get(k, 0) + n
    directions = {str(k): int(n) for k, n in dirs.value_counts().items() if n and str(k) != ""}
    directions["inbound"] = directions.get("inbound", 0) + st["n"]
    out: dict[str, Any] = {"unit": unit, "outcome": str(_mode(outcomes)), "direction": _mode(directions) or None}
    if unit != "messages" and "client_ip" in rows:
        c = take(rows, "client_ip", at).dropna()
        mine = np.unique(qid_hash(c)) if len(c) else np.zeros(0, np.uint64)
        out["clients"] = len(np.union1d(mine, st["clients"]))
    out["example"] = _example(rows, at, masks, st.get("candidates"))
    return out


def merged_example(rows: Any, pos: np.ndarray, folded: tuple[np.ndarray, ...]) -> dict[str, Any] | None:
    """:func:`.build._example`'s choice among the rows at ``pos`` (their first 200 candidates, in
    table order) and the folded candidates (time, input order, file, line, text), looked at in
    input order (time, then order: the table's), the first 200 of them."""
    from ..anomalies.aggregates import ORDER_COLUMN
    from .build import _meaningful
    from .rows_at import take

    f_ts, f_order, f_src, f_line, f_text = folded
    ns = np.zeros(len(pos), dtype=np.int64)
    order = np.full(len(pos), -1, dtype=np.int64)
    if len(pos):
        t = take(rows, "ts", pos)
        ns = np.where(t.notna().to_numpy(dtype=bool), _seconds_ns(t)[1], np.iinfo(np.int64).max)
        if ORDER_COLUMN in rows.columns:
            order = take(rows, ORDER_COLUMN, pos).to_numpy(dtype=np.int64)
    is_row = np.r_[np.ones(len(pos), dtype=bool), np.zeros(len(f_ts), dtype=bool)]
    idx = np.r_[np.arange(len(pos)), np.arange(len(f_ts))]
    first = np.lexsort((np.r_[order, f_order], np.r_[ns, f_ts]))[:200]
    row_at = pos[idx[first][is_row[first]]]  # the rows among them: their texts read once
    cols = [take(rows, c, row_at).to_numpy(dtype=object) for c in ("reply_text", "detail") if c in rows.columns]
    r = 0
    for j in first:
        i = int(idx[j])
        if is_row[j]:
            for vals in cols:
                if _meaningful(vals[r]):
                    p = int(row_at[r])
                    return {"file": str(take(rows, "source", [p]).iloc[0]),
                            "line": int(take(rows, "line_no", [p]).iloc[0]), "text": str(vals[r])[:300]}
            r += 1
        elif isinstance(f_text[i], str):
            return {"file": str(f_src[i]), "line": int(f_line[i]), "text": str(f_text[i])}
    return None
