"""Sinks: consumers of event batches (see :mod:`analyzer.pipeline`).

:class:`EventWriter` writes batches to Parquet (row groups encoded side by side,
:mod:`analyzer.sink_parquet`), CSV or JSON lines as they come, to a temporary file renamed over
the target when the stream ends (or to stdout for '-'). :class:`SummaryFold` folds batches into
the counts ``maillens parse`` prints. Neither holds more than a few batches (Parquet: the row
group being gathered and the ones being encoded; CSV and JSON lines: a few pieces rendered
ahead, :mod:`analyzer.sink_pieces`).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

from . import sink_jsonl
from .output import OutputError, event_format, neutralise_csv_table, open_output, start_writeback
from .pipeline import EventBatch, EventStream
from .schema import CLASS_SCHEMA, SCHEMA, to_pandas
from .schema import pandas_metadata as _pandas_metadata
from .sink_codes import (
    class_dictionaries,
    class_text_schema,
    coded,
    coded_schema,
    dictionary_columns,
    one_valued,
    stored_metadata,
)
from .sink_jsonl import jsonl_bytes, jsonl_pieces, jsonl_text
from .sink_parquet import ENCODERS, GroupFiles
from .sink_pieces import RENDER_THREADS, PieceWriter

__all__ = ["EventWriter", "SummaryFold", "jsonl_bytes", "jsonl_pieces", "jsonl_text", "pace", "write_stream"]

FAILURES = ("transient_failure", "permanent_failure")


#: Batches waiting for the writer thread (a batch is ~10 MiB of Arrow data): the thread encodes
#: a batch several times faster than the next one is parsed and classified, so one waiting batch
#: keeps it busy; more would only add to the peak memory (JSON lines: ~15 MiB a batch).
WRITE_QUEUE = 1
#: Columns with many distinct values per batch (ids, addresses, free text, stamps, counters):
#: Parquet's dictionary encoding only costs time there (it gives up after the first page);
#: every other column is dictionary-encoded (a few to a few thousand distinct values). The client
#: host names are not among them: a day's clients repeat (a host connects, is looked up, rejected,
#: disconnects: several lines each), and their dictionary costs less than zstd of the plain names
#: (1M-line days: 26 -> 25 ms Postfix, 22 -> 19 ms Exim; 852 -> 514 KB, 962 -> 499 KB).
HIGH_CARDINALITY = frozenset({"ts", "queue_id", "message_id", "related_id", "sender", "recipient", "reply_text",
                              "client_port", "size", "line_no"})
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
#: Rows of a CSV piece rendered at a time (:class:`analyzer.sink_pieces.PieceWriter`; ~5 MB of text)
CSV_ROWS = 16_384
#: How the text outputs (CSV, JSON lines) hand freed memory back: 0, as the rest of ``parse``; 1,
#: from the start (:func:`analyzer.heap.hand_back_early`: two C heap arenas, Arrow's freed pages back
#: after 200 ms); 2, and blocks of 256 KiB and more mapped apart from the first batch on
#: (:func:`analyzer.heap.map_large_from_now`). Measured beside the pacing (:func:`pace`), Postfix 1M
#: JSON lines at load ~30: 2 lowers the peak by ~55 MiB more but costs ~0.4 CPU-s (+7%) of system
#: time; 1 ~20 MiB for as much CPU (bench/RESULTS.md, r35-jsonl). Not on: the CPU.
TEXT_HEAP = 0
#: Whether :func:`pace` paces a stream written to a text output
TEXT_PACE = True
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
    compute kernels release the GIL, so encoding overlaps the parsing of the next batches (CSV
    and JSON lines: their pieces rendered on two more threads, :mod:`analyzer.sink_pieces`).
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
            self.fmt = event_format(path)
        self.threaded = threaded
        self._stack = contextlib.ExitStack()
        self._writer: Any = None
        self._fh: IO[bytes] | None = None
        self._sink: Any = None  # Arrow's buffer in front of _fh (Parquet, CSV)
        self._guard: _Guard | None = None
        self._schema: pa.Schema | None = None  # the first batch's: later batches are cast to it
        self._file_schema: pa.Schema | None = None  # the file's (Parquet: with pandas' metadata)
        self._coded: tuple[str, ...] = ()  # Parquet: the columns written from dictionaries (sink_codes)
        self._class_codes: bool | None = None  # the classification's columns come as dictionaries (write's codes)
        self._words: dict[tuple, pa.Array] = {}  # their dictionaries (sink_codes.class_dictionaries)
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._abort = False
        self._group: list[pa.Table] = []  # Parquet: batches gathered for the next row group
        self._group_rows = 0
        self._freer: _Freer | None = None  # with the writer thread: drops what it wrote
        self._pieces: PieceWriter | None = None  # JSON lines, CSV: what renders and writes them

    def __enter__(self) -> EventWriter:
        if self.path == "-":
            self._fh = sys.stdout.buffer
        else:
            self._fh = self._stack.enter_context(open_output(self.path, "wb"))
        if self.threaded and self.fmt != "parquet" and TEXT_HEAP:
            from .heap import hand_back_early

            hand_back_early()
        if self.threaded:
            self._queue = queue.Queue(maxsize=WRITE_QUEUE)
            self._freer = _Freer()
            self._thread = threading.Thread(target=self._run, name="maillens-write", daemon=True)
            self._thread.start()
        return self

    def write(self, table: pa.Table, codes: Any = None) -> None:
        """Write ``table`` (after the ones before); ``codes``: its classification columns' codes
        (:func:`analyzer.sink_codes.class_dictionaries`), taken by the Parquet writer as long
        as the file's first batch came with them or with those columns as dictionaries (the
        classifier's ``as_dictionaries``: written as they are, read back as text)."""
        self._raise_failure()
        if self.transform is not None and table.num_rows:
            table, codes = self.transform(table), None
        schema = table.schema
        text = class_text_schema(schema)  # (the classification's columns may come as dictionaries)
        if self._schema is None:
            self._schema = text
        elif not text.equals(self._schema, check_metadata=False):
            table, codes = table.select(self._schema.names).cast(self._schema), None
            schema = text = self._schema
        if table.num_rows and self.fmt == "parquet" and self._class_codes is not False:
            # (decided by the first batch with rows)
            self._class_codes = self._class_codes or codes is not None or text is not schema
            table = class_dictionaries(table, codes, self._words) if self._class_codes else table
        elif text is not schema:  # (the file's classification columns are text: these too)
            table = table.cast(text)
        if not self.rows and table.num_rows and self.threaded and self.fmt != "parquet" and TEXT_HEAP > 1:
            from .heap import map_large_from_now

            map_large_from_now()
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
                if self._pieces is not None and self._failure is None and not self._abort:
                    try:
                        self._pieces.flush()
                    except OSError as exc:
                        self._failure = _error(self.path, exc)
                    except BaseException as exc:  # handed to the caller's thread
                        self._failure = exc
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
                self._text(self._fh.write).add(coded(table, one_valued(table)))
            else:
                if not table.num_rows:
                    return  # (the file is opened by the first batch with rows, or at the end)
                self._open(self._schema or table.schema, table)
                table = table.replace_schema_metadata(self._file_schema.metadata)
                if self.fmt == "csv":  # (the header written by the CSV writer when opened)
                    self._text(self._sink.write).add(table)
                    return
                if self._coded:
                    table = coded(table, self._coded)
                self._group.append(table)
                self._group_rows += table.num_rows
                if self._group_rows >= ROW_GROUP_ROWS:
                    self._write_group()
        except OSError as exc:
            raise _error(self.path, exc) from exc

    def _text(self, write: Callable[[Any], Any]) -> PieceWriter:
        """What renders the text outputs' pieces (on threads beside the writer thread) and writes them."""
        if self._pieces is None:
            if self.fmt == "csv":
                self._pieces = PieceWriter(write, _csv_piece, lambda: CSV_ROWS, RENDER_THREADS if self.threaded else 1)
            else:
                self._pieces = PieceWriter(write, lambda t: sink_jsonl.jsonl_piece(t), lambda: sink_jsonl.JSONL_ROWS,
                                           RENDER_THREADS if self.threaded else 1)
        return self._pieces

    def _write_group(self, last: bool = False) -> None:
        """The batches gathered, as one Parquet row group (their chunks as they are: no copy),
        encoded beside the ones before (:class:`analyzer.sink_parquet.GroupFiles`); ``last``:
        the file's last (then encoded on this thread and an encoder's)."""
        if self._group:
            group = pa.concat_tables(self._group) if len(self._group) > 1 else self._group[0]
            if self._coded:  # one dictionary a column chunk: Arrow writes the codes as they are
                group = group.unify_dictionaries()
            batches, self._group, self._group_rows = self._group, [], 0
            self._writer.add(group, lambda: self._release(group, batches), last)

    def _open(self, schema: pa.Schema, first: pa.Table | None = None) -> None:
        if self._writer is not None:
            return
        self._guard = _Guard(self._fh)
        self._sink = pa.BufferedOutputStream(pa.PythonFile(self._guard, mode="w"), buffer_size=WRITE_BUFFER)
        if self.fmt == "parquet":

            # with pandas' metadata, as pandas would write it: read back, the dtypes are Arrow's
            self._file_schema = schema = schema.with_metadata(_pandas_metadata(schema))
            self._coded = () if first is None else one_valued(first) + dictionary_columns(first)
            written = coded_schema(schema, self._coded)
            # coded: the plain schema's metadata is added at the end (read back, the columns are text)
            self._writer = GroupFiles(self._sink, written, {"store_schema": not self._coded, **parquet_options(schema, first)},
                                      stored_metadata(schema) if self._coded else None,
                                      ENCODERS if self.threaded else 1)
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
        if self._pieces is not None:  # (what is pending was written by the writer thread, or is dropped)
            self._pieces.close()
            self._pieces = None
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
                self._write_group(last=True)
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
                self._writer.abort() if self.fmt == "parquet" else self._writer.close()
        try:
            self._stack.__exit__(exc_type, exc, tb)
        except OSError as err:
            raise _error(self.path, err) from err


