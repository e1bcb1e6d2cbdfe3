"""The blocks of a big input parsed on threads of the main process, not in forked workers.

With the native engine a block's parse is mostly native calls that release the GIL (the Rust
folds and readers, Arrow's and numpy's kernels), so two threads of one process parse two blocks
side by side. Against :func:`analyzer.parallel.pool`'s forked workers nothing is done twice or
sent: no worker imports numpy, pyarrow and the parsers again or faults in the pages it
inherited, and a block's table is handed to the stream as it is (:attr:`BlockJob.inline`), not
written as Arrow IPC into shared memory and mapped back. The blocks' jobs, the guessed and true
states and the in-order checks are :mod:`analyzer.parallel`'s, unchanged.

Used where :func:`usable` says so (the stream's ``block_threads``, the native engine); the
Python engine's blocks, which hold the GIL nearly all the time, stay in processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

__all__ = ["ENV", "pool", "usable"]

#: ``MAILLENS_BLOCK_THREADS=0`` keeps the forked workers where threads would run
ENV = "MAILLENS_BLOCK_THREADS"


def usable() -> bool:
    """Whether blocks may be parsed on threads: the native engine, not turned off by :data:`ENV`."""
    from . import native

    return os.environ.get(ENV, "").strip() != "0" and native.engine() == "native"


def _one_thread() -> None:
    from . import native

    native.ONE_THREAD.on = True  # the blocks run side by side: each native call on one thread


def pool(workers: int, producer: Callable | None, classifier: Any) -> Executor:
    """``workers`` threads that parse blocks (:func:`analyzer.parallel.run_block`) with
    ``producer`` and ``classifier``."""
    from . import parallel
    from .rule_sets import _stop_ahead

    # as a fork does: the rules' compilation ahead stops (the classifier compiles what it meets
    # on first use; compiled whole, ~0.09 CPU-s more on a 1M-line Postfix day)
    _stop_ahead()
    parallel._WORKER["producer"], parallel._WORKER["classifier"] = producer, classifier
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="maillens-block", initializer=_one_thread)
