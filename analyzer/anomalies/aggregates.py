"""The lines the report counts but never shows, folded into a table per second.

Most lines of a mail log say that a session began, negotiated TLS, passed the postscreen or
ended normally. No section shows them one by one and no detector picks one as evidence, except
silence (the last line before a gap): they are counted (events, sessions, normal closes, reply
classes) and their times mark when a log stream was active. :func:`is_bulk` picks these lines;
:class:`BulkFold` folds them (a fold of :mod:`analyzer.report.fold`) into :class:`Bulk`, one row
per second, input file, host and reply class, so the report keeps only the other lines as rows.

A :class:`Bulk` is cut to a time window like the rows are (:meth:`Bulk.cut`): by whole seconds,
which is exact for syslog stamps (whole seconds); a window limit inside a second of a stamp with
fractions counts that second's bulk lines on the side of the limit their second starts on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..peer_agg import new_vocab
from .arrow_columns import as_arrow, flags, hash_arrow, seconds_ns_arrow
from .bulk_ends import DEFERRALS, LOOKS, MessageEnds
from .bulk_firsts import FirstTimes
from .bulk_held import (
    _NULL_SEC,
    _concat,
    _empty_qids,
    _empty_senders,
    _first_qids,  # noqa: F401  (its importers still name this module)
    _held_ts,
    _joined,
    _with_sec,
    senders_categorical,
)
from .bulk_masks import (  # (the masks were defined here: their importers still name this module)
    BULK_EVENTS,
    MESSAGE_EVENTS,
    _eq,
    counted_apart,
    fold_masks,
    is_bulk,
    is_completed,
    is_queued,
    is_received,
)
from .bulk_narrow import extreme_ns
from .bulk_narrow import ns as times_ns
from .bulk_native import native_bulk
from .bulk_read import _Read
from .key_groups import group_sums, sorted_groups

__all__ = ["BULK_EVENTS", "MESSAGE_EVENTS", "ORDER_COLUMN", "RECEIVED", "Bulk", "BulkFold", "counted_apart", "fold_masks", "in_window", "is_bulk",
           "is_completed", "is_queued", "is_received", "qid_hash", "row_order"]

_KEYS = ["sec", "source", "host", "reply_class", "kind"]
#: The ``kind`` of a Bulk row of received lines (:func:`is_received`); the other lines' is "".
RECEIVED = "received"
#: The ``kind`` of a Bulk row of sent deliveries (event delivery, status sent): only the weekly
#: report folds them (:mod:`analyzer.weekly.events`, with their counts in :attr:`Bulk.sent`).
DELIVERED = "delivered"
_COUNTS = ["n", "sessions", "closed", "unclosed"]


#: The column that keeps each kept row's place in the input order (:func:`row_order`): the silence
#: detector compares it with the folded lines' to find the last line before a gap.
ORDER_COLUMN = "_order"
#: Bits of the row order given to the row number within an input (the input's position above it).
_ROW_BITS = 40


def row_order(batch: pd.DataFrame) -> np.ndarray:
    """The place of each row of a batch (see :mod:`analyzer.report.fold`) in the run's input
    order, one int64 per row: the input's position in the high bits, the row's number within its
    input in the low ones."""
    return _order_base(batch) + np.arange(len(batch), dtype=np.int64)


def _order_base(batch: pd.DataFrame) -> int:
    """:func:`row_order` of a batch's first row."""
    return (int(batch.attrs.get("input", 0)) << _ROW_BITS) + int(batch.attrs.get("first_row", 0))


def in_window(ts: pd.Series, window: Any) -> np.ndarray:
    """Which times lie in ``window`` (``since <= ts < until``, a limit of None being no limit;
    a line without a time only when neither limit is given), as the report cuts its rows."""
    since, until = getattr(window, "since", None), getattr(window, "until", None)
    keep = np.ones(len(ts), dtype=bool)
    if since is not None:
        keep &= (ts >= since).fillna(False).to_numpy(dtype=bool)
    if until is not None:
        keep &= (ts < until).fillna(False).to_numpy(dtype=bool)
    return keep