def _csv_piece(table: pa.Table) -> pa.Buffer:
    """CSV rows of a few events (no header), cells neutralised: what the CSV writer writes of them."""
    import pyarrow.csv as pacsv

    out = pa.BufferOutputStream()
    pacsv.write_csv(neutralise_csv_table(table), out, write_options=pacsv.WriteOptions(include_header=False))
    return out.getvalue()


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


def pace(stream: EventStream, path: str) -> None:
    """Before ``stream`` is written to ``path``: a text output (CSV, JSON lines), rendered slower
    than the stream is parsed, has the stream make few batches ahead of it (``paced``, ``lean``:
    one batch ahead of it and of the classification, one block pending per thread, the heap trimmed every few
    blocks); more would only wait for the writer, in memory (bench/RESULTS.md, r35-jsonl)."""
    try:
        text = path == "-" or event_format(path) != "parquet"
    except OutputError:  # (an unknown type: the writer says so)
        return
    if TEXT_PACE and text:
        stream.paced = stream.lean = True


def write_stream(batches: Iterable[EventBatch], path: str, *, classified: bool = False,
                 also: list[Any] | None = None, transform: Callable[[Any], Any] | None = None,
                 classifier: Any = None) -> int:
    """Write every batch to ``path``; ``also`` are folds (objects with ``add(table)``) fed the
    same batches; ``transform`` is a DataFrame -> DataFrame applied to each batch before it is
    written (e.g. :meth:`analyzer.report.redact.Redactor.frame`); ``classifier``: the stream's,
    which then hands the Parquet writer each batch's classification columns as dictionaries of
    its codes (``as_dictionaries``; a batch whose strings it had to make: the codes beside,
    ``codes_beside``) instead of strings the writer would encode again (not read until the
    stream starts). Returns the number of events."""
    schema = pa.unify_schemas([SCHEMA, CLASS_SCHEMA]) if classified else SCHEMA
    tf = None
    if transform is not None:
        def tf(t: pa.Table) -> pa.Table:
            return pa.Table.from_pandas(transform(to_pandas(t)), schema=t.schema, preserve_index=False)
    beside = getattr(classifier, "codes_beside", None) if tf is None and not also else None
    try:
        with EventWriter(path, tf) as w:
            if beside is not None and w.fmt == "parquet":
                classifier.keep_codes = True
                classifier.as_dictionaries = True  # (its batches: the classification's columns as codes)
                classifier.group_rows = ROW_GROUP_ROWS
            else:
                beside = None
            for b in _from_input(batches):
                w.write(b.table, None if beside is None else beside(b.table))
                for fold in also or ():
                    fold.add(b.table)
            w.close_ok(schema)
    except _InputFailed as failed:
        raise failed.error from None  # as the input raised it (the output is not written)
    finally:
        if beside is not None:  # (the classifier's batches as any other consumer takes them again)
            classifier.as_dictionaries = False
            classifier.group_rows = 0
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
