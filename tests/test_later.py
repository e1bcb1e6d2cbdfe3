"""analyzer.later.InOrder: jobs on one thread of their own, in order, a bounded backlog, errors raised."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from analyzer.later import InOrder, Later


def test_jobs_run_in_order_on_one_other_thread():
    jobs = InOrder("maillens-test", ahead=3)
    seen: list[tuple[int, str]] = []

    def job(i: int) -> None:
        time.sleep(0.001 * (i % 3))  # uneven jobs: order must still hold
        seen.append((i, threading.current_thread().name))

    for i in range(20):
        jobs.submit(job, i)
    jobs.wait()
    assert [i for i, _ in seen] == list(range(20))
    names = {name for _, name in seen}
    assert len(names) == 1 and next(iter(names)).startswith("maillens-test")
    assert threading.current_thread().name not in names


def test_the_backlog_is_bounded():
    jobs = InOrder("maillens-test", ahead=2)
    gate = threading.Event()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        gate.wait(5)

    jobs.submit(blocked)
    started.wait(5)
    jobs.submit(lambda: None)  # two held: the next submit must wait for the first
    done = threading.Event()

    def third() -> None:
        jobs.submit(lambda: None)
        done.set()

    t = threading.Thread(target=third)
    t.start()
    assert not done.wait(0.2)
    gate.set()
    assert done.wait(5)
    t.join()
    jobs.wait()


def test_a_job_error_is_raised_by_the_next_submit_or_by_wait():
    def boom() -> None:
        raise ValueError("boom")

    jobs = InOrder("maillens-test", ahead=1)
    jobs.submit(boom)
    with pytest.raises(ValueError, match="boom"):
        jobs.submit(lambda: None)
    jobs.wait()
    jobs.submit(boom)
    with pytest.raises(ValueError, match="boom"):
        jobs.wait()
    jobs.wait()  # nothing left: returns


def test_later_wait_waits_then_reads_and_raises_what_the_future_raised():
    fut: Future = Future()
    later = Later(fut)
    done = threading.Event()

    def waiter() -> None:
        later.wait()
        done.set()

    t = threading.Thread(target=waiter)
    t.start()
    assert not done.wait(0.05)  # the future not done yet: wait() blocks
    fut.set_result({"a": 1})
    t.join(5)
    assert done.is_set() and dict(later) == {"a": 1}
    bad: Future = Future()
    bad.set_exception(ValueError("peers"))
    with pytest.raises(ValueError, match="peers"):
        Later(bad).wait()
