"""analyzer.anomalies.arrow_columns: a batch's columns as Arrow arrays, whatever their pandas dtype,
and BulkFold (which reads them so) folding the same table alike in every dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.anomalies.aggregates import BulkFold, fold_masks, qid_hash
from analyzer.anomalies.arrow_columns import as_arrow, eq_arrow, flags, hash_arrow, taken
from analyzer.classify import classify, default_rules
from analyzer.reader import parse_logs
from analyzer.report.fold import fold_frame

VALUES = ["a", None, "b", "a", None, "c"]


@pytest.mark.parametrize("series", [
    pd.Series(VALUES, dtype=pd.ArrowDtype(pa.string())),
    pd.Series(VALUES, dtype=object),
    pd.Series(VALUES, dtype="category"),
    pd.Series(VALUES, dtype="string[pyarrow]"),
])
def test_a_column_in_any_dtype_gives_the_same_arrow_strings(series):
    arr = as_arrow(series)
    assert arr.to_pylist() == VALUES
    assert eq_arrow(arr, "a").tolist() == [True, False, False, True, False, False]  # null: False
    assert eq_arrow(arr, ("b", "c")).tolist() == [False, False, True, False, False, True]
    assert (hash_arrow(arr) == qid_hash(pd.Series(VALUES, dtype=object))).all()


def test_a_chunked_column_and_taken_rows():
    s = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([["x", None], ["y", "x"]])))
    assert as_arrow(s).to_pylist() == ["x", None, "y", "x"]
    df = pd.DataFrame({"s": s, "n": pd.Series([1, 2, 3, 4], dtype=pd.ArrowDtype(pa.int64()))})
    got = taken(df, ("s", "n", "missing"), np.array([True, False, False, True]))
    assert set(got) == {"s", "n"} and got["s"].to_pylist() == ["x", "x"] and got["n"].to_pylist() == [1, 4]


def test_flags_read_null_as_false():
    assert flags(pa.array([True, None, False])).tolist() == [True, False, False]
    assert flags(as_arrow(pd.Series([True, None, False], dtype=object))).tolist() == [True, False, False]


def test_bulk_fold_is_the_same_over_arrow_and_numpy_columns():
    """The stream's batches hold Arrow-backed columns, a table given to make_report may hold
    objects and Categoricals: the Bulk is the same."""
    import tempfile
    from pathlib import Path

    from bench.generate_logs import generate

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mail.log"
        generate(mta="postfix", lines=2000, seed=3, out=path)
        table = classify(parse_logs([str(path)], year=2026, tz="UTC", workers=1).events, default_rules())
    plain = table.copy()
    for c in plain.columns:
        if isinstance(plain[c].dtype, pd.ArrowDtype) and pa.types.is_string(plain[c].dtype.pyarrow_dtype):
            plain[c] = plain[c].astype(object).where(plain[c].notna(), None)
    for c in ("host", "program", "event"):
        plain[c] = plain[c].astype("category")

    def folded(t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        f = BulkFold()

        class Both:  # the bulk and the counted-apart lines (queued ones name senders), as the report folds
            def add(self, batch: pd.DataFrame) -> None:
                m, apart = fold_masks(batch)
                f.add(batch, m | apart)

        fold_frame(t, [Both()], rows=300)
        b = f.result()
        return b.table, b.qids, b.senders

    arrow, numpy = folded(table), folded(plain)
    assert len(arrow[0]) and len(arrow[1]) and len(arrow[2])
    for x, y in zip(arrow, numpy, strict=True):
        pd.testing.assert_frame_equal(x, y)


def test_eq_through_cached_codes_equals_the_kernel_and_is_not_fooled_by_a_new_column():
    """A batch's column compared through its cached dictionary codes answers as Arrow's equal/is_in
    (null as False), again and again; a new column (even of the same length) is coded anew, and a
    column over the size limit is compared directly and not held."""
    import pyarrow.compute as pc

    from analyzer.anomalies import arrow_columns, bulk_masks

    def frame(values):
        return pd.DataFrame({"c": pd.array(values, dtype=pd.ArrowDtype(pa.string()))})

    def kernel(s, value):
        data = s.array._pa_array
        hit = pc.equal(data, value) if isinstance(value, str) else \
            pc.is_in(data, value_set=pa.array(list(value), type=pa.string()))
        return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)

    one = frame(["a", None, "b", "a", "c", None])
    other = frame(["b", "b", None, "a", "x", "a"])
    for value in ("a", ("a", "c"), "zz", ("b",), ("zz", None)):
        for df in (one, other, one):
            got = bulk_masks._eq(df["c"], value) if value != ("zz", None) else bulk_masks._eq(df["c"], ("zz",))
            want = kernel(df["c"], value if value != ("zz", None) else ("zz",))
            assert got.dtype == bool and got.tolist() == want.tolist()
            got[:] = True  # the caller's to change: the cache is not
    assert bulk_masks._eq(one["c"], "a").tolist() == [True, False, False, True, False, False]
    big = frame(["a", "b"] * (bulk_masks._CODED_ROWS // 2 + 1))
    held = len(arrow_columns._CODED.entries)
    assert bulk_masks._eq(big["c"], "b").sum() == bulk_masks._CODED_ROWS // 2 + 1
    assert len(arrow_columns._CODED.entries) == held
