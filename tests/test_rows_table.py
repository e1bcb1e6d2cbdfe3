"""The kept rows' tables and places compressed while held (analyzer/report/rows_table.py): a
RowsFold's result with every piece's table and places packed equals that with none packed, and a
table comes back from its frame as it was (nulls, NaN, times, every width)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import rows_packed
from analyzer.report.fold import RowsFold
from analyzer.report.rows_table import PackedTable, pack_place, pack_table, place_of, table_of


def _fold(monkeypatch, pack_from: int) -> tuple[pd.DataFrame, list]:
    monkeypatch.setattr(RowsFold, "PACK_FROM", pack_from)
    monkeypatch.setattr(RowsFold, "HOLD_ROWS", 1)  # (a piece per batch)
    rng = np.random.default_rng(3)
    fold = RowsFold(["t", "ts", "delay", "line_no"], texts=["t"], order_column="o")
    for b in range(8):
        n = 600
        ts = pd.Timestamp("2026-11-23", tz="UTC").value // 1000 + np.sort(rng.integers(0, 10**9, n))
        delay = np.round(rng.exponential(2.0, n), 2)
        batch = pd.DataFrame({
            "t": pd.array([f"a{i % 13}@x" for i in rng.integers(0, 50, n)], dtype=pd.ArrowDtype(pa.string())),
            "ts": pd.array(pa.array(ts, pa.timestamp("us", tz="UTC"), mask=rng.random(n) < 0.05),
                           dtype=pd.ArrowDtype(pa.timestamp("us", tz="UTC"))),
            "delay": pd.array(pa.array(delay, mask=rng.random(n) < 0.3), dtype=pd.ArrowDtype(pa.float64())),
            "line_no": pd.array(b * n + np.arange(n), dtype=pd.ArrowDtype(pa.int64())),
        })
        batch.attrs.update(input=0, first_row=b * n)
        fold.add(batch, mask=rng.random(n) < 0.8)
    pieces = list(fold._pieces)
    return fold.result(), pieces


def test_rows_result_is_the_same_with_the_tables_and_places_packed(monkeypatch):
    (got, packed), (want, plain) = _fold(monkeypatch, 0), _fold(monkeypatch, 1 << 30)
    assert all(isinstance(p[2], PackedTable) for p in packed), "every piece's table packed"
    assert all(not isinstance(p[5][1], np.ndarray) for p in packed), "and its places"
    assert not any(isinstance(p[2], PackedTable) for p in plain)
    assert sum(p[2].nbytes for p in packed) < sum(p[2].nbytes for p in plain) / 2
    assert len(got) > 3000 and list(got.columns) == ["t", "ts", "delay", "line_no", "o"]
    pd.testing.assert_frame_equal(got, want)


def test_a_small_table_or_none_is_held_as_it_is(monkeypatch):
    t = pa.table({"n": pa.array([1, 2, 3])})
    assert pack_table(t) is t
    monkeypatch.setattr(rows_packed, "SMALL", 0)
    assert pack_table(pa.table({})) is not None
    assert pack_place(None) is None


_COLUMN = st.sampled_from(["i64", "i32", "f64", "ts", "s"])


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(_COLUMN, min_size=1, max_size=4), n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1))
def test_a_table_comes_back_as_it_was(kinds, n, seed):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rows_packed, "SMALL", 0)
        _round_trip(kinds, n, seed)


def _round_trip(kinds, n, seed):
    rng = np.random.default_rng(seed)
    nulls = rng.random(n) < 0.2
    make = {"i64": lambda: pa.array(rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64), mask=nulls),
            "i32": lambda: pa.array(rng.integers(0, 9, n, dtype=np.int32)),
            "f64": lambda: pa.array(np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)), mask=nulls),
            "ts": lambda: pa.array(rng.integers(0, 2**60, n), pa.timestamp("us", tz="UTC"), mask=nulls),
            "s": lambda: pa.array([None if m else str(v) for m, v in zip(nulls, rng.integers(0, 99, n), strict=True)])}
    t = pa.table({f"c{i}": make[k]() for i, k in enumerate(kinds)})
    held = pack_table(t)
    assert _bits(table_of(held)).equals(_bits(t))  # (NaN compared as its bits)
    rel = np.sort(rng.integers(0, 2**16, n)).astype(np.uint16)
    assert np.array_equal(place_of(pack_place((1000, rel))), 1000 + rel.astype(np.int64))


def _bits(t: pa.Table) -> pa.Table:
    return pa.table({n: c.combine_chunks().view(pa.int64()) if pa.types.is_floating(c.type) else c
                     for n, c in zip(t.column_names, t.columns, strict=True)})
