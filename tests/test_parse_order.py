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
    """A few rows of one table among many of the other: joined without a take; many runs: a take
    (the native core's interleave turned off here: it is tested below)."""
    monkeypatch.setattr(order, "interleaved", lambda a, b, pos: None)
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


_TYPES = [pa.string(), pa.bool_(), pa.int16(), pa.int32(), pa.int64(), pa.float64(), pa.timestamp("us", tz="UTC")]


def _typed(lines: list[int], seed: int, cut: int) -> pa.Table:
    """A table of every column type the native interleave copies, with nulls, its arrays sliced
    ``cut`` rows in (non-zero offsets into their buffers)."""
    rng = np.random.default_rng(seed)
    n = len(lines) + cut
    cols = {"line_no": pa.array([0] * cut + lines, pa.int64())}
    for k, t in enumerate(_TYPES):
        vals = rng.integers(0, 1000, n)
        nulls = rng.random(n) < 0.3
        if t == pa.string():
            py = [None if z else "x" * int(v % 7) + str(v) for v, z in zip(vals, nulls, strict=True)]
        elif t == pa.bool_():
            py = [None if z else bool(v % 2) for v, z in zip(vals, nulls, strict=True)]
        else:
            py = [None if z else int(v) for v, z in zip(vals, nulls, strict=True)]
        arr = pa.array(py, t if not pa.types.is_timestamp(t) else pa.int64())
        cols[f"c{k}"] = (arr.cast(t) if pa.types.is_timestamp(t) else arr)
    return pa.table(cols).slice(cut)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 80), min_size=1), st.lists(st.integers(0, 80), min_size=1),
       st.integers(0, 2**31), st.integers(0, 9), st.integers(0, 9))
def test_native_interleave_is_a_stable_sort(slow, fast, seed, cut_a, cut_b):
    """The native core's interleave gives the rows of a stable sort of both tables, for every
    column type it copies, sliced arrays and nulls included."""
    from analyzer import native

    slow, fast = sorted(slow), sorted(fast)
    a, b = _typed(slow, seed, cut_a), _typed(fast, seed + 1, cut_b)
    la, lb = np.array(slow), np.array(fast)
    pos = np.searchsorted(lb, la, side="left") + np.arange(len(la))
    got = order.interleaved(a, b, pos)
    if native.engine() != "native":
        assert got is None
        return
    want = _sorted_by_take(a, b)
    assert got.equals(want)
    got.validate(full=True)


def test_native_interleave_is_used_for_many_runs(monkeypatch):
    """Many runs of the two tables: the native interleave puts them together, not a take."""
    from analyzer import native

    if native.engine() != "native":
        return
    takes = []
    real = order.by_take
    monkeypatch.setattr(order, "by_take", lambda a, b: takes.append(1) or real(a, b))
    a, b = _typed(list(range(0, 400, 2)), 1, 3), _typed(list(range(1, 400, 2)), 2, 0)
    got = order.in_line_order(a, b)
    assert takes == [] and got.column("line_no").to_pylist() == list(range(400))
    assert got.equals(_sorted_by_take(a, b))
