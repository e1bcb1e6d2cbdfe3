"""The report's folds: the same report whatever the batches, the workers or the path (stream or table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies.aggregates import Bulk, BulkFold, is_bulk, is_queued, is_received, qid_hash
from analyzer.anomalies.folded import is_quiet_login
from analyzer.anomalies.sent import is_quiet_local_sent
from analyzer.classify import classify, default_rules
from analyzer.pipeline import EventStream
from analyzer.reader import open_stream, parse_logs
from analyzer.report import ReportWindow, make_report
from analyzer.report.fold import Fold, RowsFold, fold_frame
from analyzer.report.run import REPORT_COLUMNS, ROW_COLUMNS, collect_report_events, split_events
from analyzer.sources import expand_inputs

ROOT = Path(__file__).resolve().parent.parent
NOW = pd.Timestamp("2026-11-29T06:00:00Z")
INCIDENTS = ["521_burst:acme.example@6h+1h", "sasl_bruteforce:198.51.100.66@10h+1h", "silence@15h+1h",
             "deferral_buildup@18h+3h"]


@pytest.fixture(scope="module")
def kb():
    return default_rules()


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    """A generated Postfix day (3,000 lines) with incidents that every detector family sees."""
    from bench.generate_logs import generate

    path = tmp_path_factory.mktemp("fold") / "mail.log"
    generate(mta="postfix", lines=3000, seed=7, out=path, incidents=INCIDENTS)
    return path


def _streamed(paths, kb, window=ReportWindow(), **stream_options):
    if "block_bytes" in stream_options:
        stream = EventStream(expand_inputs([str(p) for p in paths]), year=2026, tz="UTC", **stream_options)
    else:
        stream = open_stream([str(p) for p in paths], year=2026, tz="UTC", **stream_options)
    result = collect_report_events(stream, kb, window)
    return make_report(result, kb=kb, window=window, now=NOW, generated_at=NOW)


def _from_table(paths, kb, window=ReportWindow()):
    result = parse_logs([str(p) for p in paths], year=2026, tz="UTC", workers=1)
    return make_report(result, kb=kb, window=window, now=NOW, generated_at=NOW)


def test_the_day_has_folded_lines_and_findings(day, kb):
    """The generated day exercises the fold: lines are folded, detectors find the incidents."""
    result = collect_report_events(open_stream([str(day)], year=2026, tz="UTC"), kb)
    assert len(result.bulk) > 500
    assert len(result.events) + len(result.bulk) == result.counts.events
    report = make_report(result, kb=kb, now=NOW, generated_at=NOW)
    detectors = {f["detector"] for f in report["findings"]}
    assert {"silence", "abuse"} <= detectors


@pytest.mark.parametrize("batch_lines", [1, 7, 333, 1999])
def test_any_batch_cut_gives_the_same_report(day, kb, batch_lines):
    """Cutting the day into batches of 1, 7, 333 or 1999 lines gives the report of one batch."""
    whole = _streamed([day], kb, workers=1)
    assert _streamed([day], kb, workers=1, batch_lines=batch_lines) == whole


def test_two_workers_give_the_same_report(day, kb):
    """Blocks parsed by two worker processes give the report of one process."""
    one = _streamed([day], kb, workers=1, block_bytes=64 * 1024)
    assert _streamed([day], kb, workers=2, block_bytes=64 * 1024) == one


def test_a_table_gives_the_report_of_its_stream(day, kb):
    """make_report over a table in memory (folded in slices) equals the streamed report."""
    assert _from_table([day], kb) == _streamed([day], kb, workers=1)


def test_a_window_with_the_morning_as_baseline(day, kb):
    """A window that starts inside a second-resolution day: the input before it is the baseline,
    in the stream and in the table alike, with batches cut anywhere."""
    window = ReportWindow(pd.Timestamp("2026-11-28T09:30:00Z"), pd.Timestamp("2026-11-28T20:00:00Z"))
    report = _streamed([day], kb, window=window, workers=1)
    assert report["baseline"]["source"] == "input before the window"
    assert report["baseline"]["events"] > 0
    assert _streamed([day], kb, window=window, workers=1, batch_lines=101) == report
    assert _from_table([day], kb, window=window) == report


def test_rotated_set_with_batches_across_files(kb):
    """The sample rotated set (three files, one gzipped) gives one report whatever the batches."""
    paths = [ROOT / "sample_logs" / "postfix"]
    whole = _streamed(paths, kb, workers=1)
    assert _streamed(paths, kb, workers=1, batch_lines=5) == whole
    assert _from_table(paths, kb) == whole


def test_folded_lines_are_counted_not_kept(day, kb):
    """The folded lines are sessions, TLS and postscreen lines that went well and Postfix's
    message-id/removed lines (is_bulk), and qmgr's queued lines and arrivals (is_queued, is_received:
    their senders kept); the report still counts them as events, sessions, normal closes and receptions."""
    table = classify(parse_logs([str(day)], year=2026, tz="UTC", workers=1).events, kb)
    m = is_bulk(table)
    bulk_rows = table[m]
    assert set(bulk_rows["event"].unique()) == {"connect", "disconnect", "tls", "screen", "message_id", "removed"}
    session = bulk_rows["event"].isin(["connect", "disconnect", "tls", "screen"]).to_numpy(dtype=bool)
    assert bulk_rows.loc[session, "queue_id"].isna().all()
    assert bulk_rows.loc[~session, ["sender", "recipient", "status", "detail"]].isna().all().all()
    assert bulk_rows["outcome"].isin(["ok", "info"]).all()
    # (r12-rmem) with SASL-named arrivals that went well (their logins kept apart) and quiet local
    # sent deliveries (counted as the Bulk's delivered lines)
    logins, local = is_quiet_login(table), is_quiet_local_sent(table)
    assert logins.any() and not (logins & m).any()
    queued = is_queued(table) | is_received(table) | logins
    assert queued.any() and not (queued & m).any()
    assert set(table.loc[queued, "event"].unique()) == {"queued", "received"}
    assert set(table.loc[local, "event"].unique()) <= {"delivery"}
    rows, bulk = split_events(table)
    assert len(rows) + len(bulk) == len(table)
    assert len(rows) == int((~(m | queued | local)).sum())
    assert int(bulk.delivered().sum()) == int(local.sum())
    assert bulk.logins is not None and set(bulk.logins["client_ip"]) == set(table.loc[logins, "client_ip"])
    connects = bulk_rows[(bulk_rows["event"] == "connect") & (bulk_rows["direction"] != "outbound")
                         & ~bulk_rows["program"].str.endswith("postscreen")]
    assert int(bulk.table["sessions"].sum()) == len(connects)
    assert int(bulk.received().sum()) == int((table.loc[queued, "event"] == "received").sum()) > 0
    # each folded message line keeps when its message was first seen, qmgr's queued lines their sender
    with_qid = (queued | local) & table["queue_id"].notna().to_numpy(dtype=bool)
    assert len(bulk.qids) == int((~session).sum()) + int(with_qid.sum())
    said = with_qid & table["sender"].notna().to_numpy(dtype=bool)
    assert len(bulk.senders) == int(said.sum())
    got = dict(zip(bulk.senders["qid"], bulk.senders["sender"], strict=True))
    want = table.loc[said, ["queue_id", "sender"]]
    assert got == dict(zip(qid_hash(want["queue_id"]), want["sender"], strict=True))


def test_bulk_fold_does_not_depend_on_the_batches(day, kb):
    """The per-second table is the same folded in one batch or in slices of 17 rows."""
    table = classify(parse_logs([str(day)], year=2026, tz="UTC", workers=1).events, kb)

    def folded(rows: int) -> pd.DataFrame:
        f = BulkFold()
        fold_frame(table, [f], rows=rows)
        t = f.result().table
        return t.sort_values(["sec", "source", "host", "reply_class", "last_order"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(folded(17), folded(len(table) + 1))


def test_bulk_cut_by_window():
    """A Bulk cut to [since, until) keeps the seconds inside; lines without a time only uncut."""
    fold = BulkFold()
    ts = pd.to_datetime(["2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", None], utc=True)
    batch = pd.DataFrame({
        "ts": ts, "event": ["connect"] * 4, "outcome": ["ok"] * 4, "severity": ["info"] * 4,
        "direction": ["inbound"] * 4, "cause": ["session.connect"] * 4, "source": ["a.log"] * 4,
        "host": ["mx"] * 4, "program": ["postfix/smtpd"] * 4, "reply_class": [None] * 4, "line_no": [1, 2, 3, 4],
        "queue_id": [None] * 4, "quit": [None] * 4,
    })
    fold.add(batch)
    bulk = fold.result()
    assert len(bulk) == 4
    assert len(bulk.cut()) == 4
    assert len(bulk.cut(timed=True)) == 3
    assert len(bulk.cut(pd.Timestamp("2026-01-01T10:00:00Z"), pd.Timestamp("2026-01-01T11:00:00Z"))) == 2
    assert len(bulk.cut(pd.Timestamp("2026-01-01T10:00:01Z"))) == 1
    assert bulk.first_ts() == pd.Timestamp("2026-01-01T10:00:00Z")
    assert int(bulk.table["sessions"].sum()) == 4
    assert isinstance(Bulk.empty().cut(pd.Timestamp("2026-01-01T00:00:00Z")), Bulk)


def test_rows_fold_keeps_input_order_and_columns():
    """RowsFold keeps the selected rows and columns, in input order whatever order batches come in."""
    fold = RowsFold(["a", "b"], keep=lambda b: (b["a"] % 2 == 0).to_numpy(), few_values=["b"], order_column="o")
    assert isinstance(fold, Fold)
    first = pd.DataFrame({"a": [0, 1, 2], "b": ["x", "y", "x"], "c": [1.0, 2.0, 3.0]})
    second = pd.DataFrame({"a": [4, 5], "b": ["z", None], "c": [4.0, 5.0]})
    second.attrs.update(input=1, first_row=0)
    first.attrs.update(input=0, first_row=0)
    fold.add(second)  # a secondary log's batch may come first
    fold.add(first)
    out = fold.result()
    assert list(out.columns) == ["a", "b", "o"]
    assert out["a"].tolist() == [0, 2, 4]
    assert out["b"].tolist() == ["x", "x", "z"]
    assert np.all(np.diff(out["o"].to_numpy()) > 0)


def test_fold_frame_hands_out_slices_with_their_place():
    """fold_frame gives each slice its first row, so row_order numbers rows as the table does."""
    from analyzer.anomalies.aggregates import row_order

    seen: list[np.ndarray] = []

    class Orders:
        def add(self, batch: pd.DataFrame) -> None:
            seen.append(row_order(batch))

        def result(self) -> None:
            return None

    fold_frame(pd.DataFrame({"x": range(10)}), [Orders()], rows=3)
    assert np.concatenate(seen).tolist() == list(range(10))
    assert [len(s) for s in seen] == [3, 3, 3, 1]


def test_report_columns_are_what_the_stream_keeps(day, kb):
    """collect_report_events keeps exactly ROW_COLUMNS as rows, and each row's place apart."""
    result = collect_report_events(open_stream([str(day)], year=2026, tz="UTC"), kb)
    assert list(result.events.columns) == list(ROW_COLUMNS)
    assert len(result.order) == len(result.events) and (np.diff(result.order) > 0).all()


