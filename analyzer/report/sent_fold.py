"""The nightly report's sent outbound deliveries, folded instead of kept as rows (#12).

A sent outbound delivery that went well and says nothing (:func:`is_foldable_sent`) is the
largest kind of kept row (Postfix 1M lines: 95k of 233k rows). What the report reads of one:

* its second, file, host and reply class (the volumes' count and timeline, the servers, the
  reply classes, the silence detector): the :class:`~analyzer.anomalies.aggregates.Bulk`'s
  ``delivered`` lines, with its queue id (a message's first time) and sender, by the BulkFold;
* its (minute, recipient domain, provider), counted (the failure-spike and concentration
  detectors, the severity policy): :attr:`Bulk.sent`, :data:`SENT_STEP`-second steps, each step
  split at the window's limits (so that a cut at any second keeps whole steps);
* inside the window, its delay (the delay quantiles): counted per distinct value;
* inside the window, its top tables' keys and unit (destination domain, relay, sender, the
  message-and-recipient hash of :func:`.units.message_units`, the queue id's hashes): one compact
  entry per line (36 bytes, not a row of 130), so that :func:`.top._top` counts attempts and
  distinct messages per key exactly as over the rows.

:class:`SentFold` keeps these; :meth:`SentFold.result` is ``(sent counts, report part)``: the
first goes into the Bulk, the second reaches ``build_report`` as ``sections["sent"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..anomalies.arrow_columns import _decoded, _one_array, as_string, hash_arrow, seconds_ns_arrow, taken
from ..anomalies.batch_tests import tests_of
from ..anomalies.sent import SENT_KEYS, empty, is_sent
from ..peer_agg import new_vocab
from .fold import _narrow
from .units import MESSAGE, message_units

__all__ = ["SENT_STEP", "SentFold", "is_foldable_sent"]

#: The step of :attr:`Bulk.sent` in the report: a minute (a detectors' bucket of whole minutes).
SENT_STEP = 60
#: The columns :func:`is_foldable_sent` and :class:`SentFold` read.
NEEDS = frozenset({"ts", "event", "direction", "status", "outcome", "cause", "sasl_username", "severity",
                   "cause_ref", "queue_id", "recipient", "provider", "relay_host", "sender", "delay"})

#: Of those, the ones :meth:`SentFold.add` reads (taken at the rows folded), and of these the units'.
_READS = ("ts", "recipient", "provider", "delay", "relay_host", "sender", "queue_id", "direction", "event")
_UNITS = ("queue_id", "recipient", "direction", "event")


def _domain_arrow(recipient: pa.Array) -> pa.Array:
    """:func:`analyzer.anomalies.context._domain` of an Arrow array: the address's domain,
    lower-cased; null where there is none."""
    found = pc.struct_field(pc.extract_regex(as_string(recipient), r"@(?P<domain>[^@<>\s]+)>?$"), [0])
    return pc.utf8_lower(found)


def is_foldable_sent(batch: pd.DataFrame) -> np.ndarray:
    """Sent outbound deliveries (:func:`analyzer.anomalies.sent.is_sent`) of a message and recipient
    that went well (outcome ok or info, severity info: no state nor failure the outcomes list), take
    no cause from another line and are no give-up: the report reads them only as
    :class:`SentFold` and the BulkFold keep them. None in a table lacking a column read."""
    if not set(batch.columns) >= NEEDS:
        return np.zeros(len(batch), dtype=bool)
    m = is_sent(batch)
    if not m.any():
        return m
    t = tests_of(batch)
    m &= t.eq("outcome", ("ok", "info")) & t.eq("severity", "info")
    m &= ~t.eq("cause", "queue.expired")
    if "action" in t.columns:
        m &= ~t.eq("action", "expired")
    return m & t.null("cause_ref") & t.notnull("queue_id") & t.notnull("recipient")


class _Codes:
    """Strings as int32 codes (-1: null) into one list per column, shared by every batch: a
    vocabulary (:func:`analyzer.peer_agg.new_vocab`: the strings held and coded in Rust where the
    native engine runs; a batch's thousands of distinct senders were a Python dict's, one lookup each)."""

    def __init__(self) -> None:
        self._words = new_vocab()

    def __call__(self, arr: pa.Array) -> np.ndarray:
        """An Arrow array's codes (its distinct values taken in in order of first sight)."""
        return self._words.encode(arr).astype(np.int32)

    def values(self) -> pa.Array:
        """The strings by code, as Arrow large strings (pandas' ``str`` storage: taken into the
        counts' columns as they are; a day's 250k distinct senders held through the report's
        end as ~8 MiB of bytes, not as ~25 MiB of Python strings)."""
        words = self._words.words()
        return words if words.type == pa.large_string() else words.cast(pa.large_string())


