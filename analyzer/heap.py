"""The C heap, through glibc's ``mallopt``/``malloc_trim`` (ctypes): what a long run hands back
to the system and when. Nothing happens where the C library is not glibc (musl, macOS, Windows).

* :func:`keep_freed` — a parse worker keeps what it frees for the next block (:mod:`.parallel`);
* :func:`trim` — free pages of the heap back to the system now (``map_large``: from then on big
  blocks are mapped apart and given back when freed), after a stream of batches (:mod:`.report.run`);
* :func:`release_arrow` — Arrow's default pool's unused pages back to the system; :func:`give_back`
  that and :func:`trim`, between the phases of a report (:mod:`.report.run`);
* :func:`shed` — also Python's garbage, before worker processes fork: a page they inherit and this
  process then writes again is copied, and the worker's unused copy counts in full.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["give_back", "keep_freed", "release_arrow", "shed", "trim"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.cache
def _libc() -> Any:
    """glibc, or None where the C library is another (or has no ``malloc_trim``)."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (musl has none: AttributeError)
        return libc
    except (OSError, AttributeError):
        return None


def keep_freed(trim_threshold: int, mmap_threshold: int) -> None:
    """Let the heap keep up to ``trim_threshold`` bytes it freed, and serve blocks below
    ``mmap_threshold`` from the heap (kept) rather than from mappings of their own."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
        libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)


def trim(*, map_large: bool = False) -> None:
    """Give the heap's free pages back to the system; ``map_large``: blocks of 256 KiB and more
    mapped apart from now on, so they go back when freed. One call costs milliseconds."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
        if map_large:
            libc.mallopt(_M_MMAP_THRESHOLD, 256 * 1024)


def release_arrow() -> None:
    """Hand the pages Arrow's default pool holds unused back to the system. Arrow code that
    allocates from the default pool rather than the one :func:`pyarrow.set_memory_pool` chose
    (reading the workers' batches, compute kernels) leaves pages there that the pool keeps:
    measured at the end of a 3M-line Exim report's stream, 253 MiB of the main process's RSS (459
    MiB with the folds' state freed, 219 once released). A call every few batches during a stream
    did not lower its peak (measured): call it between phases."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def give_back() -> None:
    """:func:`release_arrow` and :func:`trim`: what a phase freed, back to the system."""
    release_arrow()
    trim()


def shed() -> None:
    """Everything freed back to the system: Python's cyclic garbage collected, then :func:`give_back`."""
    import gc

    gc.collect()
    give_back()