def qid_hash(ids: pd.Series) -> np.ndarray:
    """A 64-bit hash of each queue id, or any string (the same in every batch and process; nulls
    hash alike: mask them apart). Each distinct value is hashed once, from Arrow, without a
    Python object per row (:mod:`analyzer.rowhash`)."""
    return hash_arrow(as_arrow(ids))


def _values(s: pd.Series) -> np.ndarray:
    """A column as Python strings and None (no NA scalars: the keys group and compare plainly)."""
    out = s.astype(object).to_numpy(dtype=object, copy=True)
    out[pd.isna(out)] = None
    return out


def _seconds_ns(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(whole second, nanoseconds) of each time; :data:`_NULL_SEC` and 0 where there is none."""
    return seconds_ns_arrow(pa.array(ts.array) if not isinstance(ts.dtype, pd.ArrowDtype) else ts.array._pa_array)


class BulkFold:
    """Folds the :func:`is_bulk` lines of each batch into a :class:`Bulk` (a fold: ``add``/``result``).

    Held per key (second, file, host, reply class, kind) as numpy arrays, the files, hosts and
    reply classes as small integer codes (:attr:`_values`): each batch is aggregated with one
    lexsort and ``reduceat`` (no pandas table or group-by per batch), the last
    :data:`COMPACT_EVERY` batches' pieces aggregated together into one held chunk (not with the
    chunks before them: the batches come in time order, so chunks share few keys, and the held
    state is not sorted again every few batches: that was the stream's largest temporary at 3M
    lines); ``result()`` aggregates the chunks into the one table."""

    #: Re-aggregate the per-batch tables once this many are held.
    COMPACT_EVERY = 16
    #: The key columns held as codes of :attr:`_values` (0: null).
    _CODED = ("source", "host", "reply_class")

    def __init__(self, *, first_only: bool = False, split: Any = None, deferred_only: bool = False,
                 looked_up_only: bool = False) -> None:
        self._pieces: list[dict[str, np.ndarray]] = []
        self._chunks: list[dict[str, np.ndarray]] = []  # the pieces of COMPACT_EVERY batches, each aggregated
        self._values: dict[str, dict[Any, int]] = {c: {} for c in self._CODED}
        self._senders: list[dict[str, np.ndarray]] = []  # their sender as a code of _sender_words (int32)
        self._sender_words = new_vocab()  # the distinct senders (in Rust, or Arrow strings: none a Python object)
        # first_only: of each queue id, only its first line on either side of ``split`` (a time:
        # the report window's start) is kept in Bulk.qids (see _first_qids), not one entry per line
        # (per chunk of COMPACT_EVERY batches: one entry per chunk a message is seen in)
        split = None if not first_only else (_NULL_SEC if split is None else _sec_of(split, up=True))
        # deferred_only: Bulk.qids keeps only the messages with a deferred delivery line (kept as a
        # row or not) before their end: the one reader of a message's first time is the deferral
        # detector, for those lines' queue ids; the others' entries are let go of (.bulk_firsts).
        # looked_up_only: Bulk.senders keeps only the messages whose sender the top tables may look up
        # (an outbound delivery line naming no sender before the message's end: .bulk_ends)
        self._looked_up_only = looked_up_only
        marks = (*((DEFERRALS,) if deferred_only else ()), *((LOOKS,) if looked_up_only else ()))
        self._ends = MessageEnds(marks) if marks else None
        self._firsts = FirstTimes(split, self._ends if deferred_only else None)
        # where the native engine runs, the state is held and folded in Rust (.bulk_native)
        self._native = native_bulk(split, deferred_only, looked_up_only)

    def _codes(self, name: str, read: _Read) -> np.ndarray:
        """Column ``name`` of the rows read as codes of :attr:`_values` (1, 2, ... in order of first
        sight; 0 for null)."""
        values, codes = read.encoded(name)
        seen = self._values[name]
        ids = np.array([0 if v is None else seen.setdefault(v, len(seen) + 1) for v in values] + [0], dtype=np.int32)
        return ids[codes]  # null takes None's 0 or the trailing one

    def add(self, batch: pd.DataFrame, mask: np.ndarray | None = None) -> None:
        if self._native is not None:
            self._native.add(batch, is_bulk(batch) if mask is None else mask, _order_base(batch))
            return
        self._add(batch, is_bulk(batch) if mask is None else mask)
        if self._ends is not None:  # (the batch's entries placed from its first line's place on)
            self._ends.add(batch)

    def _add(self, batch: pd.DataFrame, m: np.ndarray) -> None:
        if not m.any():
            return
        read = _Read(batch, m)
        rows = read.rows
        n = int(np.count_nonzero(m))
        sec, ns = seconds_ns_arrow(rows["ts"])
        inbound = ~read.eq("direction", ("outbound", "local"))
        disconnect = read.eq("event", "disconnect") & inbound
        quit_ = flags(rows["quit"]) if "quit" in rows else np.zeros(n, bool)
        values, codes = read.encoded("program")
        screen = np.append(np.array([str(v).endswith("postscreen") for v in values], dtype=bool), False)[codes]
        order = row_order(batch)[m]
        received = read.eq("event", "received")
        self._pieces.append(_aggregate({
            "sec": sec,
            **{c: self._codes(c, read) for c in self._CODED},
            # 1: received, 2: a sent delivery (folded by the weekly only), 0: the others
            "kind": np.where(received, 1, np.where(
                read.eq("event", "delivery") & read.eq("status", "sent"), 2, 0)).astype(np.int8)
            if read.has("status") else received.astype(np.int8),
            # held narrow (the codes int32, the kind int8, the counts int32: a key's count is of one
            # second's lines), int32 in the table too (table_of)
            "n": np.ones(n, dtype=np.int32),
            "sessions": (read.eq("event", "connect") & ~screen & ~read.eq("direction", "outbound")).astype(np.int32),
            "closed": (disconnect & quit_).astype(np.int32),
            "unclosed": (disconnect & ~quit_).astype(np.int32),
            "ts_min": ns, "ts_max": ns,
            "last_order": order,
            "last_line": pc.cast(rows["line_no"], pa.float64()).to_numpy(zero_copy_only=False).astype(float),
        }))
        if len(self._pieces) >= self.COMPACT_EVERY:
            pieces, self._pieces = self._pieces, []
            self._chunks.append(_aggregate(_concat(pieces)))
            self._firsts.compact()
        if read.has("queue_id"):
            has = read.valid("queue_id")
            qid = read.qid_hash() if has.any() else None  # (nulls hash alike: kept apart by has)
            at = (self._ends.lines if self._ends is not None else 0) + np.flatnonzero(m)  # (each line's place)
            if qid is not None:  # a message's first time: one (hash, time) per line, 16 bytes (_held_qids)
                self._firsts.hold(qid[has], sec[has], ns[has], at[has])
            if read.has("sender"):
                said = has & read.valid("sender")
                if qid is not None and said.any():  # a message's sender (qmgr's queued lines): the top senders' tables read it
                    self._senders.append({  # (its second made in result(): _with_sec)
                        "qid": qid[said], "ts": _held_ts(sec[said], ns[said]),
                        "order": order[said],
                        "sender": self._sender_words.encode(read.strings("sender", said)).astype(np.int32),
                        **({"at": at[said]} if self._looked_up_only else {})})

    def result(self) -> Bulk:
        if self._native is not None:
            return self._native.result()
        qids = self._firsts.result()
        if self._looked_up_only and self._senders:
            s = _joined(self._senders)
            at = s.pop("at")
            keep = self._ends.kept(LOOKS, s["qid"], at)
            del at
            self._senders = [{k: v[keep] for k, v in s.items()}]
        if self._ends is not None:
            self._ends.clear()
        senders = _with_sec(_joined(self._senders)) if self._senders else _empty_senders()
        self._senders = []
        if len(senders):  # the codes as a Categorical of the senders kept (held as Arrow strings)
            senders["sender"] = senders_categorical(senders["sender"].to_numpy(), self._sender_words.words())
        self._sender_words = new_vocab()
        pieces, self._chunks, self._pieces = [*self._chunks, *self._pieces], [], []
        if not pieces:
            return Bulk(Bulk.empty().table, qids, senders)
        # (the pieces' columns freed as they are joined; the entries in their last lines' order)
        a = _aggregate(_concat(pieces), by_order=True)
        return Bulk(table_of(a, [list(self._values[c]) for c in self._CODED]), qids, senders)


def table_of(a: dict[str, np.ndarray], names: list[list[Any]]) -> pd.DataFrame:
    """The Bulk's table of the folded entries ``a`` (:data:`_KEYS` as codes, the counts, times and
    last lines; consumed), ``names`` the values of the coded keys' codes 1, 2 ... (0: null)."""
    cols: dict[str, Any] = {"sec": a.pop("sec")}
    for c, values in zip(BulkFold._CODED, names, strict=True):  # the codes back to their values, one object per distinct value
        # a key that was null throughout comes out as a group-by gives it: NaN, float
        code = a.pop(c)
        cols[c] = _coded_strings([None, *values], code) if code.any() else np.full(len(code), np.nan)
    cols["kind"] = _coded_strings(["", RECEIVED, DELIVERED], a.pop("kind"))
    # the counts as int32 (a key's count is of one second's lines; every reader sums them as
    # int64 or makes its weights from them): 16 of a row's 104 bytes, 7.4 MiB held through the
    # 10M-line Exim report's end (r35-r10ex); the weekly's days hold them so too (analyzer.weekly.events)
    cols.update({c: a.pop(c).astype(np.int32) for c in _COUNTS})
    cols.update({c: a.pop(c) for c in ["ts_min", "ts_max", "last_order", "last_line"]})
    # the arrays as the table's columns, not copied into one block per dtype (a copy of them all)
    return pd.DataFrame(cols, copy=False)


