"""attribution.scatter: the values written at rows, as pc.replace_with_mask would write them."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.attribution import scatter

WORDS = st.one_of(st.none(), st.sampled_from(["queue.retry_wait", "mailbox.full", "", "é\u202e"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, max_size=40), st.data())
def test_scatter_is_replace_with_mask(values, data):
    arr = pa.array(values, pa.string())
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    new = pa.array(data.draw(st.lists(WORDS, min_size=int(mask.sum()), max_size=int(mask.sum()))), pa.string())
    want = pc.replace_with_mask(arr, pa.array(mask, pa.bool_()), new) if mask.any() else arr
    at = np.flatnonzero(mask)
    shuffled = data.draw(st.permutations(list(at)))  # the rows in any order: values go in row order
    got = scatter(arr, np.array(shuffled, dtype=np.int64), new)
    assert isinstance(got, pa.Array) and got.equals(want)
    cut = data.draw(st.integers(0, len(values)))
    chunked = pa.chunked_array([arr.slice(0, cut), arr.slice(cut)], pa.string())
    got = scatter(chunked, at, new)
    assert isinstance(got, pa.ChunkedArray) and got.combine_chunks().equals(want)


def test_scatter_casts_values_and_keeps_an_untouched_array():
    arr = pa.array(["a", None, "c"], pa.string())
    assert scatter(arr, np.array([], np.int64), pa.array([], pa.string())) is arr
    got = scatter(arr, np.array([1]), pa.array(["b"], pa.large_string()))
    assert got.type == pa.string() and got.to_pylist() == ["a", "b", "c"]
