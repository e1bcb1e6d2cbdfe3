"""Sinks: consumers of event batches (see :mod:`analyzer.pipeline`).

:class:`EventWriter` writes batches to Parquet (a ``ParquetWriter``), CSV or JSON lines as they
come, to a temporary file renamed over the target when the stream ends (or to stdout for '-').
:class:`SummaryFold` folds batches into the counts ``maillens parse`` prints. Neither holds more
than one batch.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .output import EVENT_FORMATS, OutputError, is_write_through, neutralise_csv_table, open_output
from .pipeline import EventBatch, EventStream
from .schema import CLASS_SCHEMA, SCHEMA, to_pandas
from .textsafe import _BIDI, json_safe

__all__ = ["EventWriter", "SummaryFold", "jsonl_bytes", "jsonl_text", "write_stream"]

FAILURES = ("transient_failure", "permanent_failure")


JSONL_ROWS = 50_000  # rows rendered at a time (the text of a slice is built whole)
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
    """Stamps as pandas prints them: ``2026-11-28 10:00:00+00:00``, microseconds when there are some."""
    floor = pc.floor_temporal(col, unit="second")
    secs = pc.strftime(pc.cast(floor, pa.timestamp("s", "UTC"), safe=False), format="%Y-%m-%d %H:%M:%S",
                       locale="C")
    micro = pc.subtract(pc.cast(pc.cast(col, pa.timestamp("us", "UTC")), pa.int64()),
                        pc.cast(pc.cast(floor, pa.timestamp("us", "UTC")), pa.int64()))
    frac = pc.if_else(pc.equal(micro, 0), "",
                      pc.binary_join_element_wise(".", pc.utf8_lpad(pc.cast(micro, pa.string()), 6, "0"), ""))
    return pc.binary_join_element_wise('"', secs, frac, '+00:00"', "")


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
    return pc.fill_null(out, "null")


def jsonl_bytes(table: pa.Table) -> bytes:
    """JSON lines of a batch (UTF-8): one object per event, keys in column order, non-ASCII as is,
    slashes not escaped; DEL, C1 and bidi controls as \\uXXXX (:func:`analyzer.textsafe.json_safe`).
    Built column by column with Arrow string kernels (each distinct value of a column rendered
    once), never a Python loop over rows."""
    if table.num_rows > JSONL_ROWS:
        return b"".join(jsonl_bytes(table.slice(i, JSONL_ROWS)) for i in range(0, table.num_rows, JSONL_ROWS))
    if table.num_rows == 0:
        return b""
    parts: list[Any] = []
    raw = False  # a DEL, C1 or bidi control somewhere (only text values can hold one)
    for i, name in enumerate(table.column_names):
        parts.append(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":")
        col = table.column(i).combine_chunks()
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            enc = pc.dictionary_encode(col)  # most columns repeat a few values: render those once
            raw = raw or bool(pc.any(pc.match_substring_regex(enc.dictionary, _JSON_RAW_RE2)).as_py())
            col = pc.take(_json_values(enc.dictionary), enc.indices)
            parts.append(pc.fill_null(col, "null"))
        else:
            if pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type):
                raw = raw or bool(pc.any(pc.match_substring_regex(col.dictionary, _JSON_RAW_RE2)).as_py())
            parts.append(_json_values(col))
    parts.append("}\n")
    rows = pc.binary_join_element_wise(*parts, "")
    if raw or any(ord(c) >= 0x7F for c in "".join(table.column_names)):
        text = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows), "")[0].as_py()
        return json_safe(text).encode("utf-8")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return rows.buffers()[2].to_pybytes()[int(offsets[0]):int(offsets[-1])]


def jsonl_text(table: pa.Table) -> str:
    """:func:`jsonl_bytes` as text."""
    return jsonl_bytes(table).decode("utf-8")


class EventWriter:
    """Write event batches to ``path`` (.parquet, .csv, .jsonl; '-' for JSON lines on stdout; a
    device or FIFO without one of these suffixes gets JSON lines).

    Use as a context manager: a regular file appears (atomically, via
    :func:`analyzer.output.open_output`) only if the block succeeds. CSV cells a spreadsheet
    would run as formulas are neutralised. ``transform`` (pa.Table -> pa.Table) is applied to
    every batch first (e.g. redaction).
    """

    def __init__(self, path: str, transform: Callable[[pa.Table], pa.Table] | None = None) -> None:
        self.path = path
        self.rows = 0
        self.transform = transform
        if path == "-":
            self.fmt = "jsonl"
        else:
            suffix = Path(path).suffix.lower()
            fmt = EVENT_FORMATS.get(suffix) or ("jsonl" if is_write_through(path) else None)
            if fmt is None:
                raise OutputError(f"{path}: unknown output type {suffix or '(none)'}; use .parquet, .csv or .jsonl")
            self.fmt = fmt
        self._stack = contextlib.ExitStack()
        self._writer: Any = None
        self._fh: IO[bytes] | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> EventWriter:
        if self.path == "-":
            self._fh = sys.stdout.buffer
        else:
            self._fh = self._stack.enter_context(open_output(self.path, "wb"))
        return self

    def write(self, table: pa.Table) -> None:
        if self.transform is not None and table.num_rows:
            table = self.transform(table)
        if self._schema is None:
            self._schema = table.schema
        elif not table.schema.equals(self._schema, check_metadata=False):
            table = table.select(self._schema.names).cast(self._schema)
        try:
            if self.fmt == "jsonl":
                assert self._fh is not None
                self._fh.write(jsonl_bytes(table))
            else:
                self._open(table.schema)
                table = table.replace_schema_metadata(self._schema.metadata)
                if table.num_rows:
                    self._writer.write_table(neutralise_csv_table(table) if self.fmt == "csv" else table)
        except OSError as exc:
            raise _error(self.path, exc) from exc
        self.rows += table.num_rows

    def _open(self, schema: pa.Schema) -> None:
        if self._writer is not None:
            return
        if self.fmt == "parquet":
            # with pandas' metadata, as pandas would write it: read back, the dtypes are Arrow's
            meta = pa.Schema.from_pandas(to_pandas(schema.empty_table()), preserve_index=False).metadata
            self._schema = schema = schema.with_metadata(meta)
            self._writer = pq.ParquetWriter(self._fh, schema, compression="zstd")
        else:
            self._schema = schema
            self._writer = pacsv.CSVWriter(self._fh, schema)

    def close_ok(self, schema: pa.Schema) -> None:
        """Finish: make sure an empty stream still writes a file with the header/schema."""
        if self.fmt != "jsonl":
            self._open(self._schema or schema)
            self._writer.close()
        elif self._fh is not None:
            self._fh.flush()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        try:
            self._stack.__exit__(exc_type, exc, tb)
        except OSError as err:
            raise _error(self.path, err) from err


def _error(path: str, exc: OSError) -> OutputError:
    if isinstance(exc, OutputError):
        return exc
    return OutputError(f"{path}: {exc.strerror or exc}")


def write_stream(batches: Iterable[EventBatch], path: str, *, classified: bool = False,
                 also: list[Any] | None = None, transform: Callable[[Any], Any] | None = None) -> int:
    """Write every batch to ``path``; ``also`` are folds (objects with ``add(table)``) fed the
    same batches; ``transform`` is a DataFrame -> DataFrame applied to each batch before it is
    written (e.g. :meth:`analyzer.report.redact.Redactor.frame`). Returns the number of events."""
    schema = pa.unify_schemas([SCHEMA, CLASS_SCHEMA]) if classified else SCHEMA
    tf = None
    if transform is not None:
        def tf(t: pa.Table) -> pa.Table:
            return pa.Table.from_pandas(transform(to_pandas(t)), schema=t.schema, preserve_index=False)
    with EventWriter(path, tf) as w:
        for b in batches:
            w.write(b.table)
            for fold in also or ():
                fold.add(b.table)
        w.close_ok(schema)
    return w.rows


class SummaryFold:
    """Folds event batches into what ``maillens parse`` prints (see :mod:`analyzer.summary`)."""

    def __init__(self) -> None:
        self.by_event: Counter = Counter()
        self.by_code: Counter = Counter()
        self.by_status: Counter = Counter()
        self.by_cause: Counter = Counter()
        self.first: Any = None
        self.last: Any = None
        self.rows = 0

    @staticmethod
    def _count(into: Counter, col: pa.ChunkedArray | pa.Array) -> None:
        for item in pc.value_counts(pc.drop_null(col)).to_pylist():
            into[item["values"]] += item["counts"]

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.rows += table.num_rows
        self._count(self.by_event, table.column("event"))
        self._count(self.by_code, table.column("reply_code"))
        self._count(self.by_status, table.column("status"))
        if "cause" in table.column_names and "outcome" in table.column_names:
            failed = pc.is_in(table.column("outcome"), value_set=pa.array(FAILURES))
            self._count(self.by_cause, pc.filter(table.column("cause"), pc.fill_null(failed, False)))
        lo, hi = pc.min_max(table.column("ts")).values()
        if lo.is_valid:
            lo_v, hi_v = pd.Timestamp(lo.as_py()), pd.Timestamp(hi.as_py())
            self.first = lo_v if self.first is None else min(self.first, lo_v)
            self.last = hi_v if self.last is None else max(self.last, hi_v)

    @staticmethod
    def ranked(counter: Counter) -> list[tuple[Any, int]]:
        """Most frequent first; ties by value."""
        return sorted(((k, int(v)) for k, v in counter.items()), key=lambda kv: (-kv[1], str(kv[0])))

    def fold(self, stream: EventStream) -> SummaryFold:
        for b in stream:
            self.add(b.table)
        return self
