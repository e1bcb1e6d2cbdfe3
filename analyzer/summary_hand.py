"""Blocks summarised in the process of the summary fold that takes them, handed over as they are.

A block the block threads summarise (or one parsed in order in the main process) carries only a
number in its metadata (``{HAND: number}``); its counts, groups and raw groups wait in
:data:`_HANDED` until the fold opens it, not written as Arrow IPC and read back (~0.03 CPU-s of a
1M-line day). A forked worker's blocks (another pid) carry them in the metadata as before.

A block handed over is copied into Arrow's pool first (:func:`analyzer.arrow_owned.in_pool`), and
while a fold runs the process keeps two glibc arenas and Arrow's freed pages 200 ms
(:func:`analyzer.heap.hand_back_early`): the fold holds a block past the block thread's next
ones, and what it pinned in that thread's arena grew with the day (bench/RESULTS.md, r35-growth).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from .arrow_owned import in_pool
from .heap import hand_back_early

#: the blocks handed over and not yet taken, by number
_HANDED: dict[int, tuple[dict[str, Any], pa.Table, pa.Table | None]] = {}
#: the pid of the running :meth:`FastSummaryFold.fold` calls (None: none runs) and their number
_HAND_TO: list[Any] = [None, 0]
_HAND_LOCK = threading.Lock()
_TOKENS = itertools.count()
HAND = "hand"


@contextlib.contextmanager
def handing() -> Iterator[None]:
    """While a fold runs: blocks summarised in this process are handed over; the last fold of the
    process to end clears what no fold took (folds of one process share the table)."""
    hand_back_early()
    with _HAND_LOCK:
        _HAND_TO[0], _HAND_TO[1] = os.getpid(), _HAND_TO[1] + 1
    try:
        yield
    finally:
        with _HAND_LOCK:
            _HAND_TO[1] -= 1
            if not _HAND_TO[1]:
                _HAND_TO[0] = None
                _HANDED.clear()


def hand_over(out: pa.Table, meta: dict[str, Any], reps: pa.Table, raw: pa.Table | None, key: bytes) -> pa.Table:
    """A block summarised in this process (its rows ``out``, counts ``meta``, groups ``reps``
    and raw groups ``raw``), handed over: the rows carrying only the number under which the rest
    waits in :data:`_HANDED` (metadata ``key``), every table's buffers in Arrow's pool."""
    token = next(_TOKENS)
    _HANDED[token] = (meta, in_pool(reps), None if raw is None else in_pool(raw))
    return in_pool(out).replace_schema_metadata({key: json.dumps({HAND: token})})
