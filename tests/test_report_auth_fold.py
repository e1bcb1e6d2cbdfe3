"""The report's inbound rejects and authentication failures held narrow (analyzer/report/auth_fold.py;
r17-rejauth) give the report the rows gave: the window's events and span, the volumes and the
timeline's rejected counts, the servers' volumes, the headline's usual volumes, the failures'
cause list (messages and logins, clients, example), the abuse detectors' findings (SASL brute
force, dictionary attack, relay probing, their slow forms, the client that makes most rejects:
counts, runs, evidence, user names, servers), ``top.clients_by_rejects`` and
``clients_by_auth_failures`` (counts, hosts, causes, user names, the order of ties) and the cause
detectors. Checked on generated days of both MTAs with a SASL brute force, a second one, a slow
one spread over the day and one over a network, a dictionary attack and relay probing, whole and
with a window whose limits fall inside minutes, with the default detector parameters and with
others (a 10-minute bucket, 12 evidence lines, lower thresholds), and with a history given as
rows, against the same fold with those lines kept as rows."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies import default_params
from analyzer.report import ReportWindow
from analyzer.report import run as report_run
from analyzer.report.auth_fold import AUTH_COLUMNS, AuthFold, is_foldable_auth, is_foldable_reject

from .report_folds import burst_at, classified_day, cut_window
from .report_folds import folded as through_fold

NOW = pd.Timestamp("2026-12-01T06:00:00Z")


def _params(kind: str) -> dict | None:
    if kind == "default":
        return None
    p = copy.deepcopy(default_params())
    p["general"]["bucket"] = 600
    p["general"]["max_evidence"] = 12
    p["abuse"]["sasl_failures"] = 20
    p["long_window"]["sasl_per_day"] = 40
    return p


def _same(value: str):
    return lambda n: [value] * n


def _rejects(ev: pd.DataFrame, causes: tuple[str, ...]) -> pd.DataFrame:
    m = (ev["event"] == "reject").fillna(False).to_numpy(dtype=bool) & ev["cause"].isin(causes).to_numpy(dtype=bool)
    return ev[m]


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    res = classified_day(tmp_path_factory, request.param, lines=12000, seed=7,
                         incidents=["sasl_bruteforce:198.51.100.66@6h+1h"])
    ev = res.events
    auth = ev[is_foldable_auth(ev)]
    assert len(auth) >= 100
    users = lambda n: [f"user{i % 7}" for i in range(n)]  # noqa: E731
    # a second brute force, 20 s apart
    ev = burst_at(ev, auth, 90, 3, every=20, client_ip=_same("192.0.2.45"), sasl_username=users)
    # a slow one: ~4 an hour all day from one address, and three addresses of one network
    ev = burst_at(ev, auth, 70, 4, every=800, first_line=2 * 10**6, client_ip=_same("203.0.113.7"))
    for i, ip in enumerate(("203.0.113.20", "203.0.113.21", "203.0.113.22")):
        ev = burst_at(ev, auth, 25, 5 + i, every=1900 + 50 * i, first_line=(3 + i) * 10**6, client_ip=_same(ip))
    # the rejects that stay rows: a dictionary attack and relay probing from two clients
    unknown = _rejects(ev, ("mailbox.unknown", "client.recipient_unknown"))
    relay = _rejects(ev, ("relay.denied", "client.relay_denied"))
    if len(unknown):
        ev = burst_at(ev, unknown, 80, 6, first_line=7 * 10**6, client_ip=_same("198.51.100.99"),
                      recipient=lambda n: [f"guess{i}@example.test" for i in range(n)])
    if len(relay):
        ev = burst_at(ev, relay, 40, 7, first_line=8 * 10**6, client_ip=_same("198.51.100.98"))
    res.events = ev
    return res


def _foldable(df: pd.DataFrame) -> np.ndarray:
    return is_foldable_auth(df) | is_foldable_reject(df)


def _kept_auth(day, window, monkeypatch):
    """The fold with the rejects and authentication failures kept as rows (the base's)."""
    with monkeypatch.context() as m:
        for name in ("is_foldable_auth", "is_foldable_reject"):
            m.setattr(report_run, name, lambda df: np.zeros(len(df), dtype=bool))
        return through_fold(day, window, monkeypatch)


@pytest.mark.parametrize("params", ["default", "other"])
@pytest.mark.parametrize("cut", [False, True])
def test_folded_auth_failures_give_the_rows_report(day, cut, params, monkeypatch):
    window = cut_window(day, cut)
    p = _params(params)
    rows = _kept_auth(day, window, monkeypatch)
    folded = through_fold(day, window, monkeypatch)
    kept = int(_foldable(rows.events).sum())
    assert kept > 500 and len(folded.events) == len(rows.events) - kept
    assert not _foldable(folded.events).any() and len(folded.sections["auth"]) == kept
    want = report_run.make_report(rows, window=window, now=NOW, generated_at=NOW, params=p)
    got = report_run.make_report(folded, window=window, now=NOW, generated_at=NOW, params=p)
    assert got == want
    # the fold had something to give: the brute forces' findings with evidence and servers, the
    # slow ones, the top table, a cause list entry counted in logins
    abuse = [f for f in got["findings"] if f["detector"] == "abuse" and f["title"].startswith("SASL brute force")]
    assert {f["entity"] for f in abuse} >= {"198.51.100.66", "192.0.2.45"}
    assert all(f["evidence"] and f["servers"] for f in abuse)
    slow = [f for f in got["findings"] if f["detector"] == "long_window" and "SASL" in f["title"]]
    assert slow and slow[0]["evidence"]
    top = got["top"]["clients_by_auth_failures"]
    assert top and top[0]["failures"] > 30 and any(t["user_names"] > 1 for t in top)
    entry = next(c for c in got["outcomes"]["by_cause"] if c["cause"] == "auth.sasl_failed")
    assert entry["unit"] == "logins" and entry["clients"] > 3
    assert any(c["unit"] == "messages" and c["cause"] in ("mailbox.unknown", "client.recipient_unknown")
               for c in got["outcomes"]["by_cause"])
    assert got["volumes"]["rejected"] > 100 and got["top"]["clients_by_rejects"]
    titles = [f["title"] for f in got["findings"] if f["detector"] in ("abuse", "concentration")]
    assert any(t.startswith("Dictionary attack from 198.51.100.99") for t in titles)
    assert any(t.startswith("Relay probing from 198.51.100.98") for t in titles)


def test_a_store_history_of_rows_with_the_folded_window(day, monkeypatch):
    """A baseline given as rows (a history store's) beside a window whose lines were folded."""
    d = day.events["ts"].min().floor("D")
    window = ReportWindow(d + pd.Timedelta(hours=12, minutes=0, seconds=9), None)
    before = day.events[(day.events["ts"] < window.since).to_numpy(dtype=bool)]
    p = _params("other")
    got = report_run.make_report(through_fold(day, window, monkeypatch), window=window, baseline=before, now=NOW,
                                 generated_at=NOW, params=p)
    want = report_run.make_report(_kept_auth(day, window, monkeypatch), window=window, baseline=before, now=NOW,
                                  generated_at=NOW, params=p)
    assert got == want
    assert any(f["detector"] == "long_window" and "SASL" in f["title"] for f in got["findings"])


def test_only_inbound_failures_with_a_client_are_folded(day):
    ev = day.events
    m = is_foldable_auth(ev)
    assert m.any()
    assert (ev.loc[m, "event"] == "auth_failure").all() and (ev.loc[m, "direction"] == "inbound").all()
    odd = ev[m].head(4).copy()
    odd["queue_id"] = pd.Series(["ABC123", None, None, None], index=odd.index, dtype=object)
    odd["client_ip"] = pd.Series([odd["client_ip"].iloc[0], None, odd["client_ip"].iloc[0], odd["client_ip"].iloc[0]],
                                 index=odd.index, dtype=object)
    odd["direction"] = pd.Series(["inbound", "inbound", "outbound", "inbound"], index=odd.index, dtype=object)
    assert is_foldable_auth(odd).tolist() == [False, False, False, True]
    # a reject naming a message or a SASL user, or a warning, is a row
    r = is_foldable_reject(ev)
    assert r.any() and (ev.loc[r, "event"] == "reject").all() and not (r & m).any()
    odd = ev[r].head(4).copy()
    odd["queue_id"] = pd.Series(["ABC123", None, None, None], index=odd.index, dtype=object)
    odd["sasl_username"] = pd.Series([None, "bob", None, None], index=odd.index, dtype=object)
    odd["outcome"] = pd.Series([odd["outcome"].iloc[0]] * 2 + ["info", odd["outcome"].iloc[0]], index=odd.index,
                               dtype=object)
    assert is_foldable_reject(odd).tolist() == [False, False, False, True]


def test_the_records_are_the_rows_columns(day):
    from analyzer.anomalies.client_counts import _hashed

    ev = day.events
    m = _foldable(ev)
    f = AuthFold()
    f.add(ev, m)
    got = f.result()
    want = ev[m].sort_values("ts", kind="stable").reset_index(drop=True)
    want["recipient"] = _hashed(want["recipient"])
    assert want["recipient"].notna().sum() > 100
    assert list(got.columns[:len(AUTH_COLUMNS)]) == list(AUTH_COLUMNS)
    for c in AUTH_COLUMNS:
        a = got[c].astype(object).where(got[c].notna(), None).tolist()
        b = want[c].astype(object).where(want[c].notna(), None).tolist()
        assert [str(x) for x in a] == [str(x) for x in b], c
