"""The Bulk fold's messages' first times let go of at their message's end (``deferred_only``:
analyzer/anomalies/bulk_firsts.py, native/src/bulkfold_firsts.rs): a folded line's first-time
entry is kept when a deferred delivery of its queue id comes before its message's end (or the
message does not end), whatever the batches the lines come in; the Python fold and the native
one alike, against a reference that walks the lines one by one. And the senders' words of the
entries let go of are not the result's categories (both engines: the kept senders' words, in
the order of their first entries)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.anomalies.aggregates import _NULL_SEC, Bulk, BulkFold, qid_hash
from analyzer.report.fold import _Batch
from analyzer.schema import to_pandas

from .test_report_end_parts import _table

QIDS = ["A1", "B2", "C3"]
#: The split of the chunks' first entries (the window's start): the 20th second of the lines.
SPLIT = pd.Timestamp("2026-11-23 00:00:20", tz="UTC")
START = pd.Timestamp("2026-11-23", tz="UTC").value
# (kind, queue id, timed): a folded line of the message (an entry), a deferred delivery (not
# folded), the message's end (folded or not: a folded one is an entry and its own end), an
# inbound delivery (no deferral), any other line (folded, no queue id)
_LINE = st.tuples(st.sampled_from(["entry", "entry", "defer", "end", "end_folded", "sent", "other"]),
                  st.sampled_from(QIDS), st.booleans())


def _row(i: int, line: tuple[str, str, bool]) -> dict:
    kind, qid, timed = line
    event = {"entry": "tls", "defer": "delivery", "sent": "delivery", "other": "tls"}.get(kind, "removed")
    return {"ts": i if timed or kind not in ("entry", "end_folded") else None, "quit": None,
            "status": {"defer": "deferred", "sent": "sent"}.get(kind), "program": "postfix/qmgr",
            "source": "/var/log/mail.log", "host": "mx1", "reply_class": None,
            "queue_id": None if kind == "other" else qid, "sender": None,
            "direction": "outbound" if kind in ("defer", "sent") else None, "event": event}


def _folded(line: tuple[str, str, bool]) -> bool:
    return line[0] in ("entry", "end_folded", "other")


def _reference(lines: list[tuple[str, str, bool]]) -> list[tuple[str, int | None]]:
    """(queue id, time: None untimed) of the entries kept, one line after another: an entry is
    kept when its queue id is deferred anywhere and not only after the first end at or after it."""
    kept = []
    for p, (kind, qid, _) in enumerate(lines):
        if kind not in ("entry", "end_folded"):
            continue
        defers = [i for i, (k, q, _) in enumerate(lines) if k == "defer" and q == qid]
        ends = [i for i, (k, q, _) in enumerate(lines) if k in ("end", "end_folded") and q == qid and i >= p]
        if defers and (not ends or defers[0] < ends[0]):
            kept.append((qid, _row(p, lines[p])["ts"]))
    return kept


def fold_cut(fold: BulkFold, engine: str, rows: list[dict], folded: list[bool], cuts: list[int],
             stream: bool = True) -> Bulk:
    """The Bulk of ``fold`` run by ``engine`` over ``rows`` (those ``folded`` folded), cut into
    batches at ``cuts``: stream batches (their own Arrow tables) or plain frames."""
    if engine == "python":
        fold._native = None
    elif fold._native is None:
        pytest.skip("the native engine is not built")
    edges = [0, *sorted(set(cuts)), len(rows)]
    for lo, hi in itertools.pairwise(edges):
        t = _table(rows[lo:hi])
        batch = _Batch.of(t, to_pandas(t)) if stream else to_pandas(t)
        batch.attrs.update(input=0, first_row=lo)
        fold.add(batch, np.array(folded[lo:hi], dtype=bool))
    return fold.result()


def _fold(lines, cuts, stream: bool, engine: str, first_only: bool) -> pd.DataFrame:
    fold = BulkFold(first_only=first_only, split=SPLIT, deferred_only=True)
    rows = [_row(i, line) for i, line in enumerate(lines)]
    return fold_cut(fold, engine, rows, [_folded(line) for line in lines], cuts, stream).qids


def _firsts(q: pd.DataFrame) -> dict[tuple[int, int], int]:
    """The earliest time per queue-id hash and side of the split (untimed, before, from it on):
    what the deferral detector reads of Bulk.qids (Bulk.first_seen after Bulk.cut)."""
    split = SPLIT.value // 1_000_000_000
    out: dict[tuple[int, int], int] = {}
    for qid, sec, ts in zip(q["qid"].tolist(), q["sec"].tolist(), q["ts"].tolist(), strict=True):
        side = 0 if sec == _NULL_SEC else 1 if sec < split else 2
        out[(qid, side)] = min(out.get((qid, side), ts), ts)
    return out


def _want(lines) -> pd.DataFrame:
    kept = _reference(lines)
    ts = [0 if t is None else START + t * 1_000_000_000 for _, t in kept]
    return pd.DataFrame({"qid": qid_hash(pd.Series([q for q, _ in kept], dtype=object)),
                         "sec": [_NULL_SEC if t is None else (START // 1_000_000_000) + t for _, t in kept], "ts": ts})


def _engines() -> list[str]:
    return ["python"] + (["native"] if native.engine() == "native" else [])


@settings(max_examples=80, deadline=None)
@given(st.lists(_LINE, max_size=60), st.lists(st.integers(0, 60), max_size=40), st.booleans())
def test_the_first_times_kept_are_the_references_in_both_engines_cut_anywhere(lines, cuts, stream):
    cuts = [c for c in cuts if c <= len(lines)]
    want = _want(lines)
    got = {}
    for engine in _engines():
        every = _fold(lines, cuts, stream, engine, first_only=False)  # (one entry a line: exactly the reference's)
        assert every["qid"].tolist() == want["qid"].tolist()
        assert every["ts"].tolist() == want["ts"].tolist()
        assert every["sec"].tolist() == want["sec"].tolist()
        firsts = _fold(lines, cuts, stream, engine, first_only=True)  # (the chunks' first: up to 40 batches, 2 chunks)
        assert _firsts(firsts) == _firsts(want)
        got[engine] = (every, firsts)
    if len(got) == 2:
        for a, b in zip(got["python"], got["native"], strict=True):
            pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("engine", ["python", "native"])
def test_a_message_ended_before_its_deferral_is_let_go_of_and_one_deferred_first_is_kept(engine):
    if engine == "native" and native.engine() != "native":
        pytest.skip("the native engine is not built")
    lines = [("entry", "A1", True), ("entry", "B2", True), ("defer", "B2", True), ("end", "A1", True),
             ("end", "B2", True),
             # a queue id used again: its new message's entry, deferred before its end
             ("entry", "A1", True), ("defer", "A1", True), ("end_folded", "A1", True), ("other", "C3", True)]
    for cuts in ([], [1], [3], [4], [6], [2, 5, 7], list(range(9))):
        q = _fold(lines, cuts, True, engine, first_only=False)
        # (the end's own folded line of the deferred message: kept, its deferral came first)
        assert q["ts"].tolist() == [START + t * 1_000_000_000 for t in (1, 5, 7)]
        assert q["qid"].tolist() == qid_hash(pd.Series(["B2", "A1", "A1"], dtype=object)).tolist()


def _many(n: int) -> list[tuple[str, str, bool]]:
    lines = []
    for i in range(n):
        q = f"Q{i:05d}"
        lines += [("entry", q, True), ("entry", q, True)]
        if i % 3 == 0:
            lines.append(("defer", q, True))
        lines.append(("end", q, True))
    return lines


def test_many_ends_let_go_of_in_place_keep_the_others_in_both_engines():
    # more messages ended undeferred than the native fold holds before it drops them in place,
    # over more batches than a chunk (16)
    if native.engine() != "native":
        pytest.skip("the native engine is not built")
    lines = _many(12_000)
    cuts = list(range(0, len(lines), 997))
    for first_only in (False, True):
        got = [_fold(lines, cuts, True, engine, first_only) for engine in ("python", "native")]
        pd.testing.assert_frame_equal(got[0], got[1])
        assert got[1]["qid"].nunique() == len(range(0, 12_000, 3))
        assert len(got[1]) == 2 * 4000 or (first_only and len(got[1]) < 4100)


def _senders(lines: list[tuple[str, str]], cuts: list[int], engine: str) -> pd.DataFrame:
    """The senders of ("entry", qid, sender), ("look", qid), ("end", qid) lines, folded as the report does."""
    rows = [{"ts": i, "quit": None, "program": "postfix/qmgr", "source": "/var/log/mail.log", "host": "mx1",
             "reply_class": None, "queue_id": line[1], "sender": line[2] if line[0] == "entry" else None,
             "direction": "outbound" if line[0] == "look" else None, "status": "sent" if line[0] == "look" else None,
             "event": {"entry": "received", "look": "delivery"}.get(line[0], "removed")} for i, line in enumerate(lines)]
    return fold_cut(BulkFold(looked_up_only=True), engine, rows, [r["sender"] is not None for r in rows], cuts).senders


def test_the_senders_words_are_those_kept_in_the_order_of_their_entries_in_both_engines():
    # many distinct senders, most of their messages ended unlooked-up (the native fold renumbers
    # its words as it lets go of them); some words come back after their message was let go of
    n = 15_000
    lines: list[tuple] = []
    for i in range(n):
        q = f"Q{i:05d}"
        sender = f"s{i % 9000}@example.org"
        lines.append(("entry", q, sender))
        if i % 7 == 0:
            lines.append(("look", q, ""))
        lines.append(("end", q, ""))
    cuts = list(range(0, len(lines), 1499))
    got = {engine: _senders(lines, cuts, engine) for engine in _engines()}
    want = [f"s{i % 9000}@example.org" for i in range(0, n, 7)]
    for s in got.values():
        assert s["sender"].astype(str).tolist() == want
        assert s["sender"].cat.categories.tolist() == list(dict.fromkeys(want))
    if len(got) == 2:
        pd.testing.assert_frame_equal(got["python"], got["native"])


@pytest.mark.parametrize("engine", ["python", "native"])
def test_a_chunk_drops_its_ended_entries_before_it_picks_its_first(engine):
    # a queue id's entry, its end, the queue id again (another message) and its deferral, in the
    # first chunk (16 batches with folded lines): the ended entry is let go of before the chunk's
    # first entries are picked, so the later message's entry is the one kept (picking first then
    # dropping would keep the ended one and lose the later)
    if engine == "native" and native.engine() != "native":
        pytest.skip("the native engine is not built")
    lines = [("entry", "A1", True), ("end", "A1", True), ("entry", "A1", True), ("defer", "A1", True),
             *[("other", "C3", True)] * 20]
    for first_only in (True, False):
        q = _fold(lines, list(range(len(lines))), True, engine, first_only)
        assert q["qid"].tolist() == qid_hash(pd.Series(["A1"], dtype=object)).tolist()
        assert q["ts"].tolist() == [START + 2_000_000_000]
