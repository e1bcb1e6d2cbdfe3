"""The weekly's narrow forms (:mod:`analyzer.anomalies.bulk_narrow`) read as the whole ones: the
folded seconds' times and order keys through a Bulk and the silence detector's last line, the
kept rows' order keys made again from their (host, source) rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.anomalies.aggregates import ORDER_COLUMN, Bulk
from analyzer.anomalies.bulk_narrow import PAIR_COLUMN, extreme_ns, narrow_times, order_columns, row_orders, widen_times
from analyzer.anomalies.health import _last_line
from analyzer.weekly.events import _Day, _pairs


def _table(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    from analyzer.anomalies.bulk_narrow import order_key

    sec = np.sort(rng.integers(1_795_000_000, 1_795_000_000 + 3 * 86_400, n))
    ts_min = sec * 10**9 + rng.integers(0, 10**9, n)
    ts_max = np.maximum(ts_min, sec * 10**9 + rng.integers(0, 10**9, n))
    pairs = rng.integers(0, 4, n)
    line = rng.integers(0, 1 << 23, n).astype(float)
    line[rng.random(n) < 0.2] = np.nan
    t = pd.DataFrame({"sec": sec, "source": pd.Categorical(np.array(["a.log", "b.log"])[rng.integers(0, 2, n)]),
                      "kind": pd.Categorical(np.array(["", "received"])[rng.integers(0, 2, n)]),
                      "n": rng.integers(1, 5, n).astype(np.int32), "closed": rng.integers(0, 2, n).astype(np.int32),
                      "ts_min": ts_min, "ts_max": ts_max,
                      "last_order": order_key(ts_max // 1000, pairs, np.nan_to_num(line, nan=0).astype(np.int64)),
                      "last_line": line})
    return t, pairs


@pytest.mark.parametrize("seed", range(4))
def test_a_narrow_bulk_reads_as_the_whole_one(seed):
    """first/last time, the times, the cuts and the silence detector's last line before a time
    are the same over the narrow table as over the whole one."""
    rng = np.random.default_rng(seed)
    whole, pairs = _table(rng, 400)
    narrow = narrow_times(whole, pairs)
    assert narrow is not None and "ts_min" not in narrow.columns and narrow["sec"].dtype == np.int32
    back = widen_times(narrow)
    for c in whole.columns:
        assert back[c].astype(object).equals(whole[c].astype(object)), c
    a, b = Bulk(whole), Bulk(narrow)
    assert a.first_ts() == b.first_ts() and a.last_ts() == b.last_ts()
    assert a.times().equals(b.times())
    some = rng.random(len(whole)) < 0.3
    for which, largest in (("ts_min", False), ("ts_max", True), ("ts_max", False)):
        want = whole[which].to_numpy()[some]
        want = int(want.max() if largest else want.min())
        assert extreme_ns(narrow, which, some, largest=largest) == want == extreme_ns(whole, which, some, largest=largest)
    since = pd.Timestamp(int(rng.integers(whole["ts_min"].min(), whole["ts_max"].max())), tz="UTC")
    ca, cb = a.cut(since, None), b.cut(since, None)
    assert len(ca.table) == len(cb.table) and ca.first_ts() == cb.first_ts()
    for _ in range(20):
        ta = pd.Timestamp(int(rng.integers(whole["ts_min"].min(), whole["ts_max"].max() + 10**9)), tz="UTC")
        rows = rng.random(len(whole)) < 0.7
        none = pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns, UTC]"), "source": [], "line_no": []})
        got, want = _last_line(none, narrow, rows, ta), _last_line(none, whole, rows, ta)
        assert got.astype(object).equals(want.astype(object))


def test_a_table_that_does_not_fit_is_not_narrowed():
    rng = np.random.default_rng(1)
    whole, pairs = _table(rng, 50)
    late = whole.assign(sec=whole["sec"] + (1 << 31))
    late = late.assign(ts_min=late["sec"] * 10**9, ts_max=late["sec"] * 10**9)
    assert narrow_times(late, pairs) is None
    assert narrow_times(whole.assign(last_line=whole["last_line"] + 0.5), pairs) is None
    assert widen_times(whole) is whole


def _rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    us = np.sort(rng.integers(1_795_000_000 * 10**6, 1_795_000_100 * 10**6, n))
    ts = pa.array(us, pa.timestamp("us", "UTC"))
    line = pa.array(rng.integers(0, 1 << 31, n), pa.int64(), mask=rng.random(n) < 0.1)
    host = pa.array(np.array(["mx1", "mx2", None], dtype=object)[rng.integers(0, 3, n)], pa.string())
    source = pa.array(np.array(["mail.log", "mail.warn"], dtype=object)[rng.integers(0, 2, n)], pa.string())
    return pd.DataFrame({"ts": pd.arrays.ArrowExtensionArray(ts), "host": pd.arrays.ArrowExtensionArray(host),
                         "source": pd.arrays.ArrowExtensionArray(source),
                         "line_no": pd.arrays.ArrowExtensionArray(line)})


@pytest.mark.parametrize("seed", range(4))
def test_the_rows_order_keys_come_back_from_their_rank(seed):
    """A kept row's order key made again from its (host, source) rank, time and line number is
    the key the day's fold gave it (times in microseconds, lines past the key's range, nulls)."""
    rng = np.random.default_rng(seed)
    rows = _rows(rng, 300)
    rank = {("mx1", "mail.log"): 0, ("mx1", "mail.warn"): 1, ("mx2", "mail.log"): 2}
    want = _Day(rank)._order(rows)
    narrow = rows.assign(**{PAIR_COLUMN: _pairs(rows["host"], rows["source"], rank).astype(np.int16)})
    assert order_columns(narrow) == [PAIR_COLUMN]
    assert (row_orders(narrow) == want).all()
    assert (row_orders(narrow.iloc[7:9]) == want[7:9]).all()
    whole = rows.assign(**{ORDER_COLUMN: want})
    assert order_columns(whole) == [ORDER_COLUMN] and (row_orders(whole) == want).all()
    assert row_orders(rows) is None and order_columns(rows) == []
