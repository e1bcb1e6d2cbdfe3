"""The folded report (the stream's rows kept compactly, bulk lines per second, section folds)
equals the report of the whole event table in memory, whatever the batch cuts and the number of
parsing processes: batches of 1, 7, 333 and 1999 lines, and one or two workers cutting the files
into small byte blocks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.pipeline import EventStream
from analyzer.reader import parse_logs
from analyzer.report.run import collect_report_events, make_report
from analyzer.sources import expand_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


@pytest.fixture(scope="module")
def whole() -> dict:
    return make_report(parse_logs([str(SAMPLES)], tz="UTC", year=2026), now=NOW, generated_at=NOW)


def _folded(**kw) -> dict:
    stream = EventStream(expand_inputs([str(SAMPLES)]), tz="UTC", year=2026, **kw)
    return make_report(collect_report_events(stream), now=NOW, generated_at=NOW)


@pytest.mark.parametrize("batch_lines", [1, 7, 333, 1999])
def test_folded_report_equals_the_table_report_at_any_cut(whole, batch_lines):
    folded = _folded(batch_lines=batch_lines, workers=1)
    assert folded == whole
    assert whole["lines"]["read"] > 1999  # every cut falls inside the run, not after it


@pytest.mark.parametrize("workers", [1, 2])
def test_folded_report_equals_the_table_report_with_one_or_two_workers(whole, workers):
    assert _folded(workers=workers, block_bytes=8192) == whole


def test_folded_rows_hold_few_value_columns_as_categories():
    """The kept rows' few-value columns are Categoricals with sorted categories (so that
    groupby and mode order them as strings); the report reads them as the table's strings."""
    res = collect_report_events(EventStream(expand_inputs([str(SAMPLES / "postfix")]), tz="UTC", year=2026,
                                            batch_lines=50, workers=1))
    ev = res.events
    assert isinstance(ev["cause"].dtype, pd.CategoricalDtype)
    cats = list(ev["cause"].cat.categories)
    assert cats == sorted(cats)
    assert isinstance(ev["smtp_stage"].dtype, pd.CategoricalDtype)  # the session ends fill it in as objects
    assert not isinstance(ev["queue_id"].dtype, pd.CategoricalDtype)  # many values: kept as strings
