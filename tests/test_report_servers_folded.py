"""analyzer.report.servers over the lines folded apart from the rows (a Bulk's table): the
counts per server of one server and of several, and the line numbers looked up in any dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.report.servers import _folded_per_server, _isin_numbers


class _Bulk:
    """What _folded_per_server reads of a Bulk: its table and its received and delivered lines."""

    def __init__(self, table: pd.DataFrame, received: list[int], delivered: list[int]) -> None:
        self.table, self._r, self._d = table, np.array(received, np.int64), np.array(delivered, np.int64)

    def received(self) -> np.ndarray:
        return self._r

    def delivered(self) -> np.ndarray:
        return self._d


def _bulk(hosts: list[str | None], sources: list[str]) -> _Bulk:
    n = len(hosts)
    table = pd.DataFrame({"host": pd.array(hosts, dtype=object), "source": pd.array(sources, dtype=object),
                          "n": np.arange(1, n + 1) * 10, "sessions": np.arange(n) % 3})
    return _Bulk(table, [i % 2 for i in range(n)], [i % 4 for i in range(n)])


def test_one_server_sums_its_columns():
    got = _folded_per_server(_bulk([None] * 5, ["/var/log/exim4/mainlog"] * 3 + ["/var/log/exim4/mainlog.1"] * 2))
    assert got == {"exim4": (150, 4, 2, 0 + 1 + 2 + 3 + 0)}
    assert all(type(v) is int for v in got["exim4"])


def test_several_servers_counted_apart():
    got = _folded_per_server(_bulk(["mx1", "mx2", "mx1", None, "mx2"], ["/l/a/mail.log"] * 3 + ["/l/b/mainlog"] * 2))
    assert list(got) == ["b", "mx1", "mx2"]  # (sorted; the hostless line named by its folder)
    assert got["mx1"] == (10 + 30, 0 + 2, 0 + 0, 0 + 2)
    assert got["mx2"] == (20 + 50, 1 + 1, 1 + 0, 1 + 0)
    assert got["b"] == (40, 0, 1, 3)


@pytest.mark.parametrize("values", [
    pd.Series([1.0, np.nan, 3.0, 7.0, 2.0]),
    pd.Series([1, 5, 3, 7, 2], dtype=np.int64),
    pd.Series([1, None, 3, 7, 2], dtype="Int64"),
    pd.Series([1, None, 3, 7, 2], dtype="int64[pyarrow]"),
    pd.Series([1, None, 3, "7", 2], dtype=object),
])
def test_line_numbers_looked_up_as_pandas_does(values):
    for wanted in ({3, 7}, {4}, set(), {1, 2, 3, 5, 7}):
        got = _isin_numbers(values, wanted)
        assert got.dtype == bool
        assert got.tolist() == values.isin(wanted).fillna(False).to_numpy(dtype=bool).tolist()
