"""64-bit hashes of rows by value, the same in any batch: the keys of the classifier's cache,
of duplicate-line merging (:func:`content_hash`) and of message linking."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .lazy import lazy_module
from .schema import SCHEMA

pd = lazy_module("pandas")  # imported when first used (analyzer.lazy)

__all__ = ["CONTENT", "content_hash", "row_hash"]

#: What two copies of one line share: every column but where the line was read.
CONTENT = [c for c in SCHEMA.names if c not in ("source", "line_no")]


def _string_hash(col: pa.ChunkedArray | pa.Array, mask: str | None = None) -> np.ndarray:
    """Hash a string column through its dictionary (each distinct value hashed once); ``mask``
    (a regex) is applied to the distinct values first."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    enc = pc.dictionary_encode(col)
    values = enc.dictionary
    if mask is not None:
        from .classify import MASKED

        values = pc.replace_substring_regex(values, mask, MASKED)
    hv = pd.util.hash_array(values.to_numpy(zero_copy_only=False), categorize=False)
    hv = np.append(hv, np.uint64(0x9E3779B97F4A7C15))  # null
    idx = pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False)
    return hv[idx]


def _mix(vals: np.ndarray) -> np.ndarray:
    """``pd.util.hash_array`` of int64 or float64 values, the same numbers without pandas (a
    worker process that parses never imports it): the bits as uint64 (a float's NaN and -0.0
    made one), then the splitmix64 finaliser."""
    if vals.dtype.kind == "f":
        vals = vals.astype(np.float64, copy=True)
        vals[np.isnan(vals)] = np.nan
        vals[vals == 0] = 0.0
    u = vals.astype(np.int64 if vals.dtype.kind in "iub" else vals.dtype, copy=False).view(np.uint64).copy()
    with np.errstate(over="ignore"):
        u ^= u >> np.uint64(30)
        u *= np.uint64(0xBF58476D1CE4E5B9)
        u ^= u >> np.uint64(27)
        u *= np.uint64(0x94D049BB133111EB)
        u ^= u >> np.uint64(31)
    return u


def row_hash(table: pa.Table, columns: list[str], masks: dict[str, str] | None = None) -> np.ndarray:
    """A 64-bit hash per row of some columns, by value: the same row hashes alike in any batch
    (pandas' hash of a frame is not: an integer column hashes differently with and without nulls)."""
    h = np.zeros(table.num_rows, dtype=np.uint64)
    for name in columns:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            hc = _string_hash(col, (masks or {}).get(name))
        else:
            if pa.types.is_floating(col.type):
                vals = pc.fill_null(col, float("nan")).to_numpy(zero_copy_only=False)
            else:
                if pa.types.is_timestamp(col.type) or pa.types.is_boolean(col.type):
                    col = pc.cast(col, pa.int64())
                vals = pc.fill_null(pc.cast(col, pa.int64()), -(2**62) + 7).to_numpy(zero_copy_only=False)
            hc = _mix(vals)
        with np.errstate(over="ignore"):
            h = h * np.uint64(1000003) ^ hc
    return h


def content_hash(table: pa.Table) -> np.ndarray:
    """A 64-bit hash per event of what two copies of one line share."""
    return row_hash(table, CONTENT)
