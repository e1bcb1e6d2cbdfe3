"""The week's kept rows' all-null columns rebuilt on never-written zeroed buffers
(:func:`analyzer.weekly.events._unresident_nulls`): the same values and types as the nulls they
replace; a column with any value is left as it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.weekly.events import _null_array, _unresident_nulls

TYPES = [pa.float64(), pa.int64(), pa.int32(), pa.bool_(), pa.string(), pa.large_string(), pa.binary(),
         pa.timestamp("us", tz="UTC"), pa.duration("ns")]


@pytest.mark.parametrize("typ", TYPES, ids=str)
@pytest.mark.parametrize("n", [1, 7, 8, 4096, 100_003])
def test_null_array_is_nulls(typ, n):
    arr = _null_array(typ, n)
    arr.validate(full=True)
    assert arr.type == typ and arr.null_count == n and arr.equals(pa.nulls(n, typ))
    s = pd.Series(pd.arrays.ArrowExtensionArray(arr))
    pd.testing.assert_series_equal(s, pd.Series(pd.arrays.ArrowExtensionArray(pa.nulls(n, typ))))


def test_only_all_null_arrow_columns_are_replaced():
    n = 10_000
    some = pa.array([None] * (n - 1) + [1.5], pa.float64())
    df = pd.DataFrame({
        "none": pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.float64())),
        "text": pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.string())),
        "some": pd.arrays.ArrowExtensionArray(some),
        "codes": pd.Categorical([None] * n, categories=["a"]),
        "plain": np.full(n, np.nan),
    })
    df.attrs["x"] = 1
    out = _unresident_nulls(df)
    pd.testing.assert_frame_equal(out, df)
    assert out.attrs == {"x": 1}
    def values(frame, c):  # the address of a column's values buffer
        return frame[c].array.__arrow_array__().chunk(0).buffers()[1].address

    assert values(out, "some") == values(df, "some") and values(out, "none") != values(df, "none")
    assert values(out, "text") != values(df, "text")
    assert out["codes"].array.codes.ctypes.data == df["codes"].array.codes.ctypes.data
    assert out["none"].isna().all() and out["none"].astype("float64").fillna(0.0).sum() == 0.0