def _shared_strings(values: np.ndarray) -> Any:
    """A key column of the Bulk's table (Python strings and None, a few distinct values) as pandas'
    string dtype, each row a reference to its value's one string (the "python" storage), not a copy
    of its text (the Arrow storage pandas infers: at 10M Exim lines the input file's path per row was
    22 MiB of the 69 MiB table); where pandas has no such dtype, the object array as it is."""
    try:
        dtype = pd.StringDtype("python", na_value=np.nan)
    except TypeError:  # (a pandas before 2.3: its DataFrame keeps the object array)
        return values
    return pd.array(values, dtype=dtype)


def _coded_strings(words: list[Any], code: np.ndarray) -> Any:
    """:func:`_shared_strings` of ``words`` (strings and None) taken at ``code``: the few words
    checked and converted once, then taken (pandas' check of every row's value was a fifth of
    the Bulk's result at the 1M days)."""
    few = _shared_strings(np.array(words, dtype=object))
    simple = getattr(type(few), "_simple_new", None)
    if simple is None or not isinstance(few, pd.arrays.StringArray):
        return _shared_strings(np.array(words, dtype=object)[code])
    return simple(np.asarray(few, dtype=object)[code], few.dtype)


def _steps_inside(t: pd.DataFrame | None, since: Any, until: Any) -> tuple[pd.DataFrame | None, bool]:
    """The rows of a table counted per step (``ts_min``/``ts_max``, ns) whose lines lie inside
    ``[since, until)``, and whether that is all of them: a step is kept when its lines lie inside,
    exact for limits at a step's edge (the weekly's days) or outside its lines' time range."""
    if t is None or (since is None and until is None):
        return t, True
    keep = np.ones(len(t), dtype=bool)
    if since is not None:
        keep &= t["ts_min"].to_numpy() >= pd.Timestamp(since).value
    if until is not None:
        keep &= t["ts_max"].to_numpy() < pd.Timestamp(until).value
    if keep.all():
        return t, True
    return t[keep].reset_index(drop=True), False


