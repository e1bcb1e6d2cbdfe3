"""The session ends' fold in the native core (analyzer/report/ends_native.py, native/src/endsfold*.rs)
gives what the Python fold (analyzer/report/ends_fold.py, the specification) gives: the same four
detector tables (values, order, dtypes) and report part, on generated days' batches (pandas
tables and stream batches of Arrow columns, some dictionary-encoded), whole and with a window
cut inside minutes, on made-up batches with nulls, empty masks and times and input orders out of
order, and the same report through the whole fold with ``MAILLENS_ENGINE=python``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.anomalies import folded as fo
from analyzer.report import ReportWindow
from analyzer.report import run as report_run
from analyzer.report.ends_fold import EndsFold, is_foldable_end, new_ends_fold
from analyzer.report.ends_native import NativeEndsFold
from analyzer.report.fold import _Batch
from analyzer.schema import to_pandas

from .report_folds import burst_at, classified_day, cut_window
from .report_folds import folded as through_fold

pytestmark = pytest.mark.skipif(native.engine() != "native" or NativeEndsFold.new_native(ReportWindow()) is None,
                                reason="no native engine")

NOW = pd.Timestamp("2026-12-01T06:00:00Z")


def same(a: Any, b: Any, path: str = "result") -> None:
    """``a`` and ``b`` equal in values, types, dtypes and order (NaN equal to NaN)."""
    if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=path)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, path
        assert all(x == y or (x != x and y != y) for x, y in zip(a.tolist(), b.tolist(), strict=True)), path
    else:
        assert type(a) is type(b), (path, type(a), type(b))
        if isinstance(a, dict):
            assert list(a) == list(b), path
            for k in a:
                same(a[k], b[k], f"{path}[{k!r}]")
        elif isinstance(a, tuple | list):
            assert len(a) == len(b), path
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                same(x, y, f"{path}[{i}]")
        else:
            assert a == b, (path, a, b)


def both(batches: list[tuple[pd.DataFrame, np.ndarray]], window: ReportWindow) -> tuple[Any, Any]:
    py, nat = EndsFold(window), NativeEndsFold(window, NativeEndsFold.new_native(window))
    for batch, mask in batches:
        py.add(batch, mask)
        nat.add(batch, mask)
    want, got = py.result(), nat.result()
    same(want, got)
    return want, got


def stream_batch(frame: pd.DataFrame, dictionary: tuple[str, ...] = ()) -> pd.DataFrame:
    """``frame`` as a stream's batch: an Arrow table kept beside Arrow-backed columns, the
    columns ``dictionary`` dictionary-encoded."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):  # (a column of nulls only: typed as the stream types it)
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    for name in dictionary:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).dictionary_encode())
    batch = _Batch.of(table, to_pandas(table))
    batch.attrs.update(frame.attrs)
    return batch


def batches_of(ev: pd.DataFrame, rows: int, stream: bool) -> list[tuple[pd.DataFrame, np.ndarray]]:
    out = []
    for start in range(0, len(ev), rows):
        frame = ev.iloc[start:start + rows].reset_index(drop=True)
        frame.attrs["first_row"] = start
        batch = stream_batch(frame, ("event", "host", "cause", "severity")) if stream else frame
        out.append((batch, is_foldable_end(batch)))
    return out


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    res = classified_day(tmp_path_factory, request.param, lines=12000, seed=11, incidents=["deferral_buildup@18h+3h"])
    ends = res.events[fo.is_session_end(res.events)]
    res.events = burst_at(res.events, ends, 120, 5)
    return res


@pytest.mark.parametrize("cut", [False, True])
@pytest.mark.parametrize("stream", [False, True])
def test_generated_day_same_as_python(day, cut, stream):
    (tables, part), _ = both(batches_of(day.events, 900, stream), cut_window(day, cut))
    assert tables[0] is not None and len(tables[0]) > 10
    assert part["stages"] and (part["states"] or part["failed"])
    assert any("candidates" in e for e in part["states"].values())


def test_report_same_with_the_python_engine(day, monkeypatch):
    """The whole report through the fold: native (the default) and ``MAILLENS_ENGINE=python``."""
    window = cut_window(day, True)
    assert isinstance(new_ends_fold(window), NativeEndsFold)
    got = report_run.make_report(through_fold(day, window, monkeypatch), window=window, now=NOW, generated_at=NOW)
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    assert type(new_ends_fold(window)) is EndsFold
    want = report_run.make_report(through_fold(day, window, monkeypatch), window=window, now=NOW, generated_at=NOW)
    assert got == want


