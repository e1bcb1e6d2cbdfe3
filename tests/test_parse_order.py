"""analyzer.parsers.order: two tables of a batch in line order, by slices or by a take."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.parsers import order


def _sorted_by_take(table: pa.Table, fast: pa.Table) -> pa.Table:
    both = pa.concat_tables([table, fast])
    return both.take(pa.array(np.argsort(both.column("line_no").to_numpy(), kind="stable")))


def _table(lines: list[int], tag: str) -> pa.Table:
    return pa.table({"line_no": pa.array(lines, pa.int64()),
                     "text": pa.array([f"{tag}{i}" if i % 3 else None for i in range(len(lines))], pa.string()),
                     "n": pa.array(range(len(lines)), pa.int32())})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60)), st.lists(st.integers(0, 60), min_size=1), st.booleans(), st.integers(1, 70))
def test_same_rows_as_a_stable_sort(slow, fast, sort, max_runs):
    """Every split of lines between the two tables (sorted, unsorted, shared line numbers) gives
    the rows of a stable sort of both, whichever way is taken."""
    if sort:
        slow, fast = sorted(slow), sorted(fast)
    a, b = _table(slow, "s"), _table(fast, "f")
    old = order.MAX_RUNS
    order.MAX_RUNS = max_runs
    try:
        got = order.in_line_order(a, b)
    finally:
        order.MAX_RUNS = old
    want = _sorted_by_take(a, b)
    assert got.equals(want)
    assert got.column("line_no").num_chunks == 1


def test_few_runs_are_joined_as_slices(monkeypatch):
    """A few rows of one table among many of the other: joined without a take; many runs: a take."""
    fast = _table([i for i in range(1000) if i not in (5, 6, 700)], "f")
    slow = _table([5, 6, 700], "s")
    takes = []
    real = order.by_take
    monkeypatch.setattr(order, "by_take", lambda a, b: takes.append(1) or real(a, b))
    got = order.in_line_order(slow, fast)
    assert got.column("line_no").to_pylist() == list(range(1000)) and takes == []
    assert got.column("text").to_pylist()[5:7] == [None, "s1"] and got.column("text").to_pylist()[700] == "s2"
    many = _table(list(range(0, 1000, 2)), "s")
    got = order.in_line_order(many, _table(list(range(1, 1000, 2)), "f"))
    assert got.column("line_no").to_pylist() == list(range(1000)) and takes == [1]
