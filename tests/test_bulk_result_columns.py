"""The native Bulk's result handed to Python a column at a time (analyzer/anomalies/bulk_native.py
``_column``): each Rust column dropped from the result's list once taken, the copied columns the
table's own (writable) arrays, the codes read in place; the whole result equal to the Python fold's
(tests/test_bulk_native.py) over many keys and seconds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer import native
from analyzer.anomalies.aggregates import BulkFold
from analyzer.anomalies.bulk_native import _column

from .test_bulk_native import _same


def test_a_column_taken_is_dropped_from_the_list_and_copied_unless_only_read():
    data = np.arange(6, dtype=np.int64)
    bufs = [data.tobytes(), np.array([3, 4], dtype=np.int32).tobytes(), None]
    copied = _column(bufs, 0, np.int64, False)
    assert bufs[0] is None
    assert copied.flags.writeable and copied.tolist() == data.tolist()
    copied[0] = 9  # (its own array: the bytes it came from are gone)
    in_place = _column(bufs, 1, np.int32, True)
    assert bufs[1] is None
    assert not in_place.flags.writeable and in_place.tolist() == [3, 4]


@pytest.mark.skipif(native.engine() != "native" or native._built("BulkFold") is None,
                    reason="the native engine is not built")
def test_the_native_table_of_many_keys_is_the_python_one():
    rng = np.random.default_rng(5)
    n = 3000
    ts = pd.to_datetime(rng.integers(0, 4000, n) * 1_000_000_000 + rng.integers(0, 10**9, n), utc=True)
    batch = pd.DataFrame({
        "ts": ts, "event": rng.choice(["connect", "disconnect", "received", "tls"], n),
        "direction": rng.choice(["inbound", "outbound"], n), "program": "postfix/smtpd",
        "source": rng.choice(["a.log", "b.log"], n), "host": rng.choice([f"h{i}" for i in range(9)], n),
        "reply_class": rng.choice(["2xx", "4xx", None], n), "line_no": np.arange(n), "quit": rng.random(n) < 0.5})
    python, rust = BulkFold(), BulkFold()
    python._native = None
    assert rust._native is not None
    for lo in range(0, n, 700):
        part = batch.iloc[lo:lo + 700].reset_index(drop=True)
        part.attrs.update(input=0, first_row=lo)
        mask = np.ones(len(part), dtype=bool)
        python.add(part, mask)
        rust.add(part, mask)
    a, b = python.result(), rust.result()
    assert len(b.table) > 1000
    _same(a, b)