def _examples_inside(examples: pd.DataFrame | None, whole: bool, since: Any, until: Any) -> pd.DataFrame | None:
    """The example lines (``ts``, ns) inside ``[since, until)``, all of them when ``whole``."""
    if examples is None or whole:
        return examples
    inside, _ = _steps_inside(examples.assign(ts_min=examples["ts"], ts_max=examples["ts"]), since, until)
    return inside.drop(columns=["ts_min", "ts_max"]) if inside is not None else None


def _aggregate(p: dict[str, np.ndarray], *, by_order: bool = False) -> dict[str, np.ndarray]:
    """One entry per key (:data:`_KEYS`, as codes): counts summed, first and last time, the last
    line (the greatest ``last_order``; of equal ones, the last given), in key order, or with
    ``by_order`` in the order of their last lines (a stable sort of the key order: the Bulk's
    table), each column gathered once into that order. ``p`` is consumed (its columns dropped as
    they are read: a fresh dict, as :func:`_concat` makes). The rows are sorted by key
    (:func:`.key_groups.sorted_groups`: ties in the order given), then input order within a key:
    the pieces come in input order (each in key order), so within a key their ``last_order``
    grows, and the rows need a sort by it (all columns gathered again) only where it does not.
    """
    if not len(p["sec"]):
        return p
    idx, starts = sorted_groups([p[k] for k in _KEYS])
    if len(starts) < len(idx) and _out_of_order(p["last_order"][idx], starts):  # (put in input order first)
        by = np.argsort(p["last_order"], kind="stable")
        for k in p:
            p[k] = p[k][by]
        idx, starts = sorted_groups([p[k] for k in _KEYS])
    first = idx[starts]
    last = idx[np.append(starts[1:], len(idx)) - 1]
    order = np.argsort(p["last_order"][last], kind="stable") if by_order else None
    if order is not None:
        first, last = first[order], last[order]
    out = {k: p.pop(k)[first] for k in _KEYS}
    if len(starts) == len(idx):  # every key one row's (the chunks joined, mostly): nothing to sum
        # (int64: as numpy sums the int32 counts)
        out.update({c: p.pop(c)[first].astype(np.int64, copy=False) for c in (*_COUNTS, "ts_min", "ts_max")})
    else:
        cols = dict(zip(_COUNTS, group_sums([p.pop(c) for c in _COUNTS], idx, starts), strict=True))
        ts_min, ts_max = p.pop("ts_min"), p.pop("ts_max")
        at = ts_min[idx]
        cols["ts_min"] = np.minimum.reduceat(at, starts)
        cols["ts_max"] = np.maximum.reduceat(at if ts_max is ts_min else ts_max[idx], starts)  # (a batch's: one array)
        out.update(cols if order is None else {k: v[order] for k, v in cols.items()})
    out["last_order"] = p.pop("last_order")[last]
    out["last_line"] = p.pop("last_line")[last]
    return out


