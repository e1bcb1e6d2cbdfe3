"""The native Exim fold step (analyzer/peer_native_exim.py, native/src/peerfold_exim.rs) against the
Python fold it replaces (``MAILLENS_ENGINE=python``): the same ``PeersFold.result`` on a generated day
and sample_logs/exim (oldest and newest file first) cut into flushes anywhere (a line alone, odd
sizes, batches folded last first), on hypothesis-made batches of Exim events (nulls, empty and
non-ASCII texts, lines after their message's end, ends before arrivals, repeated ids), and bad
columns rejected before anything is folded."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.peer_native_exim import NativeExFold
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold
from tests.conftest import SAMPLES
from tests.test_peer_native import _batches, _bounds, _same
from tools.peers import generated_day

pytestmark = pytest.mark.skipif(not native.available() or native._built("ExFold") is None,
                                reason="the native engine with its Exim peers' fold step is not built")


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npeersx")
    exim = sorted(p for p in (SAMPLES / "exim").iterdir() if p.name.startswith("mainlog"))
    read = lambda files: parse_logs([str(f) for f in files], tz="UTC", year=2026).events  # noqa: E731
    return {"exim": read([generated_day(tmp / "ex.log", "exim", lines=8000, seed=7)]),
            "oldest": read(exim[::-1]), "newest": read(exim)}


@pytest.mark.parametrize("name", ["exim", "oldest", "newest"])
@pytest.mark.parametrize("cuts", ["one", "odd", "reversed", "lines"])
def test_native_fold_equals_the_python_fold(monkeypatch, days, name, cuts):
    _same(monkeypatch, _batches(days[name], cuts))


def test_the_day_twice_reads_ids_again_after_their_end(monkeypatch, days):
    """The day folded twice over: every line of the second copy follows its message's end."""
    ev = days["exim"]
    t = pa.Table.from_pandas(ev, preserve_index=False)
    _same(monkeypatch, [pa.concat_tables([t, t]).combine_chunks()])
    _same(monkeypatch, [t.slice(0, 3001), pa.concat_tables([t.slice(3001), t.slice(0, 5000)]), t.slice(5000)])


_IDS = ["1aAbcD-000001-Xy", "1zzzzz-000003-AA", "0Ab", None]
_TEXT = st.one_of(st.none(), st.sampled_from(["", "local", "a@B.Example", "X@Ünï.İT", "ΣΑΣ@ΟΔΟΣ.gr", "Bob@X.org",
                                               "bob@x.org", "mx.Example.CO.UK", "/var/mail/x", "|/bin/prog", "1.2.3.4"]))
_FIELDS = {
    "mta": st.just("exim"), "queue_id": st.sampled_from(_IDS),
    "event": st.sampled_from(["received", "delivery", "removed", "reject", "protocol_error", "too_many_errors", "reply",
                              "connect_failure", "lost_connection", "timeout", "info", None]),
    "status": st.sampled_from(["sent", "deferred", "bounced", "discarded", "completed", "rejected", "tempfailed",
                               "fakereject", "synchronization", None]),
    "detail": st.sampled_from([None, "", "->", "sync failure", "synchronization error", "dropped by peer", "x"]),
    "direction": st.sampled_from([None, "inbound", "outbound"]),
    "reply_text": st.sampled_from([None, "", "550 rejected: spam", "refused", "451 try later", "bad: a: b"]),
    "smtp_stage": st.sampled_from([None, "RCPT TO", "MAIL FROM", "connect", "DATA", "end of DATA", "HELO/EHLO", "x"]),
    "client_host": _TEXT, "helo": _TEXT, "client_ip": st.sampled_from([None, "", "10.0.0.1", "::1", "İ"]),
    "sender": _TEXT, "relay_host": _TEXT, "relay_ip": st.sampled_from([None, "10.9.9.9", "ΣΣ"]),
    "recipient": _TEXT, "orig_recipient": _TEXT,
    "size": st.one_of(st.none(), st.integers(0, 2**40)),
    "ts": st.one_of(st.none(), st.integers(-10**14, 2 * 10**15))}
# a message's lines more often than chance makes them: arrivals, '=>' deliveries, 'Completed' ends
_ROW = st.one_of(st.fixed_dictionaries(_FIELDS),
                 st.fixed_dictionaries({**_FIELDS, "event": st.just("received"), "status": st.none()}),
                 st.fixed_dictionaries({**_FIELDS, "event": st.just("delivery"), "status": st.just("sent"),
                                        "detail": st.sampled_from([None, "", "->"])}),
                 st.fixed_dictionaries({**_FIELDS, "event": st.just("removed"), "status": st.just("completed")}))
_KEYS = ["mta", "queue_id", "event", "status", "detail", "direction", "reply_text", "smtp_stage", "client_host", "helo",
         "client_ip", "sender", "relay_host", "relay_ip", "recipient", "orig_recipient", "size", "ts"]
_TYPES = {"size": pa.int64(), "ts": pa.timestamp("us", tz="UTC")}


