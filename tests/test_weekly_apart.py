"""The weekly's days folded in a forked child (analyzer.weekly.apart): what the child yields comes
back equal, its errors are raised here, a child that dies early is handled, and the week's tables
are the same folded apart or in-process."""

from __future__ import annotations

import datetime as dt
import os
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.weekly import apart
from analyzer.weekly.apart import ENV, forking, run_apart

needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="folded apart on Linux only")


def _values(n: int):
    """A frame of the kinds the fold hands back (Arrow strings, a Categorical, numpy ints), then the pid."""
    rng = np.random.default_rng(n)
    words = np.array(["alpha", "beta", None, "gamma"], dtype=object)
    yield pd.DataFrame({
        "text": pd.Series(pd.arrays.ArrowExtensionArray(pa.array(words[rng.integers(0, 4, n)].tolist()))),
        "few": pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["x", "y", "z"]),
        "count": rng.integers(0, 1 << 40, n),
    })
    yield {"pid": os.getpid(), "small": (1, "two", None)}


@needs_fork
def test_values_come_back_equal_from_another_process(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert forking()
    got = list(run_apart(_values, 300_000))
    want = list(_values(300_000))
    pd.testing.assert_frame_equal(got[0], want[0])
    assert got[0]["few"].dtype == want[0]["few"].dtype
    assert got[1]["small"] == (1, "two", None)
    assert got[1]["pid"] != os.getpid(), "made in the child"


def test_turned_off_it_runs_here(monkeypatch):
    monkeypatch.setenv(ENV, "0")
    assert not forking()
    got = list(run_apart(_values, 1000))
    assert got[1]["pid"] == os.getpid()
    pd.testing.assert_frame_equal(got[0], next(_values(1000)))


def _raises(message: str):
    yield 1
    raise LookupError(message)


@needs_fork
def test_an_error_in_the_child_is_raised_here(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    parts = run_apart(_raises, "no such day")
    assert next(parts) == 1
    with pytest.raises(LookupError, match="no such day"):
        next(parts)


def _dies(parent: int, early: bool):
    if not early:
        yield "first"
    if os.getpid() != parent:
        os._exit(3)  # the child dies without a word
    yield "here"


@needs_fork
def test_a_child_that_dies_before_its_first_value_is_run_here(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert list(run_apart(_dies, os.getpid(), True)) == ["here"]


@needs_fork
def test_a_child_that_dies_half_way_is_an_error(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    parts = run_apart(_dies, os.getpid(), False)
    assert next(parts) == "first"
    with pytest.raises(RuntimeError, match="child process"):
        next(parts)


def test_a_system_that_cannot_fork_runs_it_here(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)

    def no_fork() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(apart.os, "fork", no_fork)
    got = list(run_apart(_values, 10))
    assert got[1]["pid"] == os.getpid()


@needs_fork
def test_the_weeks_tables_are_the_same_folded_apart(tmp_path, monkeypatch):
    from analyzer.store import ingest
    from analyzer.weekly.events import deferred_qids, week_events
    from bench.generate_logs import generate

    for i, (host, start) in enumerate((("mx1", "2026-11-23T00:00:00"), ("mx2", "2026-11-24T12:00:00"))):
        generate("exim", 6000, seed=70 + i, out=str(tmp_path / f"{host}.log"), start=start, hours=60, host=host,
                 incidents=["deferral_buildup:slow.example@10h+4h", "sasl_bruteforce:203.0.113.7@30h+1h"])
        ingest([str(tmp_path / f"{host}.log")], tmp_path / "store", tz="UTC", year=2026)
    store, since = tmp_path / "store", dt.date(2026, 11, 23)
    until = since + dt.timedelta(days=7)

    def fold() -> tuple[pd.DataFrame, object]:
        return week_events(store, since, until, deferred_qids(store, since, until))

    monkeypatch.setenv(ENV, "0")
    ev0, bulk0 = fold()
    monkeypatch.delenv(ENV)
    ev1, bulk1 = fold()
    assert len(ev0) > 1000 and len(bulk0.table) > 1000
    pd.testing.assert_frame_equal(ev1, ev0)
    for name in ("table", "qids", "sent", "ends", "end_examples", "logins", "failures", "failure_examples"):
        a, b = getattr(bulk1, name), getattr(bulk0, name)
        if isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, obj=name)
        else:
            assert a == b, name
