"""Blocks summarised in the process of the summary fold that takes them, handed over as they are.

A block the block threads summarise (or one parsed in order in the main process) carries only a
number in its metadata (``{HAND: number}``); its counts, groups and raw groups wait in
:data:`_HANDED` until the fold opens it, not written as Arrow IPC and read back (~0.03 CPU-s of a
1M-line day). A forked worker's blocks (another pid) carry them in the metadata as before.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

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
