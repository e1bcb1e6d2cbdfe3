"""A batch's columns as Arrow arrays, and the few tests the report's folds make of them.

The folds of :mod:`analyzer.anomalies.aggregates` read the stream's batches (pandas tables of
Arrow-backed columns, :mod:`analyzer.report.fold`); taking their rows and comparing their columns
through pandas cost more than the Arrow kernels underneath (a new Series, index and dtype checks
per step), so they take and compare the columns' Arrow arrays directly.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["as_arrow", "as_string", "categorical_eq", "codes_of", "distinct_codes", "encoded", "eq_arrow", "flags", "hash_arrow", "seconds_ns_arrow", "taken"]

_NULL_SEC = np.iinfo(np.int64).min  # the "second" of a line without a time (as aggregates')


#: :func:`hash_arrow`'s hash of a null (as :func:`analyzer.rowhash._string_hash` gives it)
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)


def hash_arrow(arr: pa.Array) -> np.ndarray:
    """:func:`analyzer.anomalies.aggregates.qid_hash` of an Arrow array (:func:`as_arrow`'s):
    each value's :func:`analyzer.keyed.key_hash` (native: every value in one call, a tenth of the
    CPU of hashing the distinct ones through pandas; through pandas where the Python engine runs,
    the same in the whole process either way), nulls :data:`_NULL_HASH`."""
    from ..keyed import key_hash

    arr = as_string(_one_array(arr))
    if not arr.null_count:
        return key_hash(arr)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    out = np.full(len(arr), _NULL_HASH, dtype=np.uint64)
    if valid.any():
        out[valid] = key_hash(arr.filter(pa.array(valid)))
    return out


def as_arrow(s: pd.Series) -> pa.Array:
    """A column as one Arrow array, dictionaries decoded: an Arrow-backed column's own data (no
    copy of its one chunk), another's converted (objects: nulls as None)."""
    data = getattr(s.array, "_pa_array", None)
    if data is None:
        data = pa.array(s.astype(object).where(s.notna(), None).to_numpy() if s.dtype == object else s.array,
                        from_pandas=True)
    return _decoded(_one_array(data))


def _decoded(arr: pa.Array) -> pa.Array:
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def _one_array(data: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``data`` as one array (combine_chunks copies even a single chunk: that one is taken as it is)."""
    if isinstance(data, pa.ChunkedArray):
        return data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()
    return data


def taken(batch: pd.DataFrame, names: tuple[str, ...], m: np.ndarray) -> dict[str, pa.Array]:
    """The columns ``names`` that ``batch`` has, at the rows ``m``, as Arrow arrays (:func:`as_arrow`)."""
    keep = pa.array(m)
    table = batch.__dict__.get("arrow")  # a stream batch's own table (analyzer.report.fold._Batch): no Series
    if table is not None:
        return {c: _decoded(_one_array(table.column(c))).filter(keep) for c in names if c in batch.columns}
    return {c: as_arrow(batch[c]).filter(keep) for c in names if c in batch.columns}


def as_string(arr: pa.Array) -> pa.Array:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return arr.cast(pa.string()) if not pa.types.is_null(arr.type) else pa.nulls(len(arr), pa.string())


def eq_arrow(arr: pa.Array, value: str | tuple[str, ...]) -> np.ndarray:
    """Where ``arr`` equals ``value`` (or one of the values), null as False (as :func:`analyzer.anomalies.bulk_masks._eq`)."""
    arr = as_string(arr)
    hit = pc.equal(arr, value) if isinstance(value, str) else pc.is_in(arr, value_set=pa.array(value, type=arr.type))
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def categorical_eq(s: pd.Series, values: list[str]) -> np.ndarray:
    """Where a Categorical column equals one of ``values``, null as False: compared on its codes
    (a test per category, not pandas' comparison of the column)."""
    known = np.append(np.isin(np.asarray(s.cat.categories, dtype=object), values), False)
    return known[s.cat.codes.to_numpy()]  # code -1 (null) takes the trailing False


def encoded(arr: pa.Array) -> pa.DictionaryArray:
    """``arr`` dictionary-encoded, its values in order of first sight."""
    return pc.dictionary_encode(as_string(arr))


def codes_of(enc: pa.DictionaryArray) -> np.ndarray:
    """The codes of :func:`encoded`'s array, null as the dictionary's length."""
    return pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False)


def flags(arr: pa.Array) -> np.ndarray:
    """A column of flags as booleans, null as False."""
    return pc.fill_null(pc.cast(arr, pa.bool_()), False).to_numpy(zero_copy_only=False)


def seconds_ns_arrow(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(whole second, nanoseconds) of each time; the smallest int64 and 0 where there is none."""
    ns = pc.cast(pc.cast(arr, pa.timestamp("ns", "UTC")), pa.int64())
    valid = pc.is_valid(ns).to_numpy(zero_copy_only=False)
    ns = pc.fill_null(ns, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    sec = np.where(valid, np.floor_divide(ns, 1_000_000_000), _NULL_SEC)
    return sec, ns


class _Coded(threading.local):
    """The dictionary codes of the string columns a thread compared lately (a batch's few-value
    columns are each compared many times by the masks: one dictionary encoding, then each
    comparison reads the handful of distinct values and indexes the codes). Keyed by the Arrow
    column object, held by a weak reference (its entry goes when the column does): holding the
    column kept its whole batch alive, and a stream's batch is a mapping of a worker's block, so
    the last few batches' blocks stayed mapped until the process ended (measured, r15-r1m: 7-8
    blocks, ~45 MiB, at the end of the 1M-line Exim day's stream); a few batches' worth."""

    SIZE = 48

    def __init__(self) -> None:
        self.entries: dict[int, tuple[Any, np.ndarray, np.ndarray]] = {}

    def codes(self, data: Any) -> tuple[np.ndarray, np.ndarray]:
        """(distinct values as objects, each row's index into them: null as their number, :func:`codes_of`)."""
        hit = self.entries.get(id(data))
        if hit is not None and hit[0]() is data:
            return hit[1], hit[2]
        coded = encoded(_one_array(data))
        values = np.asarray(coded.dictionary.to_pylist(), dtype=object)
        codes = codes_of(coded)
        entries = self.entries
        while len(entries) >= self.SIZE:
            try:
                entries.pop(next(iter(entries)), None)
            except (RuntimeError, StopIteration):  # (an entry's column went meanwhile)
                continue
        key = id(data)

        def gone(ref: Any) -> None:
            if entries.get(key, (None,))[0] is ref:
                entries.pop(key, None)

        entries[key] = (weakref.ref(data, gone), values, codes)
        return values, codes


_CODED = _Coded()


def distinct_codes(data: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A string column's distinct values (objects) and each row's index into them (null: the
    number of values), computed once per column object and thread (:class:`_Coded`)."""
    return _CODED.codes(data)
