"""The summary's attribution of several blocks in one call (analyzer.fold_attribution) answers as
one call a block: on days in time order (joined) and on days whose stamps go back (block by block)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import fold_attribution
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sinks import SummaryFold
from analyzer.sources import expand_inputs
from analyzer.summary import summarise_fold
from bench.generate_logs import generate

TS = pa.timestamp("us", "UTC")


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("fold-attr") / f"{request.param}.log"
    generate(request.param, 5000, seed=11, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    return p


def _summary(path: Path, general: bool = False):
    clf = StreamClassifier(default_rules())
    fold = SummaryFold() if general else FastSummaryFold(clf)
    reads = clf if general else fold.summariser
    stream = EventStream(expand_inputs([str(path)]), tz="UTC", classifier=reads,
                         columns=(*SummaryFold.READS, *reads.reads), year=2026, workers=1, block_bytes=8192)
    fold.fold(stream)
    return summarise_fold(fold, stream.counts, stream.files, stream.warnings)


@pytest.fixture
def joined(monkeypatch) -> list[tuple[int, bool]]:
    """(blocks, joined) of each attribution call; every block of the day in one classification call
    (the last blocks too: FastSummaryFold.LAST_BLOCKS and HALF_WAY off)."""
    monkeypatch.setattr(FastSummaryFold, "LAST_BLOCKS", 0)
    monkeypatch.setattr(FastSummaryFold, "HALF_WAY", False)
    monkeypatch.setattr(FastSummaryFold, "FIRST_GROUPS", 10**9)
    monkeypatch.setattr(FastSummaryFold, "GROUPS", 10**9)
    monkeypatch.setattr(FastSummaryFold, "HELD_ROWS", 10**9)
    got: list[tuple[int, bool]] = []
    check = fold_attribution.in_time_order

    def spy(subs, since):
        ok, hi = check(subs, since)
        got.append((len(subs), ok))
        return ok, hi

    monkeypatch.setattr(fold_attribution, "in_time_order", spy)
    return got


def _block_by_block(path: Path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(fold_attribution, "in_time_order", lambda subs, since: (False, since))
        return _summary(path)


def test_blocks_in_time_order_joined_as_one_call_a_block(day, joined, monkeypatch):
    together = _summary(day)
    assert any(n > 10 and ok for n, ok in joined)  # the day's blocks were attributed in one call
    assert together == _block_by_block(day, monkeypatch) == _summary(day, general=True)


def test_stamps_that_go_back_attributed_block_by_block(day, joined, monkeypatch, tmp_path):
    lines = day.read_bytes().splitlines(keepends=True)
    # stretches of the day written backwards: stamps go back within and across blocks
    out = []
    for at in range(0, len(lines), 400):
        part = lines[at: at + 400]
        out += part[::-1] if (at // 400) % 2 else part
    shuffled = tmp_path / day.name
    shuffled.write_bytes(b"".join(out))
    got = _summary(shuffled)
    assert joined and not any(ok for _, ok in joined)
    assert got == _block_by_block(shuffled, monkeypatch) == _summary(shuffled, general=True)


def _table(ts: list[int | None]) -> pa.Table:
    return pa.table({"ts": pa.array(ts, pa.int64()).cast(TS)})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(0, 50)), max_size=6), min_size=1, max_size=5),
       st.one_of(st.none(), st.integers(0, 50)))
def test_in_time_order(blocks, since):
    ok, hi = fold_attribution.in_time_order([_table(b) for b in blocks], since)
    flat = [v for b in blocks for v in b]
    stamps = [v for v in flat if v is not None]
    want_ok = (None not in flat and all(a <= b for a, b in pairwise(stamps))
               and (since is None or not stamps or stamps[0] >= since))
    assert ok == want_ok
    assert hi == max([*stamps, *([] if since is None else [since])], default=None)


def test_counted_rows_of_joined_blocks(monkeypatch):
    """The counted rows' causes after one call are those of one call a block (a tiny stream)."""
    seen = []

    class Attribution:
        def _attribute(self, sub):
            seen.append(sub.num_rows)
            return sub

    class Fold:
        def __init__(self) -> None:
            self._attributed_to = None
            self.by_cause: dict = {}

        @staticmethod
        def _count(into, col):
            for v in col.to_pylist():
                into[v] = into.get(v, 0) + 1

    subs = [(pa.table({"ts": pa.array([1, 2], pa.int64()).cast(TS), "cause": ["a", "b"]}), np.array([True, False])),
            (pa.table({"ts": pa.array([2, 3], pa.int64()).cast(TS), "cause": ["b", "a"]}), np.array([True, True]))]
    fold = Fold()
    fold_attribution.attributed_in_order(fold, subs, Attribution())
    assert seen == [4] and fold.by_cause == {"a": 2, "b": 1} and fold._attributed_to == 3
    # a later block stamped before the last attributed stamp: block by block
    fold_attribution.attributed_in_order(fold, subs[:1] + subs[:1], Attribution())
    assert seen == [4, 2, 2] and fold.by_cause == {"a": 4, "b": 1}