class SentFold:
    """Folds the lines of :func:`is_foldable_sent` (``add(batch, mask)``) for ``window``: held as
    numpy arrays of codes (no Python object per line or per group while the day is read)."""

    #: Re-aggregate the per-batch counts once this many are held.
    COMPACT_EVERY = 16
    #: Stream batches' lines that wait (as the Arrow columns read) before they are folded together.
    HOLD_ROWS = 4096

    def __init__(self, window: Any) -> None:
        self.since = None if window.since is None else pd.Timestamp(window.since).value
        self.until = None if window.until is None else pd.Timestamp(window.until).value
        self._counts: list[dict[str, np.ndarray]] = []  # per (side of the window, step, domain, provider)
        self._delays: dict[float, int] = {}
        self._keys = {k: _Codes() for k in ("domain", "relay_host", "sender", "provider")}
        self._top: list[dict[str, np.ndarray]] = []
        self._held: list[dict[str, pa.Array]] = []  # stream batches' lines waiting (_hold)
        self._held_rows = 0

    def _side(self, ns: np.ndarray) -> np.ndarray:
        side = np.ones(len(ns), dtype=np.int64)
        if self.since is not None:
            side[ns < self.since] = 0
        if self.until is not None:
            side[ns >= self.until] = 2
        return side

    def add(self, batch: pd.DataFrame, mask: np.ndarray) -> None:
        if not mask.any():
            return
        # the columns read, at the rows folded, as Arrow arrays: a stream batch's own (one filter per
        # column, no pandas table nor Series), another table's converted (:func:`taken`)
        cols = _taken(batch, mask)
        if batch.__dict__.get("arrow") is None:  # (another table's: folded at once, its units from it)
            self._hold()
            self._fold(cols, batch, mask)
            return
        if self._held and (cols.keys() != self._held[0].keys()
                           or any(v.type != self._held[0][k].type for k, v in cols.items())):
            self._hold()
        self._held.append(cols)
        self._held_rows += len(cols["ts"])
        if self._held_rows >= self.HOLD_ROWS:
            self._hold()

    def _hold(self) -> None:
        """The stream batches' lines waiting (:data:`HOLD_ROWS`) folded as one: each step's Arrow
        kernels (the domains' regex, compiled per call), vocabularies and sorts once for several
        batches, not once per batch (~3 CPU-ms a batch whatever its lines)."""
        held, self._held, self._held_rows = self._held, [], 0
        if held:
            self._fold(held[0] if len(held) == 1 else {k: pa.concat_arrays([h[k] for h in held]) for k in held[0]})

    def _fold(self, cols: dict[str, pa.Array], batch: pd.DataFrame | None = None, mask: np.ndarray | None = None) -> None:
        sec, ns = seconds_ns_arrow(cols["ts"])
        side = self._side(ns)
        domain = self._keys["domain"](_domain_arrow(cols["recipient"]))
        # held narrow (side int8, codes and counts int32: 37 bytes an entry, not 56); int64 in result()
        self._counts.append(_aggregate({"side": side.astype(np.int8), "sec": (sec // SENT_STEP) * SENT_STEP,
                                        "domain": domain, "provider": self._keys["provider"](cols["provider"]),
                                        "n": np.ones(len(ns), dtype=np.int32), "ts_min": ns, "ts_max": ns}))
        if len(self._counts) >= self.COMPACT_EVERY:
            self._counts = [_aggregate({k: np.concatenate([p[k] for p in self._counts]) for k in self._counts[0]})]
        inside = side == 1
        if not inside.any():
            return
        if not inside.all():
            keep = pa.array(inside)
            cols = {k: v.filter(keep) for k, v in cols.items() if k not in ("ts", "provider")}
            domain = domain[inside]
        d = pc.drop_null(pc.cast(cols["delay"], pa.float64())).to_numpy(zero_copy_only=False)
        if len(d):
            vals, n = np.unique(d, return_counts=True)
            for v, k in zip(vals.tolist(), n.tolist(), strict=True):
                self._delays[v] = self._delays.get(v, 0) + k
        qid = hash_arrow(cols["queue_id"])
        h, q = _units(cols, qid)
        if h is None:
            units = message_units(_unit_rows(batch, mask, inside, cols))
            h, q = units.h, units.q
        # the codes held as narrow as their values allow (a day's relays fit a byte, its domains
        # mostly two); int32 again in result()
        self._top.append({"domain": _narrow_codes(domain),
                          "relay_host": _narrow_codes(self._keys["relay_host"](cols["relay_host"])),
                          "sender": _narrow_codes(self._keys["sender"](cols["sender"])), "qid": qid, "h": h, "q": q})

    def result(self) -> tuple[pd.DataFrame, dict[str, Any]]:
        """(the counts per step, domain and provider as :attr:`Bulk.sent` holds them; the part the
        report's build reads, ``sections["sent"]``)."""
        self._hold()
        values = {k: c.values() for k, c in self._keys.items()}
        counts = empty()
        if self._counts:
            c = _aggregate({k: np.concatenate([p[k] for p in self._counts]) for k in self._counts[0]})
            counts = pd.DataFrame({"sec": c["sec"], "domain": _named(values["domain"], c["domain"]),
                                   "provider": _named(values["provider"], c["provider"]), "n": c["n"].astype(np.int64),
                                   "ts_min": c["ts_min"], "ts_max": c["ts_max"]})
            counts = counts.sort_values(SENT_KEYS, kind="stable", na_position="last", ignore_index=True)
        self._counts = []
        top = _joined_top(self._top)
        self._top = []
        # (by value: the same whatever batches the lines were folded in, held or not)
        by = sorted(self._delays.items())
        delays = (np.array([v for v, _ in by], dtype=float), np.array([n for _, n in by], dtype=np.int64))
        return counts, {"delays": delays, "top": top, "values": values}


#: The codes of :attr:`SentFold._top`, held narrow (:func:`_narrow_codes`), given as int32.
_TOP_CODES = ("domain", "relay_host", "sender")


def _joined_top(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    """The top entries' pieces (:attr:`SentFold._top`) joined a column at a time, each column's
    pieces dropped as it is made (emptying ``pieces``' dicts: the whole of them was held beside
    the joined columns, ~19 MiB at 10M Postfix lines, the fold's end's peak); the codes made
    int32 as they are joined, not joined narrow and then copied. None without any piece."""
    if not pieces:
        return None
    # (a message unit's queue-id hash is the line's own: one array for both where every piece's is)
    same_q = all(p["q"] is p["qid"] for p in pieces)
    top: dict[str, np.ndarray] = {}
    for k in list(pieces[0]):
        parts = [p.pop(k) for p in pieces]
        if same_q and k == "q":
            continue
        top[k] = np.concatenate(parts, dtype=np.int32) if k in _TOP_CODES else np.concatenate(parts)
        del parts
    if same_q:
        top["q"] = top["qid"]
    return top


def _narrow_codes(codes: np.ndarray) -> np.ndarray:
    """int32 codes (-1: null) as the narrowest signed integers that hold them (:func:`.fold._narrow`)."""
    return codes.astype(_narrow(int(codes.max()) + 1 if len(codes) else 0), copy=False)


def _unit_rows(batch: pd.DataFrame | None, mask: np.ndarray | None, inside: np.ndarray,
               cols: dict[str, Any]) -> pd.DataFrame:
    """The columns :func:`.units.message_units` reads of the rows folded inside the window, in
    the batch's own dtypes (the units' hash depends on them: :func:`.units.value_hash`): stream
    batches' (``batch`` None: their lines held together) as Arrow-backed columns over the arrays
    taken, another table's taken by pandas."""
    if batch is None:
        return pd.DataFrame({c: pd.arrays.ArrowExtensionArray(cols[c]) for c in _UNITS if c in cols})
    rows = batch.loc[mask, [c for c in _UNITS if c in batch.columns]]
    return rows if inside.all() else rows[inside]


def _taken(batch: pd.DataFrame, mask: np.ndarray) -> dict[str, pa.Array]:
    """:func:`taken` of the columns :meth:`SentFold.add` reads: a stream batch's filtered as one
    table (Arrow finds the rows once for all its columns, not once a column), dictionaries
    decoded after (the rows folded only); another table's by :func:`taken`."""
    table = batch.__dict__.get("arrow")
    if table is None:
        return taken(batch, _READS, mask)
    names = [c for c in _READS if c in batch.columns]
    sub = table.select(names).filter(pa.array(mask))
    return {c: _decoded(_one_array(sub.column(c))) for c in names}


def _units(cols: dict[str, pa.Array], qid: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The units' hashes (``h``, ``q``) of the lines folded, whose queue id and recipient are
    never null (:func:`is_foldable_sent`): each a message-and-recipient unit, what
    :func:`.units.message_units` gives of Arrow strings (:func:`.units.value_hash`: the queue
    id's hash ``qid``, :func:`analyzer.anomalies.arrow_columns.hash_arrow`'s, is the same), made
    without a pandas table. (None, None) where the columns are not such strings."""
    q, r = cols.get("queue_id"), cols.get("recipient")
    if q is None or r is None or q.type != pa.string() or r.type != pa.string() or q.null_count or r.null_count:
        return None, None
    with np.errstate(over="ignore"):
        return qid * np.uint64(1000003) ^ hash_arrow(r), qid


def _named(values: pa.Array, codes: np.ndarray) -> Any:
    """The strings of ``codes`` (-1: null) as the column pandas makes of them as Python strings
    (its ``str`` array), taken in Arrow: no Python object per row; none but nulls (or no row),
    the object column of None pandas makes of those."""
    null = codes < 0
    if null.all():
        return np.full(len(codes), None, dtype=object)
    return pd.array(values.take(pa.array(codes, mask=null)), dtype="str")


_GROUP = ("side", "sec", "domain", "provider")


def _aggregate(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One entry per (side, step, domain, provider): lines summed, first and last time."""
    if not len(p["n"]):
        return p
    idx = np.lexsort([p[k] for k in reversed(_GROUP)])
    ks = [p[k][idx] for k in _GROUP]
    new = np.zeros(len(idx), dtype=bool)
    new[0] = True
    for k in ks:
        new[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    out = {k: v[starts] for k, v in zip(_GROUP, ks, strict=True)}
    out["n"] = np.add.reduceat(p["n"][idx], starts)
    out["ts_min"] = np.minimum.reduceat(p["ts_min"][idx], starts)
    out["ts_max"] = np.maximum.reduceat(p["ts_max"][idx], starts)
    return out


def folded_delays(part: dict[str, Any] | None) -> np.ndarray:
    """The delays of the folded sent deliveries in the window (each as many times as it was seen)."""
    if not part:
        return np.zeros(0, dtype=float)
    vals, n = part["delays"]
    return np.repeat(vals, n)


def folded_outbound(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """The folded sent deliveries of the window as the top tables read them: per line the codes
    (-1: null) of its ``domain``, ``relay_host`` and ``sender`` (the line's own) into ``names``,
    its queue id's :func:`~analyzer.anomalies.aggregates.qid_hash` (``qid``) and its unit (kind
    message; never a failure); None without any."""
    from .units import Units

    if not part or part.get("top") is None:
        return None
    t = part["top"]
    return {"codes": {k: t[k] for k in ("domain", "relay_host", "sender")},
            "names": {k: part["values"][k] for k in ("domain", "relay_host", "sender")},
            "qid": t["qid"], "units": Units(np.full(len(t["h"]), MESSAGE, dtype=np.int8), t["h"], t["q"])}
