"""Where a plain file's blocks are cut, found by seeking (:func:`plan_blocks`), in a module that
imports nothing but ``os``: :func:`analyzer.early_fold.start` plans the summary's first blocks
with it before the main thread has imported the stream (:mod:`analyzer.sources`, which re-exports
it with the stream's block size as its default, costs ~11 CPU-ms to import: dataclasses,
inspect, the compressors), so that the early fold's thread starts that much sooner."""

from __future__ import annotations

import os

__all__ = ["plan_blocks"]


def plan_blocks(path: str | os.PathLike[str], block_bytes: int, size: int | None = None) -> list[tuple[int, int]]:
    """The (start, end) byte ranges :func:`analyzer.sources.cut_blocks` would cut an
    uncompressed file into, found by reading a little before each multiple of ``block_bytes``."""
    size = os.stat(path).st_size if size is None else size
    out: list[tuple[int, int]] = []
    start = 0
    with open(path, "rb") as fh:
        mark = block_bytes
        while mark <= size:
            window = 1 << 16
            cut = -1
            while True:
                lo = max(start, mark - window)
                fh.seek(lo)
                p = fh.read(mark - lo).rfind(b"\n")
                if p >= 0:
                    cut = lo + p + 1
                    break
                if lo == start:
                    break
                window *= 4
            if cut > start:
                out.append((start, cut))
                start = cut
            mark += block_bytes
    if start < size:
        out.append((start, size))
    return out
