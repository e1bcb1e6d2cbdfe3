"""bench/bench_faults.py: a wrapped call's minor faults counted on the thread that made it."""

from __future__ import annotations

import mmap
import sys
import threading

import pytest

from bench.bench_faults import Calls, thread_faults

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RUSAGE_THREAD and /proc: Linux")

PAGES = 64


def _touch_fresh() -> int:
    """Write one byte in each of PAGES fresh pages (a fault each), untouched before."""
    m = mmap.mmap(-1, PAGES * mmap.PAGESIZE)
    try:
        for i in range(PAGES):
            m[i * mmap.PAGESIZE] = 1
        return PAGES
    finally:
        m.close()


def test_a_call_that_writes_fresh_pages_counts_their_faults_on_its_thread() -> None:
    calls = Calls()
    fresh, idle = calls.wrap("fresh", _touch_fresh), calls.wrap("idle", lambda: 0)
    t = threading.Thread(target=lambda: (fresh(), idle()), name="worker-x")
    t.start()
    t.join()
    assert fresh() == PAGES
    got = calls.by_thread()
    assert set(got) == {("fresh", "worker-x"), ("idle", "worker-x"), ("fresh", "MainThread")}
    for thread in ("worker-x", "MainThread"):
        n, faults, cpu = got[("fresh", thread)]
        assert n == 1 and faults >= PAGES and cpu >= 0
    assert got[("idle", "worker-x")][1] < PAGES  # an empty call: no fresh page to speak of


def test_a_raising_call_is_counted_and_raises() -> None:
    calls = Calls()

    def boom() -> None:
        raise ValueError("x")

    with pytest.raises(ValueError, match="x"):
        calls.wrap("boom", boom)()
    assert [c[0] for c in calls.log] == ["boom"]


def test_thread_faults_names_the_live_threads() -> None:
    seen: dict[str, int] = {}
    ready, stop = threading.Event(), threading.Event()

    def live() -> None:
        _touch_fresh()
        ready.set()
        stop.wait()

    t = threading.Thread(target=live, name="live-y")
    t.start()
    ready.wait()
    try:
        seen = thread_faults()
    finally:
        stop.set()
        t.join()
    assert seen["live-y"] >= PAGES and "MainThread" in seen
