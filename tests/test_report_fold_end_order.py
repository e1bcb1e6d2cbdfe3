"""The report fold's end at many rows (r29-r10mpf): the peers' tables are made before the
SentFold's and EndsFold's results (not beside them), and the SentFold's top entries are joined a
column at a time, their pieces emptied as they go, with the values the old join gave."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.classify import default_rules
from analyzer.reader import open_stream
from analyzer.report import peers as report_peers
from analyzer.report import run
from analyzer.report.sent_fold import _TOP_CODES, SentFold, _joined_top

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def _old_join(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    """The join as it was before r29: every column of every piece concatenated, then the codes made int32."""
    if not pieces:
        return None
    same_q = all(p["q"] is p["qid"] for p in pieces)
    top = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0] if not (same_q and k == "q")}
    if same_q:
        top["q"] = top["qid"]
    top.update({k: top[k].astype(np.int32, copy=False) for k in _TOP_CODES})
    return top


def _piece(rng: np.random.Generator, n: int, widths: tuple[type, ...], own_q: bool) -> dict[str, np.ndarray]:
    qid = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    piece = {k: rng.integers(-1, np.iinfo(w).max, n).astype(w) for k, w in zip(_TOP_CODES, widths, strict=True)}
    piece.update(qid=qid, h=rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64),
                 q=qid if not own_q else qid.copy() ^ np.uint64(1))
    return piece


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.tuples(*[st.sampled_from([np.int8, np.int16, np.int32])] * 3),
                          st.booleans()), min_size=0, max_size=6),
       st.integers(0, 2**32 - 1))
def test_the_top_joined_a_column_at_a_time_is_the_old_join(specs, seed):
    rng = np.random.default_rng(seed)
    pieces = [_piece(rng, n, widths, own_q) for n, widths, own_q in specs]
    again = [dict(p) for p in pieces]  # (the same arrays: _joined_top empties its pieces' dicts)
    want = _old_join(again)
    got = _joined_top(pieces)
    if want is None:
        assert got is None
        return
    assert list(got) == list(want)  # the same columns, in the same order
    for k, v in want.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v)
    for k in _TOP_CODES:
        assert got[k].dtype == np.int32
    assert (got["q"] is got["qid"]) == all(not own_q for _, _, own_q in specs)
    assert all(p == {} for p in pieces)  # every piece's columns dropped as they were joined


def _fold() -> run.FoldedResult:
    return run.collect_report_events(open_stream([str(SAMPLES / "postfix")], year=2026, tz="UTC"), default_rules())


@pytest.mark.parametrize("apart", [0, 10**9])
def test_the_peers_tables_come_before_the_sent_results_at_many_rows(monkeypatch, apart):
    """From APART_ROWS rows on, the peers' tables (their fold's thread) are done before the
    SentFold's result begins; the fold's result is the same either way."""
    want = _fold()
    made: list[str] = []
    after, sent_result = report_peers.WindowPeersFold._result_after, SentFold.result

    def peers_done(self, *args):
        out = after(self, *args)
        time.sleep(0.2)  # (slow tables: made beside the SentFold's result, that would begin first)
        made.append("peers")
        return out

    def sent(self):
        made.append("sent")
        return sent_result(self)

    monkeypatch.setattr(report_peers.WindowPeersFold, "_result_after", peers_done)
    monkeypatch.setattr(SentFold, "result", sent)
    monkeypatch.setattr(run, "APART_ROWS", apart)
    got = _fold()
    if apart == 0:
        assert made == ["peers", "sent"]
    assert dict(got.sections["peers"]) == dict(want.sections["peers"])  # (waited for here, at the latest)
    assert sorted(made) == ["peers", "sent"]
    assert got.events.equals(want.events) and (got.order == want.order).all()
    assert got.bulk.table.equals(want.bulk.table) and got.bulk.senders.equals(want.bulk.senders)
    for k in ("top", "values"):
        assert (got.sections["sent"][k] is None) == (want.sections["sent"][k] is None)
    if want.sections["sent"]["top"] is not None:
        for k, v in want.sections["sent"]["top"].items():
            assert np.array_equal(got.sections["sent"]["top"][k], v)
