"""Run an iterator on a thread of its own, a few items ahead of its consumer.

Used where the producer's work releases the GIL or overlaps with the consumer's: decompressing a
rotated log (:mod:`analyzer.sources`) and making event batches while the previous ones are
classified or written (:mod:`analyzer.pipeline`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["STOPPING", "run_ahead", "stop_all", "waiting"]

T = TypeVar("T")

_ITEM, _ERROR, _END = 0, 1, 2

#: Set when the run was told to stop (SIGTERM, :func:`analyzer.cli._stop_on_sigterm`): a consumer
#: waiting for its producer gives up, and a producer blocked where nothing can wake it (a read of
#: a stdin that stays open) is left behind after :data:`STOP_WAIT` seconds (its thread is a daemon)
#: instead of holding the exit, so the run's own cleanup runs and the process ends.
STOPPING = threading.Event()
#: Seconds after the stop that a thread waits for the producer it runs; the main thread waits
#: longer, so that the threads between it and a blocked reader finish their cleanup first.
STOP_WAIT = 1.0
_STOPPED_AT: list[float] = []


def stop_all() -> None:
    """Tell every :func:`run_ahead` of this process to stop (called from a signal handler)."""
    if not _STOPPED_AT:
        _STOPPED_AT.append(time.monotonic())
    STOPPING.set()


def _give_up() -> bool:
    """Whether a thread waiting for its producer should stop waiting (the run is stopping and the
    wait is over)."""
    if not STOPPING.is_set():
        return False
    wait = STOP_WAIT * (3 if threading.current_thread() is threading.main_thread() else 1)
    return time.monotonic() > _STOPPED_AT[0] + wait


def _get(q: queue.Queue) -> tuple[int, Any]:
    """The next entry of ``q``; SystemExit once the run is stopping and none comes."""
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if STOPPING.is_set():
                raise SystemExit("stopped") from None


#: per consumer thread, the queue of the :func:`run_ahead` that last handed it an item
_CONSUMER = threading.local()


def waiting() -> int:
    """How many entries the :func:`run_ahead` that last handed this thread an item has made
    and not handed yet (0: none, or no such producer): a consumer that has a choice between
    working now and taking what is ready first (:class:`analyzer.fast_summary.FastSummaryFold`
    takes the blocks that wait before a classification call) asks here. Counts the producer's
    end too; approximate (``Queue.qsize``), never blocks."""
    q = getattr(_CONSUMER, "queue", None)
    return q.qsize() if q is not None else 0


def run_ahead(items: Iterator[T], depth: int, name: str = "maillens-ahead") -> Iterator[T]:
    """``items``, produced on a thread up to ``depth`` items ahead of the caller, in order.

    An exception of the producer (or of its ``close``) is raised here after the items before it;
    closing this generator stops the thread, closes ``items`` on that thread and waits for it."""
    q: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for x in items:
                if not put((_ITEM, x)):
                    break
                del x  # (not held here while the next is made: the consumer may be done with it)
        except BaseException as exc:  # raised again in the consumer
            put((_ERROR, exc))
        finally:
            try:
                close = getattr(items, "close", None)
                if close is not None:
                    close()  # a generator's cleanup runs here, on the thread that ran it
            except BaseException as exc:
                put((_ERROR, exc))
            put((_END, None))

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    try:
        while True:
            kind, value = _get(q)
            if kind == _ITEM:
                _CONSUMER.queue = q
                yield value
                del value  # (nor here while the next is awaited)
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        if getattr(_CONSUMER, "queue", None) is q:
            _CONSUMER.queue = None
        stop.set()
        while t.is_alive() and not _give_up():
            t.join(0.1)
