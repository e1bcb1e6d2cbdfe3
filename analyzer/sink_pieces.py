"""The text outputs' pieces (JSON lines, CSV: :class:`analyzer.sinks.EventWriter`) rendered on
threads beside the writer thread and written in order.

Rendering a batch's text is the whole cost of ``parse -o x.jsonl`` / ``x.csv`` (JSON lines ~2.5
CPU-s per 1M rows, CSV ~1.5, against ~1.5 for the workers' parse): on one thread the run's other
core idled for most of it. A piece's rendering is Arrow's kernels (and its CSV writer), which
release the GIL: pieces of a few thousand rows are rendered side by side and written in the
order they came (bench/RESULTS.md, r19-pout).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa

__all__ = ["RENDER_AHEAD", "RENDER_THREADS", "PieceWriter"]

#: Threads that render a writer's pieces side by side
RENDER_THREADS = 2
#: Pieces rendered ahead of the one written next, each ~2x its text in working memory (JSON
#: lines: ~12 MiB a piece of 16,384 rows)
RENDER_AHEAD = 3


class PieceWriter:
    """The text of tables, ``render``'d piece by piece (``rows`` rows: what the function takes,
    a bytes-like object out), to ``write`` in order; with ``threads`` > 1 the pieces are
    rendered on that many threads (``maillens-render``), up to :data:`RENDER_AHEAD` ahead of
    the one written. :meth:`flush` writes what is pending; :meth:`close` ends the threads (what
    they still render is dropped)."""

    def __init__(self, write: Callable[[Any], Any], render: Callable[[pa.Table], Any], rows: Callable[[], int],
                 threads: int = RENDER_THREADS) -> None:
        self.write, self.render, self.rows = write, render, rows
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="maillens-render") if threads > 1 else None
        self.pending: deque[Future] = deque()

    def add(self, table: pa.Table) -> None:
        rows = self.rows()
        for start in range(0, table.num_rows, rows):
            part = table.slice(start, rows)
            if self.pool is None:
                self._put(self.render(part))
                continue
            self.pending.append(self.pool.submit(self.render, part))
            while len(self.pending) > RENDER_AHEAD:
                self._put(self.pending.popleft().result())

    def flush(self) -> None:
        while self.pending:
            self._put(self.pending.popleft().result())

    def _put(self, piece: Any) -> None:
        if len(piece):
            self.write(piece)

    def close(self) -> None:
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
