"""Sinks: consumers of event batches (see :mod:`analyzer.pipeline`).

:class:`EventWriter` writes batches to Parquet (a ``ParquetWriter``), CSV or JSON lines as they
come, to a temporary file renamed over the target when the stream ends (or to stdout for '-').
:class:`SummaryFold` folds batches into the counts ``maillens parse`` prints. Neither holds more
than one batch.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .output import EVENT_FORMATS, OutputError, is_write_through, neutralise_csv_table, open_output, start_writeback
from .pipeline import EventBatch, EventStream
from .schema import CLASS_SCHEMA, SCHEMA, to_pandas
from .schema import pandas_metadata as _pandas_metadata
from .sink_codes import coded, coded_schema, one_valued, stored_metadata
from .textsafe import _BIDI, json_safe

__all__ = ["EventWriter", "SummaryFold", "jsonl_bytes", "jsonl_pieces", "jsonl_text", "write_stream"]

FAILURES = ("transient_failure", "permanent_failure")


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


def _json_members(col: pa.Array, prefix: str, suffix: str) -> tuple[pa.Array, np.ndarray, bool]:
    """The distinct ``prefix + value + suffix`` of a column (the key and its value, and the line's
    end after the last), the row's place in them, and whether a value holds a DEL, C1 or bidi
    control. Text, integers and stamps are dictionary-encoded first (most columns repeat a few
    values: each is rendered once); the last member is the null one."""
    t = col.type
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    if pa.types.is_dictionary(t) or text or pa.types.is_integer(t) or pa.types.is_timestamp(t):
        enc = col if pa.types.is_dictionary(t) else pc.dictionary_encode(col)
        values = enc.dictionary
        vt = values.type
        raw = False
        if pa.types.is_string(vt) or pa.types.is_large_string(vt):
            raw = bool(pc.any(pc.match_substring_regex(values, _JSON_RAW_RE2)).as_py())
        codes = _codes(enc.indices, len(values))
    else:  # floats (-0.0 and 0.0 are one value to a hash), booleans: value by value
        values, codes, raw = col, np.arange(len(col), dtype=np.int64), False
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
        piece = _jsonl_piece(table.slice(start, JSONL_ROWS))
        if len(piece):
            yield piece


def _codes(indices: pa.Array, null: int) -> np.ndarray:
    """A dictionary's indices as int64 (read from the buffers), ``null`` where null."""
    n = len(indices)
    dtype = np.dtype(indices.type.to_pandas_dtype())
    codes = np.frombuffer(indices.buffers()[1], dtype=dtype, count=n, offset=indices.offset * dtype.itemsize)
    codes = codes.astype(np.int64)
    if indices.null_count:
        bits = np.unpackbits(np.frombuffer(indices.buffers()[0], np.uint8), bitorder="little")
        codes[~bits[indices.offset: indices.offset + n].astype(bool)] = null
    return codes


def _jsonl_piece(table: pa.Table) -> Any:
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
        at[:, i] = codes
        at[:, i] += base
        base += len(got)
        members.append(got)
        raw = raw or odd
    rows = pc.take(pa.concat_arrays(members) if len(members) > 1 else members[0], pa.array(at.reshape(-1)))
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


#: Batches waiting for the writer thread (a batch is ~10 MiB of Arrow data): the thread encodes
#: a batch several times faster than the next one is parsed and classified, so one waiting batch
#: keeps it busy; more would only add to the peak memory (JSON lines: ~15 MiB a batch).
WRITE_QUEUE = 1
#: Columns with many distinct values per batch (ids, addresses, free text, stamps, counters):
#: Parquet's dictionary encoding only costs time there (it gives up after the first page);
#: every other column is dictionary-encoded (a few to a few thousand distinct values).
HIGH_CARDINALITY = frozenset({"ts", "queue_id", "message_id", "related_id", "sender", "recipient", "reply_text",
                              "client_host", "client_port", "size", "line_no"})