def _out_of_order(orders: np.ndarray, starts: np.ndarray) -> bool:
    """Whether ``orders`` (sorted by key: runs from ``starts``) fall within a run."""
    inner = np.ones(len(orders), dtype=bool)
    inner[starts] = False  # (a row that goes on its key's run)
    return bool((inner[1:] & (orders[1:] < orders[:-1])).any())


@dataclass
class Bulk:
    """The folded bulk lines: ``table`` has one row per (``sec``, ``source``, ``host``,
    ``reply_class``, ``kind``: :data:`RECEIVED` for received lines, else "") with the line counts
    ``n``, ``sessions`` (inbound connects, not postscreen's),
    ``closed``/``unclosed`` (inbound disconnects with and without QUIT), the first and last time
    (``ts_min``/``ts_max``, ns), and the last line (``last_order``, see
    :func:`analyzer.report.fold.row_order`, and ``last_line``). ``sec`` is the whole second (UTC
    epoch), :data:`_NULL_SEC` for lines without a time. ``qids`` holds, per folded line of a
    message, its queue id's hash (:func:`qid_hash`), ``sec`` and ``ts`` (ns): when each message was
    first seen; ``senders`` the senders those lines name."""

    table: pd.DataFrame
    qids: pd.DataFrame = field(default_factory=lambda: _empty_qids())
    #: per folded line that names a message's sender (qmgr's queued lines, :func:`is_queued`): the
    #: queue id's hash ``qid``, ``sec``, ``ts`` (ns), ``order`` (its place in the input) and ``sender``
    #: (a Categorical of the distinct senders from :class:`BulkFold`, whose categories are Arrow strings)
    senders: pd.DataFrame = field(default_factory=lambda: _empty_senders())
    #: the sent deliveries folded apart from the rows (the weekly report's; None elsewhere), counted
    #: per (``sec``: start of a ``sent_step``-second step, ``domain`` of the recipient, ``provider``):
    #: ``n`` and the first and last time (``ts_min``/``ts_max``, ns); see :func:`sent_counts`
    sent: pd.DataFrame | None = None
    sent_step: int = 0
    #: the session ends and SASL logins folded apart from the rows (the weekly report's; None
    #: elsewhere), per ``sent_step``-second step: see :mod:`.folded`
    ends: pd.DataFrame | None = None
    end_examples: pd.DataFrame | None = None
    logins: pd.DataFrame | None = None
    #: the quiet failures folded apart from the rows (the weekly report's; None elsewhere), per
    #: ``sent_step``-second step: see :mod:`.failed`
    failures: pd.DataFrame | None = None
    failure_examples: pd.DataFrame | None = None

    @classmethod
    def empty(cls) -> Bulk:
        cols: dict[str, Any] = {"sec": np.array([], np.int64), "source": np.array([], object),
                                "host": np.array([], object), "reply_class": np.array([], object),
                                "kind": np.array([], object)}
        cols.update({c: np.array([], np.int32) for c in _COUNTS})
        cols.update({c: np.array([], np.int64) for c in ["ts_min", "ts_max", "last_order"]})
        cols["last_line"] = np.array([], float)
        return cls(pd.DataFrame(cols))

    def __len__(self) -> int:
        """The number of lines folded."""
        return int(self.table["n"].sum())

    def received(self, table: pd.DataFrame | None = None) -> np.ndarray:
        """The received lines (:func:`is_received`) of each row of ``table`` (default: this one's)."""
        return self._of_kind(RECEIVED, table)

    def delivered(self, table: pd.DataFrame | None = None) -> np.ndarray:
        """The sent deliveries (kind :data:`DELIVERED`) of each row of ``table`` (default: this one's)."""
        return self._of_kind(DELIVERED, table)

    def _of_kind(self, kind: str, table: pd.DataFrame | None) -> np.ndarray:
        """The lines of ``kind`` of each row of ``table``; of this one's own table worked out once
        (the report's volumes, servers and headline each ask; the caller must not write to it)."""
        t = self.table if table is None else table
        if "kind" not in t.columns:
            return np.zeros(len(t), dtype=np.int64)
        own = t is self.table
        memo = self.__dict__.setdefault("_kind_lines", {}) if own else {}
        got = memo.get(kind)
        if got is None or got[0] is not t:
            lines = np.where(_eq(t["kind"], kind), t["n"].to_numpy(dtype=np.int64), 0)
            lines.flags.writeable = False  # (shared by the callers)
            got = memo[kind] = (t, lines)
        return got[1]

    @property
    def timed(self) -> pd.DataFrame:
        """The rows of lines with a time (the table itself when all have one: no copy of it)."""
        timed = self.table["sec"].to_numpy() != _NULL_SEC
        return self.table if timed.all() else self.table[timed]

    def cut(self, since: Any = None, until: Any = None, *, timed: bool = False) -> Bulk:
        """The lines with ``since <= time < until`` (a limit of None: no limit); lines without a
        time only when neither limit is given and not ``timed``."""
        t, q, s = self.table, self.qids, self.senders
        keep, qkeep = _inside(t["sec"].to_numpy(), since, until, timed), _inside(q["sec"].to_numpy(), since, until, timed)
        # the senders by their exact time, as the rows they were are cut
        skeep = _inside(s["sec"].to_numpy(), None, None, timed or since is not None or until is not None)
        if since is not None:
            skeep &= s["ts"].to_numpy() >= pd.Timestamp(since).value
        if until is not None:
            skeep &= s["ts"].to_numpy() < pd.Timestamp(until).value
        sent, sent_all = _steps_inside(self.sent, since, until)
        ends, ends_all = _steps_inside(self.ends, since, until)
        logins, logins_all = _steps_inside(self.logins, since, until)
        fails, fails_all = _steps_inside(self.failures, since, until)
        examples = _examples_inside(self.end_examples, ends_all, since, until)
        fexamples = _examples_inside(self.failure_examples, fails_all, since, until)
        if keep.all() and qkeep.all() and skeep.all() and sent_all and ends_all and logins_all and fails_all:
            return self
        return Bulk(t[keep].reset_index(drop=True), q[qkeep].reset_index(drop=True), s[skeep].reset_index(drop=True),
                    sent, self.sent_step, ends, examples, logins, fails, fexamples)

    def first_seen(self) -> pd.Series:
        """The first time (ns) of each queue id hash among the folded lines."""
        q = self.qids[self.qids["sec"].to_numpy() != _NULL_SEC]
        return q.groupby("qid")["ts"].min()

    def first_ts(self) -> pd.Timestamp | None:
        t = self.timed
        return pd.Timestamp(extreme_ns(t, "ts_min"), tz="UTC") if len(t) else None

    def last_ts(self) -> pd.Timestamp | None:
        t = self.timed
        return pd.Timestamp(extreme_ns(t, "ts_max", largest=True), tz="UTC") if len(t) else None

    def times(self, dtype: Any = None) -> pd.Series:
        """The first and last time of each second with bulk lines (UTC): where the lines were; in
        ``dtype`` when it is an Arrow timestamp type (as the rows' ``ts``), else datetime64[ns, UTC]."""
        import pyarrow as pa

        t = self.timed
        both = np.concatenate([times_ns(t, "ts_min"), times_ns(t, "ts_max")])
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_timestamp(dtype.pyarrow_dtype):
            arrow = pa.array(both, pa.int64()).cast(pa.timestamp("ns", "UTC")).cast(dtype.pyarrow_dtype, safe=False)
            return pd.Series(arrow, dtype=dtype)
        return pd.Series(pd.to_datetime(both, utc=True))