class _InWindow:
    """A section fold for the tests: the lines of the window it was made for."""

    def __init__(self, window: ReportWindow) -> None:
        self.window, self.n = window, 0

    def add(self, batch: pd.DataFrame) -> None:
        ts = batch["ts"]
        inside = ts.notna().to_numpy(dtype=bool, copy=True)
        if self.window.since is not None:
            inside &= (ts >= self.window.since).fillna(False).to_numpy(dtype=bool)
        if self.window.until is not None:
            inside &= (ts < self.window.until).fillna(False).to_numpy(dtype=bool)
        self.n += int(inside.sum())

    def result(self) -> int:
        return self.n


def test_a_registered_section_fold_sees_every_line(day, kb, monkeypatch):
    """A section fold registered with register_section runs over the stream and over a table
    alike, and build_report receives its result; a result folded for one window is refused for another."""
    import analyzer.report.run as build  # make_report calls build_report from there
    from analyzer.report import fold as fold_module

    monkeypatch.setitem(fold_module.SECTION_FOLDS, "in_window", _InWindow)
    seen: list[dict] = []
    real = build.build_report

    def spy(*args, **kwargs):
        seen.append(kwargs.get("sections"))
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "build_report", spy)
    window = ReportWindow(pd.Timestamp("2026-11-28T09:30:00Z"), pd.Timestamp("2026-11-28T20:00:00Z"))
    result = collect_report_events(open_stream([str(day)], year=2026, tz="UTC", batch_lines=250), kb, window)
    report = make_report(result, kb=kb, window=window, now=NOW, generated_at=NOW)
    assert seen[-1]["in_window"] == report["window"]["events"] > 0
    _from_table([day], kb, window=window)
    assert seen[-1]["in_window"] == report["window"]["events"]
    with pytest.raises(ValueError, match="another window"):
        make_report(result, kb=kb, window=ReportWindow(), now=NOW, generated_at=NOW)


