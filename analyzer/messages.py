"""Messages from events: one row per (message, recipient), linked across hops, files and queue-id reuse.

The event table has one row per log line. :func:`messages` turns it into what an on-call engineer
asks about: a message, who sent it, where it came from, every delivery attempt for each
recipient and how it ended. Everything is vectorized over the event table (sorts, cumulative
sums, ``merge_asof`` and group-bys); there is no Python loop per line.

How lines become messages:

* **Queue-id generations.** A Postfix queue id is unique only from its first line (smtpd
  ``client=``, pickup, or a bounce's cleanup) to its ``removed``; the id is reused later. Events
  of one ``(host, instance, queue id)`` in time order are cut into *segments*: a new one starts
  after a ``removed`` and at a ``received`` that follows other events. Exim ids are unique but
  get the same treatment (``Completed`` is their ``removed``).
* **Rotated files** are one table; sorting by time (ties in input order, i.e. line order) makes
  a message that spans ``mail.log.1`` and ``mail.log`` one segment.
* **Hops.** A delivery answered ``queued as X`` (a content filter such as amavis re-injecting,
  or a next hop on the same host) and a Postfix ``client=… orig_queue_id=X`` link two segments
  of the same host into one message; the hand-off attempt is kept in the history but the final
  status is the last hop's. Exim bounces (``<= <> R=id``) and Postfix ``sender non-delivery
  notification: X`` link a notice to the message it reports on, as a message of its own.
* **Recipients.** Attempts are grouped by the recipient the client gave (``orig_to`` when the
  MTA logged one, else ``to``), so a recipient is counted once however many hops it took.
* **Rejected before queueing** (Postfix NOQUEUE, Exim ``rejected RCPT``): one message each,
  status ``rejected``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FINAL_STATUSES", "MESSAGE_COLUMNS", "MessageIndex", "link", "messages"]

#: The final status of a (message, recipient).
FINAL_STATUSES: dict[str, str] = {
    "sent": "Delivered (the last hop's server accepted it, or local delivery done).",
    "deferred": "Not delivered yet: the last attempt failed temporarily and the log ends there.",
    "bounced": "Failed permanently; the sender gets (or got) a non-delivery notice.",
    "expired": "Given up after the maximal queue lifetime (Postfix status=expired, Exim retry timeout).",
    "force-expired": "Returned to the sender because the postmaster expired it (Postfix postsuper -e, "
                     "status=force-expired).",
    "error-ignored": "Failed permanently, and the failure was not reported (Exim ': error ignored', "
                     "errors_to empty or a failed bounce past ignore_bounce_errors_after).",
    "frozen": "Exim froze the message (a bounce it could not deliver, a freeze by ACL or admin) and "
              "the log ends with it frozen; counted once however many queue runs logged it.",
    "held": "Put on hold by a header/body check or postsuper -h; the log ends with it held.",
    "quarantined": "Put on hold by a milter (milter-hold, the milter's quarantine request).",
    "discarded": "Accepted and thrown away by policy (Postfix DISCARD action, Exim discard verb or "
                 ":blackhole:).",
    "rejected": "We refused it before or while queueing (NOQUEUE, milter/cleanup reject, Exim ACL).",
    "queued": "Accepted, but no delivery attempt for this recipient is in the logs read.",
}

#: Columns of :func:`messages`, with their meaning.
MESSAGE_COLUMNS: dict[str, str] = {
    "msg": "Message number within this table (all hops of one message share it).",
    "queue_id": "The queue id the message was first received under.",
    "queue_ids": "Every queue id of the message, hop by hop (content filter re-injection adds one).",
    "host": "The server that logged it.",
    "mta": "postfix or exim.",
    "message_id": "The Message-ID header.",
    "sender": "Envelope sender ('' is the null sender of bounces).",
    "recipient": "Envelope recipient as the last attempt logged it.",
    "orig_recipient": "The recipient the client gave, where the MTA logged a different final one.",
    "client_host": "Who sent it to us (reverse DNS name).",
    "client_ip": "Who sent it to us (IP address).",
    "sasl_username": "SASL login of the submitting client.",
    "size": "Size in bytes.",
    "nrcpt": "Number of recipients (Postfix).",
    "received": "When the message entered the queue (its first line).",
    "status": "Final status, from FINAL_STATUSES.",
    "final_ts": "When the final status was logged.",
    "delay": "Seconds from received to final_ts (the MTA's own delay= when received is missing).",
    "attempts": "Number of attempts for this recipient (hand-offs to a content filter included).",
    "relay": "Where the last attempt went (relay host, Exim H=).",
    "reply_code": "The reply code of the last attempt.",
    "enhanced_code": "The enhanced status code of the last attempt.",
    "dsn": "The MTA's own dsn= of the last attempt.",
    "reply_text": "The reply text of the last attempt.",
    "bounce_id": "Queue id of the non-delivery notice this message caused.",
    "notice_of": "For a notice: queue id of the message it reports on.",
    "source": "File of the line that decided the status (else of the first line).",
    "line_no": "Line number of that line.",
    "cause": "Knowledge-base cause of the deciding line (classify).",
    "outcome": "ok, transient_failure, permanent_failure or info (classify).",
    "fix_id": "The knowledge-base entry that explains the cause (maillens explain): the advice for "
              "the deciding line's direction.",
    "direction": "Direction of the deciding line: inbound (our server refused a client), outbound "
                 "(a remote server judged us) or local.",
    "cause_ref": "Where the cause was read when the deciding line only waited or gave up (Exim retry "
                 "time not reached, Postfix expired): file:line of the earlier error (of this run, or "
                 "of the store with --store); null when the deciding line says it itself.",
    "history": "Every attempt for this recipient: ts, queue_id, relay, status, reply_code, "
               "enhanced_code, dsn, text, delay, source, line_no.",
}

_HISTORY_FIELDS = ("ts", "queue_id", "relay_host", "relay_ip", "status", "reply_code", "enhanced_code",
                   "dsn", "reply_text", "delay", "source", "line_no")
#: Message-level columns are taken from these events (first non-null in time order).
_HEAD_EVENTS = ("received", "queued", "message_id", "reject", "filter_action")
_HEAD_COLUMNS = ("sender", "message_id", "client_host", "client_ip", "sasl_username", "size", "nrcpt")
_STATUS_MAP = {"sent": "sent", "deferred": "deferred", "bounced": "bounced", "expired": "expired",
               "force-expired": "force-expired", "rejected": "rejected", "tempfailed": "rejected",
               "undeliverable": "bounced", "suppressed": "sent", "hold": "held", "milter-hold": "quarantined",
               "discard": "discarded", "milter-discard": "discarded"}
#: filter actions that decide a recipient's fate (the others -- prepend, warn, info ... -- do not)
_FINAL_FILTER_ACTIONS = ("hold", "milter-hold", "discard", "milter-discard")
#: Exim frozen-line statuses that freeze / thaw a message
_FREEZE = ("Frozen", "Message is frozen", "Message frozen", "frozen by")
_THAW = ("Unfrozen", "unfrozen by", "thawed by")
#: How far back a link may reach (a bounce notice or a re-injection is logged within this of its message).
_LINK_WINDOW = pd.Timedelta(days=7)
#: A hop's or a notice's own queue id starts within this of the line that names it.
_NEW_ID_WINDOW = pd.Timedelta(hours=1)
_LINK_SLACK = pd.Timedelta(seconds=60)


@dataclass
class MessageIndex:
    """Events linked to messages: what :func:`search` and :func:`trace` work on.

    ``events`` is the input with a fresh RangeIndex; ``msg[i]`` is event i's message (-1: none),
    ``row[i]`` its (message, recipient) row in ``messages`` (-1: a message-level event such as
    qmgr or a reply without recipient), ``rank[i]`` its place in time order.
    """

    events: pd.DataFrame
    msg: np.ndarray
    row: np.ndarray
    rank: np.ndarray
    messages: pd.DataFrame

    def rows_of_msgs(self, msgs: np.ndarray) -> np.ndarray:
        """Row numbers of every (message, recipient) of the given messages."""
        return np.flatnonzero(np.isin(self.messages["msg"].to_numpy(), msgs))


# --------------------------------------------------------------------------------------------
# columnar helpers


def _arrow(df: pd.DataFrame, name: str, typ: pa.DataType | None = None) -> pa.Array:
    s = df[name]
    arr = s.array.__arrow_array__() if isinstance(s.dtype, pd.ArrowDtype) else pa.array(
        s.to_numpy(dtype=object), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if typ is not None and arr.type != typ:
        arr = arr.cast(typ)
    return arr


def _codes(arr: pa.Array) -> tuple[np.ndarray, list]:
    """Integer codes (-1 for null) and the distinct values."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return idx, enc.dictionary.to_pylist()


