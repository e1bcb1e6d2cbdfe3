"""The summary's classification calls (FastSummaryFold: the first after FIRST_GROUPS groups, each
next limit doubled up to GROUPS) answer alike however the blocks are grouped into calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import class_cache, fast_summary
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sinks import SummaryFold
from analyzer.sources import expand_inputs
from analyzer.summary import summarise_fold
from bench.generate_logs import generate


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    """A Postfix day with a deferral storm: retry-waits attributed across blocks and calls."""
    out = tmp_path_factory.mktemp("schedule") / "postfix.log"
    generate("postfix", 4000, seed=11, out=str(out), start="2026-12-03T00:00:00", hours=20, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    assert out.stat().st_size > 20 * 8192  # many blocks of 8 KiB
    return out


def _summary(path: Path, monkeypatch, first: int, groups: int, held_rows: int = 1 << 62, half_way: bool = False) -> tuple:
    """The summary, and the blocks of each classification call (the input's last blocks as the
    limits make them too: FastSummaryFold.LAST_BLOCKS off, tests/test_native_summary.py has it on)."""
    calls: list[int] = []
    real = class_cache.Classifier.classify_many

    def counted(self, tables, *a, **k):
        calls.append(len(tables))
        return real(self, tables, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(FastSummaryFold, "FIRST_GROUPS", first)
        m.setattr(FastSummaryFold, "GROUPS", groups)
        m.setattr(FastSummaryFold, "HELD_ROWS", held_rows)
        m.setattr(FastSummaryFold, "LAST_BLOCKS", 0)
        m.setattr(FastSummaryFold, "HALF_WAY", half_way)
        m.setattr(fast_summary, "waiting", lambda: 0)  # (no block made already joins a call)
        m.setattr(class_cache.Classifier, "classify_many", counted)
        fold = FastSummaryFold(StreamClassifier(default_rules()))
        stream = EventStream(expand_inputs([str(path)]), tz="UTC", year=2026, workers=1, block_bytes=8192,
                             classifier=fold.summariser, columns=(*SummaryFold.READS, *fold.summariser.reads))
        fold.fold(stream)
    return summarise_fold(fold, stream.counts, stream.files, stream.warnings), calls


def test_calls_grow_and_answers_do_not_depend_on_them(day, monkeypatch):
    one, one_calls = _summary(day, monkeypatch, 1 << 30, 1 << 30)
    each, each_calls = _summary(day, monkeypatch, 1, 1)
    grown, grown_calls = _summary(day, monkeypatch, 1, 1 << 30)
    assert len(each_calls) > 20 and set(each_calls) == {1}  # one call a block ...
    assert one_calls == [len(each_calls)]  # ... or one for all ...
    # ... or calls of more and more blocks: the limit (groups) doubles
    assert grown_calls[0] == 1 and max(grown_calls) >= 8 and 3 <= len(grown_calls) < len(each_calls) // 2
    assert sum(grown_calls) == len(each_calls)
    assert one.by_cause and one == each == grown


def test_calls_half_way_to_the_last_block(day, monkeypatch):
    """FastSummaryFold.HALF_WAY: with the blocks expected known, a call falls due half-way from
    the last call to the last block, whatever the limits: calls of half the blocks left each
    time, the last call the last block alone; the same summary as one call for all."""
    one, one_calls = _summary(day, monkeypatch, 1 << 30, 1 << 30)
    half, half_calls = _summary(day, monkeypatch, 1 << 30, 1 << 30, half_way=True)
    n = one_calls[0]
    assert n > 20 and sum(half_calls) == n
    assert half_calls[0] == (n + 1) // 2 and half_calls[-1] == 1
    left = n
    for got in half_calls:  # each call: half the blocks left (rounded up), the rest after it
        assert got == (left + 1) // 2
        left -= got
    assert one.by_cause and half == one


def test_held_rows_bound_a_call_whatever_its_groups(day, monkeypatch):
    """However few new groups the blocks bring, a call classifies once the held blocks reach
    HELD_ROWS event rows: what the fold holds is bounded by rows, not only by groups (a big day's
    blocks repeat their groups, and by groups alone one call held most of the day)."""
    one, one_calls = _summary(day, monkeypatch, 1 << 30, 1 << 30)
    capped, capped_calls = _summary(day, monkeypatch, 1 << 30, 1 << 30, held_rows=1)
    assert one_calls == [len(capped_calls)] and set(capped_calls) == {1}  # a call per block
    assert one.by_cause and capped == one


def test_classify_grouped_limit_doubles(monkeypatch):
    """The stream's classification calls (pipeline.classify_grouped): the first from
    CLASSIFY_FIRST_ROWS rows, each next limit doubled up to CLASSIFY_ROWS; every batch once, in order."""
    import pyarrow as pa

    from analyzer import pipeline
    from analyzer.parsers import LineCounts

    calls: list[list[int]] = []

    class Spy:
        def classify_many(self, tables, keys=None):
            calls.append([t.column("i")[0].as_py() for t in tables])
            return [t.append_column("seen", pa.array([True] * t.num_rows)) for t in tables]

    monkeypatch.setattr(pipeline, "CLASSIFY_FIRST_ROWS", 20)
    monkeypatch.setattr(pipeline, "CLASSIFY_ROWS", 80)
    batches = [pipeline.EventBatch(pa.table({"i": [i] * 10}), LineCounts(), "x") for i in range(30)]
    out = list(pipeline.classify_grouped(iter(batches), Spy()))
    assert [len(c) for c in calls] == [2, 4, 8, 8, 8]
    assert [b.table.column("i")[0].as_py() for b in out] == list(range(30))
    assert all(b.table.column("seen").to_pylist() == [True] * 10 for b in out)
    calls.clear()
    list(pipeline.classify_grouped(iter(batches[:5]), Spy(), rows=10))  # a caller's limit below the first
    assert [len(c) for c in calls] == [1] * 5


def test_classifier_made_at_the_first_block(day, monkeypatch):
    """FastSummaryFold given a function for its classifier (`parse FILE` with the shipped rules)
    calls it once, when the stream yields its first block (after a big input's workers forked),
    and sums up as with the classifier given."""
    made: list[int] = []
    blocks: list[int] = []
    real_open = FastSummaryFold._open

    def opened(self, table):
        blocks.append(len(made))
        return real_open(self, table)

    def make() -> StreamClassifier:
        made.append(len(blocks))
        return StreamClassifier(default_rules())

    monkeypatch.setattr(FastSummaryFold, "_open", opened)
    lazy = FastSummaryFold(make)
    assert made == []  # nothing loaded before the stream runs
    stream = EventStream(expand_inputs([str(day)]), tz="UTC", year=2026, workers=1, block_bytes=8192,
                         classifier=lazy.summariser, columns=(*SummaryFold.READS, *lazy.summariser.reads))
    lazy.fold(stream)
    assert made == [0] and len(blocks) > 20 and set(blocks) == {1}  # made once, before the first block's fold
    got = summarise_fold(lazy, stream.counts, stream.files, stream.warnings)
    monkeypatch.setattr(FastSummaryFold, "_open", real_open)
    expected, _ = _summary(day, monkeypatch, FastSummaryFold.FIRST_GROUPS, FastSummaryFold.GROUPS)
    assert got.by_cause and got == expected
