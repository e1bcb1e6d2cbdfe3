"""A stream batch's Postfix lines coded where they lie (analyzer/peer_native.py ``NativePfFold.encode``,
native/src/peerrows.rs) against the Python coding it replaces (``_coded``, the specification) and
against the Python engine's fold of the lines taken out: the same codes and masks per batch, the
same ``PeersFold.result``, on generated days and hypothesis-made batches (nulls, empty and
non-ASCII texts, any rows selected, none), the texts derived at flushes that hold several batches."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.peer_coded import Derived
from analyzer.peer_native import NativePfFold
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold, _pf_fold, _pf_warning_rows
from tests.test_peer_native import _ROW, _bounds, _table
from tools.peers import generated_day

pytestmark = pytest.mark.skipif(not native.available() or native._built("PfFold") is None
                                or getattr(native._module()[0], "encode_pf_rows", None) is None,
                                reason="the native engine with its peers' row coding is not built")


class _Rows(PeersFold):
    """:class:`PeersFold` whose Postfix lines are coded batch by batch (rows selected) and folded
    every ``every`` batches, as :meth:`analyzer.report.peers.WindowPeersFold._fold_batch` does."""

    def __init__(self, native_rows: bool, every: int) -> None:
        super().__init__()
        self.native_rows, self.every, self.held, self.coded = native_rows, every, [], []

    def add_rows(self, t: pa.Table, rows: np.ndarray) -> None:
        if self.pf is None:
            self.pf = _pf_fold()
            self.pf.native_rows = self.native_rows
        coded, f = self.pf.encode(t, rows)
        self.coded.append((coded, f))
        self.pf_warnings.add(_pf_warning_rows(t, f), count=1)
        self.pf.rejects.hold(t, f)
        self.held.append(coded)
        if len(self.held) >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.held:
            self.pf.fold(self.held)
            self.pf.rejects.fold()
            self.held = []

    def result(self) -> dict:
        self.flush()
        return super().result()


def _fold_both(monkeypatch, batches: list[tuple[pa.Table, np.ndarray]], every: int) -> None:
    """Native coding against Python coding (each batch's codes and masks, the result), and both
    against the Python engine's fold of the rows taken out."""
    monkeypatch.setenv("MAILLENS_ENGINE", "native")
    mine, spec = _Rows(True, every), _Rows(False, every)
    for t, rows in batches:
        mine.add_rows(t, rows)
        spec.add_rows(t, rows)
        assert isinstance(mine.pf, NativePfFold) and mine.pf.native_rows and not spec.pf.native_rows
        for got, want in zip(mine.coded[-1], spec.coded[-1], strict=True):
            assert got.keys() == want.keys()
            for k in got:
                np.testing.assert_array_equal(got[k], want[k], err_msg=k)  # (a NaN delay equal to itself)
    got, want = mine.result(), spec.result()
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    plain = PeersFold()
    for t, rows in batches:
        if rows.any():
            plain.add(t.filter(pa.array(rows)))
    taken = plain.result() if plain.pf is not None else None
    assert json.dumps(got, default=str) == json.dumps(want, default=str)
    if taken is not None:
        assert json.dumps(got, default=str) == json.dumps(taken, default=str)


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    log = generated_day(tmp_path_factory.mktemp("prows") / "pf.log", "postfix", lines=8000, seed=7)
    ev = parse_logs([str(log)], tz="UTC", year=2026).events
    return pa.Table.from_pandas(ev, preserve_index=False)


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("share", [1.0, 0.6, 0.05])
def test_a_day_coded_where_it_lies_folds_as_the_lines_taken_out(monkeypatch, day, every, share):
    rng = np.random.default_rng(11)
    batches = [(day.slice(a, b - a), rng.random(b - a) < share) for a, b in _bounds(len(day), list(range(900, len(day), 900)))]
    _fold_both(monkeypatch, batches, every)


def test_texts_coded_afresh_between_flushes_give_the_same_result(monkeypatch, day):
    """Coded columns that start afresh every few strings (:attr:`Derived.LIMIT`): the codes held
    over several batches are valued before the vocabulary starts afresh."""
    monkeypatch.setattr(Derived, "LIMIT", 5)
    rng = np.random.default_rng(12)
    batches = [(day.slice(a, b - a), rng.random(b - a) < 0.7) for a, b in _bounds(len(day), list(range(500, len(day), 500)))]
    _fold_both(monkeypatch, batches, 4)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6),
       pick=st.lists(st.booleans(), min_size=60, max_size=60), every=st.integers(1, 3))
