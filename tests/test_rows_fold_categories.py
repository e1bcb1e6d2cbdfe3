"""RowsFold's Categorical columns: the values as they came in, whatever the pieces, their order
and how many values a column has (the codes made a column at a time, the categories made again
from the values seen once those are let go of)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.fold import RowsFold

_WORDS = st.one_of(st.none(), st.text(alphabet="abcé@.-", min_size=0, max_size=6))


def _batch(values: list, nums: list[int], first_row: int) -> pd.DataFrame:
    df = pd.DataFrame({"k": pd.array(values, dtype="string[pyarrow]"),
                       "n": pd.array(nums, dtype="int64[pyarrow]")})
    df.attrs.update({"input": 0, "first_row": first_row})
    return df


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(_WORDS, min_size=1, max_size=40), min_size=1, max_size=6),
       reverse=st.booleans(), pack_from=st.sampled_from([0, 1 << 30]))
def test_categorical_values_as_they_came_in(batches, reverse, pack_from):
    fold = RowsFold(["k", "n"], few_values=["k"], categorical=["k"])
    fold.PACK_FROM = pack_from  # (0: every piece packed; else every piece held as it is)
    frames, at = [], 0
    for values in batches:
        frames.append(_batch(values, list(range(at, at + len(values))), at))
        at += len(values)
    for df in (frames[::-1] if reverse else frames):  # (out of order: the result puts them back)
        fold.add(df)
    out = fold.result()
    want = pd.concat(frames, ignore_index=True)
    assert isinstance(out["k"].dtype, pd.CategoricalDtype)
    cats = list(out["k"].cat.categories)
    assert cats == sorted({v for b in batches for v in b if v is not None})
    assert all(type(c) is str for c in cats)
    got = out["k"].astype(object).where(out["k"].notna(), None).tolist()
    assert got == [None if pd.isna(v) else v for v in want["k"].astype(object)]
    assert out["n"].tolist() == want["n"].tolist()


@pytest.mark.parametrize("distinct", [3, 126, 127, 300, 40_000])
def test_values_right_at_the_code_widths_edges(distinct):
    """Category counts either side of int8's and int16's ranges: each row's value and the categories right
    (the codes' width is pandas' own choice in ``from_codes``, so it is not what is tested here)."""
    rng = np.random.default_rng(distinct)
    words = np.array([f"w{i:05d}" for i in range(distinct)], dtype=object)
    fold = RowsFold(["k", "n"], few_values=["k"], categorical=["k"])
    frames, at = [], 0
    for size in (distinct, 1000, 5):
        values = list(words[rng.integers(0, distinct, size)]) if size != distinct else list(words[::-1])
        values[0] = None
        frames.append(_batch(values, list(range(at, at + size)), at))
        at += size
        fold.add(frames[-1])
    out = fold.result()
    want = pd.concat(frames, ignore_index=True)["k"]
    assert list(out["k"].cat.categories) == sorted(set(want.dropna()))
    assert out["k"].astype(object).where(out["k"].notna(), None).tolist() == \
        [None if pd.isna(v) else v for v in want.astype(object)]


def test_the_fold_reads_again_after_its_result():
    """The values seen are let go of at the result: a fold given rows again codes them afresh."""
    fold = RowsFold(["k", "n"], few_values=["k"], categorical=["k"])
    fold.add(_batch(["b", "a", None], [0, 1, 2], 0))
    first = fold.result()
    assert list(first["k"].cat.categories) == ["a", "b"]
    fold.add(_batch(["c", "b"], [3, 4], 3))
    again = fold.result()
    assert list(again["k"].cat.categories) == ["b", "c"]
    assert again["k"].astype(object).tolist() == ["c", "b"]
