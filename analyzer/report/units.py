"""What the report counts as one message: a unit per message and recipient, held as 64-bit hashes.

pflogsumm counts a message once per recipient, however many lines (retries, deferrals) it took.
:func:`message_units` gives each line its unit, :func:`count_units` counts the distinct units per
key (a cause, a destination domain …). A unit is a kind and a 64-bit hash (:mod:`analyzer.rowhash`)
rather than a string built per line: 16 bytes a line, and the counting is integer work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..anomalies.aggregates import qid_hash
from .rows_at import RowsAt, column, notna

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["LINE", "MESSAGE", "NONE", "QUEUE", "Units", "code_units", "count_coded", "count_units", "in_sorted",
           "message_units", "value_hash"]


#: Values hashed per slice in :func:`value_hash` (each slice's strings copied once for the hash).
HASH_SLICE = 1 << 17


def value_hash(s: pd.Series, pos: np.ndarray | None = None) -> np.ndarray:
    """A 64-bit hash of each value (a queue id, a recipient), of the values at the sorted
    positions ``pos`` only when given (a writable array); a null's is of no use (callers mask
    nulls apart). The units' hashes are compared only with each other: the native string hash of
    every value (:func:`analyzer.keyed.key_hash`) where the column is Arrow strings (measured: the
    hash through pandas of the distinct values was the larger part of the report's units), else
    :func:`analyzer.anomalies.aggregates.qid_hash`. Arrow strings are hashed a slice of
    :data:`HASH_SLICE` values at a time, each slice's own bytes alone handed over (the whole
    column's bytes were copied for one call, twice with a chunked column's join: measured +40 MiB
    in the cause lists at 10M Exim lines), its hashes written where they go."""
    import pyarrow as pa

    if not isinstance(s.dtype, pd.ArrowDtype) or not pa.types.is_string(s.dtype.pyarrow_dtype):
        return _writable(qid_hash(s) if pos is None else qid_hash(s.iloc[pos]))
    arr = s.array.__arrow_array__()
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    out = np.empty(len(s) if pos is None else len(pos), dtype=np.uint64)
    at = 0  # the first row of the chunk in the column
    for chunk in chunks:
        for i in range(0, len(chunk), HASH_SLICE):
            n = min(HASH_SLICE, len(chunk) - i)
            first = at + i
            if pos is None:
                lo, hi, want = first, first + n, None
            else:  # the positions asked for in this slice
                lo, hi = np.searchsorted(pos, [first, first + n])
                if lo == hi:
                    continue
                want = pos[lo:hi] - first
            h = _slice_hash(chunk.slice(i, n))
            out[lo:hi] = h if want is None else h[want]
        at += len(chunk)
    return out


def _slice_hash(arr: pa.Array) -> np.ndarray:
    """:func:`analyzer.keyed.key_hash` of an Arrow string slice, 0 for a null: its own bytes and
    offsets (from 0) made one array without a validity (every slot hashed, the nulls' then set:
    no copy of the valid ones)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..keyed import key_hash

    off = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    begin, stop = int(off[0]), int(off[-1])
    data = arr.buffers()[2]
    own = pa.Array.from_buffers(pa.string(), len(arr), [None, pa.py_buffer(off - np.int32(begin)),
                                                        (data or pa.py_buffer(b"")).slice(begin, stop - begin)],
                                null_count=0)
    h = key_hash(own)
    if not arr.null_count:
        return h
    h = np.array(h, dtype=np.uint64)  # (a copy: the native hashes are read only)
    h[~pc.is_valid(arr).to_numpy(zero_copy_only=False)] = 0
    return h


#: The kinds of unit: none (a line of no message), message and recipient, queue id only, a line of its own.
NONE, MESSAGE, QUEUE, LINE = 0, 1, 2, 3


@dataclass(frozen=True)
class Units:
    """Per line: its unit's ``kind`` (:data:`NONE` … :data:`LINE`), the unit's hash ``h`` and its
    queue id's hash ``q`` (0 without one)."""

    kind: np.ndarray
    h: np.ndarray
    q: np.ndarray

    def __getitem__(self, mask: np.ndarray) -> Units:
        return Units(self.kind[mask], self.h[mask], self.q[mask])

    def __len__(self) -> int:
        return len(self.kind)


