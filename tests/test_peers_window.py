"""The report's peers' section fold (:class:`analyzer.report.peers.WindowPeersFold`): the stream's
Arrow-backed batches, their window and bulk lines cut on the fold's thread over several flushes,
give :func:`analyzer.report.peers.peer_report` of the rows kept; its result, made on that thread,
reads as a mapping and raises what the fold raised."""

from __future__ import annotations

from concurrent.futures import Future

import pandas as pd
import pyarrow as pa
import pytest

from analyzer import native
from analyzer.anomalies.aggregates import in_window, is_bulk
from analyzer.classify import classify, default_rules
from analyzer.later import Later
from analyzer.reader import parse_logs
from analyzer.report.build import ReportWindow
from analyzer.report.fold import _Batch
from analyzer.report.peers import WindowPeersFold, peer_report
from analyzer.schema import to_pandas
from tools.peers import generated_day


def _day(tmp_path_factory, mta):
    log = generated_day(tmp_path_factory.mktemp("window") / f"{mta}.log", mta, lines=6000)
    ev = parse_logs([str(log)], tz="UTC", year=2026, fmt="exim" if mta == "exim" else "auto").events
    return classify(ev, default_rules())


@pytest.fixture(scope="module", params=["postfix", "exim", "both"])
def day(request, tmp_path_factory):
    """A day of one MTA, or a Postfix day then an Exim day in one table: batches and flushes of one
    MTA, of the other and of both, each held with the columns its MTAs' folds read."""
    if request.param != "both":
        return _day(tmp_path_factory, request.param)
    return pd.concat([_day(tmp_path_factory, "postfix"), _day(tmp_path_factory, "exim")], ignore_index=True)


def test_window_fold_over_flushes_equals_the_kept_rows_report(day, monkeypatch):
    """Cut into stream batches with a window inside the day, folded in flushes of a few hundred
    lines: the result equals the peers' report of the window's rows that are not bulk lines."""
    monkeypatch.setattr(WindowPeersFold, "FLUSH_ROWS", 300)
    monkeypatch.setattr(WindowPeersFold, "PF_FLUSH_ROWS", 300)  # (the native engine's coded Postfix lines)
    ts = day["ts"].dropna()
    window = ReportWindow(ts.quantile(0.2), ts.quantile(0.7))
    fold = WindowPeersFold(window)
    step = 700
    for a in range(0, len(day), step):
        batch = _Batch(to_pandas(pa.Table.from_pandas(day.iloc[a:a + step], preserve_index=False)))
        assert all(isinstance(batch[c].dtype, pd.ArrowDtype) for c in WindowPeersFold.COLUMNS if c in batch)
        fold.add(batch, bulk=is_bulk(batch))
    got = fold.result()
    keep = ~is_bulk(day) & in_window(day["ts"], window)
    assert 0 < keep.sum() < len(day)
    want = peer_report(day[keep].reset_index(drop=True))
    assert isinstance(got, Later) and set(got) == set(want)
    assert dict(got) == want and got["peers"]


@pytest.mark.parametrize("engine", ["native", "python"])
def test_stream_batches_fold_as_the_kept_rows_report(day, monkeypatch, engine):
    """Stream batches (their own Arrow tables, :meth:`_Batch.of`): where the native steps run, each
    batch's Exim lines are folded where they lie and its Postfix lines held until a flush
    (``_fold_batch``); else flushes of the lines held: both give the kept rows' report."""
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    monkeypatch.setattr(WindowPeersFold, "FLUSH_ROWS", 300)
    monkeypatch.setattr(WindowPeersFold, "PF_FLUSH_ROWS", 300)  # (the native engine's coded Postfix lines)
    ts = day["ts"].dropna()
    window = ReportWindow(ts.quantile(0.1), ts.quantile(0.8))
    fold = WindowPeersFold(window)
    assert fold._by_rows == (engine == "native" and native.available())
    step = 900
    for a in range(0, len(day), step):
        table = pa.Table.from_pandas(day.iloc[a:a + step], preserve_index=False)
        batch = _Batch.of(table, to_pandas(table))
        fold.add(batch, bulk=is_bulk(batch))
    got = fold.result()
    keep = ~is_bulk(day) & in_window(day["ts"], window)
    assert dict(got) == peer_report(day[keep].reset_index(drop=True)) and got["peers"]


def test_later_waits_for_its_future_and_raises_what_it_raised():
    ok: Future = Future()
    ok.set_result({"a": 1})
    later = Later(ok)
    assert later["a"] == 1 and len(later) == 1 and dict(later) == {"a": 1} and later == {"a": 1}
    bad: Future = Future()
    bad.set_exception(ValueError("folded badly"))
    with pytest.raises(ValueError, match="folded badly"):
        Later(bad)["a"]


def test_a_fold_that_failed_on_its_thread_fails_its_result(day, monkeypatch):
    """An error in a flush folded on the fold's thread reaches whoever reads the result."""
    def broken(self, held):
        raise RuntimeError("the peers' fold failed")

    monkeypatch.setattr(WindowPeersFold, "_fold_held", broken)
    fold = WindowPeersFold(ReportWindow())
    fold.add(_Batch(to_pandas(pa.Table.from_pandas(day.iloc[:500], preserve_index=False))))
    with pytest.raises(RuntimeError, match="the peers' fold failed"):
        dict(fold.result())
