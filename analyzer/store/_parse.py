"""Parse and classify one source into the rows the store keeps, batch by batch; what the Dask workers run."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..sources import Input, iter_chunks
from ._keys import Digest, SourceKeys, fingerprint
from ._layout import KEY, STORE_SCHEMA

#: Lines per batch when a source is streamed into the store.
#: None: the stream's own blocks (~4 MiB), parsed by the worker processes; a number of lines
#: (tests that cut a source at awkward places) parses in-process.
BATCH_LINES: int | None = None
#: Rows classified together (:attr:`analyzer.pipeline.EventStream.classify_rows`; 0: the stream's
#: default, 160,000): the batches of a group wait for each other in this process, beside the
#: writer. 40,000 (a batch or two) holds ~30 MiB less at the peak (1M-line Postfix day, ingest:
#: main process 225 -> 194 MiB PSS) for ~0.05 CPU-s per extra call for new keys; the rows are the
#: same for any grouping.
CLASSIFY_ROWS = 40_000


@dataclass
class SourceStream:
    """One input parsed and classified batch by batch into store rows (with keys); iterate once.
    After iteration ``lines``, ``events``, ``unrecognised`` and ``warnings`` say what was read.
    Memory: one batch, the classification cache, and the newest of the source's keys (older ones
    wait on disk: :class:`~analyzer.store._keys.TimedKeys`)."""

    inp: Input
    digest: Digest
    tz: str | None = None
    year: int | None = None
    now: dt.datetime | None = None
    rules: Sequence[str] = ()
    batch_lines: int | None = BATCH_LINES
    lines: int = 0
    events: int = 0
    unrecognised: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inp.name

    def __iter__(self) -> Iterator[pa.Table]:
        from ..classify_stream import StreamClassifier
        from ..heap import shed
        from ..reader import open_stream

        kb = None
        if self.rules:
            from ..rules import load_rules

            kb = load_rules(tuple(Path(r) for r in self.rules))
        dg = self.digest
        keys = SourceKeys()
        with contextlib.ExitStack() as stack:
            stack.callback(keys.close)
            src = self.inp
            if dg.resume_at:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="maillens-tail-"))
                src = _tail_copy(self.inp, dg.resume_at, tmp)
            shed()  # the fingerprint's reads freed: the worker processes fork next (see analyzer.heap.shed)
            stream = open_stream([str(src.path)], tz=self.tz, year=self.year, now=self.now,
                                 batch_lines=self.batch_lines, classifier=StreamClassifier(kb))
            if CLASSIFY_ROWS:
                stream.classify_rows = CLASSIFY_ROWS
            for b in stream:
                if b.table.num_rows:
                    yield self._rows(b.table, keys)
            self.lines = dg.resume_lines + stream.counts.lines
            self.events = stream.counts.events
            self.unrecognised = stream.counts.unrecognised
            self.warnings = [w.replace(str(src.path), self.inp.name) for w in stream.warnings]

    def _rows(self, table: pa.Table, keys: SourceKeys) -> pa.Table:
        n = table.num_rows
        table = table.set_column(table.column_names.index("source"), "source",
                                 pa.array([self.inp.name] * n, pa.string()))
        if self.digest.resume_lines:
            i = table.column_names.index("line_no")
            table = table.set_column(i, "line_no", pc.add(table.column("line_no"), self.digest.resume_lines))
        table = table.append_column(KEY, pa.array(keys(table), pa.int64()))
        return table.select(STORE_SCHEMA.names).cast(STORE_SCHEMA)


@dataclass
class SourceTable:
    """One input parsed and classified whole: its rows (with keys) and what was read (a Dask
    worker's answer). Iterating gives the rows as one batch, like a :class:`SourceStream`."""

    name: str
    digest: Digest
    table: pa.Table
    lines: int
    events: int
    unrecognised: int
    warnings: list[str]

    def __iter__(self) -> Iterator[pa.Table]:
        if self.table.num_rows:
            yield self.table


def _tail_copy(inp: Input, offset: int, folder: str) -> Input:
    """The decompressed content of ``inp`` after ``offset`` bytes, in a file of the same base name and mtime."""
    assert inp.path is not None
    out = Path(folder) / inp.path.name
    skip = offset
    with open(out, "wb") as fh:
        for chunk in iter_chunks(inp, lambda _msg: None):
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            fh.write(chunk[skip:])
            skip = 0
    st = inp.path.stat()
    os.utime(out, (st.st_atime, st.st_mtime))
    return Input(inp.name, out)


def parse_source(inp: Input, *, tz: str | None, year: int | None, now: dt.datetime | None,
                 digest: Digest | None = None, rules: Sequence[str] = ()) -> SourceTable:
    """Parse and classify one input (only what follows ``digest.resume_at``) into one table with
    ``event_key``: the batches of :class:`SourceStream`, collected. ``rules`` are site
    knowledge-base files added to the shipped one. Pure: safe on a Dask worker."""
    st = SourceStream(inp, digest or fingerprint(inp), tz=tz, year=year, now=now, rules=rules)
    tables = list(st)
    table = pa.concat_tables(tables).combine_chunks() if tables else STORE_SCHEMA.empty_table()
    return SourceTable(inp.name, st.digest, table, st.lines, st.events, st.unrecognised, st.warnings)
