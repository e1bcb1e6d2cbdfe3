"""The report's folds' state held narrower (r27-r10m, #12): the SentFold's top-table codes held
as the narrowest integers that fit and given back as the int32 codes they were; the native
Bulk's sums held narrow (native/src/bulkfold.rs `Slim`, its own cargo tests) give the table
the Python fold gives, whatever the counts and times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analyzer.report import ReportWindow
from analyzer.report.sent_fold import SentFold, _narrow_codes, is_foldable_sent

from .report_folds import classified_day


@given(st.lists(st.integers(-1, 1 << 31 - 1) | st.integers(-1, 200) | st.integers(-1, 40000), max_size=50))
@settings(max_examples=200, deadline=None)
@example([125]).via("the last int8 width")
@example([126]).via("the first int16 width")
@example([32765]).via("the last int16 width")
@example([32766]).via("the first int32 width")
@example([])
def test_narrow_codes_keep_their_values(values):
    codes = np.array(values, dtype=np.int32)
    got = _narrow_codes(codes)
    assert got.tolist() == codes.tolist()
    n = max(values) + 1 if values else 0  # (fold._narrow's rule: n codes 0 .. n-1 and -1; n < 127 fits int8)
    assert got.dtype.itemsize == (1 if n < 127 else 2 if n < 32767 else 4)


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return classified_day(tmp_path_factory, "postfix", lines=6000, seed=5, incidents=[])


def test_the_top_codes_come_back_int32_and_equal_in_any_batches(day):
    ev = day.events[is_foldable_sent(day.events)]
    assert len(ev) > 300
    d = ev["ts"].min().floor("D")
    window = ReportWindow(d, d + pd.Timedelta(days=1))

    def folded(step: int) -> dict:
        f = SentFold(window)
        for at in range(0, len(ev), step):
            part = ev.iloc[at:at + step]
            f.add(part, np.ones(len(part), dtype=bool))
        return f.result()[1]["top"]

    whole, pieces = folded(len(ev)), folded(37)
    for k in ("domain", "relay_host", "sender"):
        assert whole[k].dtype == np.int32 and pieces[k].dtype == np.int32
        assert whole[k].tolist() == pieces[k].tolist()
    for k in ("qid", "h", "q"):
        assert whole[k].tolist() == pieces[k].tolist()
    assert whole["domain"].max() >= 0 and whole["relay_host"].max() >= 0  # (Postfix's sent lines name no sender)


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 50)), min_size=1, max_size=80), st.integers(1, 9))
@settings(max_examples=200, deadline=None)
def test_timeline_counts_a_slice_at_a_time_as_at_once(rows, step):
    from analyzer.report import timeline

    which = np.array([p for p, _ in rows], dtype=np.intp)
    weights = np.array([w for _, w in rows], dtype=np.float64)
    flags = weights % 2 == 1
    want_flags = np.bincount(which[flags], minlength=7).astype(np.int64)
    want_sums = np.bincount(which, weights=weights, minlength=7).astype(np.int64)
    old = timeline._SLICE
    try:
        timeline._SLICE = step
        for m, want in ((flags, want_flags), (flags.astype(object), want_flags), (weights, want_sums),
                        (weights.astype(np.int64), want_sums)):
            got = timeline._count(which, m, 7)
            assert got.dtype == np.int64 and got.tolist() == want.tolist()
    finally:
        timeline._SLICE = old