def _inside(sec: np.ndarray, since: Any, until: Any, timed: bool) -> np.ndarray:
    keep = np.ones(len(sec), dtype=bool)
    if since is not None or until is not None or timed:
        keep &= sec != _NULL_SEC
    if since is not None:
        keep &= sec >= _sec_of(since, up=True)
    if until is not None:
        keep &= sec < _sec_of(until, up=True)
    return keep


def _sec_of(ts: Any, *, up: bool) -> int:
    """The whole second of a window limit: the first second that starts at or after it."""
    ns = pd.Timestamp(ts).value
    sec = ns // 1_000_000_000
    return int(sec + (1 if up and ns % 1_000_000_000 else 0))


def span(rows_ts: pd.Series, bulk: Bulk | None) -> tuple[Any, Any]:
    """(first, last) time over some rows' ``ts`` and a :class:`Bulk` (None where there is none)."""
    first = rows_ts.min() if len(rows_ts) else None
    last = rows_ts.max() if len(rows_ts) else None
    if bulk is not None and len(bulk.table):
        bf, bl = bulk.first_ts(), bulk.last_ts()
        if bf is not None:
            first = bf if first is None or pd.isna(first) or bf < first else first
            last = bl if last is None or pd.isna(last) or bl > last else last
    return first, last
