"""The top tables' clients (:func:`analyzer.report.top._clients`, r28-rfold: each top client's
host, top cause and user names read over its lines at once) against the same tables worked out
row by row in plain Python: ties (of counts: first sight; of causes: the order ``Series.mode``
takes) and nulls included, whatever the causes' dtypes (the kept rows' Categoricals, Arrow strings, object strings; the addresses are
a text of the kept rows, never a Categorical, whose value_counts would name unseen ones)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.top import TOP, _clients


def _reference(ev: pd.DataFrame, full: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tables worked out row by row in plain Python: the clients counted in order of first
    sight, the most first (value_counts' order: ties by first sight), the first TOP of them."""
    cause_order = list(ev["cause"].cat.categories) if isinstance(ev["cause"].dtype, pd.CategoricalDtype) else None
    rows = [tuple(None if pd.isna(v) else str(v) for v in r)
            for r in zip(ev["event"], ev["client_ip"], ev["client_host"], ev["cause"], ev["sasl_username"], strict=True)]

    def ranked(event: str) -> dict[str, list[tuple[str | None, ...]]]:
        lines: dict[str, list[tuple[str | None, ...]]] = {}
        for r in rows:
            if r[0] == event and r[1] is not None:
                lines.setdefault(r[1], []).append(r)
        return lines

    def top(lines: dict[str, list[Any]]) -> list[str]:
        return sorted(lines, key=lambda ip: -len(lines[ip]))[:TOP]  # (stable: ties by first sight)

    clients, auths = [], []
    lines = ranked("reject")
    if lines:
        full["top.clients_by_rejects"] = len(lines)
        for ip in top(lines):
            hosts = [r[2] for r in lines[ip] if r[2] is not None]
            n: dict[str, int] = {}
            for r in lines[ip]:
                if r[3] is not None:
                    n[r[3]] = n.get(r[3], 0) + 1
            best = max(n.values())
            tied = [c for c in n if n[c] == best]
            cause = min(tied, key=cause_order.index) if cause_order is not None else min(tied)
            clients.append({"client_ip": ip, "client_host": hosts[0] if hosts else None, "rejects": len(lines[ip]),
                            "top_cause": cause})
    lines = ranked("auth_failure")
    if lines:
        full["top.clients_by_auth_failures"] = len(lines)
        for ip in top(lines):
            auths.append({"client_ip": ip, "failures": len(lines[ip]),
                          "user_names": len({r[4] for r in lines[ip] if r[4] is not None})})
    clients.sort(key=lambda d: (-d["rejects"], d["client_ip"]))
    auths.sort(key=lambda d: (-d["failures"], d["client_ip"]))
    return clients, auths


def _column(values: list[str | None], kind: str) -> Any:
    if kind == "arrow":
        return pd.array(values, dtype=pd.ArrowDtype(pa.string()))
    if kind == "categorical":  # categories in an order of their own (not sorted): mode's ties go by it
        cats = sorted({v for v in values if v is not None}, reverse=True)
        return pd.Categorical(values, categories=cats)
    return np.array(values, dtype=object)


rows = st.lists(st.tuples(st.sampled_from(["reject", "auth_failure", "delivery", None]),
                          st.one_of(st.none(), st.sampled_from([f"10.0.0.{i}" for i in range(14)])),
                          st.one_of(st.none(), st.sampled_from(["h1.example", "h2.example", "mx.h3"])),
                          st.one_of(st.none(), st.sampled_from(["c.b", "c.a", "c.c", "é.z"])),
                          st.one_of(st.none(), st.sampled_from(["u1", "u2", "u3"]))),
                min_size=0, max_size=120)


@settings(max_examples=150, deadline=None)
@given(rows, st.sampled_from(["arrow", "categorical", "object"]), st.sampled_from(["arrow", "object"]))
def test_clients_equal_the_loop_per_client(data, cause_kind: str, ip_kind: str) -> None:
    cols = list(zip(*data, strict=True)) if data else [[] for _ in range(5)]
    ev = pd.DataFrame({"event": _column(list(cols[0]), "categorical"),
                       "client_ip": _column(list(cols[1]), ip_kind),
                       "client_host": _column(list(cols[2]), "arrow"),
                       "cause": _column(list(cols[3]), cause_kind),
                       "sasl_username": _column(list(cols[4]), "arrow")})
    # a reject always has a cause (the reference fails on a client with none)
    rejects = ev["event"].astype(object).eq("reject").to_numpy(dtype=bool)
    ev = ev[~(rejects & ev["cause"].isna().to_numpy(dtype=bool))].reset_index(drop=True)
    got_full: dict[str, int] = {}
    want_full: dict[str, int] = {}
    assert _clients(ev, got_full) == _reference(ev, want_full)
    assert got_full == want_full


def test_ties_of_causes_and_first_hosts() -> None:
    """Two causes as frequent: the first in the categories' order (a Categorical's) or sorted;
    the host of a client's first line that names one."""
    ev = pd.DataFrame({"event": ["reject"] * 5,
                       "client_ip": ["1.1.1.1"] * 4 + ["2.2.2.2"],
                       "client_host": [None, "b.example", "a.example", None, None],
                       "cause": pd.Categorical(["x", "y", "y", "x", "y"], categories=["y", "x"]),
                       "sasl_username": [None] * 5})
    clients, auths = _clients(ev, {})
    assert clients == [{"client_ip": "1.1.1.1", "client_host": "b.example", "rejects": 4, "top_cause": "y"},
                       {"client_ip": "2.2.2.2", "client_host": None, "rejects": 1, "top_cause": "y"}]
    assert auths == []
    ev["cause"] = ev["cause"].astype(object)
    assert _clients(ev, {})[0][0]["top_cause"] == "x"