def _table(rows: list[dict]) -> pa.Table:
    return pa.table({k: pa.array([r[k] for r in rows], _TYPES.get(k, pa.string())) for k in _KEYS})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_ROW, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_made_batches_fold_alike(rows, cuts):
    """Odd batches (empty ones, lines after an end, ends before arrivals, cut anywhere) give the Python fold's result."""
    mp = pytest.MonkeyPatch()
    try:
        t = _table(rows)
        _same(mp, [t.slice(a, b - a) for a, b in _bounds(len(rows), cuts)])
    finally:
        mp.undo()


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, max_size=60), picks=st.lists(st.booleans(), min_size=60, max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=4))
def test_rows_read_where_they_lie_fold_as_the_rows_taken(rows, picks, cuts):
    """A batch's rows folded where they lie (``sel``: the others read as no line, non-ASCII texts
    among them or not) fold as the same rows taken out first."""
    t = _table(rows)
    sel = np.array(picks[:len(rows)], dtype=bool)
    where, taken = PeersFold(), PeersFold()
    for a, b in _bounds(len(rows), cuts):
        piece, s = t.slice(a, b - a), sel[a:b]
        where._add_parts({"exim": piece}, s)
        taken._add_parts({"exim": piece.filter(pa.array(s))})
    assert isinstance(where.ex, NativeExFold)
    assert json.dumps(where.result(), default=str) == json.dumps(taken.result(), default=str)


def test_relayed_pairs_lowered_as_python_lowers_them(monkeypatch):
    """The relayed pairs' texts lower-cased as ``str.lower`` (final sigma, dotted I), a flush with
    non-ASCII text beside flushes without."""
    base = dict.fromkeys(_KEYS)
    rows = []
    for i, (host, sender, rhost, rcpt, parent) in enumerate([
            ("X@Ünï.İT", "ΣΑΣ@x", "MX.ΟΔΟΣ", "ΣΑΣ@ΟΔΟΣ.gr", None), ("Mx.A", "B@C", "MX.D", "E@F", "e@f"),
            (None, "", "H", "ΣΑΣ@Α", "σας@α"), ("A", None, "B", "/X", "Y")]):
        qid = f"1aAbc{i}-00000{i}-Xy"
        rows += [dict(base, mta="exim", queue_id=qid, event="received", client_host=host, helo="HeLo", sender=sender, size=9,
                      ts=10**12),
                 dict(base, mta="exim", queue_id=qid, event="delivery", status="sent", relay_host=rhost, relay_ip="1.2.3.4",
                      recipient=rcpt, orig_recipient=parent, ts=10**12 + 7 * 10**6),
                 dict(base, mta="exim", queue_id=qid, event="removed", status="completed", ts=10**12 + 9 * 10**6)]
    t = _table(rows)
    _same(monkeypatch, [t])
    _same(monkeypatch, [t.slice(i, 3) for i in range(0, len(rows), 3)])
    _same(monkeypatch, [t.slice(i, 3) for i in range(0, len(rows), 3)][::-1])


def _strs(values: list) -> tuple:
    a = pa.array(values, pa.string())
    return (*native._string_views_of(a), False, None)


def test_bad_columns_are_errors_before_anything_is_folded():
    step = native._built("ExFold")
    n = 2
    texts = [_strs(["received", "removed"]), _strs(["", "completed"])] + [_strs([None] * n)] * 11 + [_strs(["é1", "é1"])]
    rows = (np.ones(n, np.uint8), np.arange(n, dtype=np.uint64), np.zeros(n, np.int64), np.zeros(n, np.int64))
    with pytest.raises(ValueError, match="ASCII"):  # an Exim id's time is read from its ASCII characters
        step.add(texts, [None] * 8, *rows)
    with pytest.raises(ValueError):  # a column of another length
        step.add([*texts[:13], _strs(["a"])], [None] * 8, *rows)
    with pytest.raises(ValueError):  # an int64 column of 7 bytes
        step.add([*texts[:13], _strs(["a", "b"])], [None] * 8, *rows[:2], b"1234567", rows[3])
    assert step.counts()[0] == 0 and step.held == 0
    need, rejected = step.add([*texts[:8], _strs(["Σ", None]), *texts[9:13], _strs(["a", "b"])], [None] * 8, *rows)
    assert (need, rejected) == (1 << 3, None), "a column to lower-case in Python: nothing folded"
    with pytest.raises(ValueError, match="length"):  # rows folded of another length
        step.add(texts, [None] * 8, *rows, np.ones(3, np.uint8))
    need, _ = step.add([*texts[:8], _strs(["Σ", None]), *texts[9:13], _strs(["a", "b"])], [None] * 8, *rows,
                       np.array([0, 1], np.uint8))
    assert need == 0, "the non-ASCII text of a row not folded is not read"


def test_a_negative_code_into_the_postfix_step_is_an_error():
    step = native._built("PfFold")
    one = np.ones(1, np.uint8)
    reply = (np.zeros(2, np.int32), b"", False, None)
    i32 = np.zeros(1, np.int32)
    with pytest.raises(ValueError, match="negative"):
        step.add(one, np.full(1, 3, np.uint8), np.full(1, 2, np.uint8), one, np.zeros(1, np.uint64),
                 np.zeros(1, np.int64), i32, i32, np.full(1, -1, np.int32), i32, np.zeros(1), reply)


def test_rows_read_where_they_lie_refuse_columns_of_other_lengths():
    """With ``sel``, a text column shorter than the rows is a ValueError, not a Rust panic (it read past
    the column's end to test its rows for ASCII: review of round 23)."""
    step = native._module()[0].ExFold()
    n = 3

    def strs(values):
        arr = pa.array(values, pa.binary())
        return (arr.buffers()[1].to_pybytes(), arr.buffers()[2].to_pybytes(), False, None)

    texts = [strs([b"a"] * n)] * 14
    texts[5] = strs(["\u00e9".encode()])  # one row, not ASCII
    zeros = bytes(8 * n)
    with pytest.raises(ValueError):
        step.add(texts, [None] * 8, bytes(n), zeros, zeros, zeros, sel=bytes([0, 1, 1]))
