"""The report's end as r18-rend left it: each faster path gives what the path it replaced gave.

BulkFold of a stream batch (its shared tests, columns encoded whole) against the same rows as a
plain table; the Bulk's python-string keys compared by numpy against pandas; the servers' folded
counts over codes against a group-by of a name per row; the silence detector's distinct seconds
against ``np.unique``; the findings handed to the build as a call, made on another thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies.aggregates import Bulk, BulkFold
from analyzer.anomalies.bulk_masks import _eq
from analyzer.anomalies.health import _distinct
from analyzer.reader import parse_logs
from analyzer.report.fold import _Batch
from analyzer.report.run import REPORT_COLUMNS
from analyzer.report.servers import _folded_per_server, server_names
from analyzer.schema import to_pandas

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
NOW = pd.Timestamp("2026-12-01T06:00:00Z")
CHOICES = {
    "event": ["connect", "disconnect", "tls", "screen", "received", "delivery", "message_id", "removed"],
    "direction": ["inbound", "outbound", "local"],
    "status": ["sent", "deferred", "bounced"],
    "program": ["postfix/smtpd", "postfix/postscreen", "postfix/qmgr", "exim"],
    "source": ["/var/log/mx/mail.log", "/var/log/mx/mail.log.1", "/srv/exim/mainlog"],
    "host": ["mx1", "mx2"],
    "reply_class": ["2xx", "4xx", "5xx"],
    "queue_id": ["A1", "B2", "C3", "D4"],
    "sender": ["a@example.org", "b@example.net"],
}
_ROW = st.fixed_dictionaries(
    {c: st.one_of(st.none(), st.sampled_from(v)) for c, v in CHOICES.items()}
    | {"ts": st.one_of(st.none(), st.integers(0, 3 * 86_400)), "quit": st.one_of(st.none(), st.booleans())})


def _table(rows: list[dict]) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    for c in REPORT_COLUMNS:
        if c == "ts":
            start = pd.Timestamp("2026-11-23", tz="UTC").value // 1000
            cols[c] = pa.array([None if r["ts"] is None else start + r["ts"] * 1_000_000 for r in rows],
                               pa.timestamp("us", tz="UTC"))
        elif c in ("size", "line_no"):
            cols[c] = pa.array(list(range(1, len(rows) + 1)), pa.int64())
        elif c == "delay":
            cols[c] = pa.array([None] * len(rows), pa.float64())
        elif c == "quit":
            cols[c] = pa.array([r["quit"] for r in rows], pa.bool_())
        else:
            cols[c] = pa.array([r.get(c) for r in rows], pa.string())
    return pa.table(cols)


def _folded(batches: list[pd.DataFrame]) -> Bulk:
    fold = BulkFold(first_only=True, split=pd.Timestamp("2026-11-24", tz="UTC"))
    for b in batches:
        fold.add(b, np.ones(len(b), dtype=bool))
    return fold.result()


def _same(a: Bulk, b: Bulk) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.qids, b.qids)
    pd.testing.assert_frame_equal(a.senders.astype({"sender": object}), b.senders.astype({"sender": object}))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_ROW, min_size=1, max_size=30), min_size=1, max_size=3))
def test_a_stream_batch_folds_as_its_rows_in_a_plain_table(parts):
    tables = [_table(rows) for rows in parts]
    stream = [_Batch.of(t, to_pandas(t)) for t in tables]
    plain = [to_pandas(t) for t in tables]
    for frame in plain:  # (a plain table: its strings as objects, no Arrow table to read)
        for c in frame.columns:
            if isinstance(frame[c].dtype, pd.ArrowDtype) and pa.types.is_string(frame[c].dtype.pyarrow_dtype):
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    _same(_folded(stream), _folded(plain))


def test_the_bulks_python_strings_compare_as_pandas_compares_them():
    values = np.array(["received", None, "", "delivered", np.nan, "received"], dtype=object)
    s = pd.Series(pd.array(values, dtype=pd.StringDtype("python", na_value=np.nan)))
    for v in ("received", "", "nothing", ("received", "delivered"), ("",)):
        want = (s == v) if isinstance(v, str) else s.isin(list(v))
        got = _eq(s, v)
        assert got.dtype == bool
        assert got.tolist() == want.fillna(False).to_numpy(dtype=bool).tolist()
    got = _eq(s, "received")
    got[:] = False  # (its own array: a caller may change it)
    assert _eq(s, "received").tolist() == [True, False, False, False, False, True]


def test_the_servers_folded_counts_as_a_group_by_of_their_names():
    # two files of one folder are one server; a host names its lines whatever their file
    t = pd.DataFrame({"host": [None, None, "mx1", "mx1", None, "mx2"],
                      "source": ["/logs/a/mail.log", "/logs/a/mail.log.1", "/logs/b/x", None, None, "/logs/a/mail.log"],
                      "n": [3, 4, 5, 6, 7, 8], "sessions": [1, 0, 2, 0, 1, 1],
                      "kind": ["received", "", "delivered", "received", "", "delivered"]})
    bulk = Bulk(t)
    per = t.assign(server=server_names(t).to_numpy(), received=bulk.received(), delivered=bulk.delivered()
                   ).groupby("server")[["n", "sessions", "received", "delivered"]].sum()
    want = {str(k): (int(r.n), int(r.sessions), int(r.received), int(r.delivered)) for k, r in per.iterrows()}
    got = _folded_per_server(bulk)
    assert got == want
    assert list(got) == sorted(want)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-5, 40)), max_size=60), st.booleans())
def test_distinct_seconds_as_unique(values, ordered):
    ints = [v for v in values if v is not None]
    if ordered:
        ints.sort()
    sec = np.array(ints, dtype=np.int64).astype("datetime64[s]")
    if None in values:  # NaT among them
        sec = np.append(sec, np.datetime64("NaT", "s"))
    got, want = _distinct(sec), np.unique(sec)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want, equal_nan=True)


class _Inline:
    """An executor that runs each job at once, on the caller's thread (the detectors as before)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn, *args, **kwargs) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done


