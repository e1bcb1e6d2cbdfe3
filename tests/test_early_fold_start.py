"""When `maillens parse FILE`'s early fold (analyzer.early_fold) starts and stops: its thread
starts before the stream's modules are imported and before the fold's objects are built, and
goes on folding after the summary's fold has started until a job asks for a block it has not
taken; a block it folded is never folded again by a job, nor left untaken."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import block_plan, early_fold, native, parallel
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sinks import SummaryFold
from analyzer.sources import cut_blocks, expand_inputs, plan_blocks
from analyzer.summary import summarise_fold
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parent.parent
NATIVE = pytest.mark.skipif(not native.available() or native.engine_choice() == "python",
                            reason="the native engine is not built, or not the one asked for (MAILLENS_ENGINE)")
BLOCK = 16384


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    """A generated Postfix day of ~25 blocks of :data:`BLOCK` bytes."""
    p = tmp_path_factory.mktemp("early-start") / "postfix.log"
    generate("postfix", 3000, seed=5, out=str(p))
    return p


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(early_fold, "BLOCK_BYTES", BLOCK)
    monkeypatch.setattr(early_fold, "MIN_BYTES", 0)
    monkeypatch.setattr(early_fold, "MOST", 1000)
    early_fold.drop(wait=True)
    yield
    early_fold.drop(wait=True)


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=90).map(lambda b: b.replace(b"\n", b"")), max_size=60),
       block=st.integers(1, 400), last_newline=st.booleans())
def test_block_plan_cuts_as_the_stream_does(tmp_path_factory, lines, block, last_newline):
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    p = tmp_path_factory.mktemp("plan") / "f.log"
    p.write_bytes(data)
    planned = block_plan.plan_blocks(str(p), block)
    assert [data[s:e] for s, e in planned] == list(cut_blocks([data], block))
    assert planned == plan_blocks(p, block)  # (the stream's name for it, given a Path)


@NATIVE
def test_the_thread_starts_before_the_streams_modules(day):
    code = ("import sys\nfrom analyzer import early_fold\n"
            "early_fold.MIN_BYTES, early_fold.BLOCK_BYTES = 0, 16384\n"
            f"ok = early_fold.start({str(day)!r})\n"
            "print(ok, sorted(m for m in ('analyzer.sources', 'pyarrow', 'numpy') if m in sys.modules))\n"
            "early_fold.drop(wait=True)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert got.stdout.strip() == "True []"


@NATIVE
def test_the_fold_is_built_while_the_thread_reads(day, small_blocks, monkeypatch):
    seen = []
    real = early_fold._fold_of

    def fold_of(kind):
        run = early_fold._CURRENT[0]
        seen.append((kind, run is not None and run.thread is not None and run.thread.ident is not None))
        return real(kind)

    monkeypatch.setattr(early_fold, "_fold_of", fold_of)
    assert early_fold.start(str(day))
    run = early_fold._CURRENT[0]
    run.thread.join()
    assert seen == [("postfix", True)]
    assert run.blocks and all(b.folded is not None and b.lines is not None for b in run.blocks.values())


@NATIVE
def test_no_fold_to_run_lets_the_thread_go(day, small_blocks, monkeypatch):
    monkeypatch.setattr(early_fold, "_fold_of", lambda kind: None)
    assert not early_fold.start(str(day))
    assert early_fold._CURRENT[0] is None
    for t in threading.enumerate():
        if t.name == "maillens-early":
            t.join(10)
            assert not t.is_alive()


def test_a_job_past_the_held_blocks_stops_the_thread(tmp_path):
    p = tmp_path / "f.log"
    p.write_bytes(b"x\n" * 10)
    run = early_fold._Run(str(p), os.stat(p))
    held = early_fold._Block()
    held.lines, held.folded = ("offsets", "data", False, 4), "fold"
    held.done.set()
    early_fold._CURRENT[0] = run
    try:
        calls = []

        def read(*a):
            calls.append(a)
            return "fresh"

        assert early_fold._held() is run  # (nothing held yet: the thread may still take a block)
        run.blocks[(0, 4)] = held
        assert early_fold.reading(read)(str(p), 0, 4) == held.lines and not calls
        assert not run.stop.is_set()  # a held block: the thread goes on
        assert early_fold.reading(read)(str(p), 4, 8) == "fresh" and calls == [(str(p), 4, 8)]
        assert run.stop.is_set()  # the jobs are past what it took: it takes no more
        run.blocks.clear()
        assert early_fold._held() is None
        early_fold._fold_ahead(run, read, [(8, 12)])
        assert not run.blocks and calls == [(str(p), 4, 8)]
    finally:
        early_fold.drop()


@NATIVE
def test_the_thread_folds_beside_the_stream_and_no_block_twice(day, small_blocks, monkeypatch):
    """The fold run right after the start (the thread not waited for, as `parse` runs it): every
    block the thread folded is taken by its job (none left to drop), the others are read and
    folded by theirs, and the summary is the one without the thread."""
    monkeypatch.setattr(parallel, "_WORKER", dict(parallel._WORKER))
    left: list[int] = []
    real_drop = early_fold.drop

    def drop(wait=False):
        run = early_fold._CURRENT[0]
        if run is not None:
            if run.thread is not None:
                run.thread.join()
            left.append(sum(1 for b in run.blocks.values() if b.folded is not None))
        real_drop(wait)

    monkeypatch.setattr(early_fold, "drop", drop)

    def summary(ahead: bool):
        if ahead:
            assert early_fold.start(str(day))
        fold = FastSummaryFold(StreamClassifier(default_rules()))
        stream = EventStream(expand_inputs([str(day)]), tz="UTC", classifier=fold.summariser, workers=2,
                             columns=(*SummaryFold.READS, *fold.summariser.reads), year=2026, block_bytes=BLOCK)
        fold.fold(stream)
        return summarise_fold(fold, stream.counts, stream.files, stream.warnings)

    with_thread = summary(True)
    assert left == [0]
    assert with_thread == summary(False)
    assert with_thread.by_cause and with_thread.events
