"""The clients' tables over their lines where they are (:func:`analyzer.report.top._top_lines`,
r34-r10end): each client a code of :func:`analyzer.report.top._key_codes`, read a few rows at a
time; the clients ranked as ``value_counts`` ranks them (most lines first, ties by first sight)
whatever the slices, against the row-by-row reference of tests/test_report_top_clients.py."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import top
from analyzer.report.top import TOP, _top_lines
from tests import test_report_top_clients as by_rows


@settings(max_examples=150, deadline=None)
@given(by_rows.rows, st.sampled_from(["arrow", "categorical", "object"]), st.sampled_from(["arrow", "object"]),
       st.sampled_from([1, 3, 7, 1 << 16]))
def test_clients_in_slices_equal_the_loop_per_client(data, cause_kind: str, ip_kind: str, piece: int) -> None:
    """tests/test_report_top_clients.py's comparison with the reference, the clients' lines read
    ``piece`` rows at a time."""
    with mock.patch.object(top, "KEY_SLICE", piece):
        by_rows.test_clients_equal_the_loop_per_client.hypothesis.inner_test(data, cause_kind, ip_kind)


def test_ties_by_first_sight_across_slices() -> None:
    """More clients than TOP, all as frequent: the first TOP seen win, whatever slices read them;
    their lines' positions and places point at their own lines."""
    ips = [f"10.0.0.{i}" for i in range(TOP + 5)]
    order = ips[::-1] + ips  # each twice; first sight in reverse order
    ev = pd.DataFrame({"event": pd.Categorical(["reject"] * len(order) + ["delivery"]),
                       "client_ip": pd.array([*order, "10.9.9.9"], dtype="string[pyarrow]")})
    for piece in (1, 4, 1 << 16):
        with mock.patch.object(top, "KEY_SLICE", piece):
            got, most, pos, at, n = _top_lines(ev, "reject")
        assert got == ips[::-1][:TOP]
        assert list(most) == [2] * TOP
        assert n == len(ips)
        assert [order[p] for p in pos] == [got[a] for a in at]
        assert len(pos) == 2 * TOP
    assert _top_lines(ev, "auth_failure") is None
    assert _top_lines(ev.iloc[:0], "reject") is None
    assert np.all(np.diff(pos) > 0)
