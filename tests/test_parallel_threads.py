"""Blocks parsed on threads of the main process (analyzer.parallel_threads, the native engine):
row for row the table, counts and file summaries of one pass in one process and of forked
workers, whatever the blocks' guesses; the Python engine and answers made per block keep the
processes."""

from __future__ import annotations

import gzip
import io
import threading
from pathlib import Path

import pandas as pd
import pytest

from analyzer import native, parallel, parallel_threads, pipeline
from analyzer.pipeline import Classifier, EventStream
from analyzer.reader import collect
from analyzer.sources import expand_inputs, plan_blocks

from . import test_parallel
from .test_parallel import _same

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
BLOCK = 8192
NATIVE = native.engine() == "native"
needs_native = pytest.mark.skipif(not NATIVE, reason="blocks on threads need the native engine")
days = test_parallel.days  # (the fixture: a generated Postfix day and Exim day)


def _run(paths, workers: int, threads: bool, *, block_bytes: int = BLOCK, inputs=None, **kw):
    stream = EventStream(inputs or expand_inputs([str(p) for p in paths]), tz="UTC", workers=workers,
                         block_bytes=block_bytes, **kw)
    stream.block_threads = threads
    return collect(stream), stream


@needs_native
@pytest.mark.parametrize("name", ["mail.log", "mainlog"])
def test_threads_equal_one_process_and_workers(days, name):
    one, _ = _run([days / name], 1, True, year=2026)
    forked, fs = _run([days / name], 2, False, year=2026)
    threaded, ts = _run([days / name], 2, True, year=2026)
    assert len(one.events) > 3000 and (days / name).stat().st_size > 40 * BLOCK
    assert ts._inline and not fs._inline  # (the stream's blocks went to threads, the other's to processes)
    _same(one, threaded)
    _same(forked, threaded)
    assert ts.reparsed == 0


@needs_native
def test_classified_on_threads_equals_classified_here(days):
    """A classifier without state runs on the block threads, side by side: one process's table."""
    one, _ = _run([days / "mail.log"], 1, True, year=2026, classifier=Classifier())
    two, stream = _run([days / "mail.log"], 2, True, year=2026, classifier=Classifier())
    assert stream._inline and "cause" in two.events.columns
    _same(one, two)


@pytest.fixture
def threaded(monkeypatch):
    """test_parallel's tests run with their streams' blocks on threads: the streams they made."""
    made = []

    def run(paths, workers: int, **kw):
        got = _run(paths, workers, True, **kw)
        made.append(got[1])
        return got

    monkeypatch.setattr(test_parallel, "_run", run)
    return made


@needs_native
def test_new_year_inside_a_block_and_between_blocks(tmp_path, threaded):
    test_parallel.test_new_year_inside_a_block_and_between_blocks(tmp_path)
    assert threaded[-1]._inline and threaded[-1].workers == 2


@needs_native
def test_wrong_guesses_are_parsed_again(days, monkeypatch):
    def wrong(self, head):
        return parallel.Start((1999, 6), {"exim": 10**9, "syslog_loose": 10**6})

    one, _ = _run([days / "mail.log"], 1, True)
    monkeypatch.setattr(parallel.Guesser, "state", wrong)
    two, stream = _run([days / "mail.log"], 2, True)
    _same(one, two)
    assert stream._inline and stream.reparsed == len(plan_blocks(days / "mail.log", BLOCK)) - 1


@needs_native
def test_gzip_and_stdin_on_threads_equal_plain_in_one(days, tmp_path, monkeypatch):
    """Blocks handed over as bytes (decompressed, or read from stdin) parse on threads alike."""
    plain, _ = _run([days / "mail.log"], 1, True, year=2026)
    gz = tmp_path / "mail.log.gz"
    gz.write_bytes(gzip.compress((days / "mail.log").read_bytes()))
    packed, stream = _run([gz], 2, True, year=2026)
    assert stream._inline
    assert plain.counts == packed.counts
    pd.testing.assert_frame_equal(plain.events.drop(columns=["source"]), packed.events.drop(columns=["source"]))
    fake = io.TextIOWrapper(io.BytesIO((days / "mail.log").read_bytes()))
    monkeypatch.setattr("sys.stdin", fake)
    piped, stream = _run([], 2, True, year=2026, inputs=expand_inputs(["-"]))
    assert stream._inline
    assert plain.counts.lines == piped.counts.lines and plain.counts.events == piped.counts.events
    pd.testing.assert_frame_equal(plain.events.drop(columns=["source"]), piped.events.drop(columns=["source"]))


@needs_native
def test_sample_logs_on_threads_equal_one_process():
    """Every sample log (rotated sets, formats, panic log), cut in small blocks, on threads."""
    for d in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        one, _ = _run([d], 1, True, block_bytes=2048)
        two, _ = _run([d], 2, True, block_bytes=2048)
        _same(one, two)


def test_python_engine_and_answers_in_workers_keep_processes(days, monkeypatch):
    """The Python engine's blocks hold the GIL: processes. A classifier answering per block keeps
    a cache of its own in each process: processes. ``MAILLENS_BLOCK_THREADS=0``: processes."""
    from analyzer.classify_stream import StreamClassifier

    one, _ = _run([days / "mail.log"], 1, True, year=2026)
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    py, stream = _run([days / "mail.log"], 2, True, year=2026)
    assert not stream._inline and not parallel_threads.usable()
    monkeypatch.delenv("MAILLENS_ENGINE")
    _same(one, py)
    monkeypatch.setenv(parallel_threads.ENV, "0")
    _, stream = _run([days / "mail.log"], 2, True, year=2026)
    assert not stream._inline
    monkeypatch.delenv(parallel_threads.ENV)
    monkeypatch.setattr(pipeline, "ANSWER_IN_WORKERS", 2)
    _, stream = _run([days / "mail.log"], 2, True, year=2026, classifier=StreamClassifier())
    assert not stream._inline and stream._answer_in_worker


@needs_native
def test_a_block_thread_calls_the_native_core_on_one_thread():
    seen: list[int] = []
    ex = parallel_threads.pool(2, None, None)
    try:
        ex.submit(lambda: seen.append(native.threads())).result()
    finally:
        ex.shutdown()
    assert seen == [1]
    assert native.threads() == native.THREADS  # (this thread: unchanged)
    t = threading.Thread(target=lambda: seen.append(native.threads()))
    t.start()
    t.join()
    assert seen == [1, native.THREADS]


@needs_native
def test_a_pool_s_blocks_keep_its_producer(days, monkeypatch):
    """A pool made later (another stream) does not change what an earlier pool's threads run."""
    from analyzer.parsers import parse_batch

    monkeypatch.setitem(parallel._WORKER, "producer", None)  # (restored after)
    monkeypatch.setitem(parallel._WORKER, "classifier", None)
    used: list[str] = []

    def producer(name):
        def produce(lines, first, ctx):
            used.append(name)
            return parse_batch(lines, first, ctx)
        return produce

    path = days / "mail.log"
    job = parallel.BlockJob(path.name, str(path), 0, BLOCK, None, False, "UTC", 2026, None, None, False,
                            parallel.Start(), False, inline=True)
    a = parallel_threads.pool(1, producer("a"), None)
    b = parallel_threads.pool(1, producer("b"), None)
    try:
        got = [ex.submit(parallel.run_block, job).result() for ex in (a, b, a)]
    finally:
        a.shutdown()
        b.shutdown()
    assert used == ["a", "b", "a"] and all(r.kept is not None and r.kept.num_rows for r in got)
