"""The weekly's folded seconds' counts (``n``, ``closed``) held as narrow as each day's fit: the
same values back through the week's table and the readers that sum them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies.aggregates import Bulk
from analyzer.weekly.events import _compact, _concat_compact, _count_type
from tests.test_weekly_fold import _folded_day


@pytest.mark.parametrize(("values", "want"), [
    ([0, 1, 126, 127], np.int8), ([-128, 5], np.int8), ([0, 128], np.int16), ([-129], np.int16),
    ([32767], np.int16), ([32768], np.int32), ([1 << 30], np.int32), ([], np.int8),
])
def test_count_type_is_the_narrowest_that_holds_them(values, want):
    v = np.array(values, dtype=np.int64)
    typ = _count_type(v)
    assert typ is want
    assert np.array_equal(v.astype(typ).astype(np.int64), v)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), tops=st.lists(st.sampled_from([3, 200, 40_000, 3_000_000]), min_size=1,
                                                      max_size=4))
def test_the_weeks_counts_are_the_days_whatever_their_width(seed, tops):
    """Days whose counts fit a byte, two or four: the week's table holds each row's counts as the
    days gave them (in ``last_order``), and what the detectors sum of them is the same."""
    rng = np.random.default_rng(seed)
    days = []
    compact = []
    for d, top in enumerate(tops):
        t, pairs = _folded_day(rng, d, int(rng.integers(1, 300)))
        t["n"] = rng.integers(1, top + 1, len(t))
        t["closed"] = rng.integers(0, top + 1, len(t))
        days.append(t)
        compact.append(_compact(t, pairs))
        assert compact[-1]["n"].dtype == _count_type(t["n"].to_numpy())
    got = _concat_compact(compact)
    want = pd.concat(days, ignore_index=True)
    want = want.iloc[np.argsort(want["last_order"].to_numpy(), kind="stable")].reset_index(drop=True)
    for c in ("n", "closed"):
        assert got[c].to_numpy().astype(np.int64).tolist() == want[c].tolist()
    assert len(Bulk(got)) == int(want["n"].sum())
    assert int(got["closed"].sum()) == int(want["closed"].sum())
