"""glibc's malloc arenas for `maillens parse`: two, set before the command's first thread starts.

`parse` runs in one process: its blocks are parsed on threads of it (:mod:`analyzer.parallel_threads`),
with the early fold's thread (:mod:`analyzer.early_fold`) and the stream's own beside them. glibc gives
each thread that allocates an arena of its own (up to eight per core), and a block thread's arena
keeps the free space between the pieces of blocks the main thread still holds: on a Postfix day the
two block threads' arenas held ~33 MiB each at 1M lines and ~45 at 10M (bench/RESULTS.md,
r35-growth). Two arenas for the whole process (``M_ARENA_MAX``, as ``MALLOC_ARENA_MAX=2`` would
set from the start; :func:`analyzer.heap.hand_back_early` sets it later for the report): peak PSS
1M 166 -> 150, 10M 201 -> 170 MiB (alternating runs, load 30). The user's own setting wins.
"""

from __future__ import annotations

import os

__all__ = ["two_arenas"]


def two_arenas() -> None:
    """At most two malloc arenas from now on (threads started later share them), unless the
    environment sets glibc's arena limit itself; nothing where the C library is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return
    from .heap import _M_ARENA_MAX, _libc

    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 2)
