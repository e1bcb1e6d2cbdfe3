"""The native Bulk fold (analyzer/anomalies/bulk_native.py, native/src/bulkfold.rs) against the
Python one (its specification): the same Bulk (table, qids, senders and their categories) from
the same batches, as stream batches (their Arrow table and shared tests) and as plain tables,
with every option, masks of any lines, nulls anywhere, empty batches, batches without their
place in the input (equal row orders: the ties broken by key), the sample logs and generated days cut anywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.anomalies.aggregates import Bulk, BulkFold, _coded_strings, _shared_strings, counted_apart, is_bulk
from analyzer.classify import classify, default_rules
from analyzer.reader import parse_logs
from analyzer.report.fold import _Batch
from analyzer.schema import to_pandas

from .test_report_end_parts import _ROW, _table

pytestmark = pytest.mark.skipif(native.engine() != "native" or native._built("BulkFold") is None,
                                reason="the native engine is not built")

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
SPLIT = pd.Timestamp("2026-11-24T00:00:00.5", tz="UTC")
INCIDENTS = ["521_burst:acme.example@6h+1h", "silence@15h+1h", "deferral_buildup@18h+3h"]
OPTIONS = [{}, {"first_only": True, "split": SPLIT}, {"first_only": True},
           {"first_only": True, "split": SPLIT, "deferred_only": True, "looked_up_only": True},
           {"deferred_only": True}, {"looked_up_only": True}]


def _both(batches: list[tuple[pd.DataFrame, np.ndarray | None]], options: dict) -> tuple[Bulk, Bulk]:
    python, rust = BulkFold(**options), BulkFold(**options)
    python._native = None
    assert rust._native is not None
    for batch, m in batches:
        python.add(batch, m)
        rust.add(batch, m)
    return python.result(), rust.result()


def _same(a: Bulk, b: Bulk) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.qids, b.qids)
    pd.testing.assert_frame_equal(a.senders, b.senders)
    if isinstance(a.senders["sender"].dtype, pd.CategoricalDtype):
        assert a.senders["sender"].cat.categories.tolist() == b.senders["sender"].cat.categories.tolist()


def _plain(t: pa.Table) -> pd.DataFrame:
    frame = to_pandas(t)
    for c in frame.columns:  # (a plain table: its strings as objects, no Arrow table to read)
        if isinstance(frame[c].dtype, pd.ArrowDtype) and pa.types.is_string(frame[c].dtype.pyarrow_dtype):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


_MASKED = st.lists(st.tuples(_ROW, st.booleans()), min_size=0, max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(_MASKED, min_size=0, max_size=20), st.sampled_from(OPTIONS), st.booleans(), st.booleans())
def test_the_native_fold_gives_the_python_folds_bulk(parts, options, stream, placed):
    batches = []
    first = 0
    for rows in parts:
        t = _table([r for r, _ in rows])
        batch = _Batch.of(t, to_pandas(t)) if stream else _plain(t)
        if placed:  # (else every batch's rows from order 0: equal orders, ties broken by key)
            batch.attrs.update(input=1, first_row=first)
            first += len(rows)
        batches.append((batch, np.array([m for _, m in rows], dtype=bool)))
    python, rust = _both(batches, options)
    _same(python, rust)


@pytest.fixture(scope="module", params=["samples", "postfix", "exim"])
def events(request, tmp_path_factory) -> pd.DataFrame:
    """The sample logs, or a generated day (2,000 lines with incidents), classified."""
    path = SAMPLES
    if request.param != "samples":
        from bench.generate_logs import generate

        path = tmp_path_factory.mktemp("bulk") / "mail.log"
        generate(mta=request.param, lines=2000, seed=11, out=path, incidents=INCIDENTS)
    return classify(parse_logs([str(path)], tz="UTC", year=2026, workers=1).events, default_rules())


@pytest.mark.parametrize("size", [1, 7, 64, 1000])
@pytest.mark.parametrize("options", OPTIONS[:4])
def test_the_logs_fold_alike_cut_anywhere(size, options, events):
    batches = []
    for lo in range(0, len(events), size):
        batch = events.iloc[lo:lo + size].reset_index(drop=True)
        batch.attrs.update(input=0, first_row=lo)
        batches.append((batch, is_bulk(batch) | counted_apart(batch)))
    batches.append((events.iloc[:0], None))  # an empty batch
    python, rust = _both(batches, options)
    assert len(python) > 0
    _same(python, rust)


def test_a_table_without_the_folds_columns_folds_nothing_in_either():
    narrow = pd.DataFrame({"ts": pd.to_datetime([0, 1], utc=True), "event": ["connect", "delivery"]})
    python, rust = _both([(narrow, None), (narrow, np.zeros(2, dtype=bool))], {"deferred_only": True})
    _same(python, rust)
    assert len(rust) == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=1, max_size=6).map(lambda w: [None, *w]),
       st.lists(st.integers(0, 6), max_size=50))
def test_a_key_column_taken_from_its_checked_words_is_pandas_own(words, at):
    # table_of's strings (each word checked once, then taken) as pandas makes them of every row's value
    code = np.array([i % len(words) for i in at], dtype=np.int32)
    want = _shared_strings(np.array(words, dtype=object)[code])
    got = _coded_strings(words, code)
    pd.testing.assert_series_equal(pd.Series(got), pd.Series(want))
