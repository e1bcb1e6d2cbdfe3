""":class:`~.aggregates.BulkFold` in the native core (``analyzer._native.BulkFold``, native/src/bulkfold.rs).

Where the native engine runs, the Bulk's fold keeps its state in Rust: each batch is handed over
as its columns (the string columns the fold compares or keys by as the codes its shared tests
made, :meth:`.batch_tests.BatchTests.codes`, with their few words; times, lines, flags, queue ids
and senders as Arrow buffers, no copy), folded there with the GIL released (one entry per key,
no per-batch tables, sorts or compactions), and the result comes back once. The Python fold
(``MAILLENS_ENGINE=python``) stays the specification: ``tests/test_bulk_native.py`` holds the two equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_columns import _decoded, _one_array, as_arrow, as_string, codes_of, encoded
from .batch_tests import tests_of
from .bulk_held import senders_categorical

__all__ = ["NativeBulk", "native_bulk"]

#: The table's columns of codes (read by :func:`~.aggregates.table_of`, not kept).
_CODES = frozenset({"source", "host", "reply_class", "kind"})
#: Nanoseconds per unit of an Arrow timestamp.
_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
#: The columns without which a batch's folded lines cannot be read (as the Python fold, a KeyError).
_NEEDS = ("ts", "line_no", "event", "direction", "program", "source", "host", "reply_class")


def native_bulk(split: int | None, deferred_only: bool, looked_up_only: bool) -> NativeBulk | None:
    """A new :class:`NativeBulk`, or None where the Python engine runs (or the build has none)."""
    from .. import native

    if native.engine() != "native":
        return None
    f = native._built("BulkFold", split, deferred_only, looked_up_only)
    return None if f is None else NativeBulk(f, deferred_only or looked_up_only)


def _validity(arr: pa.Array) -> tuple[Any, int] | None:
    """The validity bitmap of ``arr`` and its first row's bit (all null where it has none but
    nulls: a null-typed array), None when no row is null."""
    if not arr.null_count:
        return None
    bits = arr.buffers()[0]
    return (bits, arr.offset) if bits is not None else (bytes((arr.offset + len(arr) + 7) // 8), arr.offset)


def _prim(arr: pa.Array, width: int) -> tuple[Any, int, tuple[Any, int] | None]:
    """(values, first row, validity) of a fixed-width array (``width`` bytes a value; bits: 0)."""
    values = arr.buffers()[1]
    if values is None:  # (a null-typed or empty array cast)
        values = bytes(max(width, 1) * (arr.offset + len(arr) + 8))
    return values, arr.offset, _validity(arr)


def _texts(arr: pa.Array) -> tuple[Any, Any, bool, tuple[Any, int] | None]:
    """(offsets, data, wide, validity) of a column of strings."""
    from .. import native

    arr = as_string(_decoded(arr))
    off, data = native._string_views_of(arr)
    return off, data, pa.types.is_large_string(arr.type), _validity(arr)


def _int_codes(codes: np.ndarray) -> tuple[np.ndarray, int]:
    codes = np.ascontiguousarray(codes)
    if codes.dtype.kind != "i":
        codes = codes.astype(np.int64)
    return codes, codes.dtype.itemsize


class _Columns:
    """A batch's columns as the native fold takes them: a stream batch's from its own Arrow
    table and shared tests (the codes made for its masks), another table's converted."""

    def __init__(self, batch: pd.DataFrame, m: np.ndarray) -> None:
        self.batch, self.m, self.n = batch, m, len(batch)
        self.tests = tests_of(batch)
        self.table = self.tests.table
        self.has = self.tests.columns

    def arrow(self, name: str) -> pa.Array:
        if self.table is not None:
            return _one_array(self.table.column(name))
        return as_arrow(self.batch[name])

    def coded(self, name: str, keyed: bool = False) -> tuple[list[Any], np.ndarray, int]:
        """(words, each row's code: out of range or a None word for a null, the codes' width);
        a ``keyed`` column of another table than a stream batch's numbered as the Python fold
        numbers it (see below)."""
        if name not in self.has:
            return [], np.zeros(self.n, np.int8), 1
        got = self.tests.codes(name) if self.table is not None else None
        if got is not None:
            return (list(got[0]), *_int_codes(got[1]))
        if self.table is not None or not keyed:
            enc = encoded(_decoded(self.arrow(name)))
            return (enc.dictionary.to_pylist(), *_int_codes(codes_of(enc)))
        # another table's: numbered by the lines folded, in their order (as the Python fold reads them)
        enc = encoded(_decoded(self.arrow(name)).filter(pa.array(self.m)))
        words = enc.dictionary.to_pylist()
        codes = np.full(self.n, len(words), dtype=np.int32)
        codes[self.m] = codes_of(enc)
        return words, codes, 4

    def prim(self, name: str, typ: pa.DataType, width: int) -> tuple[Any, int, tuple[Any, int] | None]:
        if name not in self.has:  # (only where no line is folded: all null)
            return bytes(width * self.n + 8), 0, (bytes(self.n // 8 + 1), 0)
        arr = self.arrow(name)
        return _prim(arr if arr.type == typ else pc.cast(arr, typ), width)

    def times(self) -> tuple[tuple[Any, int, tuple[Any, int] | None], int]:
        """The times as they are (a timestamp's integers) and the nanoseconds of their unit."""
        arr = self.arrow("ts") if "ts" in self.has else None
        if arr is None or not pa.types.is_timestamp(arr.type):
            return self.prim("ts", pa.timestamp("ns", "UTC"), 8), 1
        return _prim(arr, 8), _UNITS[arr.type.unit]

    def lines(self) -> tuple[tuple[Any, int, tuple[Any, int] | None], bool]:
        """The line numbers as int64, or float64 (and True)."""
        arr = self.arrow("line_no") if "line_no" in self.has else None
        if arr is not None and arr.type == pa.int64():
            return _prim(arr, 8), False
        return self.prim("line_no", pa.float64(), 8), True

    def texts(self, name: str) -> tuple[Any, Any, bool, tuple[Any, int] | None] | None:
        return _texts(self.arrow(name)) if name in self.has else None

    def strings(self, name: str) -> tuple[Any, Any, bool, tuple[Any, int] | None]:
        """:meth:`texts`, all null where the batch has no such column."""
        return _texts(self.arrow(name) if name in self.has else pa.nulls(self.n, pa.string()))


class NativeBulk:
    """The native fold's state and its hand-over (see the module)."""

    def __init__(self, fold: Any, notes: bool) -> None:
        self._f = fold
        self._notes = notes  # (deferred_only or looked_up_only: a batch's messages noted though none of its lines is folded)

    def add(self, batch: pd.DataFrame, m: np.ndarray, order: int) -> None:
        m = np.ascontiguousarray(m, dtype=bool)
        c = _Columns(batch, m)
        if m.any():
            for name in _NEEDS:
                if name not in c.has:
                    raise KeyError(name)
        elif not self._notes or not c.has >= {"event", "queue_id"}:  # (nothing folded, no message to note)
            return
        has_cause = "cause_ref" in c.has
        self._f.add(len(batch), m, order, *c.times(), *c.lines(), c.prim("quit", pa.bool_(), 0) if "quit" in c.has else None,
                    c.coded("event"), c.coded("direction"), c.strings("program"),
                    c.coded("status") if "status" in c.has else None, c.strings("source"), c.strings("host"),
                    c.table is not None, c.coded("reply_class", keyed=True), c.texts("queue_id"), c.texts("sender"),
                    has_cause, _validity(c.arrow("cause_ref")) if has_cause else None)

    def result(self) -> Any:
        """The :class:`~.aggregates.Bulk` of the lines folded (the fold emptied, as the Python fold's)."""
        from .aggregates import Bulk, _empty_qids, _empty_senders, table_of

        table, names, q, s = self._parts()
        qids = _empty_qids() if q is None else q
        senders = _empty_senders() if s is None else s
        return Bulk(Bulk.empty().table if table is None else table_of(table, names), qids, senders)

    def _parts(self) -> tuple[dict[str, np.ndarray] | None, list[list[str]], pd.DataFrame | None, pd.DataFrame | None]:
        """(the table's columns, None when no line was folded; the key columns' values, code 1
        on; the qids' and senders' entries, None where no batch gave one: the senders' codes as
        a Categorical of their words)."""
        table, names, qids, senders = self._f.result()
        out = None
        if table and len(table[0]):
            kinds = [np.int64, np.int32, np.int32, np.int32, np.int8] + [np.int64] * 7 + [np.float64]
            keys = ["sec", "source", "host", "reply_class", "kind", "n", "sessions", "closed", "unclosed", "ts_min",
                    "ts_max", "last_order", "last_line"]
            out = {k: _column(table, i, t, k in _CODES) for i, (k, t) in enumerate(zip(keys, kinds, strict=True))}
        table = None
        q = None if qids is None else pd.DataFrame(_entries(qids, ("qid", "sec", "ts")), copy=False)
        s = None
        if senders is not None:
            s = pd.DataFrame(_entries(senders, ("qid", "sec", "ts", "order", "sender")), copy=False)
            if len(s):
                off, data, wide = self._f.sender_words()
                kind = pa.large_string() if wide else pa.string()
                n = len(off) // (8 if wide else 4) - 1
                words = pa.Array.from_buffers(kind, n, [None, pa.py_buffer(off), pa.py_buffer(data)])
                s["sender"] = senders_categorical(s["sender"].to_numpy(), words)
        self._f.clear_senders()
        return out, names, q, s


def _column(bufs: list[Any], i: int, dtype: Any, read_only: bool) -> np.ndarray:
    """Column ``i`` of the Rust result's ``bufs`` as numpy: in place where it is only read (the codes),
    else copied, as the table's own arrays; the Rust bytes of a copied column dropped from ``bufs``
    at once (at 10M lines the table's columns were held twice until the last was copied, ~60 MiB)."""
    b, bufs[i] = bufs[i], None
    return np.frombuffer(b, dtype=dtype) if read_only else np.frombuffer(b, dtype=dtype).copy()


def _entries(bufs: list[Any], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {k: _column(bufs, i, _ENTRY_TYPES[k], False)
            for i, k in enumerate(("qid", "sec", "ts", "order", "sender")) if k in names}


_ENTRY_TYPES = {"qid": np.uint64, "sec": np.int64, "ts": np.int64, "order": np.int64, "sender": np.int32}