@pytest.mark.parametrize("split", [None, "2026-11-28T09:30:00Z"])
def test_detectors_on_folded_lines_equal_detectors_on_rows(day, kb, split):
    """Every detector finds the same on the rows plus the folded lines as on the whole table (the
    reference: every line a row), with or without the morning as the baseline."""
    from analyzer.anomalies import detect_anomalies

    table = classify(parse_logs([str(day)], year=2026, tz="UTC", workers=1).events, kb)
    rows, bulk = split_events(table)
    if split is None:
        reference = detect_anomalies(table, now=NOW, kb=kb)
        folded = detect_anomalies(rows, now=NOW, kb=kb, bulk=bulk)
    else:
        at = pd.Timestamp(split)
        before = (table["ts"] < at).fillna(False).to_numpy(dtype=bool)
        rb = (rows["ts"] < at).fillna(False).to_numpy(dtype=bool)
        reference = detect_anomalies(table[~before], baseline=table[before], now=NOW, kb=kb)
        folded = detect_anomalies(rows[~rb], baseline=rows[rb], now=NOW, kb=kb, bulk=bulk.cut(at),
                                  bulk_history=bulk.cut(None, at))
    assert [f.to_dict() for f in folded] == [f.to_dict() for f in reference]
    assert any(f.detector == "silence" for f in reference)