def _is(codes: np.ndarray, vocab: list, *values: str) -> np.ndarray:
    wanted = [i for i, v in enumerate(vocab) if v in values]
    return np.isin(codes, wanted) if wanted else np.zeros(len(codes), dtype=bool)


def _ts_ns(df: pd.DataFrame) -> np.ndarray:
    arr = _arrow(df, "ts", pa.timestamp("ns", tz="UTC"))
    return pc.fill_null(arr.cast(pa.int64()), np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)


def _str(arr: pa.Array) -> pa.Array:
    return pc.fill_null(arr.cast(pa.string()), "")


def _find_segments(keys: pa.Array, t_ns: np.ndarray, seg_keys: pa.Array, seg_t: np.ndarray,
                   slack: pd.Timedelta, window: pd.Timedelta = _LINK_WINDOW) -> np.ndarray:
    """For each (key, time): the latest segment with that key starting at or before time + slack,
    within the link window; -1 where none."""
    n = len(t_ns)
    if n == 0 or len(seg_t) == 0:
        return np.full(n, -1, dtype=np.int64)
    left = pd.DataFrame({"k": pd.Series(keys.to_numpy(zero_copy_only=False), dtype=object),
                         "t": t_ns + slack.value, "i": np.arange(n)}).sort_values("t", kind="stable")
    right = pd.DataFrame({"k": pd.Series(seg_keys.to_numpy(zero_copy_only=False), dtype=object),
                          "t": seg_t, "s": np.arange(len(seg_t))}).sort_values("t", kind="stable")
    m = pd.merge_asof(left, right, on="t", by="k", direction="backward",
                      tolerance=window.value + slack.value)
    out = np.full(n, -1, dtype=np.int64)
    out[m["i"].to_numpy()] = m["s"].fillna(-1).to_numpy().astype(np.int64)
    return out


