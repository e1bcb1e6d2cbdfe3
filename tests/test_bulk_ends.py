"""The Bulk fold's senders let go of at their message's end (``looked_up_only``:
analyzer/anomalies/bulk_ends.py, native/src/bulkfold_ends.rs): a sender's entry is kept when a
look-up of its queue id comes before its message's end (or the message does not end), whatever
the batches the lines come in; the Python fold and the native one alike, against a reference
that walks the lines one by one."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.anomalies.aggregates import BulkFold, qid_hash

from .test_bulk_firsts import fold_cut

QIDS = ["A1", "B2", "C3"]
# (kind, queue id, sender): an entry (a folded line naming a sender), a look-up (an outbound
# delivery naming none), a message's end, an inbound delivery (no look-up), any other line
_LINE = st.tuples(st.sampled_from(["entry", "look", "end", "inbound", "other"]), st.sampled_from(QIDS),
                  st.sampled_from(["a@example.org", "b@example.net", "c@example.com"]))


def _row(i: int, line: tuple[str, str, str]) -> dict:
    kind, qid, sender = line
    row = {"ts": i, "quit": None, "status": None, "program": "postfix/qmgr", "source": "/var/log/mail.log",
           "host": "mx1", "reply_class": None, "queue_id": qid, "sender": None, "direction": None,
           "event": {"entry": "received", "look": "delivery", "end": "removed", "inbound": "delivery"}.get(kind, "tls")}
    if kind == "entry":
        row["sender"] = sender
    elif kind in ("look", "inbound"):
        row["direction"] = "outbound" if kind == "look" else "inbound"
        row["status"] = "sent"
    return row


def _reference(lines: list[tuple[str, str, str]]) -> list[tuple[int, str]]:
    """(place, queue id) of the entries kept, one line after another: an entry is kept when its
    queue id is looked up anywhere and not only after the first end at or after it."""
    kept = []
    for p, (kind, qid, _) in enumerate(lines):
        if kind != "entry":
            continue
        looks = [i for i, (k, q, _) in enumerate(lines) if k == "look" and q == qid]
        ends = [i for i, (k, q, _) in enumerate(lines) if k == "end" and q == qid and i > p]
        if looks and (not ends or looks[0] < ends[0]):
            kept.append((p, qid))
    return kept


def _folds(lines, cuts, stream: bool, engine: str) -> pd.DataFrame:
    rows = [_row(i, line) for i, line in enumerate(lines)]
    folded = [r["sender"] is not None for r in rows]
    return fold_cut(BulkFold(looked_up_only=True), engine, rows, folded, cuts, stream).senders


@settings(max_examples=80, deadline=None)
@given(st.lists(_LINE, max_size=40), st.lists(st.integers(0, 40), max_size=6), st.booleans())
def test_the_senders_kept_are_the_references_in_both_engines_cut_anywhere(lines, cuts, stream):
    cuts = [c for c in cuts if c <= len(lines)]
    want = _reference(lines)
    engines = ["python"] + (["native"] if native.engine() == "native" else [])
    got = {}
    for engine in engines:
        s = _folds(lines, cuts, stream, engine)
        got[engine] = s
        assert s["order"].tolist() == [p for p, _ in want]
        assert s["qid"].tolist() == qid_hash(pd.Series([q for _, q in want], dtype=object)).tolist()
        whole = _folds(lines, [], stream, engine)  # (the batches' cuts change nothing)
        pd.testing.assert_frame_equal(s, whole)
    if len(got) == 2:
        pd.testing.assert_frame_equal(got["python"], got["native"])


@pytest.mark.parametrize("engine", ["python", "native"])
def test_a_message_ended_before_its_look_up_is_let_go_of_and_one_looked_up_first_is_kept(engine):
    if engine == "native" and native.engine() != "native":
        pytest.skip("the native engine is not built")
    lines = [("entry", "A1", "a@example.org"), ("entry", "B2", "b@example.net"), ("look", "B2", ""),
             ("end", "A1", ""), ("end", "B2", ""),
             # a queue id used again: its new message's entry, looked up before its end
             ("entry", "A1", "c@example.com"), ("look", "A1", ""), ("end", "A1", ""), ("other", "C3", "")]
    for cuts in ([], [1], [3], [4], [6], [2, 5, 7]):
        s = _folds(lines, cuts, True, engine)
        assert s["order"].tolist() == [1, 5]
        assert s["sender"].astype(str).tolist() == ["b@example.net", "c@example.com"]


def test_many_ends_let_go_of_in_place_keep_the_others_in_order():
    # more messages ended unlooked-up than the native fold holds before it drops them in place
    if native.engine() != "native":
        pytest.skip("the native engine is not built")
    n = 12_000
    qids = [f"Q{i:05d}" for i in range(n)]
    lines = []
    for i, q in enumerate(qids):
        lines.append(("entry", q, "a@example.org" if i % 2 else "b@example.net"))
        if i % 3 == 0:
            lines.append(("look", q, ""))
        lines.append(("end", q, ""))
    cuts = list(range(0, len(lines), 997))
    got = [_folds(lines, cuts, True, engine) for engine in ("python", "native")]
    pd.testing.assert_frame_equal(got[0], got[1])
    assert len(got[1]) == len(range(0, n, 3))