def test_a_log_of_only_folded_lines_reports_its_sessions(tmp_path, kb):
    """A log whose every line is folded (sessions only) keeps no row: the report counts its
    sessions from the aggregates."""
    log = tmp_path / "mail.log"
    log.write_text("Nov 23 10:00:00 mx postfix/smtpd[12]: connect from unknown[192.0.2.1]\n"
                   "Nov 23 10:00:01 mx postfix/smtpd[12]: disconnect from unknown[192.0.2.1] ehlo=1 quit=1 commands=2\n"
                   "Nov 23 10:00:02 mx postfix/smtpd[13]: connect from unknown[192.0.2.2]\n")
    result = collect_report_events(open_stream([str(log)], year=2026, tz="UTC"), kb)
    assert len(result.events) == 0 and len(result.order) == 0
    report = make_report(result, kb=kb)
    assert report["volumes"]["sessions"] == 2
    assert report["volumes"]["received"] == 0


def test_rows_fold_without_any_batch_has_the_order_column():
    """No batch at all (no mail line read): the kept rows still have the order column, which the
    report reads; it used to be missing and the report crashed (KeyError '_order')."""
    from analyzer.anomalies.aggregates import ORDER_COLUMN

    rows = RowsFold(list(REPORT_COLUMNS), order_column=ORDER_COLUMN).result()
    assert list(rows.columns) == [*REPORT_COLUMNS, ORDER_COLUMN]
    assert len(rows) == 0


@pytest.fixture(scope="module")
def exim_day(tmp_path_factory) -> Path:
    """A generated Exim day (3,000 lines) with a burst of 5xx and a SASL brute force."""
    from bench.generate_logs import generate

    path = tmp_path_factory.mktemp("fold-exim") / "mainlog"
    generate(mta="exim", lines=3000, seed=11, out=path,
             incidents=["521_burst:acme.example@6h+1h", "sasl_bruteforce:198.51.100.66@10h+1h"])
    return path


