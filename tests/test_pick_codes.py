"""class_codes.pick: ``hit[codes]`` by comparisons or a take (the masks' and the waits' row tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.class_codes import pick


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), max_size=12), st.data(),
       st.sampled_from([np.int8, np.int16, np.int32, np.int64]))
def test_pick_equals_the_fancy_index(hit: list[bool], data: st.DataObject, dtype: type) -> None:
    hit_a = np.array(hit, dtype=bool)
    n = data.draw(st.integers(0, 60))
    codes = np.array(data.draw(st.lists(st.integers(0, max(len(hit) - 1, 0)), min_size=n, max_size=n)) if hit else [],
                     dtype=dtype)
    got = pick(hit_a, codes)
    assert got.dtype == bool and got.shape == codes.shape
    assert np.array_equal(got, hit_a[codes])
    got[:] = True  # a fresh writable array, not the hit table nor a view of it
    assert np.array_equal(hit_a, np.array(hit, dtype=bool))


@pytest.mark.parametrize("hits", [[], [0], [2], [0, 3], [1, 2, 4], [0, 1, 2, 3], [0, 1, 2, 3, 4, 5], [5]])
def test_pick_each_path(hits: list[int]) -> None:
    hit = np.zeros(6, dtype=bool)
    hit[hits] = True
    codes = np.random.default_rng(7).integers(0, 6, 1000).astype(np.int32)
    assert np.array_equal(pick(hit, codes), hit[codes])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=40), st.integers(0, 10), st.integers(0, 10),
       st.integers(1, 3))
def test_batch_nulls_from_the_validity_bits(values: list, lo: int, cut: int, chunks: int) -> None:
    """BatchTests' null test (validity bits unpacked) equals Arrow's is_null: slices at odd
    offsets, several chunks, all null, none null."""
    import pyarrow as pa

    from analyzer.anomalies.batch_tests import _nulls

    arr = pa.array(values, pa.string()).slice(min(lo, len(values)), max(len(values) - lo - cut, 0))
    for data in (arr, pa.chunked_array([arr] * chunks, pa.string())):
        want = data.is_null().to_numpy(zero_copy_only=False)
        got = _nulls(data)
        assert np.array_equal(got, want)
    assert np.array_equal(_nulls(pa.nulls(5, pa.string())), np.ones(5, bool))
