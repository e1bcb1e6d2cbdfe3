"""The closure over each batch's links (analyzer.narrow_links) is the closure over one sorted set
of them (analyzer.narrow._closure), whatever the links and however they are split into batches."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.narrow import _closure
from analyzer.narrow_links import LinkRuns, closure
from analyzer.narrow_sets import _Sorted

# few distinct keys, so that chains, cycles and repeated links are common
_key = st.integers(min_value=1, max_value=40)
_batch = st.lists(st.tuples(_key, _key), max_size=12)


def _pairs(batch: list[tuple[int, int]]) -> np.ndarray:
    return np.array(batch, dtype=np.uint64).reshape(-1, 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(_batch, max_size=8), st.lists(_key, max_size=5))
def test_closure_over_batches_equals_closure_over_the_set(batches, start):
    runs, merged = LinkRuns(), _Sorted(2)
    for b in batches:
        runs.add(_pairs(b))
        merged.add(_pairs(b))
    keys = np.array(start, dtype=np.uint64)
    got = closure(keys, runs)
    want = _closure(np.unique(keys), merged.take())
    assert got.dtype == np.uint64
    assert got.tolist() == want.tolist()


def test_a_chain_across_batches_is_followed_both_ways():
    runs = LinkRuns()
    runs.add(_pairs([(1, 2)]))
    runs.add(_pairs([(3, 2), (9, 8)]))
    runs.add(_pairs([(3, 4), (3, 4)]))
    assert len(runs) == 4  # (3, 4) once: a batch's links are distinct
    assert closure(np.array([4], np.uint64), runs).tolist() == [1, 2, 3, 4]
    assert closure(np.array([8], np.uint64), runs).tolist() == [8, 9]
    assert closure(np.array([5], np.uint64), runs).tolist() == [5]
    assert closure(np.array([], np.uint64), runs).tolist() == []
    assert closure(np.array([7, 7], np.uint64), LinkRuns()).tolist() == [7]
