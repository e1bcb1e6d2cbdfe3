"""The batches a stream holds in flight (r31-r10str): the classification's groups bounded by bytes when
the classifier asks (``group_bytes``, the report's fold), and every batch let go of once it is handed on
(classify_grouped, run_ahead, the report CLI's first batch), not held until a group's last is taken."""

from __future__ import annotations

import gc
import weakref

import pyarrow as pa
import pytest

from analyzer import pipeline
from analyzer.ahead import run_ahead
from analyzer.parsers import LineCounts


class _Spy:
    """A classifier of many tables at once that records its calls (the first row's ``i`` of each)."""

    def __init__(self, group_bytes: int = 0) -> None:
        self.calls: list[list[int]] = []
        if group_bytes:
            self.group_bytes = group_bytes

    def classify_many(self, tables, keys=None):
        self.calls.append([t.column("i")[0].as_py() for t in tables])
        return [t.append_column("seen", pa.array([True] * t.num_rows)) for t in tables]


def _batch(i: int, rows: int = 10, width: int = 1) -> pipeline.EventBatch:
    return pipeline.EventBatch(pa.table({"i": pa.array([i] * rows, pa.int64()),
                                         "pad": pa.array([b"x" * width] * rows, pa.binary())}), LineCounts(), "x")


def _batches(n: int, rows: int = 10, width: int = 1) -> list[pipeline.EventBatch]:
    return [_batch(i, rows, width) for i in range(n)]


def _made(n: int):
    """Batches made one at a time (as a stream's: nothing upstream holds those handed on)."""
    for i in range(n):
        yield _batch(i)


def test_groups_bounded_by_bytes(monkeypatch):
    """With ``group_bytes``, a call takes the batches held once their tables reach that many bytes
    (before the rows' limit), every batch once, in order, each classified; without it the rows decide."""
    monkeypatch.setattr(pipeline, "CLASSIFY_FIRST_ROWS", 1000)
    monkeypatch.setattr(pipeline, "CLASSIFY_ROWS", 1000)
    batches = _batches(12, width=100)  # ~1.1 KB a batch
    one = batches[0].table.nbytes
    spy = _Spy(group_bytes=2 * one + 1)  # three batches reach it, two do not
    out = list(pipeline.classify_grouped(iter(batches), spy))
    assert [len(c) for c in spy.calls] == [3, 3, 3, 3]
    assert [b.table.column("i")[0].as_py() for b in out] == list(range(12))
    assert all(b.table.column("seen").to_pylist() == [True] * 10 for b in out)

    plain = _Spy()
    list(pipeline.classify_grouped(iter(_batches(12, width=100)), plain))
    assert [len(c) for c in plain.calls] == [12]  # 120 rows, under the rows' limit: one call at the end


def test_group_bytes_read_while_the_stream_runs(monkeypatch):
    """A consumer that sets ``group_bytes`` after the stream has started (the report's fold, at its
    first batch) bounds the groups from then on."""
    monkeypatch.setattr(pipeline, "CLASSIFY_FIRST_ROWS", 40)
    monkeypatch.setattr(pipeline, "CLASSIFY_ROWS", 40)
    spy = _Spy()
    got = pipeline.classify_grouped(iter(_batches(12)), spy)
    first = [next(got) for _ in range(4)]  # the first group: 40 rows
    spy.group_bytes = 1  # from now on a batch a call
    rest = list(got)
    assert [len(c) for c in spy.calls] == [4] + [1] * 8
    assert [b.table.column("i")[0].as_py() for b in first + rest] == list(range(12))


def test_a_group_lets_go_of_each_batch_it_handed_on(monkeypatch):
    """While a group's later batches wait to be taken, the earlier ones the consumer dropped are
    freed (before r31, the call's lists held all of the group's tables until its last was taken)."""
    monkeypatch.setattr(pipeline, "CLASSIFY_FIRST_ROWS", 50)
    monkeypatch.setattr(pipeline, "CLASSIFY_ROWS", 50)
    got = pipeline.classify_grouped(_made(5), _Spy())
    b = next(got)
    table, batch = weakref.ref(b.table), weakref.ref(b)
    del b
    second = next(got)  # the group's second taken: the first, dropped by the consumer, is gone
    gc.collect()
    assert table() is None and batch() is None
    assert second.table.column("i")[0].as_py() == 1
    assert len(list(got)) == 3


def test_run_ahead_holds_no_item_it_handed_on():
    """run_ahead's producer thread and its consumer side keep no reference to an item once handed
    on: an item the consumer dropped is freed while the next is still being made."""
    import threading

    made = threading.Event()
    go = threading.Event()

    class Item:
        pass

    def items():
        yield Item()
        made.set()
        go.wait(60)  # the next item is slow to come
        yield Item()

    got = run_ahead(items(), 2, "test-ahead")
    first = next(got)
    ref = weakref.ref(first)
    del first
    assert made.wait(5)  # the producer has handed the first on and waits for the second
    second: list[object] = []
    taker = threading.Thread(target=lambda: second.append(next(got)))
    taker.start()  # the consumer waits for the second
    try:
        for _ in range(200):  # (until the consumer's side has gone back to waiting; freed by its count)
            if ref() is None:
                break
            threading.Event().wait(0.01)
        assert ref() is None and not second
    finally:
        go.set()
        taker.join(5)
    assert isinstance(second[0], Item)
    with pytest.raises(StopIteration):
        next(got)


def test_the_report_cli_holds_not_the_first_batch():
    """The report's resumed stream (its first batch taken before the fold starts) lets the first
    batch go once it is handed on."""
    from analyzer.cli.report import _Resumed

    class Item:
        pass

    first = Item()
    ref = weakref.ref(first)
    it = iter(_Resumed(object(), first, iter([Item(), Item()])))
    del first
    got = next(it)
    assert got is ref()
    del got
    second = next(it)  # the rest under way: the first is gone
    gc.collect()
    assert ref() is None and isinstance(second, Item)
