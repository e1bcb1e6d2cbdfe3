"""The report's end without its transients (r26-r10m): the folded tables' string columns taken in
Arrow (:func:`analyzer.report.sent_fold._named`) are the columns pandas made of Python strings;
the timeline's counts over float64 weights are the counts over int64 ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.sent_fold import _named
from analyzer.report.timeline import timeline

WORDS = st.lists(st.text(max_size=6), max_size=8, unique=True)


@settings(max_examples=200, deadline=None)
@given(WORDS, st.data())
def test_named_is_the_column_of_python_strings(words: list[str], data: st.DataObject) -> None:
    codes = np.array(data.draw(st.lists(st.integers(-1, len(words) - 1), max_size=30)), dtype=np.int32)
    old = pd.DataFrame({"c": np.append(np.array(words, dtype=object), None)[codes]})["c"]
    new = pd.DataFrame({"c": _named(pa.array(words, pa.large_string()), codes)})["c"]
    assert new.dtype == old.dtype
    pd.testing.assert_series_equal(new, old)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5 * 86400), st.booleans(), st.integers(0, 9)), min_size=1, max_size=50))
def test_timeline_counts_float_weights_as_int(rows: list[tuple[int, bool, int]]) -> None:
    ts = pd.Series(pd.to_datetime([r[0] for r in rows], unit="s", utc=True))
    mask = np.array([r[1] for r in rows])
    n = np.array([r[2] for r in rows], dtype=np.int64)
    a = timeline(ts, {"m": mask, "n": n}, iso=str)
    b = timeline(ts, {"m": mask, "n": n.astype(np.float64)}, iso=str)
    assert a == b
