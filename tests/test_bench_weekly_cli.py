"""bench/bench_weekly_cli.py's probe: its step marks and its samples (Linux /proc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import bench_weekly_cli as probe_mod

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class _Holder:
    @staticmethod
    def work(x: int, seen: list[str], probe: probe_mod.Probe) -> int:
        seen.append(probe.step())
        return x * 2

    @staticmethod
    def fails(seen: list[str], probe: probe_mod.Probe) -> None:
        seen.append(probe.step())
        raise KeyError("x")


def test_mark_names_the_step_during_the_call_only() -> None:
    probe = probe_mod.Probe(every=1.0)
    probe.steps = ["cli"]
    holder = _Holder()
    probe.mark(holder, "work", "folding")
    seen: list[str] = []
    assert holder.work(21, seen, probe) == 42
    assert seen == ["cli/folding"]
    assert probe.step() == "cli"
    assert probe.high["cli/folding"]["n"] == 2  # a sample as it starts and one as it ends
    assert probe.high["cli/folding"]["Rss"] > 0


def test_mark_restores_the_step_after_an_exception() -> None:
    probe = probe_mod.Probe(every=1.0)
    probe.steps = ["cli"]
    holder = _Holder()
    probe.mark(holder, "fails")
    seen: list[str] = []
    with pytest.raises(KeyError):
        holder.fails(seen, probe)
    assert seen == ["cli/fails"]
    assert probe.steps == ["cli"]


def test_the_high_keeps_the_largest_sample_and_its_stack() -> None:
    probe = probe_mod.Probe(every=1.0)
    probe.sample()
    first = probe.top["Pss"]
    assert first > 0 and probe.top["step"] == "start"
    held = bytearray(64 << 20)  # 64 MiB written: resident
    held[::4096] = b"x" * len(held[::4096])
    probe.sample()
    assert probe.top["Pss"] >= first + (48 << 10)  # KiB
    assert probe.high["start"]["n"] == 2
    del held


def test_children_are_found_and_counted() -> None:
    import os

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in probe_mod._children(os.getpid())
        probe = probe_mod.Probe(every=1.0)
        probe.sample()
        assert probe.high["start"]["kids"] >= 1
    finally:
        child.kill()
        child.wait()


def test_mappings_name_the_heap_and_files() -> None:
    maps = probe_mod._mappings()
    assert any(k.endswith(".so") or ".so." in k for k in maps)
    assert all(rss >= pss >= 0 for rss, pss in maps.values())
