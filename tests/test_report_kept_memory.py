"""The kept rows' memory at the report's end (r22-kept): a text column of the rows made in place
from its pieces equals the pieces' dictionaries decoded; the units of a :class:`RowsAt` hashed
over its table's whole columns equal those of its rows copied out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.fold import _decoded_column, _text_column
from analyzer.report.rows_at import RowsAt
from analyzer.report.units import message_units
from analyzer.schema import to_pandas

_TEXTS = st.text(alphabet=st.sampled_from("ab<é@.x 5"), max_size=6)


@st.composite
def _pieces(draw: st.DrawFn, typ: pa.DataType) -> list[tuple[np.ndarray, pa.Array | None]]:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        n = draw(st.integers(0, 9))
        values = draw(st.lists(_TEXTS, max_size=5, unique=True))
        if not values:
            parts.append((np.full(n, -1, dtype=np.int8), None))
            continue
        arr = pa.array(["", *values] if draw(st.booleans()) else values, pa.string())
        if len(arr) > len(values):  # a slice of a larger array: its offsets do not start at 0
            arr = arr.slice(1)
        if typ == pa.binary():
            arr = arr.cast(pa.binary())
        elif draw(st.booleans()):
            arr = arr.cast(typ)
        idx = np.array([draw(st.integers(-1, len(values) - 1)) for _ in range(n)],
                       dtype=draw(st.sampled_from([np.int8, np.int16, np.int32])))
        parts.append((idx, arr))
    return parts


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string(), pa.binary()])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_text_column_made_in_place_is_its_pieces_decoded(typ: pa.DataType, data: st.DataObject) -> None:
    parts = data.draw(_pieces(typ))
    want = _decoded_column(list(parts), typ)
    got = _text_column(list(parts), typ)
    got.validate(full=True)
    assert got.type == want.type
    assert got.equals(want)
    assert got.null_count == want.null_count


def test_a_text_column_of_no_value_and_of_another_type() -> None:
    assert _text_column([(np.full(3, -1, dtype=np.int8), None)], None).equals(pa.nulls(3))
    parts = [(np.array([1, -1, 0], dtype=np.int8), pa.array([7, 9]))]  # not strings: decoded as before
    assert _text_column(list(parts), pa.int64()).equals(pa.array([9, None, 7]))
    empty = _text_column([(np.full(2, -1, dtype=np.int8), None)], pa.string())
    assert empty.equals(pa.array([None, None], pa.string()))


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def pick(values: tuple, nulls: float) -> list:
        return [None if rng.random() < nulls else values[int(i)] for i in rng.integers(0, len(values), n)]

    table = pa.table({
        "queue_id": pa.array(pick(("Q1", "Q2", "Q3", "4F2A"), 0.3), pa.string()),
        "recipient": pa.array(pick(("a@x.example", "b@y.example", "", "c@x.example"), 0.3), pa.string()),
        "direction": pa.array(pick(("inbound", "outbound", "local"), 0.2), pa.string()),
        "event": pa.array(pick(("reject", "delivery", "reject_warning"), 0.1), pa.string()),
    })
    return to_pandas(table)


@pytest.mark.parametrize("engine", ["native", "python"])
@pytest.mark.parametrize(("seed", "share"), [(1, 0.9), (2, 0.5), (3, 0.2), (4, 1.0), (5, 0.0)])
def test_the_units_of_rows_at_are_those_of_the_rows_taken(seed: int, share: float, engine: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    table = _rows(seed, 400)
    mask = np.random.default_rng(seed + 7).random(len(table)) < share
    at = RowsAt(table, mask, table.columns)
    want = message_units(table[mask].reset_index(drop=True))
    got = message_units(at)
    for name in ("kind", "h", "q"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    got.h[:1] = 0  # (writable: the callers mark units in place)


@pytest.mark.parametrize("typ", [pa.float64(), pa.int64(), pa.int32(), pa.int8(), pa.timestamp("us", tz="UTC"),
                                 pa.duration("s"), pa.date32(), pa.string(), pa.bool_(), pa.null()])
@pytest.mark.parametrize("n", [0, 1, 9, 1000])
def test_an_all_null_column_is_arrows_nulls(typ: pa.DataType, n: int) -> None:
    from analyzer.report.fold import _nulls

    got = _nulls(n, typ)
    got.validate(full=True)
    assert got.type == typ
    assert got.null_count == n
    assert got.equals(pa.nulls(n, typ))
    assert to_pandas(pa.table({"c": got}))["c"].isna().all()
