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
#: Of those, the ones folded when they are failures (no session-end detector reads them).
FAILED_EVENTS = ("too_many_errors", "protocol_error")
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
                   "sasl_username", "cause_ref", "smtp_stage", "client_ip", "source", "line_no", "host", "reply_text", "provider",
                   "detail"})


def is_foldable_end(batch: pd.DataFrame) -> np.ndarray:
    """Inbound session ends (:data:`END_EVENTS`, direction inbound) with a time and a cause, that
    are no failure (but of :data:`FAILED_EVENTS`), no expiry, bookkeeping nor resource trouble, and name no message, recipient, SASL user
    nor borrowed cause (their status, a session end's kind, is read by nothing the report shows). None in a table lacking a column read."""
    if not set(batch.columns) >= NEEDS:
        return np.zeros(len(batch), dtype=bool)
    m = _eq(batch["event"], END_EVENTS)
    if not m.any():
        return m
    from .build import BOOKKEEPING_CAUSES

    # failures only of the events the session-end detector does not read (the cause lists' by_cause,
    # the cause-spike and new-signature detectors read them: analyzer.anomalies.failed)
    m &= _eq(batch["direction"], "inbound") & ~(_eq(batch["outcome"], FAILURES) & ~_eq(batch["event"], FAILED_EVENTS))
    m &= ~_eq(batch["cause"], ("queue.expired", "local.resource", *BOOKKEEPING_CAUSES))
    m &= batch["cause"].notna().to_numpy(dtype=bool)
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


