"""analyzer.heap.two_arenas: two malloc arenas for `parse`, unless the user set glibc's limit."""

from __future__ import annotations

import pytest

from analyzer import heap


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> _Libc:
    fake = _Libc()
    monkeypatch.setattr(heap, "_libc", lambda: fake)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    return fake


def test_two_arenas(libc: _Libc) -> None:
    heap.two_arenas()
    assert libc.calls == [(heap._M_ARENA_MAX, 2)]


@pytest.mark.parametrize(("name", "value"), [("MALLOC_ARENA_MAX", "4"),
                                             ("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")])
def test_the_users_setting_wins(libc: _Libc, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    heap.two_arenas()
    assert libc.calls == []


def test_other_tunables_do_not_stop_it(libc: _Libc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0")
    heap.two_arenas()
    assert libc.calls == [(heap._M_ARENA_MAX, 2)]


def test_no_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_libc", lambda: None)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    heap.two_arenas()  # nothing to call, nothing raised