#: Integer columns written DELTA_BINARY_PACKED (differences of neighbours, bit-packed) and not
#: compressed: line numbers always (+1 a row: 1M of them in ~20 KB, against ~1 MB as zstd of
#: plain values, in a third of the time); and any integer column whose first batch holds more
#: distinct values than 1/:data:`BUSY_SHARE` of its rows (Exim's pids, ports, sizes), where a
#: dictionary grows until Parquet gives it up, and zstd gains nothing over the deltas.
DELTA_ALWAYS = frozenset({"line_no"})
BUSY_SHARE = 20
#: Dictionary-encoded columns written without compression: numbers, and text of closed or
#: few-valued sets (event kinds, statuses, stages, programs; the classification's). Their pages
#: are small integer codes, run-length and bit-packed already, and their dictionaries a few
#: words: zstd shrinks them by 15-35% for ~10% of the encoding time. Every other column is zstd
#: level 1 (~35% smaller than snappy or lz4 for ~20% more time), open-valued text (addresses,
#: names, codes, free text) included, whose dictionaries may be large on a busy server.
FEW_VALUED = frozenset({"host", "mta", "program", "event", "direction", "status", "code_origin", "smtp_stage",
                        "protocol", "source", "reply_class", "outcome", "cause", "provider", "severity", "fix_id",
                        "action"})
#: Rows of a Parquet row group (batches are gathered up to it): each row group costs a fixed
#: part of its encoding per column (45 of them), and a batch (~28,000 rows) is a small group;
#: four batches encode ~8% faster than one by one, for ~25 MiB more held by the writer
#: (bench/RESULTS.md, r10-parquet). Readers skip row groups by their statistics all the same.
ROW_GROUP_ROWS = 100_000
#: Parquet min/max statistics are written for the columns that are not text (stamps, line
#: numbers, codes, sizes, delays): filters on them skip row groups in pyarrow and DuckDB. Text
#: columns have none: min/max of ids and free text skip nothing, and every row group holds every
#: event kind, status and cause, so theirs skip nothing either; they cost ~12% of the write.
#: Bytes the Parquet and CSV writers gather in Arrow before handing them to the Python file: a
#: Parquet writer writes ~12,000 small pieces per million rows, and each hand-over takes the GIL,
#: which the writer thread would wait for (up to 5 ms a time) while the main thread works.
WRITE_BUFFER = 4 << 20
_STOP = object()
#: Hand-overs waiting for the ``maillens-free`` thread beyond which :meth:`_Freer.release` drops in place.
RELEASE_BEHIND = 1


