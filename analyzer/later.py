"""A result made on another thread, handed back before it is done (:class:`Later`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from typing import Any

__all__ = ["Later"]


class Later(Mapping[str, Any]):
    """A mapping whose content a :class:`~concurrent.futures.Future` gives: the first read (a key,
    its length, its keys) waits for the future and raises what the future raised. The report's
    peers' sections are made so on their fold's thread while the main thread goes on
    (:class:`analyzer.report.peers.WindowPeersFold`)."""

    def __init__(self, future: Future) -> None:
        self._future: Future | None = future
        self._value: Mapping[str, Any] | None = None

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
