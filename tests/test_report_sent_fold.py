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
from analyzer.report import ReportWindow
from analyzer.report import run as report_run
from analyzer.report.sent_fold import SENT_STEP, SentFold, is_foldable_sent

from .report_folds import classified_day, cut_window
from .report_folds import folded as through_fold

INCIDENTS = ["microsoft_block@7h+2h", "521_burst:bigisp.example@11h+1h", "deferral_buildup@15h+2h",
             "silence@20h+1h"]
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    return classified_day(tmp_path_factory, request.param, lines=12000, seed=11, incidents=INCIDENTS)


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


def _sent_result(batches, window):
    f = SentFold(window)
    for b in batches:
        f.add(b, is_foldable_sent(b))
    counts, part = f.result()
    return counts, {**part, "top": dict(part["top"]), "values": dict(part["values"])}


@pytest.mark.parametrize("cut", [False, True])
def test_a_stream_batch_folds_as_its_table_does(day, cut):
    """SentFold.add reads a stream batch's own Arrow columns (report.fold._Batch): the same counts,
    delays, values and top entries as from the same rows held as an Arrow-backed table without
    its Arrow table, and (but the units' hashes, which follow the columns' dtype) as objects."""
    import pyarrow as pa

    from analyzer.report.fold import _Batch
    from analyzer.report.run import REPORT_COLUMNS
    from analyzer.schema import to_pandas

    window = cut_window(day, cut)
    ev = day.events[[c for c in REPORT_COLUMNS if c in day.events.columns]]
    table = pa.Table.from_pandas(ev, preserve_index=False)
    slices = [table.slice(i, 3000) for i in range(0, table.num_rows, 3000)]
    got = _sent_result([_Batch.of(t, to_pandas(t)) for t in slices], window)
    arrow = _sent_result([to_pandas(t) for t in slices], window)
    objects = _sent_result([to_pandas(t).astype(object).where(to_pandas(t).notna(), None).astype(
        {"ts": to_pandas(t)["ts"].dtype, "delay": float}) for t in slices], window)
    assert got[1]["top"] is not None and len(got[1]["top"]["h"]) > 100
    for other, same_units in ((arrow, True), (objects, False)):
        pd.testing.assert_frame_equal(got[0], other[0])
        for k in ("delays",):
            assert [a.tolist() for a in got[1][k]] == [a.tolist() for a in other[1][k]]
        assert {k: v.tolist() for k, v in got[1]["values"].items()} == \
            {k: v.tolist() for k, v in other[1]["values"].items()}
        keys = ("domain", "relay_host", "sender", "qid", "h", "q") if same_units else ("domain", "relay_host", "sender", "qid")
        for k in keys:
            assert got[1]["top"][k].tolist() == other[1]["top"][k].tolist(), k


@pytest.mark.parametrize("cut", [False, True])
def test_units_made_from_the_hashes_are_message_units(day, cut, monkeypatch):
    """The folded lines' units made of the queue id's and recipient's hashes (sent_fold._units)
    are those :func:`analyzer.report.units.message_units` gives of the same rows."""
    import pyarrow as pa

    from analyzer.report import sent_fold
    from analyzer.report.fold import _Batch
    from analyzer.report.run import REPORT_COLUMNS
    from analyzer.schema import to_pandas

    window = cut_window(day, cut)
    table = pa.Table.from_pandas(day.events[[c for c in REPORT_COLUMNS if c in day.events.columns]], preserve_index=False)
    slices = [table.slice(i, 2500) for i in range(0, table.num_rows, 2500)]
    got = _sent_result([_Batch.of(t, to_pandas(t)) for t in slices], window)
    monkeypatch.setattr(sent_fold, "_units", lambda cols, qid: (None, None))
    want = _sent_result([_Batch.of(t, to_pandas(t)) for t in slices], window)
    assert len(got[1]["top"]["h"]) > 100
    for k in ("qid", "h", "q"):
        assert got[1]["top"][k].tolist() == want[1]["top"][k].tolist(), k
