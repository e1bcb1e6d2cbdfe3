"""Run an iterator on a thread of its own, a few items ahead of its consumer.

Used where the producer's work releases the GIL or overlaps with the consumer's: decompressing a
rotated log (:mod:`analyzer.sources`) and making event batches while the previous ones are
classified or written (:mod:`analyzer.pipeline`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["run_ahead"]

T = TypeVar("T")

_ITEM, _ERROR, _END = 0, 1, 2


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
            kind, value = q.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        stop.set()
        t.join()