# --------------------------------------------------------------------------------------------
# linking


def link(events: pd.DataFrame) -> MessageIndex:
    """Link every event to its message and (message, recipient) row; see the module docstring."""
    ev = events.reset_index(drop=True)
    n = len(ev)
    ts = _ts_ns(ev)
    # time order; ties by file (a rotated set oldest first) and line, so a table read back from a
    # store in any row order links the same way as the files read in order
    src_c, src_v = _codes(_arrow(ev, "source", pa.string()))
    from .sources import rotation_ranks

    src_rank = np.asarray(rotation_ranks(src_v), dtype=np.int64)
    line = pc.fill_null(_arrow(ev, "line_no", pa.int64()), 0).to_numpy(zero_copy_only=False)
    order = np.lexsort((np.arange(n), line, src_rank[src_c], ts))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    event_c, event_v = _codes(_arrow(ev, "event", pa.string()))
    qid = _arrow(ev, "queue_id", pa.string())
    host = _str(_arrow(ev, "host", pa.string()))
    instance = pc.replace_substring_regex(_str(_arrow(ev, "program", pa.string())), r"/.*", "")
    related = _arrow(ev, "related_id", pa.string())
    mta_c, mta_v = _codes(_arrow(ev, "mta", pa.string()))
    is_exim = _is(mta_c, mta_v, "exim")

    # -- segments: one generation of one queue id
    has_q = pc.is_valid(qid).to_numpy(zero_copy_only=False)
    qidx = np.flatnonzero(has_q)
    seg_of = np.full(n, -1, dtype=np.int64)
    if len(qidx):
        key = pc.binary_join_element_wise(host.take(qidx), instance.take(qidx), qid.take(qidx), "\x1f")
        kc, _ = _codes(key)
        s = np.lexsort((rank[qidx], kc))
        sidx, k = qidx[s], kc[s]
        removed = _is(event_c, event_v, "removed")[sidx]
        received = _is(event_c, event_v, "received")[sidx]
        new_group = np.r_[True, k[1:] != k[:-1]]
        after_removed = np.r_[False, removed[:-1]] & ~new_group
        restart = received & ~new_group & ~np.r_[False, received[:-1]]
        start = new_group | after_removed | restart
        seg = np.cumsum(start) - 1
        seg_of[sidx] = seg
        first = sidx[start]
    else:
        first = np.array([], dtype=np.int64)
    nseg = len(first)
    seg_t = ts[first]
    seg_link_key = pc.binary_join_element_wise(host.take(first), qid.take(first), "\x1f") if nseg \
        else pa.array([], pa.string())
    seg_qid = qid.take(first).to_pylist() if nseg else []

    def targets(idx: np.ndarray, ids: pa.Array, window: pd.Timedelta = _LINK_WINDOW) -> np.ndarray:
        keys = pc.binary_join_element_wise(host.take(idx), ids, "\x1f")
        return _find_segments(keys, ts[idx], seg_link_key, seg_t, _LINK_SLACK, window)

    parent = np.full(nseg, -1, dtype=np.int64)
    notice_of = np.full(nseg, -1, dtype=np.int64)
    has_rel = pc.is_valid(related).to_numpy(zero_copy_only=False) & (seg_of >= 0)
    status_c, status_v = _codes(_arrow(ev, "status", pa.string()))
    handoff = np.zeros(n, dtype=bool)
    # (a) a delivery answered "queued as X" and X is a queue id of this host: a hop of the same message
    a = np.flatnonzero(has_rel & _is(event_c, event_v, "delivery") & _is(status_c, status_v, "sent"))
    if len(a):
        child = targets(a, related.take(a), _NEW_ID_WINDOW)
        ok = (child >= 0) & (child != seg_of[a])
        ok[ok] &= seg_t[child[ok]] >= seg_t[seg_of[a[ok]]]
        parent[child[ok]] = seg_of[a[ok]]
        handoff[a[ok]] = True
    # (b) Postfix smtpd client=... orig_queue_id=X: this segment is a later hop of X's message
    b = np.flatnonzero(has_rel & _is(event_c, event_v, "received") & ~is_exim)
    if len(b):
        par = targets(b, related.take(b))
        ok = (par >= 0) & (par != seg_of[b])
        ok[ok] &= seg_t[par[ok]] <= seg_t[seg_of[b[ok]]]
        parent[seg_of[b[ok]]] = par[ok]
    # (c) Postfix bounce: "sender non-delivery notification: X" (X is the notice)
    c = np.flatnonzero(has_rel & _is(event_c, event_v, "bounce_notice"))
    if len(c):
        child = targets(c, related.take(c), _NEW_ID_WINDOW)
        ok = (child >= 0) & (child != seg_of[c])
        notice_of[child[ok]] = seg_of[c[ok]]
    # (d) Exim bounce: "<= <> R=id" (this segment is the notice of id)
    d = np.flatnonzero(has_rel & _is(event_c, event_v, "received") & is_exim)
    if len(d):
        par = targets(d, related.take(d))
        ok = (par >= 0) & (par != seg_of[d])
        notice_of[seg_of[d[ok]]] = par[ok]

    root = np.arange(nseg, dtype=np.int64)
    for _ in range(32):  # hop chains are short; the bound guards against a cycle in odd logs
        nxt = np.where(parent[root] >= 0, parent[root], root)
        if np.array_equal(nxt, root):
            break
        root = nxt

    msg = np.where(seg_of >= 0, root[np.maximum(seg_of, 0)], -1) if nseg else np.full(n, -1, dtype=np.int64)
    # rejected before queueing: a message of its own
    rej = _is(event_c, event_v, "reject") & (seg_of < 0) & (
        pc.is_valid(_arrow(ev, "recipient", pa.string())).to_numpy(zero_copy_only=False)
        | pc.is_valid(_arrow(ev, "sender", pa.string())).to_numpy(zero_copy_only=False))
    rej_idx = np.flatnonzero(rej)
    msg[rej_idx] = nseg + np.arange(len(rej_idx))
    nmsg = nseg + len(rej_idx)

    # -- recipient rows
    rcpt = pc.coalesce(_arrow(ev, "orig_recipient", pa.string()), _arrow(ev, "recipient", pa.string()))
    rkey = pc.utf8_lower(pc.fill_null(rcpt, ""))
    decisive_filter = _is(event_c, event_v, "filter_action") & _is(status_c, status_v, *_FINAL_FILTER_ACTIONS) \
        & pc.is_valid(rcpt).to_numpy(zero_copy_only=False)
    per_rcpt = (msg >= 0) & (_is(event_c, event_v, "delivery", "reject") | decisive_filter)
    att = np.flatnonzero(per_rcpt)
    row = np.full(n, -1, dtype=np.int64)
    # rows: (msg, rkey) of attempts, plus one empty-recipient row for messages without attempts
    rcode, rvocab = _codes(rkey.take(att)) if len(att) else (np.array([], dtype=np.int64), [])
    base = len(rvocab) + 1
    uniq, akc = np.unique(msg[att] * base + rcode, return_inverse=True)
    row_msg = uniq // base
    row[att] = akc
    bare = np.setdiff1d(np.unique(msg[msg >= 0]), row_msg)
    # order rows by message (first seen first), then recipient (alphabetically)
    alpha = np.empty(len(rvocab), dtype=np.int64)
    alpha[np.argsort(np.array(rvocab, dtype=object).astype(str), kind="stable")] = np.arange(len(rvocab))
    row_msg_all = np.concatenate([row_msg, bare])
    row_alpha = np.concatenate([alpha[uniq % base] if len(uniq) else uniq, np.full(len(bare), -1)])
    msg_first = np.full(nmsg, np.iinfo(np.int64).max, dtype=np.int64)
    valid = msg >= 0
    np.minimum.at(msg_first, msg[valid], rank[valid])
    ro = np.lexsort((row_alpha, msg_first[row_msg_all]))
    new_of_old = np.empty(len(ro), dtype=np.int64)
    new_of_old[ro] = np.arange(len(ro))
    row[att] = new_of_old[row[att]]
    row_msg_all = row_msg_all[ro]
    nrow = len(ro)

    table = _build_rows(ev, ts, rank, msg, row, row_msg_all, nrow, nmsg, handoff, event_c, event_v,
                        seg_of, root, first, seg_qid, notice_of, nseg, rej_idx)
    return MessageIndex(events=ev, msg=msg, row=row, rank=rank, messages=table)


