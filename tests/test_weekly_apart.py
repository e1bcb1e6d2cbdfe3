"""The weekly's small whole-week reads made in a forked child (analyzer.weekly.apart): the answer
comes back equal and from another process, an error is raised here, a child that ends without an
answer is replaced by the call here, and the weekly's reads give the same answers either way."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from analyzer.weekly.apart import ENV, call_apart, forking

needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="made apart on Linux only")


def _answer(n: int) -> dict:
    rng = np.random.default_rng(n)
    return {"pid": os.getpid(), "ids": np.unique(rng.integers(0, 1 << 60, n).astype(np.uint64)),
            "pairs": {("mx1", "a.log"): 0, (None, "b.log"): 1, ("mx2", None): 2}, "fits": True}


@needs_fork
def test_the_answer_comes_back_equal_from_another_process(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert forking()
    got, want = call_apart(_answer, 300_000), _answer(300_000)
    assert got["pid"] != os.getpid(), "made in the child"
    assert got["ids"].dtype == np.uint64 and np.array_equal(got["ids"], want["ids"])  # (2.4 MB: several pipe reads)
    assert got["pairs"] == want["pairs"] and got["fits"] is True


def test_turned_off_it_runs_here(monkeypatch):
    monkeypatch.setenv(ENV, "0")
    assert not forking()
    assert call_apart(_answer, 10)["pid"] == os.getpid()


def _raises(message: str) -> None:
    raise LookupError(message)


@needs_fork
def test_an_error_in_the_child_is_raised_here(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(LookupError, match="no such day"):
        call_apart(_raises, "no such day")


def _dies(parent: int) -> str:
    if os.getpid() != parent:
        os._exit(3)  # the child ends without a word
    return "here"


@needs_fork
def test_a_child_that_ends_without_an_answer_is_replaced_here(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert call_apart(_dies, os.getpid()) == "here"


def test_no_fork_runs_here(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not forking()
    assert call_apart(_answer, 10)["pid"] == os.getpid()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from analyzer.store import ingest
    from bench.generate_logs import generate

    tmp = tmp_path_factory.mktemp("apart")
    for host, seed in (("mx1", 5), ("mx2", 6)):
        generate("postfix", 3000, seed=seed, out=str(tmp / f"{host}.log"), start="2026-11-23T00:00:00",
                 hours=72, host=host, incidents=["deferral_buildup:slow.example@10h+4h"] if host == "mx1" else [])
        ingest([str(tmp / f"{host}.log")], tmp / "store", tz="UTC", year=2026)
    return tmp / "store"


@needs_fork
def test_the_weeks_reads_are_the_same_apart_and_here(monkeypatch, store):
    """deferred_qids and the range keys (read in a child by week_events) as in-process."""
    from analyzer.weekly.events import _range_keys, deferred_qids

    lo, hi = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    monkeypatch.delenv(ENV, raising=False)
    apart_ids, apart_keys = deferred_qids(store, lo, hi), call_apart(_range_keys, store, lo, hi)
    monkeypatch.setenv(ENV, "0")
    here_ids, here_keys = deferred_qids(store, lo, hi), _range_keys(store, lo, hi)
    assert len(here_ids) > 10 and np.array_equal(apart_ids, here_ids) and apart_ids.dtype == here_ids.dtype
    assert len(here_keys[0]) == 2 and apart_keys == here_keys