def test_sample_logs_same_as_python():
    from pathlib import Path

    from analyzer.classify import classify
    from analyzer.reader import parse_logs

    logs = sorted(str(p) for p in Path(__file__).parent.parent.joinpath("sample_logs").glob("*.log"))
    res = parse_logs(logs, year=2026, tz="UTC")
    ev = classify(res.events)
    both(batches_of(ev, 50, False), ReportWindow())
    both(batches_of(ev, 50, True), ReportWindow())


# made-up batches: every column that the fold reads with nulls and a few values, times out of order
_WORDS = {
    "event": ["disconnect", "lost_connection", "timeout", "too_many_errors", "protocol_error", "dnsbl", "tls", "reject"],
    "outcome": ["transient_failure", "permanent_failure", "ok", "info", "deferred"],
    "severity": ["info", "warning", "error"],
    "cause": ["session.lost", "session.timeout", "proto", "dnsbl.hit", "queue.expired"],
    "fix_id": ["session.lost", "fix.a", "fix.b"],
    "smtp_stage": ["connect", "data", "rcpt", "unknown"],
    "provider": ["gmail", "outlook"],
    "host": ["mx1", "mx2"],
    "source": ["a.log", "b.log"],
    "client_ip": ["10.0.0.1", "10.0.0.2", "2001:db8::1"],
    "reply_text": ["421 4.4.2 mx1 Error: timeout exceeded", "-", "550 5.7.1 blocked 203.0.113.9 by zen.example",
                   "554 rejected for user@example.com id 123456789", "short", ""],
    "detail": ["lost connection after DATA from host", "VXNlcm5hbWU6", "too many errors after RCPT from x"],
}


@st.composite
def made_batch(draw: Any, first_row: int) -> pd.DataFrame:
    n = draw(st.integers(0, 40))
    cols: dict[str, Any] = {}
    for name, words in _WORDS.items():
        cols[name] = [draw(st.sampled_from([None, *words])) for _ in range(n)]
    day = pd.Timestamp("2026-11-23T00:00:00Z")
    secs = [draw(st.one_of(st.none(), st.integers(-90, 4 * 3600))) for _ in range(n)]
    cols["ts"] = pd.array([None if s is None else day + pd.Timedelta(seconds=s, milliseconds=s % 7) for s in secs],
                          dtype="datetime64[ns, UTC]")
    cols["line_no"] = pd.array([draw(st.one_of(st.none(), st.integers(1, 10**6))) for _ in range(n)], dtype="Int64")
    cols["direction"] = [draw(st.sampled_from(["inbound", "inbound", None])) for _ in range(n)]
    for name in ("queue_id", "recipient", "sasl_username", "cause_ref"):
        cols[name] = [None] * n
    frame = pd.DataFrame(cols).astype({c: object for c in cols if c not in ("ts", "line_no")})
    frame.attrs["first_row"] = first_row
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cut=st.booleans(), stream=st.booleans())
def test_made_batches_same_as_python(data, cut, stream):
    batches = []
    for _ in range(data.draw(st.integers(1, 4))):
        frame = data.draw(made_batch(first_row=data.draw(st.integers(0, 500))))  # (input orders overlap, out of order)
        batch = stream_batch(frame, ("event", "reply_text")) if stream and len(frame) else frame
        mask = is_foldable_end(batch)
        if data.draw(st.booleans()):  # any lines, as the fold is handed (not only the foldable ones)
            mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(frame), max_size=len(frame))), dtype=bool)
        batches.append((batch, mask))
    day = pd.Timestamp("2026-11-23T00:00:00Z")
    window = ReportWindow(day + pd.Timedelta(minutes=30, seconds=17), day + pd.Timedelta(hours=2, seconds=3)) if cut \
        else ReportWindow()
    both(batches, window)


def test_bad_buffers_are_errors_not_crashes():
    f = NativeEndsFold.new_native(ReportWindow())
    z = np.zeros(1, np.int64)
    col = (np.zeros(2, np.int32), b"", False, None, None, 0, None)
    with pytest.raises(ValueError):
        f.add([col] * 3, z, z, (z, None, 1), (z, None, False))  # too few columns
    with pytest.raises(ValueError):
        f.add([col] * 10, np.array([5]), z, (z, None, 1), (z, None, False))  # a row past the columns
    bad = (np.array([0, 9], np.int32), b"abc", False, None, None, 0, None)  # an offset past the data
    with pytest.raises(ValueError):
        f.add([bad] * 10, z, z, (z, None, 1), (z, None, False))
    with pytest.raises(ValueError):
        f.finish(col, ["x"])  # texts for no candidate
