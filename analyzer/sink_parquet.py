"""A Parquet file's row groups encoded side by side (:class:`analyzer.sinks.EventWriter`).

One ``ParquetWriter`` encodes a file's row groups one after the other on one thread: in
``parse -o x.parquet`` that thread (~0.6 CPU-s per 1M rows, Arrow's floor for 45 nullable
columns) got half a core beside the workers and the classification, and 3-4 row groups were
left to it after the workers' last block, with the other core idle (bench/RESULTS.md,
r19-r21-pout). :class:`GroupFiles` encodes each row group as a Parquet file of its own (the
same schema and options), :data:`ENCODERS` at a time on threads (Arrow's writer releases the
GIL), and writes their column chunks to the output in order, then one footer: the first
file's with every file's row groups, their offsets moved (:mod:`analyzer.parquet_footer`).
Read back, the file is the one a single writer makes: the same row groups, chunks, schema
and metadata. Where the native core runs, the text columns' chunks are made by it
(:mod:`analyzer.parquet_dict`: dictionary-encoded or plain, uncompressed or zstd) and the other
columns' by Arrow, put together in the schema's order: read back the same; the bytes of those
chunks are not Arrow's.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from . import parquet_dict
from . import parquet_footer as footer

__all__ = ["ENCODERS", "GroupFiles", "arrow_writer"]

#: Row groups encoded at a time, each on a thread of its own (and the most waiting to be written)
ENCODERS = 2


class GroupFiles:
    """Row groups of one Parquet file written to ``sink`` (an Arrow output stream): each table
    :meth:`add` gets is one row group, encoded with ``schema`` and the ``ParquetWriter``
    ``options`` on one of ``threads`` threads (1: in the caller's thread) and written in the
    order given; ``metadata``: key/value metadata added to the footer. :meth:`close` writes the
    footer (no row group: a ``ParquetWriter``'s empty file); :meth:`abort` drops what is left."""

    def __init__(self, sink: Any, schema: pa.Schema, options: dict[str, Any],
                 metadata: dict[bytes, bytes] | None = None, threads: int = ENCODERS) -> None:
        self.sink = sink
        self.schema = schema
        self.options = options
        self.metadata = metadata
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="maillens-parquet") if threads > 1 else None
        self._pending: deque[tuple[Future, Callable[[], Any] | None]] = deque()
        self._first: list | None = None  # the first file's footer
        self._parts: list[footer.Groups] = []
        self._at = 0  # bytes written to the sink
        # columns whose chunks the native core makes (analyzer.parquet_dict), and the footer of
        # the whole schema without row groups that their row groups are put in
        self._native = parquet_dict.native_columns(schema, options)
        self._mod = parquet_dict._native() if self._native else None
        self._template = footer.split(self._empty())[1] if self._native else None

    def add(self, table: pa.Table, done: Callable[[], Any] | None = None, last: bool = False) -> None:
        """Encode ``table`` as the next row group; ``done`` is called once it is written. ``last``:
        nothing comes after it (the caller then waits for it): its native columns are split
        between an encoder and the caller's thread (:meth:`_halves`)."""
        if self._pool is None:
            fut: Future = Future()
            fut.set_result(self._encode(table))
        elif last and len(self._native) > 1:
            fut = Future()
            fut.set_result(self._halves(table))
        else:
            fut = self._pool.submit(self._encode, table)
        self._pending.append((fut, done))
        self._written(len(self._pending) - self.threads)

    def _encode(self, table: pa.Table) -> tuple[list, list]:
        """``table`` as a file of one row group: its body (in pieces) and decoded footer."""
        return self._assembled(table, self._chunks(table, list(self._native)))

    def _halves(self, table: pa.Table) -> tuple[list, list]:
        """:meth:`_encode` of the last row group, its native columns' chunks made half on an
        encoder thread, half on this one (with Arrow's columns): at the end of a run the other
        core is free (bench/RESULTS.md, r24-pout)."""
        names = list(self._native)
        assert self._pool is not None
        theirs = self._pool.submit(self._chunks, table, names[0::2])
        chunks = self._chunks(table, names[1::2])
        chunks.update(theirs.result())
        return self._assembled(table, {n: chunks[n] for n in names if n in chunks})

    def _chunks(self, table: pa.Table, names: list[str]) -> dict[str, parquet_dict.Chunk]:
        """The chunks of the columns ``names`` of ``table`` the native core makes (not those it leaves to Arrow)."""
        chunks = {}
        for name in names:
            got = parquet_dict.chunk(name, table.column(name), self._native[name], self._mod)
            if got is not None:
                chunks[name] = got
        return chunks

    def _assembled(self, table: pa.Table, chunks: dict[str, parquet_dict.Chunk]) -> tuple[list, list]:
        """``table`` as a file of one row group, ``chunks`` made already, the other columns by Arrow."""
        if not chunks:
            body, meta = self._arrow(table, self.schema, self.options)
            return [body], meta
        names = self.schema.names
        rest = [n for n in names if n not in chunks]
        # (the other columns' file: only its row group is kept, not its schema nor metadata)
        body, meta = self._arrow(table.select(rest), pa.schema([self.schema.field(n) for n in rest]),
                                 {**_options_of(self.options, rest), "store_schema": False}, whole=False) if rest else (None, None)
        assert self._template is not None
        return parquet_dict.assembled(names, self._template, table.num_rows, chunks, body, meta)

    def _arrow(self, table: pa.Table, schema: pa.Schema, options: dict[str, Any], whole: bool = True) -> tuple[memoryview, list]:
        """``table`` written by Arrow's ``ParquetWriter`` as a file of one row group (``whole``:
        with the file's key/value metadata)."""
        out = pa.BufferOutputStream()
        if not table.schema.equals(schema, check_metadata=False):
            raise ValueError(f"a table of another schema than the file's:\n{table.schema}\nvs. the file's:\n{schema}")
        writer = arrow_writer(out, schema, options)
        try:
            writer.write_table(table, row_group_size=table.num_rows)
            if self.metadata and whole:
                writer.add_key_value_metadata(self.metadata)
        finally:
            writer.close()
        return footer.split(out.getvalue())

    def _empty(self, sink: Any = None) -> Any:
        """A file of the schema without row groups (as the writer makes one), to ``sink``, else as bytes."""
        out = pa.BufferOutputStream() if sink is None else sink
        writer = arrow_writer(out, self.schema, self.options)
        if self.metadata:
            writer.add_key_value_metadata(self.metadata)
        writer.close()
        return out.getvalue() if sink is None else None

    def _written(self, wait: int) -> None:
        """Write the encoded row groups at the head of the queue: the first ``wait`` of them
        waited for, the rest as long as they are done."""
        while self._pending and (wait > 0 or self._pending[0][0].done()):
            fut, done = self._pending.popleft()
            wait -= 1
            pieces, meta = fut.result()
            if self._first is None:
                self._first = meta
                self.sink.write(footer.MAGIC)
                self._at = len(footer.MAGIC)
            self._parts.append(footer.moved(meta, self._at, sum(p.count for p in self._parts)))
            body = b"".join(pieces)  # (one write a row group: each write lets the GIL go and waits to take it back)
            self.sink.write(body)
            self._at += len(body)
            if done is not None:
                done()

    def close(self) -> None:
        """Write what is left and the footer."""
        self._written(len(self._pending))
        self._end()
        if self._first is None:
            self._empty(self.sink)
            return
        tail = footer.merged(self._first, self._parts)
        self.sink.write(tail + struct.pack("<I", len(tail)) + footer.MAGIC)

    def abort(self) -> None:
        """Drop what is not written (the row groups being encoded are waited for)."""
        self._pending.clear()
        self._end()

    def _end(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


#: What ``pyarrow.parquet.ParquetWriter`` hands Arrow's writer where not told otherwise (and
#: never otherwise: the format's version 2.6, the writer's engine V2).
_WRITER_DEFAULTS: dict[str, Any] = {
    "version": "2.6", "use_dictionary": True, "compression": "snappy", "write_statistics": True,
    "use_deprecated_int96_timestamps": False, "compression_level": None, "use_byte_stream_split": False,
    "column_encoding": None, "data_page_version": "1.0", "use_compliant_nested_type": True,
    "encryption_properties": None, "write_batch_size": None, "dictionary_pagesize_limit": None, "store_schema": True,
    "write_page_index": False, "write_page_checksum": False, "sorting_columns": None, "store_decimal_as_integer": False,
    "write_time_adjusted_to_utc": False, "max_rows_per_page": None, "bloom_filter_options": None,
    "use_content_defined_chunking": False}


def arrow_writer(sink: Any, schema: pa.Schema, options: dict[str, Any]) -> Any:
    """Arrow's Parquet writer of ``schema`` to ``sink`` (an Arrow output stream) with the
    ``ParquetWriter`` ``options``, made as ``pyarrow.parquet.ParquetWriter`` makes it (the same
    file) but without importing ``pyarrow.parquet`` (its file systems: ~50 ms of imports on the
    writer thread, holding the GIL the parse threads want, when ``parse -o`` opens its file). A
    pyarrow whose writer takes other arguments gets ``pyarrow.parquet``'s."""
    from pyarrow import _parquet

    if "flavor" not in options and "filesystem" not in options:
        try:
            return _parquet.ParquetWriter(sink, schema, **{**_WRITER_DEFAULTS, **options, "writer_engine_version": "V2"})
        except TypeError:
            pass
    import pyarrow.parquet as pq

    return pq.ParquetWriter(sink, schema, **options)


def _options_of(options: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """``ParquetWriter`` options given per column (lists and dicts of names) for the columns ``names`` only."""
    keep = set(names)
    out: dict[str, Any] = {}
    for key, v in options.items():
        if isinstance(v, dict):
            v = {n: x for n, x in v.items() if n in keep} or None
        elif isinstance(v, list):
            v = [n for n in v if n in keep]
            v = v or False
        out[key] = v
    return out