def test_the_detectors_on_their_thread_give_the_report_they_gave_inline(monkeypatch):
    from analyzer.report import run

    result = parse_logs([str(SAMPLES)], tz="UTC", year=2026)
    ran: list[str] = []
    detect = run.detect_anomalies

    def detect_where(*args, **kwargs):
        ran.append(threading.current_thread().name)
        return detect(*args, **kwargs)

    tops: list[str] = []
    top_tables = run.top_tables

    def top_where(*args, **kwargs):
        tops.append(threading.current_thread().name)
        return top_tables(*args, **kwargs)

    monkeypatch.setattr(run, "detect_anomalies", detect_where)
    monkeypatch.setattr(run, "top_tables", top_where)
    apart = run.make_report(result, now=NOW, generated_at=NOW)
    assert ran and ran[0].startswith("maillens-detect")
    # the top tables there too, after the detectors, or on this thread when it is free first (r22-rend)
    assert tops and (tops[0].startswith("maillens-detect") or tops[0] == threading.current_thread().name)
    monkeypatch.setattr(run, "ThreadPoolExecutor", _Inline)
    inline = run.make_report(result, now=NOW, generated_at=NOW)
    assert ran[1] == threading.current_thread().name == tops[1]
    assert apart["findings"]  # (the sample logs have some: the comparison below compares them)
    assert apart["top"]["destinations"] and apart["omitted"]  # (and top tables, some cut: their lengths compared)
    assert apart == inline
    # build_report given no top tables makes them itself, the same
    monkeypatch.setattr(run, "ThreadPoolExecutor", ThreadPoolExecutor)
    monkeypatch.setattr(run, "top_tables", lambda *a, **k: None)  # (made, not given)
    built = run.build_report
    monkeypatch.setattr(run, "build_report", lambda *a, top=None, **k: built(*a, **k))
    assert run.make_report(result, now=NOW, generated_at=NOW) == apart
