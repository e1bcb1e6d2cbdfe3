"""The Bulk's table holds its line counts as int32 (r35-r10ex: 16 of a row's 104 bytes through the
report's end), in both engines and in an empty table; they count the folded lines exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.anomalies.aggregates import _COUNTS, Bulk, BulkFold


def _batch(seconds: list[int], events: list[str], quits: list[bool]) -> pd.DataFrame:
    n = len(seconds)
    b = pd.DataFrame({
        "ts": pd.to_datetime(np.array(seconds, dtype=np.int64) * 1_000_000_000, utc=True),
        "event": events, "direction": "inbound", "program": "postfix/smtpd", "source": "a.log", "host": "h",
        "reply_class": None, "line_no": np.arange(n), "quit": quits})
    b.attrs.update(input=0, first_row=0)
    return b


def _folds() -> list[BulkFold]:
    python = BulkFold()
    python._native = None
    folds = [python]
    if native.engine() == "native" and native._built("BulkFold") is not None:
        folds.append(BulkFold())
    return folds


def test_an_empty_table_has_the_narrow_counts():
    t = Bulk.empty().table
    assert all(t[c].dtype == np.int32 for c in _COUNTS)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["connect", "disconnect", "tls"]), st.booleans()),
                min_size=1, max_size=60))
def test_the_counts_are_int32_and_count_every_line(lines):
    secs, events, quits = (list(x) for x in zip(*lines, strict=True))
    batch = _batch(secs, events, quits)
    for fold in _folds():
        fold.add(batch, np.ones(len(batch), dtype=bool))
        t = fold.result().table
        assert all(t[c].dtype == np.int32 for c in _COUNTS)
        assert int(t["n"].sum()) == len(lines)
        assert int(t["sessions"].sum()) == events.count("connect")
        assert int(t["closed"].sum()) == sum(e == "disconnect" and q for e, q in zip(events, quits, strict=True))
        assert int(t["unclosed"].sum()) == sum(e == "disconnect" and not q for e, q in zip(events, quits, strict=True))


@pytest.mark.parametrize("n", [1, 2])
def test_one_second_many_lines_sum_as_int64(n):
    """The per-key counts are narrow; their sums (every reader's) are not."""
    batch = _batch([7] * (1000 * n), ["tls"] * (1000 * n), [False] * (1000 * n))
    fold = _folds()[-1]
    fold.add(batch, np.ones(len(batch), dtype=bool))
    bulk = fold.result()
    assert len(bulk) == 1000 * n and isinstance(len(bulk), int)
    assert bulk.table["n"].to_numpy(dtype=np.int64).sum() == 1000 * n
