"""analyzer.schema.to_pandas: the frame pyarrow's conversion gives, made without it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal

from analyzer.schema import CLASS_SCHEMA, SCHEMA, empty_table, to_pandas


def _pyarrows(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _same(table: pa.Table) -> pd.DataFrame:
    got, want = to_pandas(table), _pyarrows(table)
    assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.columns.dtype == want.columns.dtype and list(got.columns) == list(want.columns)
    assert type(got.index) is type(want.index) and got.index.equals(want.index)
    return got


def _events(n: int) -> pa.Table:
    """Rows of the event schema and the classification's, every third value null, two chunks."""
    cols = []
    for f in (*SCHEMA, *CLASS_SCHEMA):
        if pa.types.is_timestamp(f.type):
            values = [None if i % 3 == 0 else dt.datetime(2026, 11, 28, 1, 2, i % 60, tzinfo=dt.UTC) for i in range(n)]
        elif pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            values = [None if i % 3 == 0 else f"{f.name}-{i % 5}" for i in range(n)]
        elif pa.types.is_boolean(f.type):
            values = [None if i % 3 == 0 else i % 2 == 0 for i in range(n)]
        elif pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
            values = [None if i % 3 == 0 else i % 7 for i in range(n)]
        else:
            values = [None] * n
        cols.append(pa.array(values, f.type))
    schema = pa.schema([*SCHEMA, *CLASS_SCHEMA])
    table = pa.Table.from_arrays(cols, schema=schema)
    return pa.concat_tables([table.slice(0, n // 2), table.slice(n // 2)])


@pytest.mark.parametrize("n", [0, 1, 10])
def test_event_tables_as_pyarrow_converts_them(n):
    got = _same(_events(n))
    assert len(got) == n and got.shape[1] == len(SCHEMA) + len(CLASS_SCHEMA)
    assert all(isinstance(t, pd.ArrowDtype) for t in got.dtypes)


def test_an_empty_event_table_and_a_slice():
    _same(empty_table())
    got = _same(_events(10).slice(3, 4))
    assert list(got.index) == [0, 1, 2, 3]  # (not the slice's rows 3-6)


def test_dictionary_and_odd_columns():
    words = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0], pa.int32()), pa.array(["a", "b"]))
    _same(pa.table({"w": words, "n": pa.nulls(4), "big": pa.array(["x", None, "y", "z"], pa.large_string()),
                    "t": pa.array([1, 2, 3, None], pa.timestamp("ns"))}))


def test_tables_that_need_pyarrows_conversion_still_get_it():
    # pandas' metadata (an index kept in the table): the index comes back
    frame = pd.DataFrame({"a": [1, 2, 3]}, index=pd.Index([7, 8, 9], name="at"))
    got = _same(pa.Table.from_pandas(frame))
    assert list(got.index) == [7, 8, 9] and got.index.name == "at"
    # a name twice: both columns, as pyarrow gives them
    twice = pa.Table.from_arrays([pa.array([1, 2]), pa.array(["x", "y"])], names=["a", "a"])
    assert to_pandas(twice).shape == (2, 2)
    _same(twice)
    # no columns: the rows' index still
    assert len(_same(pa.table({"a": [1, 2, 3]}).select([]))) == 3
