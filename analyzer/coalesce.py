"""Many small files parsed as one batch: the fixed cost of a parse batch paid once, not per file.

A directory of thousands of small rotated files (one per hour, per day …) would otherwise pay
the matching engine's set-up cost once per file. Each file's headers are still read with its own
:class:`~analyzer.parsers.FileContext` (its year, zone and flavour); :func:`finish_many` joins
the split batches of several files, matches their messages in one
:func:`~analyzer.parsers.finish_batch` call, and gives every event, sample and count back to
its own file (``source`` and ``line_no`` as if the file had been parsed alone).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .parsers import LineCounts, Split, finish_batch
from .parsers.exim import EXIM_PROGRAM, EXIM_WRAPPED
from .parsers.postfix import POSTFIX_PROGRAM

__all__ = ["SMALL_FILE_LINES", "BatchQueue", "FileStats", "SmallFiles", "finish_many"]

#: A file whose only batch has fewer lines than this is parsed together with its neighbours.
SMALL_FILE_LINES = 10_000
_JOINED = "\x00joined"  # the source name of a joined batch, replaced before anything leaves


@dataclass
class FileStats:
    """What one file of a joined batch contributed."""

    lines: int
    events: int
    not_mail: int  # lines with no header, or from programs other than Postfix/Exim


@dataclass
class SmallFiles:
    """Splits of small files waiting to be parsed together (same zone, kind and panic flag)."""

    limit: int = SMALL_FILE_LINES
    splits: list[Split] = field(default_factory=list)
    owners: list[object] = field(default_factory=list)
    lines: int = 0

    def fits(self, sp: Split) -> bool:
        """Whether ``sp`` may join the waiting splits (else they are flushed first)."""
        if not self.splits:
            return True
        first = self.splits[0]
        return (sp.tz, sp.panic, sp.exim_file) == (first.tz, first.panic, first.exim_file)

    def add(self, sp: Split, owner: object) -> bool:
        """Queue a split with whatever the caller wants back with its stats; True when full."""
        self.splits.append(sp)
        self.owners.append(owner)
        self.lines += len(sp.lines)
        return self.lines >= self.limit

    def take(self) -> tuple[list[Split], list[object]]:
        """The waiting splits and their owners; the queue is empty afterwards."""
        out = (self.splits, self.owners)
        self.splits, self.owners, self.lines = [], [], 0
        return out


def _not_mail(sp: Split, fidx: np.ndarray, k: int) -> np.ndarray:
    """Per file: lines with no header (unless an Exim file: continuation lines) plus header
    lines of other programs."""
    out = np.zeros(k, dtype=np.int64)
    if len(sp.no_header) and not sp.exim_file:
        rest = pc.take(sp.arr, sp.no_header)
        other = pc.invert(pc.or_(pc.equal(pc.utf8_trim_whitespace(rest), ""), pc.starts_with(rest, "-- ")))
        rows = pc.filter(sp.no_header, other).to_numpy()
        out += np.bincount(fidx[rows], minlength=k)
    if sp.headers.num_rows:
        prog = sp.headers.column("program")
        mail = pc.or_(pc.match_substring_regex(prog, POSTFIX_PROGRAM), pc.match_substring_regex(prog, EXIM_PROGRAM))
        # Exim through syslog under a wrapper's program name is mail too (as the parser reads it)
        wrapped = pc.match_substring_regex(sp.headers.column("msg"), EXIM_WRAPPED)
        mail = pc.or_(pc.fill_null(mail, False), pc.fill_null(wrapped, False))
        rows = pc.filter(sp.headers.column("row"), pc.invert(pc.fill_null(mail, False))).to_numpy()
        out += np.bincount(fidx[rows], minlength=k)
    return out


def _joined_lines(parts: list[Any]) -> Any:
    """The lines of several splits as one sequence: one Arrow array when each is one
    (:class:`analyzer.sources.Lines`), else a list."""
    from .sources import Lines

    if all(isinstance(p, Lines) for p in parts):
        return Lines(pa.concat_arrays([p.array for p in parts]), sum(p.nbytes for p in parts),
                     any(p.nul for p in parts))
    return [line for p in parts for line in p]


def finish_many(splits: list[Split]) -> tuple[pa.Table, LineCounts, list[FileStats]]:
    """Match the messages of several files' splits in one batch; the table, the counts, and
    each file's share. The splits must agree on zone, Exim-ness and panic flag (see
    :meth:`SmallFiles.fits`)."""
    if len(splits) == 1:
        return _finish_one(splits[0])
    sizes = np.array([len(sp.lines) for sp in splits], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    k = len(splits)
    headers = pa.concat_tables(
        [sp.headers.set_column(0, "row", pc.add(sp.headers.column("row"), pa.scalar(int(s), pa.int64())))
         for sp, s in zip(splits, starts, strict=True)], promote_options="default").combine_chunks()
    no_header = pa.concat_arrays([pc.add(pc.cast(sp.no_header, pa.int64()), pa.scalar(int(s), pa.int64()))
                                  for sp, s in zip(splits, starts, strict=True)])
    lines = _joined_lines([sp.lines for sp in splits])
    first = splits[0]
    fast = [sp.fast.set_column(sp.fast.schema.get_field_index("row"), "row",
                               pc.add(sp.fast.column("row"), pa.scalar(int(s), pa.int64())))
            for sp, s in zip(splits, starts, strict=True) if sp.fast is not None]  # native rows
    joined = Split(pa.concat_arrays([sp.arr for sp in splits]), lines, 1, headers, no_header, _JOINED,
                   first.tz, first.panic, first.exim_file, fast=pa.concat_tables(fast) if fast else None)
    table, counts = finish_batch(joined)
    fidx = np.repeat(np.arange(k), sizes)
    names = [sp.source for sp in splits]
    first_lines = np.array([sp.first_line for sp in splits], dtype=np.int64)

    def where(line: int) -> tuple[str, int]:
        row = line - 1
        f = int(fidx[row])
        return names[f], int(row - starts[f] + first_lines[f])

    events = np.zeros(k, dtype=np.int64)
    if table.num_rows:
        rows = pc.subtract(table.column("line_no"), 1).to_numpy()
        f = fidx[rows]
        events = np.bincount(f, minlength=k)
        src_i = table.schema.get_field_index("source")
        table = table.set_column(src_i, table.schema.field(src_i),
                                 pc.take(pa.array(names, table.schema.field(src_i).type), pa.array(f)))
        ln_i = table.schema.get_field_index("line_no")
        ln = rows - starts[f] + first_lines[f]
        table = table.set_column(ln_i, table.schema.field(ln_i), pa.array(ln, table.schema.field(ln_i).type))
    counts.samples = {kind: [(*where(line), text) for _src, line, text in s] for kind, s in counts.samples.items()}
    counts.headerless_samples = [(*where(line), text) for _src, line, text in counts.headerless_samples]
    not_mail = _not_mail(joined, fidx, k)
    stats = [FileStats(int(n), int(e), int(m)) for n, e, m in zip(sizes, events, not_mail, strict=True)]
    return table, counts, stats


class BatchQueue:
    """Split batches in, matched on a thread pool, folded back in the order they came.

    A file's only batch, when short, waits in :class:`SmallFiles` to be matched with its
    neighbours'; anything else first sends the waiting ones, so tables stay in input order.
    Each owner (the reader's per-file summary) gets ``lines``, ``events`` and ``not_mail``
    added as its results come back.
    """

    def __init__(self, pool: Executor, workers: int, tables: list[pa.Table], counts: LineCounts,
                 small_limit: int = SMALL_FILE_LINES) -> None:
        self.pool, self.workers, self.tables, self.counts = pool, workers, tables, counts
        self.small = SmallFiles(small_limit)
        self.pending: deque[tuple[Future, list]] = deque()

    def add(self, sp: Split, owner: object, *, whole_file: bool) -> None:
        """Queue a split; ``whole_file`` when it is all of its file (a short last batch that is also the first)."""
        if whole_file and len(sp.lines) < self.small.limit:
            if not self.small.fits(sp):
                self._send_small()
            if self.small.add(sp, owner):
                self._send_small()
            return
        self._send_small()
        self._submit(self.pool.submit(_finish_one, sp), [owner])

    def finish(self) -> None:
        """Send what waits and fold every result."""
        self._send_small()
        while self.pending:
            self._fold(*self.pending.popleft())

    def _send_small(self) -> None:
        if self.small.splits:
            splits, owners = self.small.take()
            self._submit(self.pool.submit(finish_many, splits), owners)

    def _submit(self, fut: Future, owners: list) -> None:
        self.pending.append((fut, owners))
        while len(self.pending) > self.workers:
            self._fold(*self.pending.popleft())

    def _fold(self, fut: Future, owners: list) -> None:
        table, c, stats = fut.result()
        self.counts.merge(c)
        for owner, st in zip(owners, stats, strict=True):
            owner.lines += st.lines  # type: ignore[attr-defined]
            owner.events += st.events  # type: ignore[attr-defined]
            owner.not_mail += st.not_mail  # type: ignore[attr-defined]
        if table.num_rows:
            self.tables.append(table)


def _finish_one(sp: Split) -> tuple[pa.Table, LineCounts, list[FileStats]]:
    table, c = finish_batch(sp)
    return table, c, [FileStats(c.lines, c.events, c.headerless + sum(c.foreign.values()))]
