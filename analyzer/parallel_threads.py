"""The blocks of a big input parsed on threads of the main process, not in forked workers.

With the native engine a block's parse is mostly native calls that release the GIL (the Rust
folds and readers, Arrow's and numpy's kernels: on a Postfix block of `parse`'s summary
``fold_postfix`` and ``read_lines`` are 85-88% of its CPU, the Python around them 5-6 ms), so two
threads of one process parse two blocks side by side. Against :func:`analyzer.parallel.pool`'s
forked workers nothing is done twice or sent: no worker faults in the pages it inherited or
parses a warm-up block, and a block's table is handed to the stream as it is
(:attr:`~analyzer.parallel.BlockJob.inline`), not written as Arrow IPC into shared memory and
mapped back. The blocks' jobs, the guessed and true states and the in-order checks are
:mod:`analyzer.parallel`'s, unchanged.

Used where the stream asks for it (``EventStream.block_threads``: `parse`'s summary and
``parse -o``) and :func:`usable` says so; the Python engine's blocks, which hold the GIL nearly
all the time, stay in processes, and so do a classifier's answers made per block (``by_key``,
from :data:`analyzer.pipeline.ANSWER_IN_WORKERS` workers: each process keeps a cache of its own).
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

__all__ = ["ENV", "block_pool", "pending", "pool", "usable"]

#: ``MAILLENS_BLOCK_THREADS=0`` keeps the forked workers where threads would run; ``=1`` puts the
#: report's blocks on threads too (lean: analyzer.cli.report.lean_report)
ENV = "MAILLENS_BLOCK_THREADS"


def usable() -> bool:
    """Whether blocks may be parsed on threads: the native engine, not turned off by :data:`ENV`."""
    from . import native

    return os.environ.get(ENV, "").strip() != "0" and native.engine() == "native"


def block_pool(stream: Any, inp: Any, ref: dt.datetime | None) -> tuple[Executor | None, str | None, bool]:
    """Where a stream's blocks are parsed: (pool, spool directory, whether on threads). Threads
    (:func:`pool`) where the stream asks for them (``block_threads``), :func:`usable` and no
    classifier answers in the workers (``stream._answer_in_worker``); else forked workers
    (:func:`analyzer.parallel.pool`, warmed on the input's head) and their spool directory."""
    from . import parallel

    if on_threads(stream):
        return pool(stream.workers, stream.producer, stream._worker_classifier()), None, True
    return (parallel.pool(stream.workers, stream.producer, stream._worker_classifier(), warm=stream._warm_job(inp, ref)),
            parallel.spool_dir(), False)


def pending(stream: Any, per_worker: int) -> int:
    """Blocks handed out and not yet taken, per worker: ``per_worker`` (what covers a forked
    worker's send and the main process's map), one for a ``lean`` stream whose blocks run on
    threads (:func:`block_pool`'s test): a block done and not taken is held in the main process,
    beside a consumer whose own state grows (the report's fold), and a thread hands its table
    over with nothing to cover. (Measured at 1M Exim lines: the report's peak PSS −15 MiB beside
    two per thread, CPU and wall the same; bench/RESULTS.md, r33-r10rest.)"""
    return 1 if stream.lean and on_threads(stream) else per_worker


def on_threads(stream: Any) -> bool:
    """Whether ``stream``'s blocks are parsed on threads (:func:`block_pool`'s choice)."""
    return bool(stream.block_threads and not stream._answer_in_worker and usable())


def _block_thread(worker: dict[str, Any]) -> None:
    from . import native, parallel

    native.ONE_THREAD.on = True  # the blocks run side by side: each native call on one thread
    parallel.THREAD.worker = worker  # this pool's producer and classifier, whatever pool comes later


def pool(workers: int, producer: Any, classifier: Any) -> Executor:
    """``workers`` threads that parse blocks (:func:`analyzer.parallel.run_block`) with
    ``producer`` and ``classifier``."""
    from . import parallel
    from .rule_sets import stop_ahead

    # as a fork does: the rules' compilation ahead stops (the classifier compiles what it meets
    # on first use; compiled whole, ~0.09 CPU-s more on a 1M-line Postfix day)
    stop_ahead()
    # (not as in a worker process, parallel._keep_heap: freed memory kept for the next blocks
    # saved ~0.03 sys CPU-s on a 1M-line Postfix `parse` but, in the process that also writes
    # Parquet, raised `parse -o`'s peak by 25-50 MiB and its growth from 1M to 10M lines past
    # issue 12's 15% on Exim: bench_memory, 2026-12-06)
    # (and for a block parsed again here, in order, as with processes)
    parallel._WORKER["producer"], parallel._WORKER["classifier"] = producer, classifier
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="maillens-block", initializer=_block_thread,
                              initargs=({"producer": producer, "classifier": classifier},))
