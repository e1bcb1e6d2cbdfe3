"""RowCodes.column: a classification column's strings laid out from its codes by the native core
(native/src/pclass_words.rs) equal Arrow's take of the words by code (the specification, and what
the Python engine runs): words with nulls, empty words and words outside ASCII, codes of every
word, none, all rows one word, rows picked; bad codes refused as the take refuses them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.class_codes import CLASS_NAMES, RowCodes, _laid_out

pytestmark = pytest.mark.skipif(not native.available() or not hasattr(native._module()[0], "words_by_code"),
                                reason="the native engine is not built (no cargo at install)")

WORDS = st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(WORDS, st.data())
def test_laid_out_equals_the_take(words, data):
    arr = pa.array(words, pa.string())
    codes = np.array(data.draw(st.lists(st.integers(0, len(words) - 1), max_size=300)), np.int32)
    lay = _laid_out(arr)
    assert lay is not None
    got = native.string_column(len(codes), lay(codes))
    got.validate(full=True)
    assert got.equals(arr.take(pa.array(codes)))


def test_bad_codes_are_refused():
    lay = _laid_out(pa.array([None, "a"], pa.string()))
    for bad in ([2], [-1]):
        with pytest.raises(ValueError):
            lay(np.array(bad, np.int32))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_row_codes_columns_as_the_python_engine(data):
    n = data.draw(st.integers(0, 200))
    words = [[None, *data.draw(st.lists(st.text(min_size=1, max_size=8), max_size=6, unique=True))] for _ in CLASS_NAMES]
    codes = np.array([[data.draw(st.integers(0, len(w) - 1)) for _ in range(n)] for w in words], np.int32).reshape(
        len(CLASS_NAMES), n)
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n))), np.int64) if n else None
    native_codes, python_codes = RowCodes(codes, words), RowCodes(codes, words)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(native.ENV, "python")
        want = python_codes.table()
        picked = None if rows is None else [python_codes.column(c, rows) for c in CLASS_NAMES]
    assert native_codes.table().equals(want)
    if rows is not None:
        assert all(native_codes.column(c, rows).equals(p) for c, p in zip(CLASS_NAMES, picked, strict=True))
