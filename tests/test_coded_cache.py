"""The masks' cached codes (analyzer.anomalies.arrow_columns.distinct_codes) do not keep a batch alive."""

from __future__ import annotations

import gc

import numpy as np
import pyarrow as pa

from analyzer.anomalies.arrow_columns import _CODED, distinct_codes

_FREED: list[bool] = []


class _Owner:
    """Stands for a stream batch's mapping: what an Arrow buffer made over it keeps alive."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def __del__(self) -> None:
        _FREED.append(True)


def _column() -> pa.ChunkedArray:
    """A string column whose buffers belong to an _Owner (as a mapped block's do)."""
    plain = pa.array(["a", "b", None, "a"] * 8, pa.string())
    offsets, data = plain.buffers()[1], plain.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8).copy()
    owner = _Owner(raw)
    foreign = pa.foreign_buffer(raw.ctypes.data, len(raw), base=owner)
    arr = pa.Array.from_buffers(pa.string(), len(plain), [plain.buffers()[0], offsets, foreign])
    return pa.chunked_array([arr])


def test_codes_are_cached_while_the_column_lives_and_freed_with_it():
    _FREED.clear()
    col = _column()
    values, codes = distinct_codes(col)
    again = distinct_codes(col)
    assert again[0] is values and again[1] is codes  # the same column: its codes are not made again
    assert sorted(values.tolist()) == ["a", "b"] and int((codes == len(values)).sum()) == 8  # 8 nulls
    before = len(_CODED.entries)
    del col, again
    gc.collect()
    assert _FREED == [True]  # the cache did not keep the column's memory (a batch's mapping)
    assert len(_CODED.entries) == before - 1  # and its entry went with it
    fresh = _column()
    assert distinct_codes(fresh)[1].tolist() == codes.tolist()  # a new column (maybe at the old id) is coded anew
