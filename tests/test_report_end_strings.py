"""The report's end without its transients (r26-r10m): the folded tables' string columns taken in
Arrow (:func:`analyzer.report.sent_fold._named`) are the columns pandas made of Python strings;
the senders' look-up's sorted membership test (:func:`analyzer.report.top._member_test`) answers
as pandas' isin; the timeline's counts over float64 weights are the counts over int64 ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import top
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


U64 = st.integers(0, (1 << 64) - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(U64, max_size=40), st.lists(U64, max_size=40), st.data())
def test_sorted_membership_is_isin(wanted: list[int], other: list[int], data: st.DataObject) -> None:
    w = np.array(wanted, dtype=np.uint64)
    pool = wanted + other
    qids = np.array(data.draw(st.lists(st.sampled_from(pool), max_size=60)) if pool else [], dtype=np.uint64)
    want = pd.Series(qids).isin(w).to_numpy(dtype=bool)
    assert np.array_equal(top._member_test(w)(qids), want)
    old = top.SORTED_FROM, top._SLICE
    try:
        top.SORTED_FROM, top._SLICE = 0, 7  # the sorted test, searched in slices of 7
        assert np.array_equal(top._member_test(w)(qids), want)
    finally:
        top.SORTED_FROM, top._SLICE = old


def test_senders_by_sorted_ids_give_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample logs' report with the sorted look-up from the first wanted id on: the same."""
    from analyzer.reader import parse_logs
    from analyzer.report import make_report

    logs = str(Path(__file__).resolve().parent.parent / "sample_logs")
    now = pd.Timestamp("2026-12-01T06:00:00Z")
    want = make_report(parse_logs([logs], tz="UTC", year=2026), now=now, generated_at=now)
    monkeypatch.setattr(top, "SORTED_FROM", 0)
    monkeypatch.setattr(top, "_SLICE", 3)
    got = make_report(parse_logs([logs], tz="UTC", year=2026), now=now, generated_at=now)
    assert got == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5 * 86400), st.booleans(), st.integers(0, 9)), min_size=1, max_size=50))
def test_timeline_counts_float_weights_as_int(rows: list[tuple[int, bool, int]]) -> None:
    ts = pd.Series(pd.to_datetime([r[0] for r in rows], unit="s", utc=True))
    mask = np.array([r[1] for r in rows])
    n = np.array([r[2] for r in rows], dtype=np.int64)
    a = timeline(ts, {"m": mask, "n": n}, iso=str)
    b = timeline(ts, {"m": mask, "n": n.astype(np.float64)}, iso=str)
    assert a == b