class _Steps:
    """Lines counted per (side of the window, step, ``keys``) with each key's first
    :data:`EXAMPLES` lines (the detectors' folded tables, :mod:`analyzer.anomalies.folded`)."""

    COMPACT_EVERY = 16

    def __init__(self, keys: list[str]) -> None:
        self.keys = ["side", "sec", *keys]
        self.counts: list[pd.DataFrame] = []
        self.examples: list[pd.DataFrame] = []

    def add(self, t: pd.DataFrame) -> None:
        self.counts.append(_counts(t, self.keys))
        self.examples.append(_first(t, self.keys, EXAMPLES))
        if len(self.counts) >= self.COMPACT_EVERY:
            self._compact()

    def _compact(self) -> None:
        self.counts = [_counts(pd.concat(self.counts, ignore_index=True), self.keys)]
        self.examples = [_first(pd.concat(self.examples, ignore_index=True), self.keys, EXAMPLES)]

    def result(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        if not self.counts:
            return None, None
        self._compact()
        counts, examples = self.counts[0].drop(columns=["side"]), self.examples[0].drop(columns=["side"])
        self.counts, self.examples = [], []
        return counts, examples


class EndsFold:
    """Folds the lines of :func:`is_foldable_end` (``add(batch, mask)``) for ``window``."""

    def __init__(self, window: Any) -> None:
        self.since = None if window.since is None else pd.Timestamp(window.since).value
        self.until = None if window.until is None else pd.Timestamp(window.until).value
        self._ends = _Steps(["event", "smtp_stage", "cause"])  # Bulk.ends (analyzer.anomalies.folded.END_KEYS)
        self._fails = _Steps(["cause", "provider", "text", "spike"])  # Bulk.failures (.failed.FAIL_KEYS)
        self._stages: dict[tuple[str, str], int] = {}
        # per cause list ("states", "failed") and entry key (build._pair_codes' names)
        self._lists: dict[str, dict[str, dict[str, Any]]] = {"states": {}, "failed": {}}
        self._candidates: dict[str, pd.DataFrame | None] = {"states": None, "failed": None}

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
        failed = _eq(rows["outcome"], FAILURES)
        for steps, m, cols in ((self._ends, np.isin(event, DETECTED) & ~failed, ("event", "smtp_stage", "cause")),
                               (self._fails, failed, ("cause", "provider"))):
            if not m.any():
                continue
            t = {"side": side[m], "sec": (sec[m] // SENT_STEP) * SENT_STEP, **{c: _values(rows[c])[m] for c in cols}}
            if steps is self._fails:  # as analyzer.anomalies.failed.failure_counts keys them
                from ..anomalies.delivery import _masked_text

                t["text"] = _values(_masked_text(rows["reply_text"][m]))
                t["spike"] = ~_eq(rows["severity"], "info")[m]
            steps.add(pd.DataFrame({**t, "ts": ns[m], "order": order[m], "source": _values(rows["source"])[m],
                                    "line_no": rows["line_no"].to_numpy(dtype=np.float64, na_value=np.nan)[m],
                                    "host": _values(rows["host"])[m]}))
        inside = side == 1
        if not inside.any():
            return
        if not inside.all():
            rows, order, ns, event, failed = rows[inside], order[inside], ns[inside], event[inside], failed[inside]
        bad = np.isin(event, ABNORMAL)
        if bad.any():
            stage = rows["smtp_stage"].astype(object).where(rows["smtp_stage"].notna(), "unknown").to_numpy()[bad]
            for (st, e), n in pd.DataFrame({"s": stage, "e": event[bad]}).value_counts(sort=False).items():
                self._stages[(str(st), str(e))] = self._stages.get((str(st), str(e)), 0) + int(n)
        notable = ~(_eq(rows["severity"], "info") & _eq(rows["outcome"], ("ok", "info")))
        for name, m in (("states", notable & ~failed), ("failed", failed)):
            if m.any():
                self._add_entries(name, rows[m], order[m], ns[m], event[m])

    def _add_entries(self, name: str, rows: pd.DataFrame, order: np.ndarray, ns: np.ndarray,
                     event: np.ndarray) -> None:
        # the cause lists' key (build._pair_codes): cause and fix, the cause where there is no fix
        cc, cu = pd.factorize(rows["cause"].astype(object), use_na_sentinel=True)
        fc, fu = pd.factorize(rows["fix_id"].astype(object), use_na_sentinel=True)
        pairs, inv = np.unique(cc.astype(np.int64) * (len(fu) + 1) + (fc + 1), return_inverse=True)
        inv = inv.reshape(-1)
        names = np.array([f"{cu[c]}\x00{fu[f - 1] if f else cu[c]}" for c, f in
                          zip(*np.divmod(pairs, len(fu) + 1), strict=True)], dtype=object)
        key = names[inv]
        outcome = _values(rows["outcome"])
        has_client = rows["client_ip"].notna().to_numpy(dtype=bool)
        hashes = qid_hash(rows["client_ip"])
        entries = self._lists[name]
        for i, k in enumerate(names):
            at = inv == i
            st = entries.setdefault(str(k), {"n": 0, "outcomes": {}, "events": set(),
                                             "clients": np.zeros(0, np.uint64)})
            st["n"] += int(at.sum())
            said = outcome[at]
            for v, n in zip(*np.unique(said[pd.notna(said)].astype(str), return_counts=True), strict=True):
                st["outcomes"][str(v)] = st["outcomes"].get(str(v), 0) + int(n)
            st["events"].update(str(e) for e in pd.unique(event[at]) if e is not None)
            st["clients"] = np.union1d(st["clients"], hashes[at & has_client])
        ok = rows["source"].notna().to_numpy(dtype=bool) & rows["line_no"].notna().to_numpy(dtype=bool)
        if ok.any():
            c = pd.DataFrame({"k": key[ok], "ts": ns[ok], "order": order[ok], "at": np.flatnonzero(ok)})
            c = _first(c, ["k"], CANDIDATES)  # (their texts looked at only for the few that may be examples)
            at = c.pop("at").to_numpy()
            c["source"] = _values(rows["source"].iloc[at])
            c["line_no"] = rows["line_no"].iloc[at].to_numpy(dtype=np.float64, na_value=np.nan)
            c["text"] = _meaningful_text(_values(rows["reply_text"].iloc[at]), _values(rows["detail"].iloc[at]))
            held = self._candidates[name]
            self._candidates[name] = _first(c if held is None else pd.concat([held, c], ignore_index=True), ["k"],
                                            CANDIDATES)

    def result(self) -> tuple[tuple[pd.DataFrame | None, ...], dict[str, Any]]:
        """((``Bulk.ends``, ``Bulk.end_examples``, ``Bulk.failures``, ``Bulk.failure_examples``: None
        without any), ``sections["ends"]``)."""
        tables = (*self._ends.result(), *self._fails.result())
        part: dict[str, Any] = {"stages": dict(self._stages)}
        for name, entries in self._lists.items():
            cand = self._candidates[name]
            for key, st in entries.items():
                mine = cand[(cand["k"] == key).to_numpy(dtype=bool)] if cand is not None else None
                if mine is not None and len(mine):
                    st["candidates"] = (mine["ts"].to_numpy(np.int64), mine["order"].to_numpy(np.int64),
                                        mine["source"].to_numpy(dtype=object), mine["line_no"].to_numpy(dtype=float),
                                        mine["text"].to_numpy(dtype=object))
            part[name] = entries
        self._stages, self._lists = {}, {"states": {}, "failed": {}}
        self._candidates = {"states": None, "failed": None}
        return tables, part


def _counts(t: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Lines (or counts) per ``keys`` (side, step, values): ``n``, ``ts_min``, ``ts_max``."""
    if "n" not in t.columns:
        t = t.assign(n=np.ones(len(t), np.int64), ts_min=t["ts"], ts_max=t["ts"])
    g = t.groupby(keys, dropna=False, sort=True).agg(n=("n", "sum"), ts_min=("ts_min", "min"),
                                                     ts_max=("ts_max", "max")).reset_index()
    for c in keys[2:]:
        if g[c].dtype != bool:
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
