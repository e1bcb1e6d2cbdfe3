"""The report's sent outbound deliveries folded (analyzer/report/sent_fold.py, r13-rows) give the
report the rows gave: volumes (count, timeline, delay quantiles), servers, reply classes, the top
tables' attempts and distinct messages per destination, relay and sender, and the detectors
(failure spike and concentration per destination and provider, the severity policy, silence,
deferral build-up). Checked on generated days of both MTAs with outbound incidents, whole and
with a window whose limits fall inside a minute, against the same fold with the sent deliveries
kept as rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies.aggregates import Bulk
from analyzer.classify import classify
from analyzer.reader import parse_logs
from analyzer.report import ReportWindow
from analyzer.report import run as report_run
from analyzer.report.sent_fold import SENT_STEP, SentFold, is_foldable_sent
from bench.generate_logs import generate

from .report_folds import cut_window
from .report_folds import folded as through_fold

INCIDENTS = ["microsoft_block@7h+2h", "521_burst:bigisp.example@11h+1h", "deferral_buildup@15h+2h",
             "silence@20h+1h"]
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("sentfold") / f"{request.param}.log"
    generate(mta=request.param, lines=12000, seed=11, out=path, incidents=INCIDENTS)
    res = parse_logs([str(path)], year=2026, tz="UTC")
    res.events = classify(res.events)
    return res


@pytest.mark.parametrize("cut", [False, True])
def test_folded_sent_deliveries_give_the_rows_report(day, cut, monkeypatch):
    window = cut_window(day, cut)
    sent = is_foldable_sent(day.events)
    assert sent.sum() > 300
    rows = through_fold(day, window, monkeypatch, off="is_foldable_sent")
    folded = through_fold(day, window, monkeypatch)
    assert len(folded.events) <= len(rows.events) - int(sent.sum()) + 5  # (a few are bulk lines already)
    assert folded.bulk.sent is not None and int(folded.bulk.sent["n"].sum()) >= int(sent.sum()) - 5
    want = report_run.make_report(rows, window=window, now=NOW, generated_at=NOW)
    got = report_run.make_report(folded, window=window, now=NOW, generated_at=NOW)
    assert got == want
    # the folds had something to give: delays, top tables with failures, findings on destinations
    assert got["volumes"]["delay_seconds"]["count"] > 0 and got["top"]["destinations"]
    assert any(f["detector"] in ("failure_spike", "concentration") for f in got["findings"])


def test_sent_steps_are_split_at_the_window_limits(day):
    ev = day.events[is_foldable_sent(day.events)]
    d = ev["ts"].min().floor("D")
    since, until = d + pd.Timedelta(hours=9, seconds=31), d + pd.Timedelta(hours=13, minutes=7, seconds=5)
    f = SentFold(ReportWindow(since, until))
    f.add(ev, np.ones(len(ev), dtype=bool))
    counts, part = f.result()
    assert (counts["sec"] % SENT_STEP == 0).all()
    bulk = Bulk(Bulk.empty().table, sent=counts, sent_step=SENT_STEP)
    ts = ev["ts"]
    inside = ((ts >= since) & (ts < until)).to_numpy(dtype=bool)
    # a cut at the limits keeps exactly the lines inside, and the steps before the start apart
    assert int(bulk.cut(since, until).sent["n"].sum()) == int(inside.sum())
    assert int(bulk.cut(None, since).sent["n"].sum()) == int((ts < since).sum())
    # the delays and the top tables' entries are of the lines inside only
    _, n = part["delays"]
    assert int(n.sum()) == int(ev.loc[inside, "delay"].notna().sum())
    assert len(part["top"]["h"]) == int(inside.sum())