def _last_per_group(groups: np.ndarray, keys: tuple[np.ndarray, ...], idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each group present: the element of idx sorted last by keys (lexsort order, last key
    first). Returns (group ids, chosen idx)."""
    if len(idx) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    s = np.lexsort((*keys, groups))
    g = groups[s]
    last = np.r_[g[1:] != g[:-1], True]
    return g[last], idx[s][last]


def _build_rows(ev, ts, rank, msg, row, row_msg, nrow, nmsg, handoff, event_c, event_v,
                seg_of, root, first, seg_qid, notice_of, nseg, rej_idx) -> pd.DataFrame:
    def seg_t_of(segs: np.ndarray) -> np.ndarray:
        return ts[first[segs]]

    # message-level facts: first non-null value in time order among head events
    head = np.flatnonzero((msg >= 0) & _is(event_c, event_v, *_HEAD_EVENTS))
    # qmgr's from= first: it is the qualified sender (pickup logs from=<root>, qmgr from=<root@host>)
    not_queued = ~_is(event_c, event_v, "queued")[head]
    head = head[np.lexsort((rank[head], not_queued, msg[head]))]
    heads = ev.loc[head, list(_HEAD_COLUMNS)].reset_index(drop=True)
    heads["msg"] = msg[head]
    first_vals = heads.groupby("msg", sort=True).first()
    # first event of each message (received time, host, mta, source)
    allm = np.flatnonzero(msg >= 0)
    s = np.lexsort((rank[allm], msg[allm]))
    am = allm[s]
    gm = msg[am]
    firsts = am[np.r_[True, gm[1:] != gm[:-1]]] if len(am) else am
    first_of_msg = np.full(nmsg, -1, dtype=np.int64)
    first_of_msg[msg[firsts]] = firsts

    # queue ids per message, hop by hop
    if nseg:
        order = np.lexsort((ts[first], np.arange(nseg) != root, root))  # the root hop first
        qids_per: dict[int, list[str]] = {}
        for r_, q in zip(root[order].tolist(), [seg_qid[i] for i in order], strict=False):
            qids_per.setdefault(r_, []).append(q)
    else:
        qids_per = {}
    # notices: msg -> notice queue id; notice msg -> original queue id
    bounce_id = [None] * nmsg
    notice_of_q = [None] * nmsg
    kids = np.flatnonzero(notice_of >= 0)
    for child in kids[np.argsort(seg_t_of(kids), kind="stable")].tolist():  # the latest notice wins
        orig_msg = int(root[notice_of[child]])
        child_msg = int(root[child])
        bounce_id[orig_msg] = seg_qid[child]
        notice_of_q[child_msg] = seg_qid[orig_msg]

    # final event per row: the last non-hand-off attempt (else the last attempt)
    att = np.flatnonzero(row >= 0)
    g, final_att = _last_per_group(row[att], (rank[att], (~handoff[att]).astype(np.int8)), att)
    final = np.full(nrow, -1, dtype=np.int64)
    final[g] = final_att
    last_att = final.copy()  # the reply fields come from the last attempt even when the status is expiry
    counts = np.bincount(row[att], minlength=nrow) if nrow else np.zeros(0, dtype=np.int64)
    status_arr = _arrow(ev, "status", pa.string())
    st = np.array([_STATUS_MAP.get(x, x) if x is not None else None
                   for x in status_arr.take(np.maximum(final, 0)).to_pylist()], dtype=object) if nrow else \
        np.array([], dtype=object)
    st[final < 0] = "queued"
    # Exim "** addr: retry timeout exceeded" and "all hosts for 'd' have been failing for a long time
    # (and retry time not reached)" are its expiries (the retry rules gave up)
    if nrow:
        txt = pc.fill_null(_arrow(ev, "reply_text", pa.string()).take(np.maximum(final, 0)), "")
        det = pc.fill_null(_arrow(ev, "detail", pa.string()).take(np.maximum(final, 0)), "")
        gave_up = r"retry timeout exceeded|have been failing for a long time"
        rto = (pc.match_substring_regex(txt, gave_up).to_numpy(zero_copy_only=False)
               | pc.match_substring_regex(det, gave_up).to_numpy(zero_copy_only=False))
        st[(final >= 0) & rto] = "expired"
    # Postfix qmgr "status=expired": the message's deferred recipients expired
    exp = np.flatnonzero((msg >= 0) & _is(event_c, event_v, "expired"))
    if len(exp) and nrow:
        gm_, last_exp = _last_per_group(msg[exp], (rank[exp],), exp)
        exp_of_msg = np.full(nmsg, -1, dtype=np.int64)
        exp_of_msg[gm_] = last_exp
        e = exp_of_msg[row_msg]
        late = (e >= 0) & ((final < 0) | ((st == "deferred") & (rank[np.maximum(e, 0)] > rank[np.maximum(final, 0)])))
        final[late] = e[late]
        exp_status = status_arr.take(np.maximum(e, 0)).to_numpy(zero_copy_only=False)
        st[late] = [_STATUS_MAP.get(x, "expired") for x in exp_status[late]]
    if nrow:
        _error_ignored(st, row_msg, ev, msg, event_c, event_v, final)
        _frozen(st, final, row_msg, msg, rank, ev, event_c, event_v, nmsg)

    decide = np.where(final >= 0, final, first_of_msg[row_msg])
    dec = ev.loc[np.maximum(decide, 0)].reset_index(drop=True)
    la = ev.loc[np.maximum(last_att, 0)].reset_index(drop=True)
    fv = first_vals.reindex(row_msg)
    recv_ts = ev["ts"].take(np.maximum(first_of_msg[row_msg], 0)).reset_index(drop=True)
    final_ts = dec["ts"].where(pd.Series(final >= 0), other=pd.NaT) if nrow else dec["ts"]
    delay = (final_ts - recv_ts).dt.total_seconds() if nrow else pd.Series([], dtype=float)
    delay = delay.where(delay.notna() & (final >= 0), other=dec["delay"].astype("float64"))
    delay = delay.where(final >= 0, other=np.nan)
    is_attempt = pd.Series(last_att >= 0)
    rec = la["recipient"].where(is_attempt, other=None)
    orig = la["orig_recipient"].where(is_attempt, other=None)
    src, line_no = dec["source"].to_numpy(), dec["line_no"].to_numpy()
    dec = la.where(is_attempt, other=dec) if nrow else dec
    dec["source"], dec["line_no"] = src, line_no
    out = pd.DataFrame({
        "msg": row_msg,
        "queue_id": [(qids_per.get(m) or [None])[0] if m < nseg else None for m in row_msg.tolist()],
        "queue_ids": [" ".join(qids_per.get(m, [])) if m < nseg else "" for m in row_msg.tolist()],
        "host": ev["host"].take(np.maximum(first_of_msg[row_msg], 0)).array,
        "mta": ev["mta"].take(np.maximum(first_of_msg[row_msg], 0)).array,
        "message_id": fv["message_id"].array,
        "sender": fv["sender"].array,
        "recipient": rec.array,
        "orig_recipient": orig.array,
        "client_host": fv["client_host"].array,
        "client_ip": fv["client_ip"].array,
        "sasl_username": fv["sasl_username"].array,
        "size": fv["size"].array,
        "nrcpt": fv["nrcpt"].array,
        "received": recv_ts.array,
        "status": st,
        "final_ts": final_ts.array,
        "delay": delay.to_numpy(dtype=float, na_value=np.nan),
        "attempts": counts,
        "relay": dec["relay_host"].where(is_attempt, other=None).array,
        "reply_code": dec["reply_code"].where(is_attempt, other=None).array,
        "enhanced_code": dec["enhanced_code"].where(is_attempt, other=None).array,
        "dsn": dec["dsn"].where(is_attempt, other=None).array,
        "reply_text": dec["reply_text"].where(is_attempt, other=None).array,
        "bounce_id": [bounce_id[m] for m in row_msg.tolist()],
        "notice_of": [notice_of_q[m] for m in row_msg.tolist()],
        "source": dec["source"].array,
        "line_no": dec["line_no"].array,
    })
    # rows of messages rejected before queueing: recipient/sender come from the reject line itself
    if len(rej_idx):
        rej_rows = np.isin(row_msg, msg[rej_idx])
        out.loc[rej_rows, "status"] = "rejected"
    types = {"msg": pa.int64(), "queue_id": pa.string(), "queue_ids": pa.string(), "host": pa.string(),
             "mta": pa.string(), "message_id": pa.string(), "sender": pa.string(), "recipient": pa.string(),
             "orig_recipient": pa.string(), "client_host": pa.string(), "client_ip": pa.string(),
             "sasl_username": pa.string(), "size": pa.int64(), "nrcpt": pa.int32(),
             "received": pa.timestamp("us", tz="UTC"), "status": pa.string(),
             "final_ts": pa.timestamp("us", tz="UTC"), "delay": pa.float64(), "attempts": pa.int32(),
             "relay": pa.string(), "reply_code": pa.int16(), "enhanced_code": pa.string(), "dsn": pa.string(),
             "reply_text": pa.string(), "bounce_id": pa.string(), "notice_of": pa.string(),
             "source": pa.string(), "line_no": pa.int64()}
    cols = {}
    for name, typ in types.items():
        vals = out[name]
        cols[name] = pd.Series(pd.arrays.ArrowExtensionArray(_to_arrow(vals, typ)))
    table = pd.DataFrame(cols)
    table = _classify_final(table, ev, np.where(last_att >= 0, last_att, final))
    table["history"] = _history(ev, row, rank, nrow, att)
    return table


def _error_ignored(st: np.ndarray, row_msg: np.ndarray, ev: pd.DataFrame, msg: np.ndarray,
                   event_c: np.ndarray, event_v: list, final: np.ndarray) -> None:
    """Exim's 'addr: error ignored' after a '**' line: the failure was not reported to anyone."""
    stat = pc.fill_null(_arrow(ev, "status", pa.string()), "").to_numpy(zero_copy_only=False)
    idx = np.flatnonzero((msg >= 0) & _is(event_c, event_v, "info") & (stat == "error ignored"))
    if not len(idx):
        return
    rc = pc.utf8_lower(pc.fill_null(_arrow(ev, "recipient", pa.string()), "")).to_numpy(zero_copy_only=False)
    keys = set(zip(msg[idx].tolist(), rc[idx].tolist(), strict=True))
    cand = np.flatnonzero((st == "bounced") & (final >= 0))
    hit = [i for i in cand.tolist() if (int(row_msg[i]), rc[final[i]]) in keys]
    st[hit] = "error-ignored"


def _frozen(st: np.ndarray, final: np.ndarray, row_msg: np.ndarray, msg: np.ndarray, rank: np.ndarray,
            ev: pd.DataFrame, event_c: np.ndarray, event_v: list, nmsg: int) -> None:
    """Rows whose message's last word is a freeze (after its last attempt, thaw and Completed) are frozen."""
    fz = np.flatnonzero((msg >= 0) & _is(event_c, event_v, "frozen", "removed", "delivery"))
    if not len(fz):
        return
    stat = pc.fill_null(_arrow(ev, "status", pa.string()).take(fz), "")
    freeze = np.zeros(len(fz), dtype=bool)
    for word in _FREEZE:
        freeze |= pc.starts_with(stat, word).to_numpy(zero_copy_only=False)
    freeze &= _is(event_c, event_v, "frozen")[fz]
    g, last = _last_per_group(msg[fz], (rank[fz],), fz)
    last_is_freeze = np.zeros(nmsg, dtype=bool)
    is_freeze_row = np.zeros(len(ev), dtype=bool)
    is_freeze_row[fz[freeze]] = True
    last_is_freeze[g] = is_freeze_row[last]
    st[last_is_freeze[row_msg] & (st != "rejected")] = "frozen"


def _to_arrow(vals: pd.Series, typ: pa.DataType) -> pa.Array:
    if isinstance(vals.dtype, pd.ArrowDtype):
        arr = vals.array.__arrow_array__()
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(typ)
    if pa.types.is_timestamp(typ):
        return pa.array(pd.to_datetime(vals, utc=True), from_pandas=True).cast(typ)
    if pa.types.is_floating(typ):
        return pa.array(vals.to_numpy(dtype=float, na_value=np.nan), from_pandas=True).cast(typ)
    return pa.array(vals.to_numpy(dtype=object), from_pandas=True).cast(typ)


#: Columns of a message row taken from its deciding line's classification.
_FINAL_CLASS = ("cause", "outcome", "fix_id", "direction", "cause_ref")


def _classify_final(table: pd.DataFrame, ev: pd.DataFrame, final: np.ndarray) -> pd.DataFrame:
    """cause, outcome, fix_id, direction and cause_ref of each row's deciding line (classify runs on
    those lines only)."""
    from .classify import classify

    have = np.flatnonzero(final >= 0)
    uniq, inv = np.unique(final[have], return_inverse=True)
    for name in _FINAL_CLASS:
        table[name] = pd.Series([None] * len(table), dtype=pd.ArrowDtype(pa.string()))
    if len(uniq) == 0:
        return table
    # a retry-wait or give-up line takes its cause from earlier lines: classify the whole log
    # (unless it already is), then read the deciding lines
    classified = ev if "cause_ref" in ev.columns else classify(ev)
    cl = classified.loc[uniq].reset_index(drop=True)
    for name in _FINAL_CLASS:
        if name not in cl.columns:  # a classifier without attribution (no cause_ref)
            continue
        vals = _arrow(cl, name, pa.string()).take(pa.array(inv))
        full = pa.nulls(len(table), pa.string()).to_pylist()
        col = np.array(full, dtype=object)
        col[have] = vals.to_numpy(zero_copy_only=False)
        table[name] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(col, pa.string())))
    return table


def _history(ev: pd.DataFrame, row: np.ndarray, rank: np.ndarray, nrow: int, att: np.ndarray) -> pd.Series:
    """Each row's attempts, in time order, as a list of structs (built in Arrow, no loop per row)."""
    s = np.lexsort((rank[att], row[att]))
    idx = att[s]
    fields = []
    arrays = []
    for name in _HISTORY_FIELDS:
        col = _arrow(ev, name).take(pa.array(idx, pa.int64())) if len(idx) else pa.nulls(0, _arrow(ev, name).type)
        fields.append(name)
        arrays.append(col)
    structs = pa.StructArray.from_arrays(arrays, names=fields)
    counts = np.bincount(row[idx], minlength=nrow) if nrow else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), structs)
    return pd.Series(pd.arrays.ArrowExtensionArray(lists))


def messages(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (message, recipient), with the columns of :data:`MESSAGE_COLUMNS`.

    ``events`` is the event table (``analyzer.read_logs``); several files (rotated sets, two
    servers) are one table. Rows are in message order (first seen first), then by recipient.
    """
    return link(events).messages
