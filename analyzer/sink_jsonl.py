"""JSON lines of event batches (``parse -o x.jsonl``, :class:`analyzer.sinks.EventWriter`): built
column by column with Arrow string kernels, each distinct value of a column rendered once, never
a Python loop over rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .textsafe import _BIDI, json_safe

__all__ = ["JSONL_ROWS", "jsonl_bytes", "jsonl_piece", "jsonl_pieces", "jsonl_text"]

JSONL_ROWS = 16_384  # rows rendered at a time: a piece's working memory is ~2x its text (~12 MiB; 32k rows: ~5% less CPU, +22 MiB peak)
_JSON_RAW_RE2 = f"[\\x7f-\\x{{9f}}{_BIDI}]"  # textsafe._JSON_RAW for RE2
_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_strings(col: pa.Array) -> pa.Array:
    """JSON string literals of a string column (nulls stay null): quotes, backslashes and C0
    controls escaped, everything else as is (UTF-8)."""
    col = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
    if pc.any(pc.match_substring_regex(col, "[\\x00-\\x1f]")).as_py():
        for code in range(32):
            c = chr(code)
            if pc.any(pc.match_substring(col, c)).as_py():
                col = pc.replace_substring(col, c, _ESCAPES.get(c, f"\\u{code:04x}"))
    return pc.binary_join_element_wise('"', col, '"', "")


def _json_ts(col: pa.Array) -> pa.Array:
    """Stamps as pandas prints them: ``2026-11-28 10:00:00+00:00``, microseconds when there are some.
    (Arrow's text of a zone-less stamp, cut at the second when it is whole: a zone's strftime
    looks the zone up per value and costs ten times more.)"""
    naive = pc.cast(pc.cast(col, pa.timestamp("us", "UTC")), pa.timestamp("us"))
    full = pc.cast(naive, pa.string())  # 2026-11-28 10:00:00.000000
    whole = pc.equal(pc.floor_temporal(naive, unit="second"), naive)
    text = pc.if_else(whole, pc.utf8_slice_codeunits(full, 0, 19), full)
    return pc.binary_join_element_wise('"', text, '+00:00"', "")


def _json_values(col: pa.Array) -> pa.Array:
    """JSON values of a column, ``null`` for nulls."""
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        out = _json_strings(col)
    elif pa.types.is_timestamp(t):
        out = _json_ts(col)
    elif pa.types.is_boolean(t):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_floating(t):
        finite = pc.is_finite(col)
        out = pc.if_else(finite, pc.cast(col, pa.string()), pa.scalar(None, pa.string()))
    else:
        out = pc.cast(col, pa.string())
    return pc.fill_null(out, _null())


@lru_cache(maxsize=1)
def _null() -> pa.Scalar:
    """The text ``null``, made once (and not at import: pyarrow may import pandas for it)."""
    return pa.scalar("null", pa.string())


def _json_members(col: pa.Array, prefix: str, suffix: str) -> tuple[pa.Array, pa.Array | np.ndarray, bool]:
    """The distinct ``prefix + value + suffix`` of a column (the key and its value, and the line's
    end after the last), the row's place in them (a dictionary's indices, null for the null
    member; or an array of places) and whether a value holds a DEL, C1 or bidi control. Text,
    integers and stamps are dictionary-encoded first (most columns repeat a few values: each is
    rendered once); the last member is the null one."""
    t = col.type
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    codes: pa.Array | np.ndarray
    if pa.types.is_dictionary(t) or text or pa.types.is_integer(t) or pa.types.is_timestamp(t):
        enc = col if pa.types.is_dictionary(t) else pc.dictionary_encode(col)
        values = enc.dictionary
        vt = values.type
        raw = False
        if pa.types.is_string(vt) or pa.types.is_large_string(vt):
            raw = bool(pc.any(pc.match_substring_regex(values, _JSON_RAW_RE2)).as_py())
        codes = enc.indices
    else:  # floats (-0.0 and 0.0 are one value to a hash), booleans: value by value
        values, codes, raw = col, np.arange(len(col), dtype=np.int32), False
        if col.null_count:
            codes = np.where(pc.is_valid(col).to_numpy(zero_copy_only=False), codes, len(col))
    members = pc.binary_join_element_wise(prefix, _json_values(values), suffix, "").cast(pa.string())
    return pa.concat_arrays([members, pa.array([prefix + "null" + suffix], pa.string())]), codes, raw


def jsonl_bytes(table: pa.Table) -> bytes:
    """JSON lines of a batch (UTF-8): one object per event, keys in column order, non-ASCII as is,
    slashes not escaped; DEL, C1 and bidi controls as \\uXXXX (:func:`analyzer.textsafe.json_safe`).
    Built column by column with Arrow string kernels (each distinct value of a column rendered
    once, with its key), never a Python loop over rows."""
    return b"".join(jsonl_pieces(table))


def jsonl_pieces(table: pa.Table) -> Iterator[Any]:
    """:func:`jsonl_bytes` in pieces of :data:`JSONL_ROWS` rows, each a bytes-like object (an
    Arrow buffer, not copied): what a writer writes, holding one piece's working memory at a time."""
    for start in range(0, table.num_rows, JSONL_ROWS):
        piece = jsonl_piece(table.slice(start, JSONL_ROWS))
        if len(piece):
            yield piece


def _place(out: np.ndarray, codes: pa.Array | np.ndarray, null: int, base: int) -> None:
    """``out[:] = base + codes`` (int32, in one pass over the indices' own buffer); where an
    index is null, ``base + null``."""
    if isinstance(codes, np.ndarray):
        np.add(codes, base, out=out, casting="unsafe")
        return
    n = len(codes)
    dtype = np.dtype(codes.type.to_pandas_dtype())
    raw = np.frombuffer(codes.buffers()[1], dtype=dtype, count=n, offset=codes.offset * dtype.itemsize)
    np.add(raw, base, out=out, casting="unsafe")
    if codes.null_count:
        bits = np.unpackbits(np.frombuffer(codes.buffers()[0], np.uint8), bitorder="little")
        out[~bits[codes.offset: codes.offset + n].astype(bool)] = base + null


def jsonl_piece(table: pa.Table) -> Any:
    """The JSON lines of a few rows: every column's distinct members rendered once, all of them in
    one array, and one ``take`` of them in row order (row by row, column by column), whose bytes
    are the lines (no per-row join of the columns' texts)."""
    members: list[pa.Array] = []
    raw = False  # a DEL, C1 or bidi control somewhere (only text values can hold one)
    last = table.num_columns - 1
    at = np.empty((table.num_rows, table.num_columns), dtype=np.int32)  # row-major: the order of the text
    base = 0
    for i, name in enumerate(table.column_names):
        prefix = ("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        got, codes, odd = _json_members(table.column(i).combine_chunks(), prefix, "}\n" if i == last else "")
        _place(at[:, i], codes, len(got) - 1, base)
        base += len(got)
        members.append(got)
        raw = raw or odd
    # (the places are this function's own, each within the members: not checked again)
    rows = pc.take(pa.concat_arrays(members) if len(members) > 1 else members[0], pa.array(at.reshape(-1)),
                   boundscheck=False)
    del members, at
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    data = rows.buffers()[2]
    if data is None:
        return b""
    data = data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    if raw or any(ord(c) >= 0x7F for c in "".join(table.column_names)):
        return json_safe(data.to_pybytes().decode("utf-8")).encode("utf-8")
    return data


def jsonl_text(table: pa.Table) -> str:
    """:func:`jsonl_bytes` as text."""
    return jsonl_bytes(table).decode("utf-8")
