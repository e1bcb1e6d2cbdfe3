"""The C heap's settings for a report (:func:`analyzer.heap.hand_back_early`, then
:func:`analyzer.heap.map_large_from_now` at the stream's first batch): what glibc is told, and what that does to
the page faults of a block freed and taken again (in a child process: the settings are the
process's)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analyzer import heap


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append(("mallopt", option, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad, 0))
        return 1


def test_large_blocks_are_mapped_apart_only_once_told(monkeypatch):
    libc = _Libc()
    monkeypatch.setattr(heap, "_libc", lambda: libc)
    heap.hand_back_early()
    assert libc.calls == [("mallopt", heap._M_ARENA_MAX, 2)]  # glibc's own mmap threshold left
    libc.calls.clear()
    heap.map_large_from_now()  # (the report's first batch)
    assert libc.calls == [("malloc_trim", 0, 0), ("mallopt", heap._M_MMAP_THRESHOLD, heap.MAP_LARGE),
                          ("mallopt", heap._M_TRIM_THRESHOLD, heap.TRIM_DEFAULT)]
    libc.calls.clear()
    heap.trim(map_large=True)  # (after the stream; the weekly)
    assert libc.calls == [("malloc_trim", 0, 0), ("mallopt", heap._M_MMAP_THRESHOLD, heap.MAP_LARGE)]
    libc.calls.clear()
    heap.trim()  # between the end's phases: the pages only, the thresholds left
    assert libc.calls == [("malloc_trim", 0, 0)]


_CHILD = textwrap.dedent("""
    import resource, numpy as np
    from analyzer import heap

    def faults(n=40, size=768 << 10):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(n):
            a = np.ones(size // 8)  # a 768 KiB block written, freed, taken again
            del a
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    heap.hand_back_early()
    early = faults()
    heap.map_large_from_now()
    mapped = faults()
    print(early, mapped)
""")


@pytest.mark.skipif(heap._libc() is None, reason="glibc's mallopt only")
def test_large_blocks_are_mapped_apart_once_told():
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True).stdout
    mapped = int(out.split()[1])
    pages = 40 * (768 << 10) // 4096
    # after map_large_from_now: the 768 KiB block is mapped apart (over MAP_LARGE), its pages
    # faulted in each time it is taken again. Before it, glibc's own dynamic threshold decides: run
    # alone, the block mapped once and freed raises it and comes back from the heap with its pages
    # (~380 faults here, 7,720 after), but inside the whole suite's CI run it was 7,720 too (the
    # threshold depends on the process's history), so that half is a measured figure
    # (bench/RESULTS.md, r17-kernel and the lead's section of stop 32), not asserted here.
    assert mapped > pages // 2


def test_the_report_maps_large_blocks_from_its_first_batch(monkeypatch):
    from analyzer.reader import open_stream
    from analyzer.report import run

    seen: list[object] = []
    monkeypatch.setattr(heap, "trim", lambda map_large=False: seen.append(("trim", map_large)))
    monkeypatch.setattr(heap, "map_large_from_now", lambda: seen.append("map_large_from_now"))
    monkeypatch.setattr(heap, "keep_freed", lambda trim, mmap: seen.append(("keep_freed", trim, mmap)))
    add = run.ReportFold.add
    monkeypatch.setattr(run.ReportFold, "add", lambda self, batch: (seen.append("batch"), add(self, batch)))
    logs = Path(__file__).resolve().parent.parent / "sample_logs" / "postfix"
    run.collect_report_events(open_stream([str(logs)], tz="UTC", batch_lines=7))
    assert seen.count("batch") > 2
    assert seen[:2] == ["map_large_from_now", "batch"]  # before the first batch is folded, once
    assert seen.count("map_large_from_now") == 1
    # after the stream (collect_report_events): the heap trimmed, then only the end's blocks of
    # END_MAP_LARGE and more mapped apart (r18-rend: the end's smaller temporaries are reused)
    end = seen.index(("keep_freed", heap.TRIM_DEFAULT, run.END_MAP_LARGE))
    assert seen[end - 1] == ("trim", False)
    assert "batch" not in seen[end:]
    assert run.END_MAP_LARGE > heap.MAP_LARGE


@pytest.mark.skipif(heap._libc() is None, reason="glibc's mallopt only")
def test_glibc_is_found_without_ldconfig(monkeypatch):
    # ctypes.util.find_library runs `ldconfig -p` in a subprocess: in every parse worker as it
    # started (heap.keep_freed), before its first block; glibc is found by its own name first
    import ctypes.util

    def no(name: str) -> str:
        raise AssertionError("find_library called")

    monkeypatch.setattr(ctypes.util, "find_library", no)
    libc = heap._libc.__wrapped__()
    assert libc is not None and hasattr(libc, "malloc_trim")
