"""The report's folds of r12-rmem give the report the rows gave: Exim's quiet local sent deliveries
counted in the Bulk (kind delivered), SASL-named received lines counted as received with their
clients' login times apart (Bulk.logins, read by the severity policy), and Bulk.qids held as each
message's first line per side of the window start. Checked on generated days (both MTAs, a SASL
brute force whose attacker also logs in, silence and a deferral build-up), whole and with a window
that starts and ends inside an hour, against the same report with the new folds switched off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies import folded as fo
from analyzer.anomalies import sent
from analyzer.anomalies.aggregates import _NULL_SEC, Bulk, BulkFold, _first_qids
from analyzer.report import ReportWindow
from analyzer.report import run as report_run

from .report_folds import classified_day

ATTACKER = "198.51.100.66"
INCIDENTS = [f"sasl_bruteforce:{ATTACKER}@6h+1h", "silence@15h+1h", "deferral_buildup@18h+3h"]
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    res = classified_day(tmp_path_factory, request.param, lines=8000, seed=7, incidents=INCIDENTS)
    ev = res.events
    # the attacker logs in an hour after its failures began: the policy reads that login
    login = ev[fo.is_quiet_login(ev)].head(1).copy()
    assert len(login) == 1
    login["client_ip"] = ATTACKER
    login["ts"] = pd.Series([ev["ts"].min().floor("h") + pd.Timedelta(hours=7, minutes=3)]).astype(ev["ts"].dtype).to_numpy()
    login["line_no"] = 10**6
    ev = pd.concat([ev, login], ignore_index=True).sort_values(["ts", "line_no"], kind="stable", ignore_index=True)
    return dataclasses.replace(res, events=ev.astype({c: ev[c].dtype for c in ev.columns}))


def _report(result, window: ReportWindow, monkeypatch, *, folds: bool) -> dict:
    with monkeypatch.context() as m:
        if not folds:  # the rows as before: nothing of these lines folded
            def none(df: pd.DataFrame) -> np.ndarray:
                return np.zeros(len(df), dtype=bool)

            m.setattr(report_run, "is_quiet_local_sent", none)
            m.setattr(report_run, "is_quiet_login", none)
        return report_run.make_report(result, window=window, now=NOW, generated_at=NOW)


@pytest.mark.parametrize("window", [ReportWindow(),
                                    ReportWindow(pd.Timestamp("2026-11-23T05:30:17Z"), pd.Timestamp("2026-11-23T20:10:05Z"))])
def test_new_folds_give_the_rows_report(day, window, monkeypatch):
    ev = day.events
    first = ev["ts"].min()
    if window.since is not None:  # the generated day's own date, limits inside an hour
        d = first.floor("D")
        window = ReportWindow(d + pd.Timedelta(hours=5, minutes=30, seconds=17), d + pd.Timedelta(hours=20, seconds=5))
    folded = fo.is_quiet_login(ev).sum() + sent.is_quiet_local_sent(ev).sum()
    assert folded > 20
    want = _report(day, window, monkeypatch, folds=False)
    got = _report(day, window, monkeypatch, folds=True)
    assert got == want
    assert any(f["entity"] == ATTACKER for f in got["findings"])  # the policy read the folded login
    assert got["volumes"]["received"] > 0 and got["volumes"]["delivered"] > 0


def test_split_events_keeps_logins_and_counts_them_received(day):
    rows, bulk = report_run.split_events(day.events)
    logins = fo.is_quiet_login(day.events)
    assert not fo.is_quiet_login(rows).any()
    assert bulk.logins is not None and ATTACKER in set(bulk.logins["client_ip"])
    # every folded login is a received line of the Bulk
    assert int(bulk.received().sum()) >= int(logins.sum())


def test_login_fold_cut_at_the_window_is_exact():
    ts = pd.Series(pd.to_datetime(["2026-11-23T05:10:00Z", "2026-11-23T05:40:00Z", "2026-11-23T06:20:00Z"], utc=True))
    rows = pd.DataFrame({"ts": ts, "client_ip": ["1.2.3.4"] * 3})
    since = pd.Timestamp("2026-11-23T05:30:00Z")
    f = fo.LoginFold(since, None)
    f.add(rows)
    t = f.result()
    # the 05h step split at 05:30: the line before the window start is apart from the one after
    assert len(t) == 3
    inside = Bulk(Bulk.empty().table, logins=t).cut(since, None).logins
    assert inside["ts_min"].min() == ts[1].value and inside["ts_max"].max() == ts[2].value


def test_first_qids_keep_first_seen_at_the_window_start_and_any_upper_limit():
    rng = np.random.default_rng(3)
    n = 5000
    sec = rng.integers(1_000, 1_400, n).astype(np.int64)
    sec[rng.random(n) < 0.02] = _NULL_SEC
    q = pd.DataFrame({"qid": rng.integers(1, 300, n).astype(np.uint64), "sec": sec,
                      "ts": sec * 1_000_000_000 + rng.integers(0, 10**9, n)})
    split = 1_200
    small = _first_qids(q, split)
    assert len(small) < len(q) // 5
    whole, kept = Bulk(Bulk.empty().table, q), Bulk(Bulk.empty().table, small)
    at = pd.Timestamp(split, unit="s", tz="UTC")
    for since, until in [(None, None), (at, None), (None, at), (at, pd.Timestamp(1_333, unit="s", tz="UTC")),
                         (None, pd.Timestamp(1_111, unit="s", tz="UTC"))]:
        pd.testing.assert_series_equal(kept.cut(since, until).first_seen(), whole.cut(since, until).first_seen())


def test_bulk_fold_first_only_matches_the_full_qids(day):
    ev = day.events
    m = ev["queue_id"].notna().to_numpy(dtype=bool) & ev["ts"].notna().to_numpy(dtype=bool)
    since = ev["ts"].min().floor("D") + pd.Timedelta(hours=9, seconds=1)
    full, first = BulkFold(), BulkFold(first_only=True, split=since)
    for start in range(0, len(ev), 500):  # many batches: the compaction every 16 runs
        b = ev.iloc[start:start + 500]
        full.add(b, m[start:start + 500])
        first.add(b, m[start:start + 500])
    a, b = full.result(), first.result()
    assert len(b.qids) < len(a.qids)
    for lo, hi in [(None, None), (since, None), (None, since)]:
        pd.testing.assert_series_equal(b.cut(lo, hi).first_seen(), a.cut(lo, hi).first_seen())
