"""analyzer.arrow_owned: a table's buffers copied into Arrow's pool, its values unchanged."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.arrow_owned import in_pool


def _addresses(table: pa.Table) -> set[int]:
    out = set()
    for col in table.columns:
        for chunk in col.chunks:
            arr = chunk.indices if pa.types.is_dictionary(chunk.type) else chunk
            out |= {b.address for b in arr.buffers() if b is not None and b.size}
    return out


@settings(max_examples=60, deadline=None)
@given(ints=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40),
       words=st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=40),
       split=st.integers(0, 40))
def test_values_schema_and_metadata_kept(ints: list[int], words: list[str | None], split: int) -> None:
    n = min(len(ints), len(words))
    nums = np.array(ints[:n], dtype=np.int64)
    strs = pa.array(words[:n], pa.string())
    k = min(split, n)
    t = pa.table({"n": pa.chunked_array([pa.array(nums[:k]), pa.array(nums[k:])], pa.int64()),  # two chunks
                  "s": strs,
                  "d": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array(["f"]))})
    t = t.replace_schema_metadata({b"k": b"v"})
    got = in_pool(t)
    assert got.equals(t, check_metadata=True)
    assert all(c.num_chunks == 1 for c in got.columns)


def test_buffers_are_new() -> None:
    nums = np.arange(1000, dtype=np.int64)  # numpy's memory, wrapped without a copy
    t = pa.table({"n": pa.array(nums), "s": pa.array([str(i) for i in range(1000)])})
    got = in_pool(t)
    assert got.equals(t)
    assert not _addresses(got) & _addresses(t)
    assert got.column("n").chunk(0).buffers()[1].address != nums.ctypes.data


def test_empty_table() -> None:
    t = pa.table({"n": pa.array([], pa.int64())})
    assert in_pool(t).equals(t)
