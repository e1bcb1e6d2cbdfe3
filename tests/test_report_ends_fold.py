"""The report's abnormal session ends folded (analyzer/report/ends_fold.py, r15-ends) give the report
the rows gave: the window's events and span, the timeline, the servers, the reply classes, the
session ends by stage, the states list (lines, attempts, outcome, direction, distinct clients and
the first example in input order, merged with the rows of the same cause), the session-end
detector's finding (its evidence and the servers named from it) and silence. Checked on generated
days of both MTAs with a burst of lost connections, whole and with a window whose limits fall
inside a minute, against the same fold with the session ends kept as rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies import folded as fo
from analyzer.anomalies.aggregates import Bulk
from analyzer.report import ReportWindow
from analyzer.report import run as report_run
from analyzer.report.ends_fold import is_foldable_end
from analyzer.report.sent_fold import SENT_STEP

from .report_folds import burst_at, classified_day, cut_window, ends_fold_cut
from .report_folds import folded as through_fold

INCIDENTS = ["silence@15h+1h", "deferral_buildup@18h+3h"]
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    res = classified_day(tmp_path_factory, request.param, lines=12000, seed=7, incidents=INCIDENTS)
    ev = res.events
    ends = ev[fo.is_session_end(ev)]
    assert len(ends) >= 3
    # a burst of lost connections at 10h, a second apart, on two hosts (the finding names both servers)
    res.events = burst_at(ev, ends, 150, 3)
    return res


@pytest.mark.parametrize("cut", [False, True])
def test_folded_session_ends_give_the_rows_report(day, cut, monkeypatch):
    window = cut_window(day, cut)
    rows = through_fold(day, window, monkeypatch, off="is_foldable_end")
    folded = through_fold(day, window, monkeypatch)
    kept = int(is_foldable_end(rows.events).sum())  # (the normal closes among them are bulk lines already)
    assert kept > 200 and len(folded.events) == len(rows.events) - kept
    assert folded.bulk.ends is not None
    want = report_run.make_report(rows, window=window, now=NOW, generated_at=NOW)
    got = report_run.make_report(folded, window=window, now=NOW, generated_at=NOW)
    assert got == want
    # the fold had something to give: ends by stage, a state of folded lines, the detector's finding
    assert got["session_ends"]["lost"] > 100 and got["session_ends"]["by_stage"]
    lost = next(s for s in got["outcomes"]["states"] if s["cause"] == "session.lost")
    assert lost["clients"] > 1
    assert lost["example"] is not None or day.files[0].flavour == "exim"  # (Exim's say nothing more)
    f = next(f for f in got["findings"] if f["detector"] == "session_ends")
    assert f["evidence"] and f["servers"]


def test_folded_example_is_the_first_in_input_order(day, monkeypatch):
    """A state whose first meaningful line is a row and whose later ones are folded (and the other
    way round) shows the same example: the rows and folded lines are looked at in input order."""
    ev = day.events
    ends = is_foldable_end(ev) & (ev["cause"] == "session.lost").to_numpy(dtype=bool)
    at = np.flatnonzero(ends)
    assert len(at) > 10
    for keep in (at[: len(at) // 2], at[len(at) // 2:]):
        with monkeypatch.context() as m:
            def some(df, keep=keep):
                mask = is_foldable_end(df)
                order = (np.asarray(df.attrs.get("first_row", 0)) + np.arange(len(df)))
                return mask & ~np.isin(order, keep)
            m.setattr(report_run, "is_foldable_end", some)
            part = through_fold(day, ReportWindow(), monkeypatch)
        want = report_run.make_report(through_fold(day, ReportWindow(), monkeypatch, off="is_foldable_end"), now=NOW,
                                      generated_at=NOW)
        got = report_run.make_report(part, now=NOW, generated_at=NOW)
        assert got["outcomes"]["states"] == want["outcomes"]["states"]
        assert got["session_ends"] == want["session_ends"]


def test_end_steps_are_split_at_the_window_limits(day):
    ev = day.events[is_foldable_end(day.events)]
    ((counts, examples, fails, fexamples), part), since, until = ends_fold_cut(ev)
    assert (counts["sec"] % SENT_STEP == 0).all()
    assert "host" in examples.columns
    bulk = Bulk(Bulk.empty().table, ends=counts, end_examples=examples, failures=fails, failure_examples=fexamples)
    ts = ev["ts"]
    detected = fo.is_session_end(ev)
    inside = ((ts >= since) & (ts < until)).to_numpy(dtype=bool)
    # a cut at the limits keeps exactly the lines inside, and the steps before the start apart
    assert int(bulk.cut(since, until).ends["n"].sum()) == int((detected & inside).sum())
    assert int(bulk.cut(None, since).ends["n"].sum()) == int((detected & (ts < since).to_numpy(dtype=bool)).sum())
    # the stages and states are of the lines inside only
    bad = ev["event"].isin(["lost_connection", "timeout", "too_many_errors"]).to_numpy(dtype=bool)
    assert sum(part["stages"].values()) == int((bad & inside).sum())
    failed = ev["outcome"].isin(["transient_failure", "permanent_failure"]).to_numpy(dtype=bool)
    assert failed.any()  # protocol errors (Postfix) and too many errors (Exim): the quiet failures' tables
    assert int(bulk.cut(since, until).failures["n"].sum()) == int((failed & inside).sum())
    assert sum(e["n"] for e in part["failed"].values()) == int((failed & inside).sum())
