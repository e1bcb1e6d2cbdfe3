"""RowsFold's narrow holding (r18-rmem): texts as each batch's distinct values and an index per row,
columns without a value in a batch not held, int64 columns int32 while they fit, each row's place
as its number in the batch; the result is the table the plain holding gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.report.fold import RowsFold
from analyzer.report.rows_packed import Packed, unpack, unpack_codes
from analyzer.report.rows_table import table_of
from analyzer.schema import to_pandas

COLUMNS = ["ts", "text", "addr", "few", "line", "delay", "none"]


def _day(n: int, seed: int) -> pd.DataFrame:
    """A table of Arrow-backed columns: texts that repeat, nulls, a column without a value in long
    runs of rows, line numbers beyond int32 in the last rows, a column of Python None only."""
    rng = np.random.default_rng(seed)
    texts = np.array([f"550 5.1.1 <u{i}@example.test>: Recipient address rejected" for i in range(40)], dtype=object)
    text = texts[rng.integers(0, 40, n)]
    text[rng.random(n) < 0.2] = None
    addr = np.array([f"192.0.2.{i}" for i in range(7)], dtype=object)[rng.integers(0, 7, n)]
    addr[: n // 3] = None  # the first batches have none
    few = np.array(["RCPT", "DATA", None], dtype=object)[rng.integers(0, 3, n)]
    line = np.arange(n, dtype=np.int64) + 1
    line[-3:] = [1 << 33, 1 << 34, 5]
    delay = np.where(rng.random(n) < 0.1, rng.random(n) * 100, np.nan)
    delay[n // 2:] = np.nan  # no value in the second half
    table = pa.table({"ts": pa.array(np.arange(n, dtype="int64") * 1_000_000_000, pa.timestamp("us", tz="UTC")),
                      "text": pa.array(text, pa.string(), from_pandas=True),
                      "addr": pa.array(addr, pa.string(), from_pandas=True),
                      "few": pa.array(few, pa.string(), from_pandas=True).dictionary_encode(),
                      "line": pa.array(line), "delay": pa.array(delay, from_pandas=True),
                      "none": pa.nulls(n, pa.string())})
    return to_pandas(table)


def _feed(fold: RowsFold, day: pd.DataFrame, size: int, keep: np.ndarray, blank: np.ndarray) -> None:
    for first in range(0, len(day), size):
        batch = day.iloc[first:first + size]
        batch.attrs.update(input=0, first_row=first)
        fold.add(batch, keep[first:first + size], blank=blank[first:first + size])


def _plain(day: pd.DataFrame, keep: np.ndarray, blank: np.ndarray) -> pd.DataFrame:
    """The rows kept as they are, the blanked texts null, each with its place."""
    rows = day[COLUMNS].copy()
    rows.loc[blank, "text"] = None
    rows["o"] = np.arange(len(day), dtype=np.int64)
    return rows[keep].reset_index(drop=True)


@pytest.mark.parametrize(("size", "seed"), [(7, 1), (50, 2), (333, 3), (1000, 4)])
def test_the_narrow_holding_gives_the_rows_back(size: int, seed: int) -> None:
    day = _day(1000, seed)
    rng = np.random.default_rng(seed + 10)
    keep = rng.random(len(day)) < 0.6
    blank = rng.random(len(day)) < 0.3
    fold = RowsFold(COLUMNS, few_values=["few"], order_column="o", blank_columns=["text"], texts=["text", "addr"])
    _feed(fold, day, size, keep, blank)
    got = fold.result().reset_index(drop=True)
    want = _plain(day, keep, blank)
    assert list(got.columns) == [*COLUMNS, "o"]
    for c in COLUMNS:
        assert got[c].tolist() == want[c].tolist() or got[c].isna().equals(want[c].isna()), c
        assert got[c].isna().tolist() == want[c].isna().tolist(), c
        assert got[c].dropna().tolist() == want[c].dropna().tolist(), c
    assert str(got["text"].dtype) == str(got["addr"].dtype) == str(got["few"].dtype) == "string[pyarrow]"
    assert str(got["line"].dtype) == "int64[pyarrow]" and str(got["delay"].dtype) == "double[pyarrow]"
    assert str(got["none"].dtype) == "string[pyarrow]"
    assert got["o"].to_numpy().tolist() == want["o"].tolist()
    assert got["line"].iloc[-1] == want["line"].iloc[-1]


def test_what_is_held_is_narrow(monkeypatch) -> None:
    monkeypatch.setattr(RowsFold, "PACK_FROM", 0)  # (every piece packed from the first)
    day = _day(2000, 5)
    keep = np.ones(len(day), dtype=bool)
    blank = np.zeros(len(day), dtype=bool)
    fold = RowsFold(COLUMNS, few_values=["few"], order_column="o", texts=["text", "addr"])
    _feed(fold, day, 500, keep, blank)
    first, last = fold._pieces[0], fold._pieces[-1]
    (t_first, t_last), rel = (table_of(p[2]) for p in (first, last)), unpack_codes(first[5][1])  # (packed: .rows_table)
    # texts: an index of one byte a row (40 distinct texts) and the batch's distinct values, not the texts
    idx, values = unpack(first[4]["text"])  # (held packed: analyzer.report.rows_packed)
    assert idx.dtype == np.int8 and len(values) <= 40
    assert unpack(first[4]["addr"])[1] is None  # no address in the first batch: no values held
    assert "delay" in t_first.column_names and "delay" not in t_last.column_names
    assert "none" not in t_first.column_names  # a column of no value is not held
    assert t_first.schema.field("line").type == pa.int32()  # the line numbers fit
    assert t_last.schema.field("line").type == pa.int64()  # 2**33 does not
    assert rel.dtype == np.uint16  # each row's number in its batch
    plain = pa.Table.from_pandas(day[["text"]].iloc[:500], preserve_index=False).nbytes
    assert idx.nbytes + values.nbytes < plain / 4
    held = first[4]["text"]
    assert isinstance(held, Packed) and held.nbytes < idx.nbytes + values.nbytes


def test_a_column_of_none_alone_stays_of_no_type() -> None:
    """A table's column of Python None (Arrow's null type) comes back as the plain holding gave it."""
    day = pd.DataFrame({"a": np.arange(10), "t": [None] * 10})
    fold = RowsFold(["a", "t"], texts=["t"])
    for first in range(0, 10, 4):
        batch = day.iloc[first:first + 4]
        batch.attrs.update(input=0, first_row=first)
        fold.add(batch)
    got = fold.result()
    plain = RowsFold(["a", "t"])
    for first in range(0, 10, 4):
        batch = day.iloc[first:first + 4]
        batch.attrs.update(input=0, first_row=first)
        plain.add(batch)
    want = plain.result()
    assert got.dtypes.astype(str).tolist() == want.dtypes.astype(str).tolist()
    assert got["a"].tolist() == want["a"].tolist() and got["t"].isna().all()
