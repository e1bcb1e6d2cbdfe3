"""bench/bench_heap_peak.py: /proc/PID/smaps text summed by kind of mapping."""

from __future__ import annotations

from bench.bench_heap_peak import smaps_kinds


def _map(lo: int, hi: int, perms: str, name: str, rss_kib: int) -> str:
    return f"{lo:x}-{hi:x} {perms} 00000000 00:00 0    {name}\nSize: {(hi - lo) >> 10} kB\nRss: {rss_kib} kB\n"


def test_kinds() -> None:
    arena = 0x7F0004000000  # 64 MiB-aligned
    text = "".join([
        _map(arena, arena + (30 << 20), "rw-p", "", 20_000),
        _map(arena + (30 << 20), arena + (64 << 20), "---p", "", 0),
        _map(0x55AA000000, 0x55AB000000, "rw-p", "[heap]", 9_000),
        _map(0x7F0100100000, 0x7F0101100000, "rw-p", "", 12_000),  # 16 MiB, not aligned: jemalloc's
        _map(0x7F0200001000, 0x7F0200101000, "rw-p", "", 700),
        _map(0x7F0200201000, 0x7F0200301000, "rw-p", "", 300),
        _map(0x7F0300000000, 0x7F0300100000, "r-xp", "/usr/lib/libarrow.so.2600", 4_000),
    ])
    got = smaps_kinds(text)
    assert got == {f"glibc arena {arena:x}": 20_000, "[heap]": 9_000, "anon >=8M 7f0100100000": 12_000,
                   "anon <8M": 1_000, "file libarrow.so.2600": 4_000}


def test_empty() -> None:
    assert smaps_kinds("") == {}
