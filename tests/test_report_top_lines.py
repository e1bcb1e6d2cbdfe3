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
from analyzer.report.top import TOP, _clients, _top_lines
from tests.test_report_top_clients import _column, _reference, rows


@settings(max_examples=150, deadline=None)
@given(rows, st.sampled_from(["arrow", "categorical", "object"]), st.sampled_from(["arrow", "object"]),
       st.sampled_from([1, 3, 7, 1 << 16]))
def test_clients_in_slices_equal_the_loop_per_client(data, cause_kind: str, ip_kind: str, piece: int) -> None:
    cols = list(zip(*data, strict=True)) if data else [[] for _ in range(5)]
    ev = pd.DataFrame({"event": _column(list(cols[0]), "categorical"),
                       "client_ip": _column(list(cols[1]), ip_kind),
                       "client_host": _column(list(cols[2]), "arrow"),
                       "cause": _column(list(cols[3]), cause_kind),
                       "sasl_username": _column(list(cols[4]), "arrow")})
    rejects = ev["event"].astype(object).eq("reject").to_numpy(dtype=bool)
    ev = ev[~(rejects & ev["cause"].isna().to_numpy(dtype=bool))].reset_index(drop=True)
    got_full: dict[str, int] = {}
    want_full: dict[str, int] = {}
    with mock.patch.object(top, "KEY_SLICE", piece):
        got = _clients(ev, got_full)
    assert got == _reference(ev, want_full)
    assert got_full == want_full


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
