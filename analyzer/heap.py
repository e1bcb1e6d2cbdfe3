"""The C heap, through glibc's ``mallopt``/``malloc_trim`` (ctypes): what a long run hands back
to the system and when. Nothing happens where the C library is not glibc (musl, macOS, Windows).

* :func:`keep_freed` — a parse worker keeps what it frees for the next block (:mod:`.parallel`);
* :func:`trim` — free pages of the heap back to the system now (``map_large``: from then on big
  blocks are mapped apart and given back when freed), after a stream of batches (:mod:`.report.run`);
  :func:`map_large_from_now` — that at the report stream's first batch (after :func:`hand_back_early`);
* :func:`release_arrow` — Arrow's default pool's unused pages back to the system; :func:`give_back`
  that and :func:`trim`, between the phases of a report (:mod:`.report.run`);
* :func:`shed` — also Python's garbage, before worker processes fork: a page they inherit and this
  process then writes again is copied, and the worker's unused copy counts in full;
* :func:`hand_back_early` — from the start of a run whose main process folds a stream (the report):
  what it frees goes back sooner rather than being kept for reuse;
* :func:`two_arenas` — at most two arenas for ``parse``'s threads, unless the user set glibc's limit.
"""

from __future__ import annotations

import functools
import os
from typing import Any

__all__ = ["give_back", "hand_back_early", "keep_freed", "map_large_from_now", "release_arrow", "shed", "trim",
           "two_arenas"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: Blocks from this size on are mapped apart (given back when freed) once :func:`trim` is told
#: ``map_large`` (the report: from its stream's first batch folded on, :func:`map_large_from_now`).
MAP_LARGE = 256 * 1024
#: glibc's trim threshold before its own threshold raises it: a heap's free top beyond it goes back.
TRIM_DEFAULT = 128 * 1024
#: How long Arrow's jemalloc pool keeps freed pages once :func:`hand_back_early` ran.
ARROW_DECAY_MS = 200


@functools.cache
def _libc() -> Any:
    """glibc, or None where the C library is another (or has no ``malloc_trim``)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return None
    # glibc's own name first: find_library runs `ldconfig -p` in a subprocess (~6 ms, and a fork
    # of the whole process, in every parse worker as it starts, before its first block); its
    # module only then (it imports subprocess, shutil and tempfile: ~10 ms of `parse -o`'s CPU)
    for name in ("libc.so.6", "find"):
        try:
            if name == "find":
                import ctypes.util
            libc = ctypes.CDLL((ctypes.util.find_library("c") or "libc.so.6") if name == "find" else name)
            libc.malloc_trim  # noqa: B018 (musl has none: AttributeError)
            return libc
        except (OSError, AttributeError):
            continue
    return None


def keep_freed(trim_threshold: int, mmap_threshold: int) -> None:
    """Let the heap keep up to ``trim_threshold`` bytes it freed, and serve blocks below
    ``mmap_threshold`` from the heap (kept) rather than from mappings of their own."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
        libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)


def trim(*, map_large: bool = False) -> None:
    """Give the heap's free pages back to the system; ``map_large``: blocks of :data:`MAP_LARGE`
    and more mapped apart from now on, so they go back when freed. One call costs milliseconds."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
        if map_large:
            libc.mallopt(_M_MMAP_THRESHOLD, MAP_LARGE)


def map_large_from_now() -> None:
    """After :func:`hand_back_early`, once the work before a stream is done: the heap's free pages
    back, blocks of :data:`MAP_LARGE` and more mapped apart from now on, and the heap's free top
    beyond :data:`TRIM_DEFAULT` given back as it frees (glibc's own thresholds, which the work
    before may have raised, fixed as :func:`trim` ``map_large`` would have left them from the
    start)."""
    trim(map_large=True)
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_DEFAULT)


def hand_back_early() -> None:
    """Before a stream whose consumer keeps a growing state beside the batches passing through
    (the report's fold): Arrow's jemalloc pool returns freed pages after :data:`ARROW_DECAY_MS`
    (not its default's seconds) and glibc serves every thread from two arenas (each thread's
    arena kept the pages it freed for itself). Its consumer calls :func:`map_large_from_now` when
    the first batch comes (:func:`analyzer.report.run.collect_report_events`): from then on
    blocks of :data:`MAP_LARGE` and more are mapped apart, given back when freed. Not before:
    until then glibc's own threshold (raised to the size of a mapped block freed) lets the
    classifier's warm-up, which compiles the rules' patterns while the workers parse the first
    blocks, take its large temporaries from the heap again rather than map, fault in and unmap
    each (~38k minor page faults, 150 MiB, at each 1M-line report; bench/RESULTS.md, r17-kernel).

    Measured on the 1M-line Exim day's report with no decay (r15-r1m): the main process's peak
    RSS 468-483 -> 390-430 MiB, the tree's PSS 451-459 -> 381-398. Call it before the threads
    start; the worker processes set their own (:func:`keep_freed`). No decay at all (0 ms) saved
    ~45 MiB more at the Exim day but cost 0.7-0.9 system CPU-s and 0.5-0.7 s of wall (madvise at
    every free; measured at stop 30, idle); 200 ms keeps a third of that (~15 MiB) at no
    measurable time."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 2)
    import pyarrow as pa

    if pa.default_memory_pool().backend_name == "jemalloc":
        pa.jemalloc_set_decay_ms(ARROW_DECAY_MS)


def two_arenas() -> None:
    """At most two malloc arenas from now on (threads started later share them), unless the
    environment sets glibc's arena limit itself; nothing where the C library is not glibc.

    For ``parse``, before its first thread starts: its blocks are parsed on threads of the one
    process (:mod:`analyzer.parallel_threads`, the early fold's beside them), and glibc gives each
    thread that allocates an arena of its own, which keeps the free space between the pieces of
    blocks the main thread still holds (~33 MiB a block thread at 1M Postfix lines, ~45 at 10M;
    bench/RESULTS.md, r35-growth). :func:`hand_back_early` sets the same limit for the report."""
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 2)


def release_arrow() -> None:
    """Hand the pages Arrow's own allocators (its default pool, jemalloc, mimalloc) hold unused
    back to the system. Arrow code that allocates from the default pool rather than the one
    :func:`pyarrow.set_memory_pool` chose (reading the workers' batches, compute kernels, the
    Parquet reader) leaves pages there that the pool keeps: measured at the end of a 3M-line Exim
    report's stream, 253 MiB of the main process's RSS (459 MiB with the folds' state freed, 219
    once released); after a 7-day store's reads, 19-25 MiB at 1M lines a day (bench/RESULTS.md,
    r16-weekly). A call every few batches during a stream did not lower its peak (measured): call
    it between phases, or after each file read. Well under a millisecond with nothing to give."""
    import contextlib

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    for pool in (pa.jemalloc_memory_pool, pa.mimalloc_memory_pool):
        with contextlib.suppress(NotImplementedError):  # a pyarrow built without that allocator
            pool().release_unused()


def give_back() -> None:
    """:func:`release_arrow` and :func:`trim`: what a phase freed, back to the system."""
    release_arrow()
    trim()


def shed() -> None:
    """Everything freed back to the system: Python's cyclic garbage collected, then :func:`give_back`."""
    import gc

    gc.collect()
    give_back()
