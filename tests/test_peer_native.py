"""The native Postfix fold step (analyzer/peer_native.py, native/src/peerfold.rs) against the Python
fold it replaces (``MAILLENS_ENGINE=python``): the same ``PeersFold.result`` on generated days and
the sample logs cut into flushes anywhere (a line alone, odd sizes, batches folded last first), on
hypothesis-made batches of Postfix events (nulls, empty and non-ASCII texts, deliveries before their
size line, queue ids repeated), and the coded columns' codes against a plain vocabulary's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.peer_agg import new_vocab
from analyzer.peer_coded import Derived
from analyzer.peer_native import NativePfFold
from analyzer.peer_native_exim import NativeExFold
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold
from tests.conftest import SAMPLES
from tools.peers import generated_day

pytestmark = pytest.mark.skipif(not native.available() or native._built("PfFold") is None,
                                reason="the native engine with its peers' fold step is not built")


def _fold(monkeypatch, engine: str, batches: list) -> tuple[dict, PeersFold]:
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    fold = PeersFold()
    for b in batches:
        fold.add(b)
    return fold.result(), fold


def _same(monkeypatch, batches: list) -> None:
    got, fold = _fold(monkeypatch, "native", batches)
    want, plain = _fold(monkeypatch, "python", batches)
    for mine, spec, kind in ((fold.pf, plain.pf, NativePfFold), (fold.ex, plain.ex, NativeExFold)):
        if mine is not None and native._built(kind.__name__[6:]) is not None:
            assert isinstance(mine, kind) and not isinstance(spec, kind)
    # (as JSON: a NaN delay is equal to itself there)
    assert json.dumps(got, default=str) == json.dumps(want, default=str)


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npeers")
    return {"postfix": parse_logs([str(generated_day(tmp / "pf.log", "postfix", lines=8000, seed=5))], tz="UTC",
                                  year=2026).events,
            "samples": parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026).events}


def _cut(ev: pd.DataFrame, cuts: list[int], arrow: bool) -> list:
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(ev)], strict=True):
        part = ev.iloc[a:b].reset_index(drop=True)
        out.append(pa.Table.from_pandas(part, preserve_index=False) if arrow else part)
    return out


def _bounds(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    """The pieces ``(start, end)`` of ``n`` rows cut at ``cuts`` (out of range or repeated cuts kept once)."""
    bounds = sorted({min(c, n) for c in cuts})
    return list(zip([0, *bounds], [*bounds, n], strict=True))


def _batches(ev: pd.DataFrame, cuts: str) -> list:
    """``ev`` as flushes: whole, cut at 40 random places, in 701-line pieces folded last first (a
    short table: 7-line), a line alone (pandas batches of its first 600)."""
    if cuts == "one":
        return _cut(ev, [], arrow=True)
    if cuts == "odd":
        rng = np.random.default_rng(3)
        return _cut(ev, sorted(set(rng.integers(1, len(ev), 40).tolist())), arrow=True)
    if cuts == "reversed":  # deliveries folded before their size lines, ends before arrivals
        step = 701 if len(ev) > 2000 else 7
        return _cut(ev, list(range(step, len(ev), step)), arrow=True)[::-1]
    return _cut(ev.iloc[:600], list(range(1, min(600, len(ev)))), arrow=False)


@pytest.mark.parametrize("name", ["postfix", "samples"])
@pytest.mark.parametrize("cuts", ["one", "odd", "reversed", "lines"])
def test_native_fold_equals_the_python_fold(monkeypatch, days, name, cuts):
    _same(monkeypatch, _batches(days[name], cuts))


def test_columns_coded_afresh_give_the_same_result(monkeypatch, days):
    """Coded columns that start afresh every few strings (:attr:`Derived.LIMIT`) derive them again: the same result."""
    monkeypatch.setattr(Derived, "LIMIT", 5)
    ev = days["postfix"]
    _same(monkeypatch, _cut(ev, list(range(997, len(ev), 997)), arrow=True))


_TEXT = st.one_of(st.none(), st.sampled_from(["", "unknown", "a@B.Example", "X@Ünï.İT", "bob", "ok@x.org",
                                               "mail.Example.CO.UK", "1.2.3.4", "Q@"]))
_PROG = st.sampled_from(["postfix/smtpd", "postfix/qmgr", "postfix/smtp", "postfix/local", "postfix/cleanup",
                         "postfix/pickup", "postfix/master", "postfix/submission/smtpd", "postfix/postscreen",
                         "sendmail", None])
_EVENT = st.sampled_from(["received", "queued", "delivery", "reject", "reject_warning", "filter_action", "removed", "warning",
                          "auth_failure", "protocol_error", "dns", "info", None])
_STATUS = st.sampled_from(["sent", "deferred", "bounced", "client before queue", "warning", "hold", "discard",
                           "non-smtp command", None])
_REPLY = st.sampled_from([None, "", "250 2.0.0 Ok: forwarded as 1A2B", "550 5.1.1 <a@b>: Recipient address rejected: "
                          "User unknown", "554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using x",
                          "452 4.3.1 Insufficient system storage"])
_ROW = st.fixed_dictionaries({
    "mta": st.just("postfix"), "program": _PROG, "event": _EVENT, "status": _STATUS,
    "queue_id": st.sampled_from([None, "A1", "B2", "C3", "D4", "warning: E5"]), "sender": _TEXT, "recipient": _TEXT,
    "client_host": _TEXT, "client_ip": st.sampled_from([None, "", "10.0.0.1", "::1"]),
    "size": st.one_of(st.none(), st.integers(0, 2**40)),
    "delay": st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False), st.just(float("nan"))),
    "reply_text": _REPLY, "detail": st.sampled_from([None, "", "milter-reject", "proxy-reject", "header Subject: x",
                                                     "body spam", "->", "x warning: a warning: b\nwarning: c", "İ"]),
    "smtp_stage": st.sampled_from([None, "RCPT TO", "MAIL FROM", "connect", "DATA", "end of DATA", "HELO"]),
    "direction": st.sampled_from([None, "inbound", "outbound"]), "sasl_username": st.sampled_from([None, "u"])})
_TYPES = {"size": pa.int64(), "delay": pa.float64()}


def _table(rows: list[dict]) -> pa.Table:
    return pa.table({k: pa.array([r[k] for r in rows], _TYPES.get(k, pa.string())) for k in _ROW_KEYS})


_ROW_KEYS = ["mta", "program", "event", "status", "queue_id", "sender", "recipient", "client_host", "client_ip", "size",
             "delay", "reply_text", "detail", "smtp_stage", "direction", "sasl_username"]


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(_ROW, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_made_batches_fold_alike(rows, cuts):
    """Odd batches (empty ones included, cut anywhere) give the Python fold's result."""
    mp = pytest.MonkeyPatch()
    try:
        t = _table(rows)
        batches = [t.slice(a, b - a) for a, b in _bounds(len(rows), cuts)]
        _same(mp, batches)
    finally:
        mp.undo()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(_TEXT, max_size=40), pick=st.lists(st.booleans(), max_size=40))
