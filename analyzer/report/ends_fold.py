"""The nightly report's abnormal session ends, folded instead of kept as rows (#12).

An inbound session's end that names no message (:func:`is_foldable_end`: Postfix's unclosed
``disconnect`` info lines, lost connections, timeouts, too many errors and protocol errors; Exim's
lost connections, timeouts, too many errors and pipelining errors) was 40% of the report's kept
rows at 1M Postfix lines. The inbound failures of :data:`QUIET_EVENTS` (Postfix's DNSBL hits, 26k
of the 68k rows then left at 1M Postfix lines; Exim's failed TLS handshakes, 4.5k of 86k) are read
the same way as the failures among those ends, and are folded with them. What the report reads of one:

* its second, file, host, reply class and whether it closed (the window's event count and span,
  the timeline's periods, the servers, the reply classes, the silence detector, the normal and
  unclosed disconnects): the :class:`~analyzer.anomalies.aggregates.Bulk`'s table, by the BulkFold;
* of the lost connections and timeouts that are no failure, all sides of the window: counts per
  (minute, event, stage, cause) and each key's first lines, as the weekly report folds them
  (:mod:`analyzer.anomalies.folded`: ``Bulk.ends``/``end_examples``, the session-end detector's);
  of the failures (too many errors, protocol errors: the cause-spike and new-signature detectors'),
  counts per (minute, cause, provider, masked reply, above info) and each key's first lines, as
  the weekly's quiet failures (:mod:`analyzer.anomalies.failed`: ``Bulk.failures``/
  ``failure_examples``); each minute split at the window's limits (a cut at the limits keeps whole
  steps), the examples with their host (the findings' servers);
* inside the window: the lines per (SMTP stage, event) of the abnormal ends (``session_ends``) and,
  per cause list (``outcomes.states``: not an info line that went well; ``outcomes.by_cause``: the
  failures) and entry (cause and fix): the lines, their outcomes, the distinct clients (as 64-bit
  hashes), the events, and the first :data:`CANDIDATES` lines that may be an example, in input
  order; :func:`merged_entry` counts them with the entry's rows.

Exact for whole-second window limits (a limit inside a second counts the Bulk's lines of that
second on the side its start is on, as every folded line: :mod:`analyzer.anomalies.aggregates`).
:class:`EndsFold` keeps these; :meth:`EndsFold.result` is ``(the four Bulk tables, report part)``:
the report part reaches ``build_report`` as ``sections["ends"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..anomalies.aggregates import _seconds_ns, qid_hash, row_order
from ..anomalies.arrow_columns import (
    _decoded,
    _one_array,
    as_arrow,
    as_string,
    codes_of,
    encoded,
    eq_arrow,
    hash_arrow,
    seconds_ns_arrow,
)
from ..anomalies.batch_tests import tests_of
from ..anomalies.context import FAILURES
from .sent_fold import SENT_STEP, SentFold

__all__ = ["CANDIDATES", "END_EVENTS", "EndsFold", "is_foldable_end", "new_ends_fold"]

#: The session ends folded (inbound, no failure, of no message).
END_EVENTS = ("disconnect", "lost_connection", "timeout", "too_many_errors", "protocol_error")
#: Of those, the ones folded when they are failures (no session-end detector reads them).
FAILED_EVENTS = ("too_many_errors", "protocol_error")
#: The inbound failures of no session end folded the same way (only when failures): DNSBL hits
#: (Postfix's postscreen and dnsblog) and TLS handshakes that failed (Exim's): read, as the
#: weekly's quiet failures (:func:`analyzer.anomalies.failed.is_quiet_failure`), by the cause
#: lists, the cause-spike and new-signature detectors and as the Bulk's lines only (r16-rejfold).
QUIET_EVENTS = ("dnsbl", "tls")
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
                   "provider", "detail"})


def is_foldable_end(batch: pd.DataFrame) -> np.ndarray:
    """Inbound session ends (:data:`END_EVENTS`, direction inbound) with a time and a cause, that
    are no failure (but of :data:`FAILED_EVENTS`), and the failures of :data:`QUIET_EVENTS`; no
    expiry, bookkeeping nor resource trouble, and name no message, recipient, SASL user nor
    borrowed cause (their status, a session end's kind, is read by nothing the report shows).
    None in a table lacking a column read."""
    if not set(batch.columns) >= NEEDS:
        return np.zeros(len(batch), dtype=bool)
    # the batch's shared column tests (a stream batch's codes and Arrow validity: no Series per column)
    t = tests_of(batch)
    ends, quiet = t.eq("event", END_EVENTS), t.eq("event", QUIET_EVENTS)
    if not (ends.any() or quiet.any()):
        return np.zeros(len(batch), dtype=bool)
    from .build import BOOKKEEPING_CAUSES

    # failures only of the events the session-end detector does not read (the cause lists' by_cause,
    # the cause-spike and new-signature detectors read them: analyzer.anomalies.failed); of the
    # quiet events, the failures only
    failed = t.eq("outcome", FAILURES)
    m = (ends & ~(failed & ~t.eq("event", FAILED_EVENTS))) | (quiet & failed)
    m &= t.eq("direction", "inbound")
    m &= ~t.eq("cause", ("queue.expired", "local.resource", *BOOKKEEPING_CAUSES))
    m &= t.notnull("cause") & t.notnull("ts")
    for c in ("queue_id", "recipient", "sasl_username", "cause_ref"):
        m &= t.null(c)
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


class _Codes:
    """Strings as int64 codes (-1: null) into one list shared by every batch."""

    def __init__(self) -> None:
        self.seen: dict[Any, int] = {}

    def __call__(self, arr: pa.Array) -> np.ndarray:
        enc = encoded(arr)
        ids = np.array([self.seen.setdefault(v, len(self.seen)) for v in enc.dictionary.to_pylist()] + [-1],
                       dtype=np.int64)
        return ids[codes_of(enc)]  # null takes the trailing -1

    def names(self, codes: np.ndarray) -> np.ndarray:
        """The strings of ``codes`` (-1: None), as objects."""
        return np.append(np.array(list(self.seen), dtype=object), None)[codes]


def _aggregate(p: dict[str, np.ndarray], keys: list[str]) -> dict[str, np.ndarray]:
    """One entry per ``keys``: lines summed, first and last time."""
    if not len(p["n"]):
        return p
    idx = np.lexsort([p[k] for k in reversed(keys)])
    ks = [p[k][idx] for k in keys]
    starts = np.flatnonzero(_starts(ks))
    out = {k: v[starts] for k, v in zip(keys, ks, strict=True)}
    out["n"] = np.add.reduceat(p["n"][idx], starts)
    out["ts_min"] = np.minimum.reduceat(p["ts_min"][idx], starts)
    out["ts_max"] = np.maximum.reduceat(p["ts_max"][idx], starts)
    return out


def _starts(ks: list[np.ndarray]) -> np.ndarray:
    """Where a run of equal keys (sorted) starts."""
    new = np.zeros(len(ks[0]), dtype=bool)
    if len(new):
        new[0] = True
    for k in ks:
        new[1:] |= k[1:] != k[:-1]
    return new


def _firsts(d: dict[str, np.ndarray], keys: list[str], n: int) -> dict[str, np.ndarray]:
    """Each key's first ``n`` entries, by time (``ts``) and then input order (``order``)."""
    if not len(d["ts"]):
        return d
    idx = np.lexsort([d["order"], d["ts"], *[d[k] for k in reversed(keys)]])
    new = _starts([d[k][idx] for k in keys])
    at = np.arange(len(idx))
    keep = at - np.maximum.accumulate(np.where(new, at, 0)) < n
    return {k: v[idx[keep]] for k, v in d.items()}


def _pairs(a: np.ndarray, b: np.ndarray, **how: bool) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique`` of the pairs of two code columns (none negative) as columns of a 2-row array,
    in the same order (by ``a``, then ``b``), as one int64 key each (not ``axis=1``'s row view)."""
    uniq, more = np.unique((a.astype(np.int64) << 32) | b.astype(np.int64), **how)
    return np.stack([uniq >> 32, uniq & 0xFFFFFFFF]), more


def _column_at(batch: pd.DataFrame, name: str, pos: pa.Array) -> pa.Array:
    """The column ``name`` of ``batch`` at the rows ``pos`` (in that order), in Arrow, as
    :func:`analyzer.anomalies.arrow_columns.taken` gives it (a take of the few rows folded costs half a filter of the batch)."""
    table = batch.__dict__.get("arrow")  # a stream batch's own table
    arr = _decoded(_one_array(table.column(name))) if table is not None else as_arrow(batch[name])
    return arr.take(pos)


def _cat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


class _Steps:
    """Lines counted per (side of the window, step, ``keys``: codes) with each key's first
    :data:`EXAMPLES` lines (the detectors' folded tables, :mod:`analyzer.anomalies.folded`)."""

    COMPACT_EVERY = 16

    def __init__(self, keys: list[str]) -> None:
        self.keys = ["side", "sec", *keys]
        self.counts: list[dict[str, np.ndarray]] = []
        self.examples: list[dict[str, np.ndarray]] = []

    def add(self, t: dict[str, np.ndarray]) -> None:
        n = len(t["ts"])
        self.counts.append(_aggregate({**{k: t[k] for k in self.keys}, "n": np.ones(n, np.int64),
                                       "ts_min": t["ts"], "ts_max": t["ts"]}, self.keys))
        self.examples.append(_firsts(t, self.keys, EXAMPLES))
        if len(self.counts) >= self.COMPACT_EVERY:
            self._compact()

    def _compact(self) -> None:
        self.counts = [_aggregate(_cat(self.counts), self.keys)]
        self.examples = [_firsts(_cat(self.examples), self.keys, EXAMPLES)]

    def result(self, codes: dict[str, _Codes]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(counts, examples) as :mod:`analyzer.anomalies.folded` holds them: the keys' values as
        strings (None: null), ``spike`` as booleans, the examples' file and host as strings."""
        if not self.counts:
            return None, None
        self._compact()
        c, e = self.counts[0], self.examples[0]
        self.counts, self.examples = [], []

        def named(d: dict[str, np.ndarray], more: tuple[str, ...]) -> pd.DataFrame:
            cols: dict[str, Any] = {}
            for k in [*self.keys[1:], *more]:
                cols[k] = d[k].astype(bool) if k == "spike" else codes[k].names(d[k]) if k in codes else d[k]
            return pd.DataFrame(cols)

        return named(c, ("n", "ts_min", "ts_max")), named(e, ("ts", "order", "source", "line_no", "host"))


#: The columns :class:`EndsFold` codes (their strings held once).
_CODED = ("event", "smtp_stage", "cause", "fix_id", "outcome", "provider", "text", "source", "host")
#: The columns :meth:`EndsFold.add` reads of every line it folds (NEEDS less those only tested by
#: is_foldable_end, and the detail, taken at the few example candidates only).
_READ = ("ts", "event", "smtp_stage", "cause", "fix_id", "outcome", "severity", "provider", "source", "host",
         "line_no", "reply_text", "client_ip")


def _grown(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` zero-padded to at least ``shape`` (each side at least doubled when it grows)."""
    if all(n <= m for n, m in zip(shape, a.shape, strict=True)):
        return a
    out = np.zeros(tuple(max(n, 2 * m) for n, m in zip(shape, a.shape, strict=True)), dtype=a.dtype)
    out[tuple(slice(0, m) for m in a.shape)] = a
    return out


class _Entries:
    """One cause list's entries (numbered by :class:`EndsFold`'s keys): lines, lines per outcome
    and per event (their codes), and the distinct clients' hashes, as arrays indexed by the entry's
    number, folded without a step per entry."""

    COMPACT_EVERY = 16

    def __init__(self) -> None:
        self.order = np.zeros(0, np.int64)  # the entries in the order first folded
        self.n = np.zeros(0, np.int64)
        self.outcomes = np.zeros((0, 0), np.int64)
        self.events = np.zeros((0, 0), np.int64)
        self.clients: list[tuple[np.ndarray, np.ndarray]] = []  # (entry, hash), sorted unique when compacted

    def add(self, firsts: np.ndarray, kid: np.ndarray, outcome: np.ndarray, event: np.ndarray,
            client: np.ndarray, has_client: np.ndarray) -> None:
        """Fold lines: ``firsts`` the batch's entries in the order they list (new ones join the
        order), then per line its entry, outcome and event codes (-1: null) and client hash."""
        top = int(max(kid.max(), firsts.max())) + 1
        self.n = _grown(self.n, (top,))
        fresh = firsts[self.n[firsts] == 0]  # (an entry number can list twice: two pairs, one key)
        self.order = np.concatenate([self.order, fresh[np.sort(np.unique(fresh, return_index=True)[1])]])
        np.add.at(self.n, kid, 1)
        for name, codes in (("outcomes", outcome), ("events", event)):
            ok = codes >= 0
            table = _grown(getattr(self, name), (top, int(codes.max(initial=-1)) + 1))
            np.add.at(table, (kid[ok], codes[ok]), 1)
            setattr(self, name, table)
        if has_client.any():
            self.clients.append(_pairs_unique(kid[has_client], client[has_client]))
            if len(self.clients) >= self.COMPACT_EVERY:
                self._compact()

    def _compact(self) -> None:
        if len(self.clients) > 1:
            self.clients = [_pairs_unique(np.concatenate([k for k, _ in self.clients]),
                                          np.concatenate([h for _, h in self.clients]))]

    def result(self, keys: list[str], codes: dict[str, _Codes]) -> dict[str, dict[str, Any]]:
        """Per entry key (in the order first folded): ``n``, ``outcomes`` (name: lines), ``events``
        (names), ``clients`` (the distinct hashes, sorted), as :func:`merged_entry` reads them."""
        self._compact()
        kc, hc = self.clients[0] if self.clients else (np.zeros(0, np.int64), np.zeros(0, np.uint64))
        bounds = np.searchsorted(kc, np.arange(len(self.n) + 1))
        # (the tables grow by doubling: their columns beyond the codes held are zero)
        outcome_names = codes["outcome"].names(np.arange(min(self.outcomes.shape[1], len(codes["outcome"].seen))))
        event_names = codes["event"].names(np.arange(min(self.events.shape[1], len(codes["event"].seen))))
        out = {}
        for k in self.order:  # (once per entry, at the end)
            row, ev = self.outcomes[k] if len(self.outcomes) > k else (), self.events[k] if len(self.events) > k else ()
            out[keys[k]] = {"n": int(self.n[k]),
                            "outcomes": {str(outcome_names[j]): int(row[j]) for j in np.flatnonzero(row[:len(outcome_names)])},
                            "events": {str(event_names[j]) for j in np.flatnonzero(ev[:len(event_names)])},
                            "clients": hc[bounds[k]:bounds[k + 1]]}
        return out


def _pairs_unique(k: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (entry, hash) pairs, sorted by entry and then hash."""
    idx = np.lexsort((h, k))
    k, h = k[idx], h[idx]
    new = np.ones(len(k), dtype=bool)
    new[1:] = (k[1:] != k[:-1]) | (h[1:] != h[:-1])
    return k[new], h[new]


class EndsFold:
    """Folds the lines of :func:`is_foldable_end` (``add(batch, mask)``) for ``window``: held as
    numpy arrays of codes (no Python object per line)."""

    def __init__(self, window: Any) -> None:
        self.since = None if window.since is None else pd.Timestamp(window.since).value
        self.until = None if window.until is None else pd.Timestamp(window.until).value
        self._codes = {k: _Codes() for k in _CODED}
        self._ends = _Steps(["event", "smtp_stage", "cause"])  # Bulk.ends (analyzer.anomalies.folded.END_KEYS)
        self._fails = _Steps(["cause", "provider", "text", "spike"])  # Bulk.failures (.failed.FAIL_KEYS)
        self._stages: dict[tuple[str, str], int] = {}
        # per cause list ("states", "failed") and entry key (pair_codes._pair_codes' names)
        self._lists = {"states": _Entries(), "failed": _Entries()}
        self._keys: dict[str, int] = {}  # entry key -> its number (the candidates' "k")
        self._candidates: dict[str, dict[str, np.ndarray] | None] = {"states": None, "failed": None}

    #: each line's side of the window (0 before, 1 inside, 2 after), as the sent deliveries'
    _side = SentFold._side

    def add(self, batch: pd.DataFrame, mask: np.ndarray) -> None:
        if not mask.any():
            return
        rows = pa.array(np.flatnonzero(mask), type=pa.int64())
        a = {c: _column_at(batch, c, rows) for c in _READ if c in batch.columns}  # the lines' columns, in Arrow
        order = row_order(batch)[mask]
        sec, ns = seconds_ns_arrow(a["ts"])
        side = self._side(ns)
        c = {k: self._codes[k](a[k]) for k in _CODED if k != "text"}
        line = pc.cast(a["line_no"], pa.float64()).to_numpy(zero_copy_only=False).astype(float)
        failed = eq_arrow(a["outcome"], FAILURES)
        base = {"side": side, "sec": (sec // SENT_STEP) * SENT_STEP, "ts": ns, "order": order, "source": c["source"],
                "line_no": line, "host": c["host"]}
        ends = eq_arrow(a["event"], DETECTED) & ~failed
        if ends.any():
            self._ends.add({k: v[ends] for k, v in {**base, **{k: c[k] for k in ("event", "smtp_stage", "cause")}}.items()})
        if failed.any():  # keyed as analyzer.anomalies.failed.failure_counts keys them
            from ..anomalies.delivery import _masked_text

            # each distinct text masked once (its code per line from the texts' own encoding)
            enc = encoded(a["reply_text"].filter(pa.array(failed)))
            masked = _masked_text(pd.Series(pd.arrays.ArrowStringArray(as_string(enc.dictionary))))
            t = {k: v[failed] for k, v in {**base, "cause": c["cause"], "provider": c["provider"]}.items()}
            t["text"] = np.append(self._codes["text"](as_arrow(masked)), -1)[codes_of(enc)]
            t["spike"] = (~eq_arrow(a["severity"], "info"))[failed].astype(np.int64)
            self._fails.add(t)
        inside = side == 1
        if not inside.any():
            return
        bad = inside & eq_arrow(a["event"], ABNORMAL)
        if bad.any():
            stage = np.where(c["smtp_stage"][bad] < 0, -2, c["smtp_stage"][bad])  # -2: no stage ("unknown")
            pair, n = _pairs(stage + 2, c["event"][bad] + 1, return_counts=True)
            pair = pair - np.array([[2], [1]])
            stages = self._codes["smtp_stage"].names(np.maximum(pair[0], 0))
            events = self._codes["event"].names(pair[1])
            for i in range(pair.shape[1]):
                key = ("unknown" if pair[0, i] == -2 else str(stages[i]), str(events[i]))
                self._stages[key] = self._stages.get(key, 0) + int(n[i])
        notable = ~(eq_arrow(a["severity"], "info") & eq_arrow(a["outcome"], ("ok", "info")))
        for name, m in (("states", inside & notable & ~failed), ("failed", inside & failed)):
            if m.any():
                self._add_entries(name, a, c, m, base, batch, mask)

    def _add_entries(self, name: str, a: dict[str, pa.Array], c: dict[str, np.ndarray], m: np.ndarray,
                     base: dict[str, np.ndarray], batch: pd.DataFrame, mask: np.ndarray) -> None:
        at = np.flatnonzero(m)
        # the cause lists' key (pair_codes._pair_codes): cause and fix, the cause where there is no fix
        pairs, inv = _pairs(c["cause"][at] + 1, c["fix_id"][at] + 1, return_inverse=True)
        pairs = pairs - 1
        causes, fixes = self._codes["cause"].names(pairs[0]), self._codes["fix_id"].names(pairs[1])
        names = [f"{cause}\x00{cause if fix is None else fix}" for cause, fix in zip(causes, fixes, strict=True)]
        firsts = np.array([self._keys.setdefault(k, len(self._keys)) for k in names], dtype=np.int64)
        kid = firsts[inv]
        client = a["client_ip"].take(pa.array(at))
        self._lists[name].add(firsts, kid, c["outcome"][at], c["event"][at], hash_arrow(client),
                              client.is_valid().to_numpy(zero_copy_only=False))
        ok = (c["source"][at] >= 0) & ~np.isnan(base["line_no"][at])
        if not ok.any():
            return
        cand = _firsts({"k": kid[ok], "ts": base["ts"][at][ok], "order": base["order"][at][ok], "at": at[ok]},
                       ["k"], CANDIDATES)
        # their texts looked at only for the few that may be examples
        at = cand.pop("at")
        rows = pa.array(at)
        cand["source"] = self._codes["source"].names(c["source"][at])
        cand["line_no"] = base["line_no"][at]
        detail = _column_at(batch, "detail", pa.array(np.flatnonzero(mask)[at], type=pa.int64()))
        cand["text"] = _meaningful_text(a["reply_text"].take(rows).to_pylist(), detail.to_pylist())
        held = self._candidates[name]
        self._candidates[name] = _firsts(cand if held is None else _cat([held, cand]), ["k"], CANDIDATES)

    def result(self) -> tuple[tuple[pd.DataFrame | None, ...], dict[str, Any]]:
        """((``Bulk.ends``, ``Bulk.end_examples``, ``Bulk.failures``, ``Bulk.failure_examples``: None
        without any), ``sections["ends"]``)."""
        tables = (*self._ends.result(self._codes), *self._fails.result(self._codes))
        part: dict[str, Any] = {"stages": dict(self._stages)}
        keys = list(self._keys)  # (numbered in order)
        for name, folded in self._lists.items():
            entries = folded.result(keys, self._codes)
            cand = self._candidates[name]
            for key, st in entries.items():
                mine = cand["k"] == self._keys[key] if cand is not None else None
                if mine is not None and mine.any():
                    st["candidates"] = tuple(cand[c][mine] for c in ("ts", "order", "source", "line_no", "text"))
            part[name] = entries
        self._stages, self._lists, self._keys = {}, {"states": _Entries(), "failed": _Entries()}, {}
        self._candidates = {"states": None, "failed": None}
        return tables, part


def new_ends_fold(window: Any) -> Any:
    """An :class:`EndsFold` for ``window``: its fold in the native core where the native engine
    runs (:class:`.ends_native.NativeEndsFold`, the same results), else this module's."""
    from .. import native

    if native.engine() == "native":
        from .ends_native import NativeEndsFold

        fold = NativeEndsFold.new_native(window)
        if fold is not None:
            return NativeEndsFold(window, fold)
    return EndsFold(window)


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
        # (the distinct events named, not a string per row: an entry of clients' lines has thousands)
        events = {str(e) for e in take(rows, "event", at).dropna().unique()} | st["events"]
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