def test_made_batches_coded_alike(rows, cuts, pick, every):
    """Odd batches (empty ones, none of their rows selected, nulls anywhere) code and fold alike."""
    mp = pytest.MonkeyPatch()
    try:
        t = _table(rows)
        sel = np.array(pick[:len(rows)], dtype=bool)
        _fold_both(mp, [(t.slice(a, b - a), sel[a:b]) for a, b in _bounds(len(rows), cuts)], every)
    finally:
        mp.undo()


def test_bad_rows_are_errors():
    fn = native._module()[0].encode_pf_rows
    v = [native._built("Vocab") for _ in range(6)]
    col = (np.zeros(3, np.int32).tobytes(), b"", False, None)  # two empty strings
    u8 = np.zeros(1, np.uint8)
    with pytest.raises(ValueError):  # a row past the column
        fn(v, [col] * 8, np.array([2], np.int64), u8, u8)
    with pytest.raises(ValueError):  # an event per row missing
        fn(v, [col] * 8, np.array([0], np.int64), u8[:0], u8)
    bad = (np.array([0, 5, 1], np.int32).tobytes(), b"abcde", False, None)
    with pytest.raises(ValueError):  # a row read whose offsets go backwards
        fn(v, [bad] * 8, np.array([1], np.int64), u8, u8)
    codes, *_ = fn(v, [bad] * 8, np.array([0], np.int64), u8, u8)  # (a row read whose offsets are fine)
    assert np.frombuffer(codes[0], dtype=np.int64).tolist() == [0]


_REPLY_PART = st.sampled_from(["550", "554", "553 ", "5.1.1 ", "5.7.1", " ", "<a@b>", "<", ">", ": ", ":", "; ", ";", ",",
                               "[1.2.3.4] ", "[", "]", "Recipient address rejected: ", "Sender address rejected: ",
                               "User unknown", "User unknown in local table", "Client host ", "client ", "Sender address",
                               " blocked", "blocked using x", "Protocol error", "Improper use of SMTP command pipelining",
                               "Message size exceeds fixed limit", "Server configuration error", "Server configuration problem",
                               "from=<x>", "\n", "é", "İ", "Service unavailable", "x"])


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.lists(_REPLY_PART, max_size=12).map("".join)), max_size=20),
       mail=st.booleans())
def test_reject_reasons_are_the_arrow_rules(texts, mail):
    """pflogsumm's reject reasons in Rust (native/src/peerreasons.rs) are those of the Arrow rules
    (nulls read as empty, non-ASCII and line breaks included)."""
    from analyzer.report.peers_pf_rejects import _pf_reject_reason_of, reject_reasons

    a = pa.array(texts, pa.string())
    want = _pf_reject_reason_of(pc.fill_null(a, ""), mail).to_pylist()
    assert reject_reasons(a, mail).to_pylist() == want


def test_stream_batches_mixed_with_plain_ones_fold_as_plain_ones(monkeypatch, day):
    """A run whose stream batches (their Postfix lines coded and held) are mixed with batches
    that are not (folded whole, where the coded columns may start afresh: :attr:`Derived.LIMIT`)
    gives what every batch folded whole gives: the held codes are valued before a plain batch's
    fold can start their vocabulary afresh."""
    from analyzer.report.build import ReportWindow
    from analyzer.report.peers import WindowPeersFold
    from analyzer.schema import to_pandas

    monkeypatch.setenv("MAILLENS_ENGINE", "native")
    monkeypatch.setattr(Derived, "LIMIT", 5)
    cuts = _bounds(len(day), list(range(700, len(day), 700)))

    def fold(stream: bool) -> dict:
        f = WindowPeersFold(ReportWindow())
        for i, (a, b) in enumerate(cuts):
            t = day.slice(a, b - a)
            df = to_pandas(t)
            if stream and i % 3 != 2:  # two stream batches, then a plain one
                df.__dict__["arrow"] = t
            f.add(df)
        got = f.result()
        return json.loads(json.dumps(dict(got.items()) if hasattr(got, "items") else got, default=str))

    mixed, plain = fold(True), fold(False)
    assert mixed["peers"] and mixed == plain
