"""How `maillens parse`'s summary (:class:`analyzer.fast_summary.FastSummaryFold`) has its input
cut: bigger blocks where every input is a big plain file (:func:`bigger_blocks`), how many
blocks the inputs make (:func:`expected_blocks`: when the fold's classification calls are made
depends on it), and what a long run's calls hand back (:func:`classified`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .heap import trim

__all__ = ["BLOCK_BYTES", "LONG_RUN_BLOCKS", "bigger_blocks", "classified", "expected_blocks"]

#: the summary's blocks (bytes) where its inputs are big plain files (:func:`bigger_blocks`):
#: twice the stream's, half the blocks' fixed costs (a 1M-line Postfix day: 35 -> 18 blocks, the
#: main process's CPU 0.65 -> 0.59 s, the workers' the same)
BLOCK_BYTES = 8 << 20
#: a run's classification calls from past this many blocks on hand the C heap's free pages back
#: (:func:`classified`): a 1M-line day is 18 blocks of :data:`BLOCK_BYTES`, and its calls do not
LONG_RUN_BLOCKS = 24


def bigger_blocks(stream: Any) -> None:
    """Blocks of :data:`BLOCK_BYTES` where every input is a plain file big enough for them
    (:data:`analyzer.pipeline.PARALLEL_MIN_BLOCKS` of them): a block costs fixed work on both
    sides (the worker's summary and its IPC stream, the main process's opening of it and its
    dozen kernels in ``FastSummaryFold._fold``), and the summary does not depend on the cuts.
    Smaller inputs keep the stream's blocks (the workers still share them)."""
    from .pipeline import PARALLEL_MIN_BLOCKS

    bb = getattr(stream, "block_bytes", None)
    inputs = getattr(stream, "inputs", None)
    if not bb or bb >= BLOCK_BYTES or not inputs or getattr(stream, "batch_lines", None):
        return
    sizes = _plain_sizes(inputs)
    if sizes is not None and min(sizes) >= PARALLEL_MIN_BLOCKS * BLOCK_BYTES:
        stream.block_bytes = BLOCK_BYTES


def expected_blocks(stream: Any) -> int | None:
    """How many blocks the stream's inputs make (each plain file cut every ``block_bytes``: its
    size over them, rounded up); None where that is not known (stdin, compressed input, batches
    of lines, many files)."""
    bb = getattr(stream, "block_bytes", None)
    inputs = getattr(stream, "inputs", None)
    if not bb or not inputs or len(inputs) > 16 or getattr(stream, "batch_lines", None):
        return None
    sizes = _plain_sizes(inputs)
    return None if sizes is None else sum(-(-size // bb) for size in sizes)


def _plain_sizes(inputs: Any) -> list[int] | None:
    """Each input's size in bytes, or None where one is not a plain file (or cannot be stat'ed)."""
    from .sources import is_plain_file

    if not all(is_plain_file(inp) for inp in inputs):
        return None
    try:
        return [inp.path.stat().st_size for inp in inputs]
    except OSError:
        return None


def classified(call: Callable[[Any, Any], None], held: Any, attribution: Any, seen: int) -> None:
    """``call(held, attribution)`` (a classification call of the fold, after its ``seen``'th block),
    with the C heap's free pages given back to the system before and after it once the run is
    past :data:`LONG_RUN_BLOCKS` blocks (:func:`analyzer.heap.trim`).

    Why: the blocks' pieces the fold holds until their call (parsed on the block threads) and the
    call's own temporaries (in the main thread's arena) are freed at different times, so the
    arenas keep more and more free space between live pieces as a long run goes on, resident
    until glibc reuses it: at 10M Exim lines, load 12-20, the C heap reached 148 MiB with 71 in
    use, the process's RSS 273-281 MiB against ~200 at 1M (bench/RESULTS.md, r36-growth). A trim
    costs the pages it gave back faulted in again when used (~+0.6-0.7 CPU-s, ~9%, at 10M lines, ~40
    trims). A short run makes none: its free space has not built up (a 1M-line day's peak is its
    last call's, with or without a trim), so it would pay the faults for nothing."""
    long = seen > LONG_RUN_BLOCKS
    if long:
        trim()
    call(held, attribution)
    if long:
        trim()
