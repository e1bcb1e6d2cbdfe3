"""The per-message state the report settles or drops early gives the results of holding it all day.

* Exim's 'Completed' lines settled in their message's queue-id entry (:class:`analyzer.peer_folds.ExFold`),
  the message counted there and its id forgotten (a later line of the id: a new message's): "Time spent on
  the queue" and the totals equal the unsplit fold's and the whole table's, wherever the day is cut (a
  message's end in the next batch, a reused queue id, a message without an end, an end without an arrival,
  a remote delivery logged after the end).
* ``BulkFold(deferred_only=True)`` keeps ``Bulk.qids`` of the deferred messages only, and their first
  times are those of the full fold at every cut the report makes; ``looked_up_only=True`` keeps
  ``Bulk.senders`` of the messages whose outbound lines name no sender only, and the top tables find
  the same sender for each of those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies.aggregates import BulkFold, counted_apart, qid_hash
from analyzer.peer_folds import ExFold, _concat
from analyzer.reader import parse_logs
from analyzer.report.peers import peer_sections
from analyzer.totals import peer_section

from .report_folds import classified_day

#: one Exim day: A ends in a later hour, B's id is used twice (two arrivals, two ends), C has no end,
#: D's end has no arrival (its time on the queue from its id), E is delivered remotely after its end,
#: F is deferred, then delivered and ends
EXIM = """\
2026-11-23 10:00:00 1vA0aa-000001-AA <= a@src.example H=mx.src.example [192.0.2.1] P=esmtp S=1200
2026-11-23 10:00:05 1vA0aa-000001-AA => r1@dst.example R=dnslookup T=remote_smtp H=mx.dst.example [198.51.100.7] C="250 OK"
2026-11-23 10:01:00 1vA0bb-000002-BB <= b@src.example H=mx.src.example [192.0.2.1] P=esmtp S=2200
2026-11-23 10:01:20 1vA0bb-000002-BB => r2@dst.example R=dnslookup T=remote_smtp H=mx.dst.example [198.51.100.7] C="250 OK"
2026-11-23 10:01:30 1vA0bb-000002-BB Completed
2026-11-23 10:02:00 1vA0cc-000003-CC <= c@src.example H=mx.src.example [192.0.2.1] P=esmtp S=300
2026-11-23 10:03:00 1vA0ee-000005-EE <= e@src.example H=mx.src.example [192.0.2.2] P=esmtp S=500
2026-11-23 10:03:10 1vA0ee-000005-EE Completed
2026-11-23 10:04:00 1vA0ff-000006-FF <= f@src.example H=mx.src.example [192.0.2.2] P=esmtp S=700
2026-11-23 10:04:05 1vA0ff-000006-FF == r6@slow.example R=dnslookup T=remote_smtp defer (-44): SMTP error from remote mail server after RCPT TO:<r6@slow.example>: 451 4.7.1 Try again later
2026-11-23 10:05:00 1vA0dd-000004-DD Completed
2026-11-23 11:30:00 1vA0aa-000001-AA Completed
2026-11-23 11:31:00 1vA0ee-000005-EE => r5@dst.example R=dnslookup T=remote_smtp H=mx.dst.example [198.51.100.7] C="250 OK"
2026-11-23 11:45:00 1vA0ff-000006-FF => r6@slow.example R=dnslookup T=remote_smtp H=mx.slow.example [203.0.113.9] C="250 OK"
2026-11-23 11:45:01 1vA0ff-000006-FF Completed
2026-11-23 12:00:00 1vA0bb-000002-BB <= b2@src.example H=mx.src.example [192.0.2.1] P=esmtp S=900
2026-11-23 12:00:30 1vA0bb-000002-BB => r7@dst.example R=dnslookup T=remote_smtp H=mx.dst.example [198.51.100.7] C="250 OK"
2026-11-23 12:10:00 1vA0bb-000002-BB Completed
"""


@pytest.fixture(scope="module")
def exim_day(tmp_path_factory):
    path = tmp_path_factory.mktemp("settle") / "mainlog"
    path.write_text(EXIM)
    return parse_logs([str(path)], tz="UTC", year=2026, fmt="exim").events


def _ex_fold(ev: pd.DataFrame, cuts: list[int]) -> ExFold:
    fold = ExFold()
    for a, b in zip([0, *cuts], [*cuts, len(ev)], strict=True):
        if b > a:
            fold.add(ev.iloc[a:b].reset_index(drop=True))
    return fold


def _queue(fold: ExFold) -> dict[str, tuple[int, int]]:
    q = fold.queue_times()
    return {r.time: (int(r.messages), int(r.remote_messages)) for r in q.itertuples(index=False)}


def test_the_day_has_what_the_cases_need(exim_day):
    """Six ends, the reused id's two arrivals. A message's 'Completed' line is its last: what the
    end reads of it is counted there and its id forgotten, so B's second arrival and E's remote
    delivery logged after their ends are new messages' (B's second end counts from its second
    arrival; E is not remote); nothing is held once the batch is folded but the messages in
    flight (C, and E's later delivery) and D's end, read before (without) its arrival: held to the
    end, as the end of a message received before the logs begin."""
    fold = _ex_fold(exim_day, [])
    held = _concat(fold.completed)
    assert held is not None and len(held["h"]) == 1
    q = _queue(fold)
    # A: 1.5 h, B: 30 s and 10 min, D: from its id (over a day before), E: 10 s, F: 1 h 41 min
    assert q == {"under 1m": (2, 1), "5m to 15m": (1, 1), "1h to 3h": (2, 2), "over 1d": (1, 0)}
    assert fold.totals()["delayed"] == 1  # F, counted at its end
    if fold.qids._map is not None:
        assert fold.qids._map.live == 2


def test_an_end_read_before_its_arrival_keeps_the_message(exim_day):
    """Rotated files read newest first: a message's 'Completed' line comes before its arrival and
    failure; the message is kept (its end held) and counted failed from its arrival, as when the
    files are read oldest first."""
    ev = exim_day
    f_rows = (ev["queue_id"] == "1vA0ff-000006-FF").to_numpy()
    newest_first = pd.concat([ev[f_rows].iloc[-1:], ev[~f_rows], ev[f_rows].iloc[:-1]], ignore_index=True)
    for cuts in ([], [1], [3]):
        fold = _ex_fold(newest_first, cuts)
        assert fold.totals()["delayed"] == 1  # F's deferral, counted with its arrival read after its end
        assert _queue(fold)["1h to 3h"] == (2, 2)  # A, F (from its arrival: the end held)


def test_a_line_after_its_message_end_is_a_new_message_wherever_the_day_is_cut(exim_day):
    """E's remote delivery after its end, folded in the batch of the end or in a later one: the
    same tables (the batch is folded in pieces, the delivery's a new message's)."""
    ev = exim_day
    late = int(np.flatnonzero((ev["queue_id"] == "1vA0ee-000005-EE").to_numpy() & (ev["event"] == "delivery").to_numpy())[0])
    whole = _ex_fold(ev, [])
    for cuts in ([late], [late - 1], [late + 1], list(range(1, len(ev)))):
        split = _ex_fold(ev, cuts)
        assert _queue(split) == _queue(whole)
        assert split.totals() == whole.totals()
        assert split.relayed_pairs()[0].equals(whole.relayed_pairs()[0])


@pytest.mark.parametrize("cut", range(1, 18))
def test_one_cut_anywhere_gives_the_unsplit_result(exim_day, cut):
    ev = exim_day
    whole = _ex_fold(ev, [])
    split = _ex_fold(ev, [cut])
    assert _queue(split) == _queue(whole)
    assert split.totals() == whole.totals()


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_small_batches_and_reversed_batches_give_the_whole_tables(exim_day, size):
    """Every cut at once, and the batches in reverse (each end before its arrival: none settles)."""
    for ev in (exim_day, pd.concat([exim_day.iloc[a:a + size] for a in range(0, len(exim_day), size)][::-1],
                                   ignore_index=True)):
        want = {"peer_totals": peer_section(ev), "peers": peer_sections(ev)}
        fold = _ex_fold(ev, list(range(size, len(ev), size)))
        from analyzer.report.peers import PeersFold

        pf = PeersFold()
        for a in range(0, len(ev), size):
            pf.add(ev.iloc[a:a + size].reset_index(drop=True))
        got = pf.result()
        assert got["peer_totals"] == want["peer_totals"]
        assert got["peers"] == want["peers"]
        assert sum(n for n, _ in _queue(fold).values()) == 6


def test_an_end_out_of_int32_range_is_held_not_settled(exim_day):
    """A time on the queue that does not fit the entry's int32 stays a held line, counted the same."""
    ev = exim_day.copy()
    at = ev["ts"].astype("datetime64[ns, UTC]")
    # A's end a century later: over 2^31 seconds after its arrival
    far = (ev["queue_id"] == "1vA0aa-000001-AA") & (ev["event"] == "removed")
    assert far.sum() == 1
    at = at.where(~far.to_numpy(), pd.Timestamp("2099-01-01T00:00:00Z"))
    ev["ts"] = at.astype(ev["ts"].dtype)
    fold = _ex_fold(ev, [])
    held = _concat(fold.completed)
    assert held is not None and len(held["h"]) == 1  # D's (A's counted at its end: its arrival was read)
    assert _queue(fold)["over 1d"] == (2, 1)  # A's (remote) and D's (from its id: not remote)


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    return classified_day(tmp_path_factory, request.param, lines=8000, seed=11,
                          incidents=["deferral_buildup@10h+3h"]).events


def test_deferred_only_keeps_the_deferred_messages_first_times(day):
    """Of a day cut into batches (a message's deferral in a later batch than its first line), the
    deferred messages' first times at the cuts the report makes equal the full fold's; the others
    are gone."""
    ev = day
    m = ev["queue_id"].notna().to_numpy(dtype=bool) & ev["ts"].notna().to_numpy(dtype=bool)
    deferred = ((ev["event"] == "delivery") & (ev["status"] == "deferred")).to_numpy(dtype=bool) & m
    assert deferred.any()
    wanted = np.unique(qid_hash(ev.loc[deferred, "queue_id"]))
    since = ev["ts"].min().floor("D") + pd.Timedelta(hours=11, seconds=1)
    full, few = BulkFold(first_only=True, split=since), BulkFold(first_only=True, split=since, deferred_only=True)
    for start in range(0, len(ev), 300):
        b = ev.iloc[start:start + 300]
        full.add(b, m[start:start + 300] & ~deferred[start:start + 300])
        few.add(b, m[start:start + 300] & ~deferred[start:start + 300])
    a, b = full.result(), few.result()
    assert 0 < len(b.qids) < len(a.qids) // 4
    assert np.isin(b.qids["qid"].to_numpy(), wanted).all()
    for lo, hi in [(None, None), (since, None), (None, since)]:
        got, all_ = b.cut(lo, hi).first_seen(), a.cut(lo, hi).first_seen()
        pd.testing.assert_series_equal(got, all_[all_.index.isin(wanted)])
    pd.testing.assert_frame_equal(b.table, a.table)
    pd.testing.assert_frame_equal(b.senders, a.senders)


def test_looked_up_only_keeps_the_senders_the_top_tables_read(day):
    """Of a day cut into batches, ``Bulk.senders`` of the messages whose outbound delivery lines
    name no sender only (an Exim day's local deliveries' messages left out): each looked-up queue
    id's sender, as the top tables find it among the rows and the folded lines, is the full fold's."""
    from analyzer.report.top import _senders_by_qid

    ev = day
    folded = counted_apart(ev)  # the queued and received lines, which name the senders
    full, few = BulkFold(), BulkFold(looked_up_only=True)
    for start in range(0, len(ev), 300):
        b = ev.iloc[start:start + 300]
        full.add(b, folded[start:start + 300])
        few.add(b, folded[start:start + 300])
    a, b = full.result(), few.result()
    assert 0 < len(b.senders) <= len(a.senders)
    out = (ev["event"].isin(["delivery", "expired"]) & (ev["direction"] == "outbound") & ev["sender"].isna()
           & ev["queue_id"].notna()).to_numpy(dtype=bool)
    wanted = np.unique(qid_hash(ev.loc[out, "queue_id"]))
    assert np.isin(b.senders["qid"].to_numpy(), wanted).all()
    rows = ev[~folded].reset_index(drop=True)
    got, want = _senders_by_qid(rows, b, wanted), _senders_by_qid(rows, a, wanted)
    assert len(want) and got.qid.tolist() == want.qid.tolist()
    assert got.of(got.qid).tolist() == want.of(want.qid).tolist()
    pd.testing.assert_frame_equal(b.table, a.table)
