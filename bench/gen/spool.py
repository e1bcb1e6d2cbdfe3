"""The generated lines on their way to the file: kept in memory up to a bound, then sorted by
time and spilled to a temporary run file; ``merged()`` yields every line in time order.

The order is exactly that of one stable sort of all the lines by time (ties keep the order in
which the lines were added): each run is sorted stably, the runs hold consecutive stretches of
the lines in the order they were added, and ``heapq.merge`` takes equal keys from the earlier
run first. So a day of any size comes out byte for byte as the in-memory generator wrote it,
with memory bounded by ``limit`` lines instead of the whole day.
"""

from __future__ import annotations

import heapq
import marshal
import os
import tempfile
from collections.abc import Iterator
from operator import itemgetter

LIMIT = 400_000  # lines held before a spill (~80 MiB of (time, text) tuples)
CHUNK = 20_000  # lines per marshal record in a run file

_first = itemgetter(0)


class Spool:
    """An append-only collection of ``(time, text)`` lines with bounded memory."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.buf: list = []
        self.runs: list = []  # open temporary files, one per spilled run
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def extend(self, lines: list) -> None:
        self.buf.extend(lines)
        self.n += len(lines)
        if len(self.buf) >= self.limit:
            self._spill()

    def _spill(self) -> None:
        buf = self.buf
        buf.sort(key=_first)
        fh = tempfile.TemporaryFile(prefix="maillens-gen-")  # noqa: SIM115 (kept open until close())
        for i in range(0, len(buf), CHUNK):
            marshal.dump(buf[i:i + CHUNK], fh)
        fh.flush()
        self.runs.append(fh)
        self.buf = []

    @staticmethod
    def _read(fh) -> Iterator[tuple]:
        fh.seek(0)
        while True:
            try:
                chunk = marshal.load(fh)
            except EOFError:
                return
            yield from chunk

    def merged(self) -> Iterator[tuple]:
        """Every line, in time order (stable)."""
        self.buf.sort(key=_first)
        if not self.runs:
            return iter(self.buf)
        return heapq.merge(*(self._read(fh) for fh in self.runs), self.buf, key=_first)

    def close(self) -> None:
        for fh in self.runs:
            fh.close()
        self.runs, self.buf = [], []


def spool_limit() -> int:
    """The spill bound: ``MAILLENS_GEN_SPOOL`` lines if set (tests use a small one), else ``LIMIT``."""
    v = os.environ.get("MAILLENS_GEN_SPOOL")
    return int(v) if v else LIMIT
