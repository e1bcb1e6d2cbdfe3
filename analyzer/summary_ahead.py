"""`maillens parse`'s summary (:class:`analyzer.fast_summary.FastSummaryFold`): the stream's blocks
taken on a thread ahead of the fold, so that the fold knows whether a block is already waiting
when it has taken one (:meth:`Ahead.waiting`).

Near the input's end the fold classifies the blocks it holds as soon as none waits (its main
thread would otherwise wait for the next block): the classification of the last blocks is then
done while the block threads parse, not after them. Before, a 1M-line day's last ~12 blocks
were classified in one call of ~9 blocks, started as the block threads ended, then one call per
block: ~0.08 s after the last block with one core idle (bench/bench_timeline.py's "after the
last block"; bench/RESULTS.md r26-nmain).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .ahead import run_ahead

__all__ = ["DEPTH", "Ahead", "usable"]

#: blocks taken ahead of the fold, at most (the stream holds its own few)
DEPTH = 4


def usable(stream: Any) -> bool:
    """Whether the blocks are taken ahead: several workers, the stream's batches made on a
    thread (``EventStream.ahead``) and the blocks parsed on threads (:mod:`analyzer.parallel_threads`)."""
    from . import parallel_threads

    return stream.workers > 1 and getattr(stream, "ahead", False) and parallel_threads.usable()


class Ahead:
    """``stream``'s items, taken on a thread (:func:`analyzer.ahead.run_ahead`) up to :data:`DEPTH`
    ahead of the consumer; :meth:`waiting`: whether one the consumer has not taken yet is made.
    :meth:`close` (or the end of the items) stops the thread and closes the stream's iterator."""

    def __init__(self, stream: Any) -> None:
        self._made = 0
        self._taken = 0
        items = iter(stream)

        def made() -> Iterator[Any]:
            try:
                for item in items:
                    self._made += 1  # (before it is queued: made, waiting for the consumer)
                    yield item
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

        self._items = run_ahead(made(), DEPTH, "maillens-summary")

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self._taken += 1
            yield item

    def waiting(self) -> bool:
        return self._made > self._taken

    def close(self) -> None:
        self._items.close()
