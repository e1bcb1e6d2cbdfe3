"""The C heap's settings for a report's stream (:func:`analyzer.heap.hand_back_early`) and its end
(``trim(map_large=True)``): what glibc is told, and what that does to the page faults of a block
freed and taken again (in a child process: the settings are the process's)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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


def test_the_stream_keeps_its_temporaries_and_the_end_maps_large_blocks(monkeypatch):
    libc = _Libc()
    monkeypatch.setattr(heap, "_libc", lambda: libc)
    heap.hand_back_early()
    assert ("mallopt", heap._M_ARENA_MAX, 2) in libc.calls
    assert ("mallopt", heap._M_MMAP_THRESHOLD, heap.STREAM_MAP) in libc.calls
    assert ("mallopt", heap._M_TRIM_THRESHOLD, heap.STREAM_KEEP) in libc.calls
    libc.calls.clear()
    heap.trim(map_large=True)
    assert libc.calls == [("malloc_trim", 0, 0), ("mallopt", heap._M_MMAP_THRESHOLD, heap.MAP_LARGE),
                          ("mallopt", heap._M_TRIM_THRESHOLD, heap.TRIM_DEFAULT)]
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
    stream = faults()
    heap.trim(map_large=True)
    end = faults()
    print(stream, end)
""")


@pytest.mark.skipif(heap._libc() is None, reason="glibc's mallopt only")
def test_a_freed_block_is_taken_again_without_faults_during_the_stream():
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True).stdout
    stream, end = map(int, out.split())
    pages = 40 * (768 << 10) // 4096
    # the stream: the 768 KiB block (under STREAM_MAP) comes back from the heap, its pages still there;
    # the end: mapped apart (over MAP_LARGE), every page faulted in again each time it is taken
    assert stream < pages // 10
    assert end > pages // 2
