"""Both cores, ``parse -o``'s stream: the workers' results taken on a thread of their own
(``maillens-results``) while the batches thread classifies, and the pool ended beside the rest of
the run (:func:`analyzer.parallel.end_pool`); the table is that of one process all the same."""

from __future__ import annotations

import shutil

import pytest

from analyzer import parallel
from analyzer.pipeline import EventStream
from analyzer.sources import expand_inputs

from . import test_parallel
from .test_parallel import BLOCK, _KeySpy, _run, _same

days = test_parallel.days  # (the fixture: the generated Postfix and Exim days)


class _ThreadSpy(_KeySpy):
    """A classifier that runs here and records which threads of the run are alive at each call."""

    def classify_many(self, tables, keys=None):
        import threading

        self.threads = getattr(self, "threads", [])
        self.threads.append({t.name for t in threading.enumerate()})
        return super().classify_many(tables, keys)


@pytest.mark.parametrize("results", [None, 0, 1])
def test_results_taken_on_a_thread_of_their_own_equal_one_process(days, results):
    """With a classifier that classifies here and whole batches (``parse -o``), the workers'
    results are taken on a thread of their own (``maillens-results``) while the batches thread
    classifies; the table, counts and summaries are those of one process, with it or without."""
    one, _ = _run([days / "mail.log"], 1, year=2026, classifier=_KeySpy())
    spy = _ThreadSpy()
    two, _ = _run([days / "mail.log"], 2, year=2026, classifier=spy, classify_rows=500, results_ahead=results)
    _same(one, two)
    assert len(spy.threads) > 5
    taken = any("maillens-results" in names for names in spy.threads)
    assert taken == (results != 0)


def test_results_thread_not_used_where_the_consumer_reads_a_few_columns(days):
    """A consumer that names its columns (the report, the summary) keeps its memory: no batches
    are taken ahead of the classification."""
    from analyzer.class_cache import CLASS_KEY

    spy = _ThreadSpy()
    _run([days / "mail.log"], 2, year=2026, classifier=spy, classify_rows=500, columns=(*CLASS_KEY, "ts"))
    assert spy.threads and not any("maillens-results" in names for names in spy.threads)


def test_a_consumer_that_stops_ends_the_results_thread(days):
    """A consumer that stops after a few batches (an error downstream) leaves no thread, worker
    or spool behind: closing the stream closes the results thread, which shuts the pool down."""
    import threading
    import time

    stream = EventStream(expand_inputs([str(days / "mail.log")]), tz="UTC", workers=2, block_bytes=BLOCK,
                         year=2026, classifier=_KeySpy(), classify_rows=500)
    it = iter(stream)
    for _ in range(3):
        next(it)
    assert any(t.name == "maillens-results" for t in threading.enumerate())
    it.close()
    for _ in range(50):
        if not any(t.name in ("maillens-results", "maillens-batches") for t in threading.enumerate()):
            break
        time.sleep(0.1)
    assert not any(t.name in ("maillens-results", "maillens-batches") for t in threading.enumerate())
    assert stream._pool is None and stream._spool is None


def test_pool_returns_with_its_workers_forked_not_started(monkeypatch):
    """The pool forks every worker before it returns (no thread of the caller's may run while a
    fork happens), without waiting for one to finish its set-up: the first blocks are handed
    out meanwhile, and run once the workers are ready."""
    import os
    import time

    slow = parallel._init_worker

    def init(no_pandas: bool) -> None:
        time.sleep(4)
        slow(no_pandas)

    monkeypatch.setattr(parallel, "_init_worker", init)
    t = time.monotonic()
    ex = parallel.pool(2, None, None)
    took = time.monotonic() - t
    try:
        assert ex is not None and len(ex._processes) == 2
        assert took < 3, f"the pool waited {took:.1f} s for its workers' set-up"
        assert ex.submit(os.getpid).result(60) in ex._processes
    finally:
        parallel.end_pool(ex, None)


@pytest.mark.parametrize("wait", [True, False])
def test_end_pool_ends_the_workers_and_removes_the_spool(tmp_path, wait):
    """At a stream's normal end the pool is ended on a thread (``wait`` False, joined before
    the stream ends), else at once: either way its worker processes exit and the spool goes."""
    ex = parallel.pool(2, None, None)
    assert ex is not None
    procs = list(ex._processes.values())
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "1-1.arrow").write_bytes(b"x" * 100)
    ending = parallel.end_pool(ex, str(spool), wait=wait)
    assert (ending is None) == wait
    if ending is not None:
        assert ending.name == "maillens-pool-end"
        ending.join(30)
    assert not spool.exists() and not any(p.is_alive() for p in procs)
    assert parallel.end_pool(None, None, wait=False) is None


def test_stream_joins_its_pool_end(days):
    """Read to the end, a stream has ended its pool and left no thread ending it."""
    import threading

    _run([days / "mail.log"], 2, year=2026, classifier=_KeySpy())
    assert not any(t.name == "maillens-pool-end" for t in threading.enumerate())


def test_secondary_and_primary_pools_both_end(tmp_path, days):
    """A rejectlog big enough for the workers is parsed by a pool of its own before the mainlog's:
    both pools end (on threads, the stream joins both) and the merge equals one process's."""
    import threading

    d = tmp_path / "exim"
    d.mkdir()
    shutil.copy(days / "mainlog", d / "mainlog")
    shutil.copy(days / "mainlog", d / "rejectlog")  # every line a copy of the mainlog's
    one, _ = _run([d], 1, classifier=_KeySpy())
    two, _ = _run([d], 2, classifier=_KeySpy())
    assert two.counts.duplicates > 3000
    _same(one, two)
    assert not any(t.name == "maillens-pool-end" for t in threading.enumerate())