def test_coded_rows_are_the_vocabulary_codes(values, pick):
    """A column coded on some rows only: those rows' codes are a plain vocabulary's of them, the
    others -1; the values derived per code are those of the strings."""
    rows = np.array((pick + [True] * len(values))[:len(values)], dtype=bool)
    arr = pa.array(values, pa.string())
    d = Derived(lambda a: {"len": np.array([-1 if v is None else len(v) for v in a.to_pylist()])}, None)
    codes = d.codes(arr, rows)
    plain = new_vocab().encode(pa.array([v if r else None for v, r in zip(values, rows, strict=True)], pa.string()))
    assert codes.tolist() == plain.tolist()
    got = d.values(codes)["len"].tolist()
    assert got == [len(v) if r and v is not None else -1 for v, r in zip(values, rows, strict=True)]


def test_bad_columns_are_errors():
    step = native._built("PfFold")
    u8, i32 = np.zeros(3, np.uint8), np.zeros(2, np.int32)
    reply = (np.zeros(4, np.int32), b"", False, None)
    with pytest.raises(ValueError):
        step.add(u8, u8, u8, u8, np.zeros(3, np.uint64), np.zeros(3, np.int64), i32, i32, i32, i32, np.zeros(3), reply)
    with pytest.raises(ValueError):  # an int64 column of 7 bytes
        step.add(u8, u8, u8, u8, np.zeros(3, np.uint64), b"1234567", i32, i32, i32, i32, np.zeros(3), reply)
