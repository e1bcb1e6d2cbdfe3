"""The report's fold of quiet logins (analyzer.anomalies.folded.LoginFold, grouped with numpy since
r21-nends) gives the table pandas' group-by of its keys gave: per (hour step, side of the window
limits, client) the first and last time, sorted so, lines without a client left out; on made-up
batches with null times and clients, Arrow-backed and object columns, empty batches, more batches
than a compaction holds, with and without window limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import folded as fo
from analyzer.anomalies.aggregates import _seconds_ns, _values

DAY = pd.Timestamp("2026-11-23T00:00:00Z")
CLIENTS = [None, "10.0.0.1", "10.0.0.2", "2001:db8::1", "192.0.2.55", "é.example"]


def reference(batches: list[pd.DataFrame], since: Any, until: Any) -> pd.DataFrame | None:
    """The fold as pandas' group-by made it (r12-rmem to r20)."""
    limits = [pd.Timestamp(t).value for t in (since, until) if t is not None]
    parts = []
    for rows in batches:
        if not len(rows):
            continue
        sec, ns = _seconds_ns(rows["ts"])
        side = np.zeros(len(ns), dtype=np.int8)
        for limit in limits:
            side += (ns >= limit).astype(np.int8)
        parts.append(pd.DataFrame({"sec": (sec // 3600) * 3600, "side": side, "client_ip": _values(rows["client_ip"]),
                                   "ts_min": ns, "ts_max": ns}))
    if not parts:
        return None
    t = pd.concat(parts, ignore_index=True).groupby(["sec", "side", "client_ip"], sort=True).agg(
        ts_min=("ts_min", "min"), ts_max=("ts_max", "max")).reset_index()
    return t.drop(columns=["side"])


@st.composite
def batch(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    secs = [draw(st.one_of(st.none(), st.integers(0, 2 * 86400))) for _ in range(n)]
    ts = pd.Series(pd.array([None if s is None else DAY + pd.Timedelta(seconds=s, microseconds=s % 11) for s in secs],
                            dtype="datetime64[ns, UTC]"))
    clients = [draw(st.sampled_from(CLIENTS)) for _ in range(n)]
    kind = "string[pyarrow]" if draw(st.booleans()) else object
    return pd.DataFrame({"ts": ts, "client_ip": pd.Series(clients, dtype=kind)})


@settings(max_examples=80, deadline=None)
@given(batches=st.lists(batch(), max_size=20), since=st.booleans(), until=st.booleans())
def test_login_fold_same_as_pandas_group_by(batches, since, until):
    lo = DAY + pd.Timedelta(hours=5, minutes=30, seconds=1) if since else None
    hi = DAY + pd.Timedelta(hours=30, seconds=7) if until else None
    f = fo.LoginFold(lo, hi)
    for b in batches:
        f.add(b)
    got, want = f.result(), reference(batches, lo, hi)
    if want is None:
        assert got is None
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True)
