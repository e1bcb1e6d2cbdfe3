"""The summary hands attribution the ends of messages (lines of event removed) only of the queue
ids it may use (analyzer.summary_rows._error_ids): the same summary as with every removed line
handed on (as before), and as the general path's, over blocks cut small, several classification
calls (the carry from one call to the next) and joined or block-by-block attribution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from analyzer import fast_summary, summary_rows
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sinks import SummaryFold
from analyzer.sources import expand_inputs
from analyzer.summary import summarise_fold
from bench.generate_logs import generate


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("summary-rows") / f"{request.param}.log"
    generate(request.param, 6000, seed=5, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h", "deferral_buildup@14h+4h"])
    return p


def _summary(path: Path, general: bool = False, block_bytes: int = 8192):
    clf = StreamClassifier(default_rules())
    fold = SummaryFold() if general else FastSummaryFold(clf)
    reads = clf if general else fold.summariser
    stream = EventStream(expand_inputs([str(path)]), tz="UTC", classifier=reads,
                         columns=(*SummaryFold.READS, *reads.reads), year=2026, workers=1, block_bytes=block_bytes)
    fold.fold(stream)
    return summarise_fold(fold, stream.counts, stream.files, stream.warnings)


def _every_removed_line(marked, carry) -> pa.Array:
    """Every queue id of the blocks: each removed line handed on (the summary before the filter)."""
    ids = pa.chunked_array([m.table.column("queue_id").cast(pa.string()) for m in marked], pa.string())
    return ids.combine_chunks().unique().drop_null()


def _spied(monkeypatch) -> tuple[list[int], list[dict | None]]:
    """The rows handed to attribution (a block each) and the errors it carries after each
    classification call (spied on)."""
    rows: list[int] = []
    carried: list[dict | None] = []
    taken, classified = summary_rows._taken, FastSummaryFold._classified

    def spy(m, ends):
        got = taken(m, ends)
        rows.append(got[0].num_rows)
        return got

    def after(self, held, attribution):
        classified(self, held, attribution)
        carried.append(None if attribution.carry is None else attribution.carry.to_pydict())

    monkeypatch.setattr(fast_summary, "_taken", spy)
    monkeypatch.setattr(FastSummaryFold, "_classified", after)
    return rows, carried


def _both(day, monkeypatch, error_ids, **kw):
    """(summary, rows handed, carries) with the filter, then with ``error_ids`` in its place."""
    rows, carried = _spied(monkeypatch)
    first = _summary(day, **kw), sum(rows), list(carried)
    rows.clear()
    carried.clear()
    with monkeypatch.context() as m:
        m.setattr(fast_summary, "_error_ids", error_ids)
        return first, (_summary(day, **kw), sum(rows), list(carried))


@pytest.mark.parametrize("calls", [{}, {"FIRST_GROUPS": 20, "GROUPS": 40, "LAST_BLOCKS": 3}])
@pytest.mark.parametrize("block_bytes", [8192, 50_000])
def test_ends_filtered_give_the_same_summary(day, monkeypatch, calls, block_bytes):
    for k, v in calls.items():
        monkeypatch.setattr(FastSummaryFold, k, v)
    (filtered, few, carried), (every, rows, carried_every) = _both(day, monkeypatch, _every_removed_line,
                                                                   block_bytes=block_bytes)
    assert few < rows  # the filter leaves removed lines out
    assert carried == carried_every  # attribution's state after each call: the same
    assert filtered == every == _summary(day, general=True)


@pytest.mark.parametrize("error_ids", [lambda marked, carry: summary_rows._error_ids(marked, None),
                                       lambda marked, carry: pa.array([], pa.string())], ids=["no-carry", "none"])
def test_the_ends_kept_are_needed(day, monkeypatch, error_ids):
    """Without the carried errors' ids (or with no end at all) attribution carries other errors
    than with every removed line: the test above can tell a filter that drops too much."""
    monkeypatch.setattr(FastSummaryFold, "FIRST_GROUPS", 20)
    monkeypatch.setattr(FastSummaryFold, "GROUPS", 40)
    monkeypatch.setattr(FastSummaryFold, "LAST_BLOCKS", 0)
    (_, _, carried), (_, _, wrong) = _both(day, monkeypatch, error_ids)
    assert carried != wrong


def test_error_ids_of_blocks_and_carry():
    """The ids of the marked errors (flags in line order, ``order`` the rows' places) and of the
    carry, each once, no null."""
    table = pa.table({"queue_id": pa.array(["A", "B", None, "C", "A"]), "gid": pa.array(np.zeros(5, np.uint32))})
    flags = np.array([summary_rows._ERROR, 0, summary_rows._ERROR, summary_rows._ERROR | 1, summary_rows._ERROR], np.uint8)
    m = summary_rows._Marked(table, table, None, table, np.zeros(5), np.array([4, 3, 2, 1, 0]), np.zeros(5), flags)
    carry = pa.table({"queue_id": pa.array(["Z", None, "A"])})
    assert sorted(summary_rows._error_ids([m], carry).to_pylist()) == ["A", "B", "Z"]
    assert sorted(summary_rows._error_ids([m], None).to_pylist()) == ["A", "B"]
    assert summary_rows._error_ids([], None).to_pylist() == []
