"""A call made in a forked child (analyzer.forked.Forked), and the report's detectors made so
(analyzer.report.run.make_report from FORK_ROWS rows on): the same values as the call made here."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.forked import Forked

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
NOW = pd.Timestamp("2026-12-01T06:00:00Z")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here: Forked makes every call in-process")


def test_the_call_is_made_in_a_child_and_its_value_read_back():
    here = os.getpid()
    with Forked(lambda: (os.getpid(), {"a": [1, 2.5, None]})) as f:
        assert f.forked
        pid, value = f.result()
    assert pid != here and value == {"a": [1, 2.5, None]}
    assert not f.forked and f.result() == (pid, value)  # read once, kept


def test_a_value_larger_than_a_pipe_is_read_whole():
    with Forked(lambda: os.urandom(1 << 20) + b"end") as f:
        got = f.result()
    assert len(got) == (1 << 20) + 3 and got.endswith(b"end")


def test_an_error_of_the_call_is_the_callers_own():
    calls = []

    def fails():
        calls.append(os.getpid())  # (the child's list is its own: only the call made here shows)
        raise ValueError("the detectors failed")

    f = Forked(fails)
    with pytest.raises(ValueError, match="the detectors failed"):
        f.result()
    assert calls == [os.getpid()] and not f.forked


def test_a_value_that_does_not_pickle_is_made_here():
    pid, fn = Forked(lambda: (os.getpid(), lambda: 1)).result()
    assert pid == os.getpid() and fn() == 1


def test_without_fork_the_call_is_made_here(monkeypatch):
    monkeypatch.delattr(os, "fork")
    f = Forked(os.getpid)
    assert not f.forked and f.result() == os.getpid()


def test_a_failed_fork_makes_the_call_here(monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    f = Forked(os.getpid)
    assert not f.forked and f.result() == os.getpid()


def test_close_ends_and_reaps_a_child_whose_value_is_not_wanted():
    f = Forked(lambda: threading.Event().wait(600))
    pid = f._pid
    f.close()
    assert not f.forked
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already
    f.close()  # (again: nothing left to end)


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_any_picklable_value_comes_back_equal(value):
    assert Forked(lambda: value).result() == value


def _report(monkeypatch, fork_rows: int) -> tuple[dict, list[bool]]:
    from analyzer.reader import parse_logs
    from analyzer.report import run

    forked: list[bool] = []

    class Seen(Forked):
        def __init__(self, fn):
            super().__init__(fn)
            forked.append(self.forked)

    monkeypatch.setattr(run, "Forked", Seen)
    monkeypatch.setattr(run, "FORK_ROWS", fork_rows)
    result = parse_logs([str(SAMPLES)], tz="UTC", year=2026)
    return run.make_report(result, now=NOW, generated_at=NOW), forked


def test_the_detectors_in_a_child_give_the_report_the_thread_gave(monkeypatch):
    # (the parse's idle pool threads of this test process hold no lock the child takes: counted as none)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    there, forked = _report(monkeypatch, 0)
    assert forked == [True]
    here, none = _report(monkeypatch, 10**9)
    assert none == []
    assert there["findings"] and there["top"]["destinations"]  # (findings and top tables to compare)
    assert there == here


def test_the_fork_waits_for_the_peers_tables_and_their_thread_only(monkeypatch):
    """The peers' tables made on their own thread (a Later section) are waited for, and that
    thread's end, before the fork; any other thread of Python alive then means no fork."""
    from concurrent.futures import Future

    from analyzer.later import Later
    from analyzer.report import run

    # (the parse pool's idle threads of this test process, if an earlier test started them, aside)
    monkeypatch.setattr(threading, "active_count",
                        lambda: sum(not t.name.startswith("maillens-parse") for t in threading.enumerate()))
    monkeypatch.setattr(run, "FORK_ROWS", 10)
    assert not run._fork_ready(9, {})
    made: Future = Future()
    peers = threading.Thread(target=lambda: (threading.Event().wait(0.2), made.set_result({"peers": []})),
                             name="maillens-peers_0")
    peers.start()
    assert run._fork_ready(10, {"peers": Later(made), "sent": {}})
    assert made.done() and not peers.is_alive()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="maillens-other")
    other.start()
    try:
        assert not run._fork_ready(10, {})
    finally:
        stop.set()
        other.join()


def test_no_fork_while_another_thread_runs(monkeypatch):
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="a caller's own")
    other.start()
    try:
        beside, forked = _report(monkeypatch, 0)
    finally:
        stop.set()
        other.join()
    assert forked == []
    assert beside == _report(monkeypatch, 0)[0]
