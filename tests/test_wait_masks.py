"""The stream's wait masks (classify_stream._wait_masks) worked out per group of rows
(class_cache.Answered.group_isin, taken to the rows once) equal those worked out row by row on
the classified table, on generated days, the sample logs and odd cuts of them (nulls, one row,
a column of one value)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.class_cache import Answered, Classifier, Groups, class_key
from analyzer.classify_stream import _wait_masks

from .test_stream_joined import days  # noqa: F401  (the fixture)


def _both(table: pa.Table) -> None:
    clf = Classifier(attributing=False)
    answered: list[Answered | None] = [None]
    done = clf.classify_many([table], [Groups.of(class_key(table))], answered)[0]
    assert answered[0] is not None
    grouped = _wait_masks(table, answered[0])
    rows = _wait_masks(done, None)
    for g, r in zip(grouped, rows, strict=True):
        assert g.dtype == bool and g.tolist() == r.tolist()
    # the per-group answers of a column asked twice come from one encoding (and stay right)
    again = answered[0].isin(table, "event", frozenset({"removed", "reject"}))
    assert again.tolist() == np.isin(np.asarray(done.column("event").to_pylist(), object), ["removed", "reject"]).tolist()


@pytest.mark.parametrize("name", ["exim", "postfix", "samples"])
def test_grouped_masks_equal_row_masks(days, name):  # noqa: F811
    table = days[name]
    _both(table)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_cuts(days, data):  # noqa: F811
    name = data.draw(st.sampled_from(["exim", "postfix", "samples"]))
    table = days[name]
    start = data.draw(st.integers(0, table.num_rows - 1))
    size = data.draw(st.integers(1, 400))
    _both(table.slice(start, size))