@pytest.mark.parametrize("mta", ["postfix", "exim"])
@pytest.mark.parametrize("batch_lines", [1, 13, 997])
def test_awkward_cuts_give_the_table_report(day, exim_day, kb, mta, batch_lines):
    """A day cut into batches of 1, 13 or 997 lines (a message's lines on both sides of a cut)
    gives the report of the whole table in memory, for Postfix and Exim, with and without a
    window that starts inside the day (the morning then is the baseline)."""
    path = day if mta == "postfix" else exim_day
    for window in (ReportWindow(),
                   ReportWindow(pd.Timestamp("2026-11-28T09:30:00Z"), pd.Timestamp("2026-11-28T20:00:00Z"))):
        table = _from_table([path], kb, window=window)
        assert table["window"]["events"] > 0
        assert _streamed([path], kb, window=window, workers=1, batch_lines=batch_lines) == table


@pytest.mark.parametrize("since", [None, "2026-11-28T06:30:00Z"])
def test_top_senders_read_the_folded_queued_lines(day, kb, since):
    """The top tables name each delivery's sender from qmgr's queued line: folded apart (Bulk.senders)
    they give the tables of the whole table whose queued lines are rows, with a window that cuts
    messages in two too."""
    from analyzer.report.build import _top

    table = classify(parse_logs([str(day)], year=2026, tz="UTC", workers=1).events, kb)
    rows, bulk = split_events(table)
    if since is not None:
        at = pd.Timestamp(since)
        table = table[(table["ts"] >= at).fillna(False).to_numpy(dtype=bool)]
        rows = rows[(rows["ts"] >= at).fillna(False).to_numpy(dtype=bool)]
        bulk = bulk.cut(at)
    whole = _top(table.sort_values("ts", kind="stable").reset_index(drop=True))
    folded = _top(rows.sort_values("ts", kind="stable").reset_index(drop=True), bulk=bulk)
    assert len(bulk.senders) and whole["senders"]
    assert folded == whole


def test_exim_completed_lines_are_counted_not_kept(exim_day, kb):
    """Exim's Completed lines (removed, status completed, nothing else said) are folded into the
    Bulk (is_completed), not kept as rows: each keeps its message's first time and its count, and
    the table's report is unchanged by it (test_awkward_cuts_give_the_table_report)."""
    from analyzer.anomalies.aggregates import is_completed

    table = classify(parse_logs([str(exim_day)], year=2026, tz="UTC", workers=1).events, kb)
    done = is_completed(table)
    completed = (table["event"] == "removed").fillna(False).to_numpy(dtype=bool)
    assert done.any() and (done == (completed & (table["status"] == "completed").fillna(False).to_numpy(bool))).all()
    assert not (done & is_bulk(table)).any()  # the peers' fold still reads them as rows
    rows, bulk = split_events(table)
    assert not (rows["event"] == "removed").fillna(False).any()
    assert len(rows) + len(bulk) == len(table)


def test_quiet_rows_keep_no_texts(day, kb):
    """The rows kept from the stream hold no reply text or detail where the line went well on a
    session or a delivery (quiet_rows); failures keep theirs, and the report is the table's."""
    from analyzer.report.run import quiet_rows

    stream = open_stream([str(day)], year=2026, tz="UTC", workers=1)
    rows = collect_report_events(stream, kb).events
    quiet = quiet_rows(rows)
    assert quiet.any() and not quiet.all()
    assert rows.loc[quiet, ["reply_text", "detail"]].isna().all().all()
    table = classify(parse_logs([str(day)], year=2026, tz="UTC", workers=1).events, kb)
    said = quiet_rows(table) & table["reply_text"].notna().to_numpy(dtype=bool)
    assert said.any()  # there were texts to leave out
    failed = rows["outcome"].isin(["permanent_failure", "transient_failure"]).to_numpy(dtype=bool)
    assert rows.loc[failed, "reply_text"].notna().any()


def test_rows_fold_blanks_the_marked_rows_texts():
    """RowsFold(blank_columns=...).add(batch, mask, blank=...) keeps those columns null on the marked rows only."""
    fold = RowsFold(["a", "t"], blank_columns=["t"])
    batch = pd.DataFrame({"a": [0, 1, 2, 3], "t": pd.array(["w", "x", "y", None], dtype="string[pyarrow]")})
    fold.add(batch, np.array([True, True, False, True]), blank=np.array([False, True, True, False]))
    out = fold.result()
    assert out["a"].tolist() == [0, 1, 3]
    assert out["t"].isna().tolist() == [False, True, True]
    assert out["t"].iloc[0] == "w"
