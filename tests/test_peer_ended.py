"""A Postfix message let go of at its qmgr 'removed' line (analyzer/peer_ended.py,
native/src/peerfold_ended.rs): what the decision about a reused queue id means, checked against
pflogsumm; the fold of a day cut anywhere against the fold of the same day without its 'removed'
lines (nothing ended: every slot read at the end); :class:`Ended`'s sums against a plain group-by."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.peer_ended import Ended
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold
from tools.peers import PFLOGSUMM, generated_day, run_pflogsumm

ENGINES = ["python", *(["native"] if native.available() and native._built("PfFold") is not None else [])]

_RELAY = "relay=mx.dest.example[198.51.100.1]:25"
#: One queue id, two messages: removed, then given again (Postfix reuses an id once its message is removed)
REUSED = f"""\
Dec 01 10:00:00 mx postfix/smtpd[100]: 1A2B3C4D5E: client=mx.one.example[192.0.2.1]
Dec 01 10:00:00 mx postfix/cleanup[101]: 1A2B3C4D5E: message-id=<a@one.example>
Dec 01 10:00:00 mx postfix/qmgr[102]: 1A2B3C4D5E: from=<alice@one.example>, size=1000, nrcpt=1 (queue active)
Dec 01 10:00:01 mx postfix/smtp[103]: 1A2B3C4D5E: to=<bob@dest.example>, {_RELAY}, delay=1, delays=0.5/0/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Dec 01 10:00:01 mx postfix/qmgr[102]: 1A2B3C4D5E: removed
Dec 01 11:00:00 mx postfix/smtpd[100]: 1A2B3C4D5E: client=mx.two.example[192.0.2.2]
Dec 01 11:00:00 mx postfix/cleanup[101]: 1A2B3C4D5E: message-id=<b@two.example>
Dec 01 11:00:00 mx postfix/qmgr[102]: 1A2B3C4D5E: from=<carol@two.example>, size=5000, nrcpt=1 (queue active)
Dec 01 11:00:01 mx postfix/smtp[103]: 1A2B3C4D5E: to=<dave@dest.example>, {_RELAY}, delay=2, delays=0.5/0/0.2/1.3, dsn=4.4.2, status=deferred (lost connection)
Dec 01 11:00:09 mx postfix/smtp[103]: 1A2B3C4D5E: to=<dave@dest.example>, {_RELAY}, delay=9, delays=0.5/0/0.2/8.3, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Dec 01 11:00:09 mx postfix/qmgr[102]: 1A2B3C4D5E: removed
"""
#: Where the two readings differ: the second message's size, sender and sending domain counted
#: here; pflogsumm skips its size line ("avoid double-counting") and gives its delivery the first size
OURS = {"bytes_received": 6000, "bytes_delivered": 6000, "senders": 2, "sending_hosts_domains": 2}
PFLOGSUMMS = {"bytes_received": 1000, "bytes_delivered": 2000, "senders": 1, "sending_hosts_domains": 1}


def _fold(monkeypatch, engine: str, batches: list) -> PeersFold:
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    fold = PeersFold()
    for b in batches:
        fold.add(b)
    return fold


def _cut(ev: pd.DataFrame, cuts: list[int]) -> list[pd.DataFrame]:
    bounds = sorted({min(c, len(ev)) for c in cuts})
    return [ev.iloc[a:b].reset_index(drop=True) for a, b in zip([0, *bounds], [*bounds, len(ev)], strict=True) if b > a]


@pytest.fixture(scope="module")
def reused(tmp_path_factory):
    log = tmp_path_factory.mktemp("reused") / "mail.log"
    log.write_text(REUSED)
    return log, parse_logs([str(log)], tz="UTC", year=2026).events


@pytest.mark.parametrize("engine", ENGINES)
def test_a_reused_queue_id_is_a_new_message(monkeypatch, reused, engine):
    """The decision: a line of a queue id after its 'removed' line is another message's, wherever
    the day is cut into batches (the id's two messages in one batch, or apart)."""
    _, ev = reused
    for cut in range(len(ev) + 1):
        t = _fold(monkeypatch, engine, _cut(ev, [cut])).pf.totals()
        assert {k: t[k] for k in OURS} == OURS, cut
        assert (t["received"], t["delivered"], t["deferred"], t["recipients"]) == (2, 2, 1, 2)
        tables = _fold(monkeypatch, engine, _cut(ev, [cut])).pf.tables()
        assert dict(zip(tables["senders"]["sender"], tables["senders"]["bytes"], strict=True)) == \
            {"alice@one.example": 1000, "carol@two.example": 5000}


@pytest.mark.skipif(PFLOGSUMM is None, reason="pflogsumm not installed")
def test_pflogsumm_reads_a_reused_id_as_its_first_message(monkeypatch, reused):
    """pflogsumm on the same day: the second message's size is not read (its senders, bytes
    received and sending domains count the first message only); every other total is ours."""
    log, ev = reused
    theirs = run_pflogsumm(log)
    ours = _fold(monkeypatch, "python", [ev]).pf.totals()
    assert {k: theirs[k] for k in PFLOGSUMMS} == PFLOGSUMMS
    assert {k: v for k, v in theirs.items() if k not in OURS} == {k: ours[k] for k in theirs if k not in OURS}


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A generated Postfix day (no queue id reused), and the same day without its 'removed' lines."""
    ev = parse_logs([str(generated_day(tmp_path_factory.mktemp("ended") / "pf.log", "postfix", lines=3000, seed=9))],
                    tz="UTC", year=2026).events
    return ev, ev[ev["event"] != "removed"].reset_index(drop=True)


def _result(fold: PeersFold) -> tuple[dict, dict]:
    t = fold.pf.tables()
    return fold.pf.totals(), {k: v.sort_values(v.columns[0]).reset_index(drop=True).to_dict("list") for k, v in t.items()}


@settings(max_examples=12, deadline=None)
@given(cuts=st.lists(st.integers(0, 3000), max_size=8), engine=st.sampled_from(ENGINES))
def test_a_day_cut_anywhere_gives_what_no_message_ended_gives(day, cuts, engine):
    """Messages ended at their 'removed' lines (their slots freed) give the totals and tables of
    the fold that ends none, the day cut into batches anywhere."""
    ev, kept = day
    mp = pytest.MonkeyPatch()
    try:
        got = _fold(mp, engine, _cut(ev, cuts))
        want = _fold(mp, engine, [kept])
        assert _result(got) == _result(want)
        got.pf.tables()
        live, every = len(got.pf._got()[0]), len(want.pf._got()[0])
        assert live < every / 4, (live, every)  # (most messages ended: their slots freed)
    finally:
        mp.undo()


_MSG = st.tuples(st.integers(-1, 6), st.integers(-1, 4), st.integers(0, 2**40), st.booleans())


@settings(max_examples=60, deadline=None)
@given(ended=st.lists(st.lists(_MSG, max_size=6), max_size=5), live=st.lists(_MSG, max_size=6))
def test_ended_sums_are_a_group_by(ended, live):
    """Messages ended in any groups, then those still held: per sender the messages and bytes of
    all of them (a plain group-by); the pairs of the senders without a domain, each once."""
    e = Ended()
    for group in ended:
        s, c, n, b = (np.array(v, dtype=t) for v, t in zip(zip(*group, strict=True), (np.int32, np.int32, np.int64, bool),
                                                           strict=True)) if group else (np.zeros(0, np.int32),) * 4
        e.got(s, c, n, b.astype(bool))
    msgs = [m for g in ended for m in g]
    every = pd.DataFrame(msgs + live, columns=["s", "c", "n", "b"])
    want = every.groupby("s").agg(m=("n", "size"), n=("n", "sum")).reset_index()
    ls, lc, ln = (np.array([m[i] for m in live], dtype=np.int64) for i in range(3))
    codes, m, n = e.senders(ls, ln)
    assert (codes.tolist(), m.tolist(), n.tolist()) == (want["s"].tolist(), want["m"].tolist(), want["n"].tolist())
    senders, clients = e.sending(ls, lc)
    pairs = set(zip(senders[:len(senders) - len(live)].tolist(), clients[:len(senders) - len(live)].tolist(), strict=True))
    bare = {(s, c) for s, c, _, b in msgs if b}
    assert {p for p in pairs if p[1] != -1 or p in bare} == bare
    assert {s for s, c in pairs if (s, c) not in bare} == {s for s, _, _, b in msgs} - {s for s, _, _, b in msgs if b}
    assert e.deferred == 0