def _eq(s: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    return s.isin(list(values)).fillna(False).to_numpy(dtype=bool)


def message_units(rows: pd.DataFrame | RowsAt) -> Units:
    """One unit per message and recipient, as pflogsumm counts: (queue_id, recipient); a line
    with a queue id but no recipient (an Exim host-level error, an expiry) its message; a client's
    line with neither (a NOQUEUE reject, an auth failure) a unit of its own; any other line without
    a queue id (an outbound connection's, an MTA warning) belongs to no message."""
    if not len(rows):
        return Units(np.zeros(0, np.int8), np.zeros(0, np.uint64), np.zeros(0, np.uint64))
    has_q, has_r = notna(rows, "queue_id"), notna(rows, "recipient")
    # without a queue id, only a client's attempt (a NOQUEUE reject, an auth failure) is a unit of
    # its own; an outbound connection's line or the MTA's own warning is no message
    conn = ~_eq(column(rows, "direction"), ("inbound",)) & ~_eq(column(rows, "event"), ("reject", "reject_warning")) \
        if "event" in rows.columns and "direction" in rows.columns else np.zeros(len(rows), dtype=bool)
    # worked in place, one array of 8 bytes a row at a time (not a nested np.where's temporaries:
    # measured +58 MiB at 800k rows, the report's build peak at 10M Exim lines)
    qh = _hashes(rows, "queue_id")
    qh[~has_q] = 0
    h = _hashes(rows, "recipient")
    with np.errstate(over="ignore"):
        h ^= qh * np.uint64(1000003)
    kind = np.where(conn, np.int8(NONE), np.int8(LINE))
    kind[has_q] = QUEUE
    kind[has_q & has_r] = MESSAGE
    h[kind == QUEUE] = qh[kind == QUEUE]
    line = kind == LINE
    h[line] = np.flatnonzero(line).astype(np.uint64)
    h[kind == NONE] = 0
    return Units(kind, h, qh)


def _hashes(rows: pd.DataFrame | RowsAt, name: str) -> np.ndarray:
    """:func:`value_hash` of column ``name`` of ``rows`` (a copy that may be written). Of a
    :class:`.rows_at.RowsAt` that holds most of its table's rows (the cause lists' failed rows),
    the table's whole column hashed, then read at the rows: not a copy of the rows' strings
    taken first (measured: +46 MiB of Arrow's pool at 800k rows, the report's build peak at 10M
    Exim lines), the same hash per value."""
    if isinstance(rows, RowsAt) and 2 * len(rows) >= len(rows.table):
        col = rows.table[name]
        if isinstance(col.dtype, pd.ArrowDtype):
            return value_hash(col, rows.pos)
    return _writable(value_hash(column(rows, name)))


def _writable(a: np.ndarray) -> np.ndarray:
    """``a``, or a copy of it where it cannot be written (a hash read from the native core's bytes)."""
    return a if a.flags.writeable else a.copy()


#: Values looked up at a time in :func:`in_sorted`.
LOOKUP_SLICE = 1 << 16


def in_sorted(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``np.isin(values, table)`` for a sorted ``table``: each value's place found by a binary
    search, :data:`LOOKUP_SLICE` values at a time (no sort of both joined, no arrays of 8 bytes
    per value beside each other)."""
    out = np.zeros(len(values), dtype=bool)
    if not len(table):
        return out
    for i in range(0, len(values), LOOKUP_SLICE):
        v = values[i:i + LOOKUP_SLICE]
        pos = np.searchsorted(table, v)
        pos[pos == len(table)] = 0
        np.equal(table[pos], v, out=out[i:i + len(v)])
    return out


#: From this many hashes on, :func:`_dense_codes` numbers them by a sort, not a hash table.
DENSE_SORT_FROM = 200_000
#: Sorted hashes ranked at a time in :func:`_dense_codes`.
DENSE_SLICE = 1 << 16


def _dense_codes(h: np.ndarray) -> np.ndarray:
    """A number per hash, the same for equal hashes, below ``len(h)`` (which number is of no
    account: :func:`count_units` counts distinct ones). Many hashes (a 10M-line day's failed
    rows) are numbered by their rank among the sorted distinct ones: not a hash table sized for
    every row beside the codes (measured +90 MiB RSS at 800k rows, the report's build peak). The
    ranks are written through the sort's order (one pass in order), not looked up by a binary
    search per hash (measured: 0.33 -> 0.045 CPU-s for 950k hashes, a random read per hash), as
    int32 (half the bytes)."""
    if len(h) < DENSE_SORT_FROM:
        return pd.factorize(h)[0]
    order = np.argsort(h)
    small = np.int32 if len(h) < 1 << 31 else np.int64
    out = np.empty(len(h), dtype=small)
    # the ranks written a slice of the order at a time (the sorted hashes, their run starts and
    # ranks of that slice alone, not three arrays of every hash beside the order: measured -12 MiB
    # at the top tables' ~1M units of 10M Postfix lines)
    last, rank = None, small(-1)
    for i in range(0, len(h), DENSE_SLICE):
        at = order[i:i + DENSE_SLICE]
        s = h[at]
        distinct = np.ones(len(s), dtype=bool)
        np.not_equal(s[1:], s[:-1], out=distinct[1:])
        if last is not None:
            distinct[0] = s[0] != last
        r = np.cumsum(distinct, dtype=small)
        r += rank
        out[at] = r
        last, rank = s[-1], r[-1]
    return out


def code_units(*parts: Units) -> list[Units]:
    """``parts`` with their hashes ``h`` and ``q`` numbered together (:func:`_dense_codes` over all
    the parts at once: equal hashes of any part, equal numbers), int32 where they fit: what
    :func:`count_coded` reads, numbered once for all its calls over these
    units (the top tables: three tables over the same rows and folded lines, each call had
    numbered its joined hashes again) and half their size."""
    sizes = np.cumsum([0] + [len(p) for p in parts])
    out = {}
    for name in ("h", "q"):
        codes = _dense_codes(np.concatenate([getattr(p, name) for p in parts]))
        out[name] = codes.astype(np.int32 if len(codes) < 1 << 31 else np.int64, copy=False)
        del codes
    return [Units(p.kind, out["h"][a:b], out["q"][a:b]) for p, a, b in zip(parts, sizes[:-1], sizes[1:], strict=True)]


def count_units(keys: np.ndarray, units: Units) -> pd.Series:
    """Messages per key: distinct units, where a queue-id-only unit counts only when no unit of
    the same key names that queue id with a recipient (one message, not two). Keys without a
    unit are absent. (Integer work: each distinct (key, kind, unit) is one int64, each hash coded
    by a factorize, no pandas table nor MultiIndex per call.) Keys that are already codes (integers
    from 0: the cause lists' and top tables') are used as they are, and the result is then in
    ascending key order; the distinct triples are found by sorting one array in place, not in a
    hash table (measured: the top tables' peak at 10M lines). Units already numbered
    (:func:`code_units`) are counted by :func:`count_coded`."""
    keys = np.asarray(keys)
    if keys.dtype.kind in "iu" and (not len(keys) or keys.min() >= 0):
        codes, uniq = keys, None
        nkeys = int(keys.max()) + 1 if len(keys) else 0
    else:
        codes, uniq = pd.factorize(keys, use_na_sentinel=True)
        nkeys = len(uniq)
    ok = units.kind != NONE
    if uniq is not None:
        ok &= codes >= 0
    all_ok = bool(ok.all())
    kind = units.kind if all_ok else units.kind[ok]
    k = codes if all_ok else codes[ok]
    keep = kind != QUEUE
    only = ~keep
    if only.any():
        full = kind == MESSAGE
        if full.any():  # a queue-id-only unit named, with a recipient, under the same key: not counted
            both = only | full
            q = _dense_codes((units.q if all_ok else units.q[ok])[both])
            qspan = len(q) + 1
            kb, alone = k[both], only[both]
            del both

            def pairs(sel: np.ndarray) -> np.ndarray:
                pair = kb[sel].astype(np.int64)  # (in place: not an array per operation)
                pair *= np.int64(qspan)
                pair += q[sel]
                return pair

            # the named pairs sorted in place, the queue-id-only ones looked up a slice at a time
            # (np.isin's sort of both joined, its order and flags: measured +20 MiB at the top
            # tables' ~770k units of 10M Exim lines, their peak)
            told = pairs(~alone)
            told.sort()
            named = in_sorted(pairs(alone), told)
            del told, kb, q, alone
            keep[np.flatnonzero(only)[~named]] = True
        else:
            keep[:] = True
    del only
    h = units.h if all_ok else units.h[ok]
    u = _dense_codes(h if keep.all() else h[keep])
    del h
    span = np.int64(len(u) + 1)
    # (key, kind, unit) as one int64: kind 1..3 in two bits, units < rows; sorted in place, the
    # first of each run is a distinct triple
    triple = k[keep].astype(np.int64, copy=False)  # (in place from here: one array, not one per operation)
    triple *= 4
    triple += kind[keep]
    triple *= span
    triple += u
    del u, keep
    n = _distinct_per_key(triple, span, nkeys)
    del triple
    if uniq is None:
        at = np.flatnonzero(n)
        return pd.Series(n[at], index=pd.Index(at))
    return pd.Series(n[n > 0], index=pd.Index(uniq)[n > 0])


#: Units read at a time in :func:`count_coded` (each slice's triples made alone, written into place).
COUNT_SLICE = 1 << 16


def count_coded(parts: list[tuple[np.ndarray, Units, np.ndarray | None]], nkeys: int) -> np.ndarray:
    """Messages per key code ``0 .. nkeys-1``, as :func:`count_units` counts them over the parts'
    selected lines joined (their hashes numbered): each part is its lines' key codes (-1: no key, not
    counted), their units numbered by :func:`code_units` and the lines selected (None: all). Not
    the parts joined, then cut (the top tables' copy of their rows' and folded lines' codes and
    units, 13 bytes a line, the top tables' peak at 10M lines): one int64 per counted line, made a
    slice at a time into place, and the queue-id-only units (few) looked up among the named ones a
    slice at a time."""
    span = np.int64(max((int(u.h.max()) + 1 for _, u, _ in parts if len(u)), default=1))
    qspan = np.int64(max((int(u.q.max()) + 1 for _, u, _ in parts if len(u)), default=1))

    def lines(k: np.ndarray, u: Units, sel: np.ndarray | None, kind: int) -> np.ndarray:
        m = (u.kind == kind) & (k >= 0)
        return np.flatnonzero(m if sel is None else m & sel)

    # a queue-id-only unit counts unless a unit of the same key names that queue id with a recipient
    queued = [lines(k, u, sel, QUEUE) for k, u, sel in parts]  # (few lines: kept for the picks below)
    alone = [k[at].astype(np.int64) * qspan + u.q[at] for (k, u, _), at in zip(parts, queued, strict=True)]
    told = np.unique(np.concatenate(alone)) if alone else np.zeros(0, np.int64)
    named = np.zeros(len(told), dtype=bool)
    if len(told):
        for k, u, sel in parts:
            full = lines(k, u, sel, MESSAGE)
            for i in range(0, len(full), COUNT_SLICE):
                at = full[i:i + COUNT_SLICE]
                pair = k[at].astype(np.int64)
                pair *= qspan
                pair += u.q[at]
                pos = np.searchsorted(told, pair)
                pos[pos == len(told)] = 0
                named[pos[told[pos] == pair]] = True
    counted = [~named[np.searchsorted(told, a)] for a in alone]
    del alone, told, named
    # the counted lines' (key, kind, unit) as one int64 (kind 1..3 in two bits, units < span), written
    # a slice at a time into one array, sorted in place: the first of each run is a distinct triple
    picks = []
    for (k, u, sel), at, more in zip(parts, queued, counted, strict=True):
        m = (u.kind != NONE) & (u.kind != QUEUE) & (k >= 0)
        if sel is not None:
            m &= sel
        m[at[more]] = True
        picks.append(m)
    del queued
    triple = np.empty(sum(int(m.sum()) for m in picks), dtype=np.int64)
    at = 0
    for (k, u, _), m in zip(parts, picks, strict=True):
        for i in range(0, len(m), COUNT_SLICE):
            mm = m[i:i + COUNT_SLICE]
            t = k[i:i + COUNT_SLICE][mm].astype(np.int64)
            t *= 4
            t += u.kind[i:i + COUNT_SLICE][mm]
            t *= span
            t += u.h[i:i + COUNT_SLICE][mm]
            triple[at:at + len(t)] = t
            at += len(t)
    del picks, counted
    return _distinct_per_key(triple, span, nkeys)


def _distinct_per_key(triple: np.ndarray, span: np.int64, nkeys: int) -> np.ndarray:
    """The distinct (key, kind, unit) triples ``(key * 4 + kind) * span + unit`` per key
    ``0 .. nkeys-1``, the array sorted and then read in place (the first of each run is a
    distinct triple; the keys in place, each key's distinct triples summed over its run: not a copy
    of the distinct triples beside them, the top tables' peak at 10M Exim lines)."""
    triple.sort()
    first = np.ones(len(triple), dtype=bool)
    np.not_equal(triple[1:], triple[:-1], out=first[1:])
    triple //= 4 * span
    n = np.zeros(nkeys, dtype=np.int64)
    if len(triple):
        starts = np.ones(len(triple), dtype=bool)
        np.not_equal(triple[1:], triple[:-1], out=starts[1:])
        starts = np.flatnonzero(starts)
        n[triple[starts]] = np.add.reduceat(first, starts, dtype=np.int64)
    return n
