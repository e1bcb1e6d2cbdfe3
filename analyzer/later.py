"""Work made on another thread: a result handed back before it is done (:class:`Later`), and jobs
run one at a time, in order, beside the caller (:class:`InOrder`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["InOrder", "Later"]


class Later(Mapping[str, Any]):
    """A mapping whose content a :class:`~concurrent.futures.Future` gives: the first read (a key,
    its length, its keys) waits for the future and raises what the future raised. The report's
    peers' sections are made so on their fold's thread while the main thread goes on
    (:class:`analyzer.report.peers.WindowPeersFold`)."""

    def __init__(self, future: Future) -> None:
        self._future: Future | None = future
        self._value: Mapping[str, Any] | None = None

    def wait(self) -> None:
        """Wait for the future (raising what it raised), without reading anything yet."""
        self._got()

    def _got(self) -> Mapping[str, Any]:
        if self._value is None:
            assert self._future is not None
            self._value = self._future.result()
            self._future = None
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._got()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._got())

    def __len__(self) -> int:
        return len(self._got())


class InOrder:
    """Runs the jobs it is given on one thread of its own (named ``name``), one at a time, in the
    order given, while the caller goes on: the report's fold hands it the part of each batch's
    fold that only keeps state (mostly Arrow kernels and numpy, which release the GIL) and makes
    the next batch's masks meanwhile (:class:`analyzer.report.run.ReportFold`).

    At most ``ahead`` jobs wait or run (``submit`` waits for the oldest beyond that: the batches
    a job holds stay few); a job's error is raised by the next ``submit`` or by ``wait``, which
    waits for every job given and ends the thread."""

    def __init__(self, name: str, ahead: int = 2) -> None:
        self.name = name
        self.ahead = max(1, ahead)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        while self._pending and (self._pending[0].done() or len(self._pending) >= self.ahead):
            self._pending.popleft().result()  # (raises the job's error)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=self.name)
        self._pending.append(self._pool.submit(job, *args))

    def wait(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
