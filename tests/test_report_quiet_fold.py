"""The report's quiet inbound failures folded (analyzer/report/ends_fold.py ``QUIET_EVENTS``:
Postfix's DNSBL hits, Exim's failed TLS handshakes; r16-rejfold) give the report the rows gave:
the window's events and span, the timeline, the servers, the reply classes, the failures' cause
list (lines, attempts, outcome, direction, distinct clients, the first example in input order),
the cause-spike and new-signature detectors' findings (their evidence and the servers named from
it) and silence. Checked on generated days of both MTAs with a burst of those failures on two
hosts (above info, some of a provider the day never had), whole and with a window whose limits
fall inside a minute, against the same fold with those lines kept as rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.report import run as report_run
from analyzer.report.ends_fold import QUIET_EVENTS, is_foldable_end

from .report_folds import burst_at, classified_day, cut_window, ends_fold_cut
from .report_folds import folded as through_fold

NOW = pd.Timestamp("2026-12-01T06:00:00Z")


def _quiet(df: pd.DataFrame) -> np.ndarray:
    return is_foldable_end(df) & df["event"].isin(QUIET_EVENTS).to_numpy(dtype=bool)


def _ends_only(df: pd.DataFrame) -> np.ndarray:
    """The session ends folded, the quiet failures kept as rows (the base's fold)."""
    return is_foldable_end(df) & ~df["event"].isin(QUIET_EVENTS).to_numpy(dtype=bool)


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    res = classified_day(tmp_path_factory, request.param, lines=12000, seed=11, incidents=["silence@15h+1h"])
    ev = res.events
    quiet = ev[_quiet(ev)]
    assert len(quiet) >= 30
    # a burst at 10h on two hosts, above info (the cause-spike detector's), a third of it from a
    # provider the day never had (the new-signature detector's)
    res.events = burst_at(ev, quiet, 240, 5, severity=lambda n: ["warning"] * n,
                          provider=lambda n: np.where(np.arange(n) % 3 == 1, "newlist.test", None))
    return res


def _kept_quiet(day, window, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(report_run, "is_foldable_end", _ends_only)
        return through_fold(day, window, monkeypatch)


@pytest.mark.parametrize("cut", [False, True])
def test_folded_quiet_failures_give_the_rows_report(day, cut, monkeypatch):
    window = cut_window(day, cut)
    rows = _kept_quiet(day, window, monkeypatch)
    folded = through_fold(day, window, monkeypatch)
    kept = int(_quiet(rows.events).sum())
    assert kept > 250 and len(folded.events) == len(rows.events) - kept
    assert not _quiet(folded.events).any()
    want = report_run.make_report(rows, window=window, now=NOW, generated_at=NOW)
    got = report_run.make_report(folded, window=window, now=NOW, generated_at=NOW)
    assert got == want
    # the fold had something to give: a cause list entry of folded lines, both detectors' findings
    cause = str(folded.bulk.failures["cause"].mode().iloc[0])
    entry = next(c for c in got["outcomes"]["by_cause"] if c["cause"] == cause)
    assert entry["lines"] > 200 and entry["clients"] > 1 and entry["direction"] == "inbound"
    spike = [f for f in got["findings"] if f["detector"] == "cause_spike" and f["entity"] == cause]
    assert spike and spike[0]["evidence"] and spike[0]["servers"]
    new = [f for f in got["findings"] if f["detector"] == "new_signature" and f["entity"] == "newlist.test"]
    assert new and new[0]["evidence"]


def test_only_failures_of_the_quiet_events_are_folded(day):
    ev = day.events
    quiet = ev["event"].isin(QUIET_EVENTS).to_numpy(dtype=bool)
    failed = ev["outcome"].isin(["transient_failure", "permanent_failure"]).to_numpy(dtype=bool)
    inbound = (ev["direction"] == "inbound").fillna(False).to_numpy(dtype=bool)
    m = is_foldable_end(ev)
    assert (m & quiet).any()
    assert not (m & quiet & ~(failed & inbound)).any()  # (Postfix's established TLS sessions stay as they were)
    # a DNSBL hit that names a SASL user or a message is a row
    odd = ev[m & quiet].head(2).copy()
    odd["queue_id"] = pd.Series(["ABC123", None], index=odd.index, dtype=object)
    odd["sasl_username"] = pd.Series([None, "bob"], index=odd.index, dtype=object)
    assert not is_foldable_end(odd).any()


def test_quiet_failures_counted_inside_the_window(day):
    ev = day.events[_quiet(day.events)]
    ((ends, _, fails, examples), part), since, until = ends_fold_cut(ev)
    assert ends is None and not part["stages"]  # no session end among them
    inside = ((ev["ts"] >= since) & (ev["ts"] < until)).to_numpy(dtype=bool)
    assert int(fails["n"].sum()) == len(ev)
    assert sum(e["n"] for e in part["failed"].values()) == int(inside.sum())
    assert not part["states"]
    assert set(examples["host"].dropna()) <= set(ev["host"].astype(str))
