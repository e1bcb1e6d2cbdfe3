"""RowsFold's runs of stream batches held as one piece (r24-rfold, :meth:`analyzer.report.fold.RowsFold._hold`):
the rows kept equal those of the batches held one by one and of plain pandas batches, whatever
order the batches of one or several inputs come in, with texts blanked, nulls, empty masks and
columns of no value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.fold import RowsFold, _Batch
from analyzer.schema import to_pandas

_COLUMNS = ["ts", "event", "host", "reply_text", "sender", "line_no", "delay"]
_WORDS = st.sampled_from([None, "a", "b", "é@x", "", "long text " * 3])


@st.composite
def _batches(draw: st.DrawFn) -> list[tuple[pa.Table, int, int, np.ndarray, np.ndarray]]:
    out = []
    inputs = draw(st.integers(1, 3))
    for index in range(inputs):
        first = 0
        for _ in range(draw(st.integers(0, 4))):
            n = draw(st.integers(0, 40))

            def words(n: int = n) -> pa.Array:
                return pa.array(draw(st.lists(_WORDS, min_size=n, max_size=n)), pa.string())

            table = pa.table({
                "ts": pa.array(np.arange(first, first + n) * 10**6, pa.timestamp("us", tz="UTC")),
                "event": words(), "host": words(), "reply_text": words(), "sender": words(),
                "line_no": pa.array(draw(st.lists(st.one_of(st.none(), st.integers(-(1 << 40), 1 << 40)),
                                                  min_size=n, max_size=n)), pa.int64()),
                "delay": pa.nulls(n, pa.float64()),
            })
            mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
            blank = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
            out.append((table, index, first, mask, blank))
            first += n
    return draw(st.permutations(out))


def _fold(batches: list, hold: int, stream: bool) -> pd.DataFrame:
    fold = RowsFold(_COLUMNS, few_values=["event", "host"], categorical=["event"], blank_columns=["reply_text"],
                    texts=["reply_text", "sender"], order_column="o")
    fold.HOLD_ROWS = hold
    for table, index, first, mask, blank in batches:
        batch = _Batch.of(table, to_pandas(table)) if stream else to_pandas(table)
        batch.attrs.update(input=index, first_row=first)
        fold.add(batch, mask, blank)
    return fold.result()


@settings(max_examples=150, deadline=None)
@given(batches=_batches())
def test_held_runs_equal_batch_by_batch_and_plain_batches(batches) -> None:
    held = _fold(batches, 1 << 30, True)
    pd.testing.assert_frame_equal(held, _fold(batches, 0, True))
    pd.testing.assert_frame_equal(held, _fold(batches, 1 << 30, False))
    assert np.all(np.diff(held["o"].to_numpy()) > 0)


def test_a_run_is_held_as_one_piece_and_waits_until_enough_rows() -> None:
    fold = RowsFold(["ts", "event"], few_values=["event"], categorical=["event"], order_column="o")
    fold.HOLD_ROWS = 25
    for at in range(0, 60, 10):
        t = pa.table({"ts": pa.array(np.arange(at, at + 10) * 10**6, pa.timestamp("us", tz="UTC")),
                      "event": pa.array(["x", "y"] * 5)})
        batch = _Batch.of(t, to_pandas(t))
        batch.attrs.update(input=0, first_row=at)
        fold.add(batch)
    assert [p[2].num_rows for p in fold._pieces] == [30, 30] and fold.held_rows() == 60
    out = fold.result()
    assert out["o"].tolist() == list(range(60)) and out["event"].tolist() == ["x", "y"] * 30
