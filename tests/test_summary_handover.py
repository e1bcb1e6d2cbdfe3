"""The summary's blocks on their way to the fold (analyzer.fast_summary): handed over as they are
where the fold runs in the same process, sent as Arrow IPC from a forked worker; and the blocks
that are made already taken before a classification call (analyzer.ahead.waiting)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from analyzer import ahead, fast_summary, summary_hand
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import HAND, META, RAW, REPS, FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sources import expand_inputs
from tests.test_native_summary import _summaries
from tests.test_native_summary import days as days  # (the fixture: a Postfix and an Exim day)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture
def day(days) -> Path:
    return days["postfix"]


def _summary(path: Path, **kw):
    """The fast path's summary (and the general path's: ``_summaries``)."""
    return _summaries([path], **kw)[0]


def _a_block() -> pa.Table:
    """One block of the sample Postfix log as the stream's parse gives it (every column)."""
    stream = EventStream(expand_inputs([str(SAMPLES / "postfix" / "mail.log")]), tz="UTC", year=2026, workers=1)
    return pa.concat_tables([b.table for b in stream])


def test_a_block_of_this_process_is_handed_over_and_opened_alike(monkeypatch):
    """With a fold running in this process, a summarised block carries only a number in its
    metadata; the fold opens it to the same counts, rows and groups as the IPC one."""
    table = _a_block()
    assert table.num_rows > 50
    fold = FastSummaryFold(StreamClassifier(default_rules()))
    sent = fold.summariser(table)
    md = sent.schema.metadata
    assert REPS in md and HAND.encode() not in md[META]  # no fold runs: sent as before
    monkeypatch.setattr(fast_summary, "_HAND_TO", [os.getpid(), 1])
    handed = fold.summariser(table)
    hmd = handed.schema.metadata
    assert REPS not in hmd and RAW not in hmd and len(fast_summary._HANDED) == 1
    assert fast_summary.carries_raw(handed) == fast_summary.carries_raw(sent)
    other = FastSummaryFold(StreamClassifier(default_rules()))
    rows_s, reps_s, raw_s = other._open(sent)
    rows_h, reps_h, raw_h = fold._open(handed)
    assert not fast_summary._HANDED  # taken once
    assert rows_s.equals(rows_h) and reps_s.equals(reps_h)
    assert (raw_s is None) == (raw_h is None) and (raw_s is None or raw_s.equals(raw_h))
    assert (other.by_event, other.by_code, other.by_status) == (fold.by_event, fold.by_code, fold.by_status)
    assert sum(fold.by_event.values()) == table.num_rows


def test_a_forked_worker_sends_its_blocks(monkeypatch):
    """A fold of another process (the pid a forked worker inherited): the block is sent as IPC."""
    monkeypatch.setattr(fast_summary, "_HAND_TO", [os.getpid() + 1, 1])
    md = fast_summary.BlockSummariser()(_a_block()).schema.metadata
    assert REPS in md and not fast_summary._HANDED


@pytest.mark.parametrize("kw", [{"workers": 2, "block_bytes": 16384},  # block threads: handed over
                                {"workers": 2, "block_bytes": 16384, "process": True},  # forked workers: sent
                                {"workers": 1, "batch_lines": 300}])
def test_handed_or_sent_the_summary_is_the_general_paths(day, monkeypatch, kw):
    forked = kw.pop("process", False)
    if forked:
        monkeypatch.setenv("MAILLENS_BLOCK_THREADS", "0")
    opened = {"handed": 0, "sent": 0}
    real = FastSummaryFold._open

    def counted(self, table):
        opened["sent" if REPS in (table.schema.metadata or {}) else "handed"] += 1
        return real(self, table)

    monkeypatch.setattr(FastSummaryFold, "_open", counted)
    fast, general = _summaries([day], **kw)
    assert fast == general
    if forked:  # (the workers' blocks sent; one parsed again here, in order, is handed over)
        assert opened["sent"] > 3 and opened["handed"] < opened["sent"]
    else:  # (block threads: a block each; one worker: the stream's batches)
        assert opened["handed"] > (3 if kw["workers"] > 1 else 0) and opened["sent"] == 0
    assert not fast_summary._HANDED and fast_summary._HAND_TO == [None, 0]  # nothing left behind


def test_waiting_counts_what_the_producer_made_for_this_thread():
    """ahead.waiting: the entries a run_ahead has queued for the thread that takes its items;
    0 on another thread and once the consumer is done."""
    assert ahead.waiting() == 0
    it = ahead.run_ahead(iter(range(5)), 3)
    assert next(it) == 0
    deadline = time.monotonic() + 10
    while ahead.waiting() < 3 and time.monotonic() < deadline:  # the producer fills the queue
        time.sleep(0.01)
    assert ahead.waiting() == 3
    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(ahead.waiting()))
    t.start()
    t.join()
    assert seen == [0]
    assert list(it) == [1, 2, 3, 4]
    assert ahead.waiting() == 0


def test_blocks_that_wait_join_the_call(day, monkeypatch):
    """A call that is due waits for the blocks made already (they join it): fewer calls, the
    same summary; the bounds on what is held (rows, groups) still call at once."""
    calls: list[int] = []
    classified = FastSummaryFold._classified
    monkeypatch.setattr(FastSummaryFold, "_classified",
                        lambda self, held, attribution: calls.append(len(held)) or classified(self, held, attribution))
    monkeypatch.setattr(FastSummaryFold, "LAST_BLOCKS", 10**6)  # every block due
    kw = {"workers": 2, "block_bytes": 16384}
    monkeypatch.setattr(fast_summary, "waiting", lambda: 0)
    alone, general = _summaries([day], **kw)
    each = [c for c in calls if c]
    assert len(each) > 6 and set(each) == {1}
    calls.clear()
    flips = iter([1, 1, 0] * 1000)  # two blocks of three wait: calls of three
    monkeypatch.setattr(fast_summary, "waiting", lambda: next(flips))
    joined = _summary(day, **kw)
    held = [c for c in calls if c]
    assert joined == alone == general
    assert sum(held) == sum(each) and max(held) == 3 and len(held) < len(each)
    calls.clear()
    monkeypatch.setattr(fast_summary, "waiting", lambda: 1)  # always a block waiting: JOIN_BLOCKS a call
    assert _summary(day, **kw) == alone
    held = [c for c in calls if c]
    assert max(held) == FastSummaryFold.JOIN_BLOCKS and sum(held) == sum(each)
    monkeypatch.setattr(fast_summary, "waiting", lambda: 1)  # always a block waiting
    for bound in ("HELD_ROWS", "GROUPS"):  # (every block over it)
        calls.clear()
        with monkeypatch.context() as m:
            m.setattr(FastSummaryFold, bound, 1)
            assert _summary(day, **kw) == alone
        assert set(c for c in calls if c) == {1}, bound


def test_a_fold_ending_leaves_another_running_folds_blocks():
    """Two folds of one process (library use): the first to end keeps the blocks handed to the
    other, which are cleared only when the last one ends."""
    state = fast_summary._HAND_TO
    assert state == [None, 0] and not fast_summary._HANDED
    with summary_hand.handing():
        with summary_hand.handing():
            handed = fast_summary.BlockSummariser()(_a_block())
            assert len(fast_summary._HANDED) == 1
        assert state == [os.getpid(), 1] and len(fast_summary._HANDED) == 1
        FastSummaryFold(StreamClassifier(default_rules()))._open(handed)  # still there to take
    assert state == [None, 0] and not fast_summary._HANDED
