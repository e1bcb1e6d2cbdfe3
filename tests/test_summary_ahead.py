"""The summary's blocks taken ahead (analyzer.summary_ahead) and the fold's calls near the input's
end made as soon as no block waits (FastSummaryFold.IDLE_WINDOW, IDLE_BLOCKS): the items in order,
what waits, errors and an early close as the stream's own; the summary the same whatever the calls."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from analyzer import parallel_threads
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sinks import SummaryFold
from analyzer.sources import expand_inputs, plan_blocks
from analyzer.summary import summarise_fold
from analyzer.summary_ahead import Ahead
from bench.generate_logs import generate


def _until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def test_items_in_order_and_what_waits():
    """Each item once, in order; waiting() only once the next item is made and until it is taken."""
    go = [threading.Event() for _ in range(3)]

    def items():
        for i, ev in enumerate(go):
            ev.wait(5)
            yield i

    ahead = Ahead(items())
    it = iter(ahead)
    assert not ahead.waiting()
    go[0].set()
    assert next(it) == 0
    assert not ahead.waiting()  # (the next one is not made)
    go[1].set()
    assert _until(ahead.waiting)
    assert next(it) == 1 and not ahead.waiting()
    go[2].set()
    assert list(it) == [2] and not ahead.waiting()


def test_an_error_comes_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("bad block")

    got = []
    with pytest.raises(ValueError, match="bad block"):
        for x in Ahead(items()):
            got.append(x)
    assert got == [1, 2]


def test_close_stops_the_thread_and_closes_the_stream():
    """An early end (the fold raised): the thread stops and the stream's iterator is closed there."""
    closed = threading.Event()

    def items():
        try:
            yield from range(10**6)
        finally:
            closed.set()

    ahead = Ahead(items())
    it = iter(ahead)
    assert next(it) == 0
    ahead.close()
    assert closed.wait(5)
    assert _until(lambda: not any(t.name == "maillens-summary" for t in threading.enumerate()))


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ahead-days")
    out = {}
    for mta in ("postfix", "exim"):
        p = d / f"{mta}.log"
        generate(mta, 5000, seed=11, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
                 incidents=["deferral_buildup@2h+6h"])
        out[mta] = p
    return out


def _summaries(path: Path, **kw) -> tuple:
    got = []
    for fast in (True, False):
        general = StreamClassifier(default_rules())
        fold = FastSummaryFold(general) if fast else SummaryFold()
        clf = fold.summariser if fast else general
        stream = EventStream(expand_inputs([str(path)]), tz="UTC", classifier=clf,
                             columns=(*SummaryFold.READS, *clf.reads), year=2026, **kw)
        fold.fold(stream)
        got.append(summarise_fold(fold, stream.counts, stream.files, stream.warnings))
    return tuple(got)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
@pytest.mark.parametrize("waits", [False, True])
def test_calls_when_none_waits_change_nothing(days, monkeypatch, mta, waits):
    """With no block ever waiting, every block of the window after the first call is a call of its
    own; with one always waiting, none is made so: the summary equals the general path's both ways."""
    if not parallel_threads.usable():
        pytest.skip("the blocks run on threads only with the native engine")
    calls: list[int] = []
    classified = FastSummaryFold._classified
    monkeypatch.setattr(FastSummaryFold, "_classified",
                        lambda self, held, attribution: calls.append(len(held)) or classified(self, held, attribution))
    monkeypatch.setattr(FastSummaryFold, "IDLE_WINDOW", 10**6)
    monkeypatch.setattr(FastSummaryFold, "IDLE_BLOCKS", 1)
    monkeypatch.setattr(FastSummaryFold, "LAST_BLOCKS", 0)
    monkeypatch.setattr(Ahead, "waiting", lambda self: waits)
    fast, general = _summaries(days[mta], workers=2, block_bytes=16384)
    assert fast == general
    held = [c for c in calls if c]
    blocks = len(plan_blocks(days[mta], 16384))
    assert sum(held) == blocks > 8
    if waits:
        assert len(held) < blocks // 2  # several blocks a call, as without the window
    else:
        assert held[1:] == [1] * (len(held) - 1) and held[0] > 1  # the first call as before, then one a block


def test_not_used_with_one_worker_or_the_python_engine(days, monkeypatch):
    made: list[int] = []
    init = Ahead.__init__
    monkeypatch.setattr(Ahead, "__init__", lambda self, stream: made.append(1) or init(self, stream))
    fast, general = _summaries(days["postfix"], workers=1, block_bytes=16384)
    assert fast == general and not made
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    fast, general = _summaries(days["postfix"], workers=2, block_bytes=16384)
    assert fast == general and not made
