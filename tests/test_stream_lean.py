"""A ``lean`` stream (the report's, r33-r10rest): its blocks on threads of this process, one pending
per thread instead of ``PENDING_PER_WORKER``, the heap trimmed every ``TRIM_BLOCKS`` blocks; the
same table, counts and summaries as one process's and as forked workers'. Elsewhere (processes,
the Python engine, answers made per block) nothing changes."""

from __future__ import annotations

import pytest

from analyzer import heap, native, parallel, parallel_threads, pipeline
from analyzer.pipeline import EventStream
from analyzer.reader import collect
from analyzer.sources import expand_inputs

from . import test_parallel
from .test_parallel import _same

BLOCK = 8192
needs_native = pytest.mark.skipif(native.engine() != "native", reason="blocks on threads need the native engine")
days = test_parallel.days  # (the fixture: a generated Postfix day and Exim day)


def _stream(path, workers: int, *, threads: bool, lean: bool, **kw) -> EventStream:
    stream = EventStream(expand_inputs([str(path)]), tz="UTC", workers=workers, block_bytes=BLOCK, year=2026, **kw)
    stream.block_threads, stream.lean = threads, lean
    return stream


class _Counted:
    """The blocks submitted to the stream's pool and the batches it has yielded, at each yield."""

    def __init__(self, monkeypatch) -> None:
        self.submitted = 0
        real = parallel_threads.pool

        def pool(*a, **kw):
            ex = real(*a, **kw)
            submit = ex.submit

            def counted(*sa, **skw):
                self.submitted += 1
                return submit(*sa, **skw)

            ex.submit = counted
            return ex

        monkeypatch.setattr(parallel_threads, "pool", pool)

    def most_ahead(self, stream: EventStream) -> int:
        """The most blocks handed out and not yet yielded as batches, over the stream."""
        most = 0
        for yielded, _ in enumerate(stream, 1):
            most = max(most, self.submitted - yielded)
        return most


@needs_native
@pytest.mark.parametrize("name", ["mail.log", "mainlog"])
def test_lean_on_threads_equals_one_process_and_workers(days, name):
    one = collect(_stream(days / name, 1, threads=True, lean=True))
    forked = collect(_stream(days / name, 2, threads=False, lean=False))
    lean_stream = _stream(days / name, 2, threads=True, lean=True)
    lean = collect(lean_stream)
    assert lean_stream._inline and len(one.events) > 3000
    _same(one, lean)
    _same(forked, lean)


@needs_native
def test_lean_keeps_one_block_pending_per_thread(days, monkeypatch):
    monkeypatch.setattr(pipeline, "PENDING_PER_WORKER", 3)
    stream = _stream(days / "mail.log", 2, threads=True, lean=True, ahead=False)
    most = _Counted(monkeypatch).most_ahead(stream)
    assert stream._inline and most == 2  # one a thread (2 threads), not 3 a thread
    other = _stream(days / "mail.log", 2, threads=True, lean=False, ahead=False)
    assert _Counted(monkeypatch).most_ahead(other) == 6  # (the same stream not lean: 3 a thread)


def _fake(*, lean=True, threads=True, answer=False):
    class Fake:
        pass

    s = Fake()
    s.lean, s.block_threads, s._answer_in_worker = lean, threads, answer
    return s


def test_pending_is_one_only_for_a_lean_stream_on_threads(monkeypatch):
    monkeypatch.setattr(parallel_threads, "usable", lambda: True)
    assert parallel_threads.pending(_fake(), 2) == 1
    assert parallel_threads.pending(_fake(lean=False), 2) == 2
    assert parallel_threads.pending(_fake(threads=False), 3) == 3  # forked workers: their sends to cover
    assert parallel_threads.pending(_fake(answer=True), 2) == 2  # answers per block: processes
    monkeypatch.setattr(parallel_threads, "usable", lambda: False)  # the Python engine: processes
    assert parallel_threads.pending(_fake(), 2) == 2


@needs_native
@pytest.mark.parametrize("lean", [True, False])
def test_the_heap_is_trimmed_every_few_blocks_of_a_lean_stream(days, monkeypatch, lean):
    trims = []
    monkeypatch.setattr(heap, "trim", lambda **kw: trims.append(kw))
    monkeypatch.setattr(parallel, "_TRIMMED", [0])
    stream = _stream(days / "mainlog", 2, threads=True, lean=lean)
    blocks = len(list(stream))
    assert stream._inline and blocks > 3 * parallel.TRIM_BLOCKS
    if lean:  # (every block parsed on a thread counted, one parsed again included)
        assert parallel._TRIMMED[0] >= blocks and len(trims) == parallel._TRIMMED[0] // parallel.TRIM_BLOCKS
    else:
        assert parallel._TRIMMED[0] == 0 and not trims


@pytest.mark.parametrize(("env", "want"), [(None, (False, False)), ("1", (True, True)), ("0", (False, False))])
def test_the_report_cli_folds_a_lean_stream_on_threads_when_asked(monkeypatch, env, want):
    """The report's collect asks its stream for blocks on threads, lean, before the stream starts,
    when MAILLENS_BLOCK_THREADS=1; by default (and with 0) it keeps the forked workers."""
    from analyzer.cli import report

    if env is None:
        monkeypatch.delenv("MAILLENS_BLOCK_THREADS", raising=False)
    else:
        monkeypatch.setenv("MAILLENS_BLOCK_THREADS", env)

    seen = {}

    class Stream:
        block_threads = lean = False

        def __iter__(self):
            seen["asked"] = (self.block_threads, self.lean)
            raise RuntimeError("stop")

    class Classifier:
        def imported(self):
            pass

    with pytest.raises(RuntimeError):
        report._collect(Stream(), None, Classifier(), None, None)
    assert seen["asked"] == want