class _Freer:
    """Drops what the writer thread hands it on a thread of its own (``maillens-free``): a
    batch's last reference, when it goes, unmaps the worker's spool file its buffers point into
    (:class:`analyzer.parallel.Recycler`) and frees what Arrow made of it, system calls that
    otherwise fall on the writer thread between two row groups (the consumer the batches wait
    for). Should the thread fall behind (:data:`RELEASE_BEHIND` waiting already), or once it
    is closed, objects are dropped in place: memory stays bounded. :meth:`close` (the writer's
    end) waits for it: no thread is left to drop Arrow objects while the interpreter exits
    (a thread stopped inside a C++ destructor then aborts the process)."""

    def __init__(self) -> None:
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = threading.Thread(target=self._run, name="maillens-free", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.q.get() is not _STOP:
            pass  # (what it got is dropped here)

    def release(self, *objects: Any) -> None:
        if self.thread is not None and self.q.qsize() < RELEASE_BEHIND:
            self.q.put(objects)

    def close(self) -> None:
        if self.thread is not None:
            self.q.put(_STOP)
            self.thread.join()
            self.thread = None


def parquet_options(schema: pa.Schema, first: pa.Table | None = None) -> dict[str, Any]:
    """The ``ParquetWriter`` options of the event table, given its first batch (see
    :data:`HIGH_CARDINALITY`, :data:`DELTA_ALWAYS`, :data:`FEW_VALUED`). The encodings
    and codecs are standard Parquet (v1 data pages) that pyarrow, DuckDB and Spark read."""
    delta = [f.name for f in schema if pa.types.is_integer(f.type) and (f.name in DELTA_ALWAYS or _busy(first, f.name))]
    dictionary = [n for n in schema.names if n not in HIGH_CARDINALITY and n not in delta]
    bare = {*delta, *(f.name for f in schema if f.name in dictionary and (f.name in FEW_VALUED or not _is_text(f.type)))}
    codec = {n: "none" if n in bare else "zstd" for n in schema.names}
    return {"use_dictionary": dictionary, "compression": codec,
            "compression_level": {n: 1 for n, c in codec.items() if c == "zstd"} or None,
            "column_encoding": dict.fromkeys(delta, "DELTA_BINARY_PACKED") or None,
            "write_statistics": [f.name for f in schema if not _is_text(f.type)]}


def _busy(first: pa.Table | None, name: str) -> bool:
    """Whether a column of the first batch has more distinct values than 1/BUSY_SHARE of its
    rows (a batch of a few rows tells nothing: no)."""
    if first is None or first.num_rows < 1000 or name not in first.column_names:
        return False
    return pc.count_distinct(first.column(name)).as_py() * BUSY_SHARE > first.num_rows


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


class EventWriter:
    """Write event batches to ``path`` (.parquet, .csv, .jsonl; '-' for JSON lines on stdout; a
    device or FIFO without one of these suffixes gets JSON lines).

    Use as a context manager: a regular file appears (atomically, via
    :func:`analyzer.output.open_output`) only if the block succeeds. CSV cells a spreadsheet
    would run as formulas are neutralised. ``transform`` (pa.Table -> pa.Table) is applied to
    every batch first (e.g. redaction), in the caller's thread.

    With ``threaded`` (the default) batches are encoded and written on a thread of their own,
    through a queue of :data:`WRITE_QUEUE` batches: Arrow's Parquet and CSV writers and its
    compute kernels release the GIL, so encoding overlaps the parsing of the next batches.
    Batches are written in the order given; an error of the thread (disk full) is raised by the
    next :meth:`write` or by :meth:`close_ok`.
    """

    def __init__(self, path: str, transform: Callable[[pa.Table], pa.Table] | None = None, *,
                 threaded: bool = True) -> None:
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
        self.threaded = threaded
        self._stack = contextlib.ExitStack()
        self._writer: Any = None
        self._fh: IO[bytes] | None = None
        self._sink: Any = None  # Arrow's buffer in front of _fh (Parquet, CSV)
        self._guard: _Guard | None = None
        self._schema: pa.Schema | None = None  # the first batch's: later batches are cast to it
        self._file_schema: pa.Schema | None = None  # the file's (Parquet: with pandas' metadata)
        self._coded: tuple[str, ...] = ()  # Parquet: the columns written from dictionaries (sink_codes)
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._abort = False
        self._group: list[pa.Table] = []  # Parquet: batches gathered for the next row group
        self._group_rows = 0
        self._freer: _Freer | None = None  # with the writer thread: drops what it wrote

    def __enter__(self) -> EventWriter:
        if self.path == "-":
            self._fh = sys.stdout.buffer
        else:
            self._fh = self._stack.enter_context(open_output(self.path, "wb"))
        if self.threaded:
            self._queue = queue.Queue(maxsize=WRITE_QUEUE)
            self._freer = _Freer()
            self._thread = threading.Thread(target=self._run, name="maillens-write", daemon=True)
            self._thread.start()
        return self

    def write(self, table: pa.Table) -> None:
        self._raise_failure()
        if self.transform is not None and table.num_rows:
            table = self.transform(table)
        if self._schema is None:
            self._schema = table.schema
        elif not table.schema.equals(self._schema, check_metadata=False):
            table = table.select(self._schema.names).cast(self._schema)
        self.rows += table.num_rows
        if self._queue is None:
            self._encode(table)
        else:
            self._queue.put(table)

    def _run(self) -> None:
        """The writer thread: encode what the queue brings until told to stop; after a failure,
        take and drop the rest (the caller must never block on a full queue)."""
        assert self._queue is not None
        while True:
            table = self._queue.get()
            if table is _STOP:
                return
            if self._failure is not None or self._abort:
                continue
            try:
                self._encode(table)
                if self._fh is not None and self.path != "-":
                    start_writeback(self._fh)  # on disk while the rest is made: the end's fsync waits less
            except BaseException as exc:  # handed to the caller's thread
                self._failure = exc
            if self.fmt != "parquet":  # (Parquet: the row group's batches go together)
                self._release(table)
            table = None

    def _encode(self, table: pa.Table) -> None:
        try:
            if self.fmt == "jsonl":
                assert self._fh is not None
                for piece in jsonl_pieces(coded(table, one_valued(table))):
                    self._fh.write(piece)
            else:
                if not table.num_rows:
                    return  # (the file is opened by the first batch with rows, or at the end)
                self._open(table.schema, table)
                table = table.replace_schema_metadata(self._file_schema.metadata)
                if self.fmt == "csv":
                    self._writer.write_table(neutralise_csv_table(table))
                    return
                if self._coded:
                    table = coded(table, self._coded)
                self._group.append(table)
                self._group_rows += table.num_rows
                if self._group_rows >= ROW_GROUP_ROWS:
                    self._write_group()
        except OSError as exc:
            raise _error(self.path, exc) from exc

    def _write_group(self) -> None:
        """The batches gathered, as one Parquet row group (their chunks as they are: no copy)."""
        if self._group:
            group = pa.concat_tables(self._group) if len(self._group) > 1 else self._group[0]
            if self._coded:  # one dictionary a column chunk: Arrow writes the codes as they are
                group = group.unify_dictionaries()
            batches, self._group, self._group_rows = self._group, [], 0
            self._writer.write_table(group, row_group_size=group.num_rows)
            self._release(group, batches)

    def _open(self, schema: pa.Schema, first: pa.Table | None = None) -> None:
        if self._writer is not None:
            return
        self._guard = _Guard(self._fh)
        self._sink = pa.BufferedOutputStream(pa.PythonFile(self._guard, mode="w"), buffer_size=WRITE_BUFFER)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            # with pandas' metadata, as pandas would write it: read back, the dtypes are Arrow's
            self._file_schema = schema = schema.with_metadata(_pandas_metadata(schema))
            self._coded = () if first is None else one_valued(first)
            written = coded_schema(schema, self._coded)
            # coded: the plain schema's metadata is added at the end (read back, the columns are text)
            self._writer = pq.ParquetWriter(self._sink, written, store_schema=not self._coded,
                                            **parquet_options(schema, first))
        else:
            import pyarrow.csv as pacsv

            self._file_schema = schema
            # the header and types of the cells as written (UTC stamps and dictionaries as text)
            self._writer = pacsv.CSVWriter(self._sink, neutralise_csv_table(schema.empty_table()).schema)

    def _join(self) -> None:
        """Stop the writer thread once the queue is written (or dropped, after a failure)."""
        if self._thread is not None:
            assert self._queue is not None
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._freer is not None:
            self._freer.close()

    def _release(self, *objects: Any) -> None:
        if self._freer is not None:
            self._freer.release(*objects)

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            self._abort = True  # the rest is dropped
            raise failure

    def close_ok(self, schema: pa.Schema) -> None:
        """Finish: write what is queued, and make sure an empty stream still writes a file with
        the header/schema."""
        self._join()
        self._raise_failure()
        try:
            if self.fmt != "jsonl":
                self._open(self._schema or schema)
                self._write_group()
                if self._coded:
                    self._writer.add_key_value_metadata(stored_metadata(self._file_schema))
                self._writer.close()
                self._sink.detach()  # the rest of the buffer into the file, which stays open
            elif self._fh is not None:
                self._fh.flush()
        except OSError as exc:
            raise _error(self.path, exc) from exc

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._abort = True
        self._join()
        if exc_type is not None and self._writer is not None:
            if self._guard is not None:
                self._guard.dropped = True  # what Arrow still holds goes nowhere (the file is removed)
            with contextlib.suppress(Exception):
                self._writer.close()
        try:
            self._stack.__exit__(exc_type, exc, tb)
        except OSError as err:
            raise _error(self.path, err) from err


class _Guard:
    """The file under Arrow's write buffer; after a failure it takes and drops what Arrow still
    flushes (Arrow flushes a buffer when it is destroyed, maybe after the file is closed)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.dropped = False
        self.closed = False

    def write(self, data: Any) -> int:
        return len(data) if self.dropped else self.fh.write(data)

    def flush(self) -> None:
        if not self.dropped:
            self.fh.flush()

    def close(self) -> None:  # the file is open_output's to close
        self.closed = True


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
    try:
        with EventWriter(path, tf) as w:
            for b in _from_input(batches):
                w.write(b.table)
                for fold in also or ():
                    fold.add(b.table)
            w.close_ok(schema)
    except _InputFailed as failed:
        raise failed.error from None  # as the input raised it (the output is not written)
    return w.rows


class _InputFailed(Exception):
    """An error of the batches' producer (an input that cannot be read, no mail lines, --strict),
    carried through the output's block as what it is: :func:`analyzer.output.open_output` makes
    an output error of any OSError raised in its block, and SourceError is one."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _from_input(batches: Iterable[Any]) -> Iterator[Any]:
    it = iter(batches)
    while True:
        try:
            b = next(it)
        except StopIteration:
            return
        except Exception as exc:
            raise _InputFailed(exc) from exc
        yield b


class SummaryFold:
    """Folds event batches into what ``maillens parse`` prints (see :mod:`analyzer.summary`)."""

    #: the columns it reads (of the event table and the classification's)
    READS = ("event", "reply_code", "status", "cause", "outcome", "ts")

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
            # datetimes (what pandas' Timestamp of them prints alike), not pandas': `parse` never imports it
            lo_v, hi_v = lo.as_py(), hi.as_py()
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
