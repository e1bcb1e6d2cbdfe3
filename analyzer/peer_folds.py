"""pflogsumm's and eximstats' counts folded batch by batch: memory bounded by queue ids and entities.

:class:`PfFold` (Postfix) and :class:`ExFold` (Exim) take the events of a day one batch at a time
(:meth:`add`) and keep only what the peers' totals (:mod:`analyzer.totals`) and sections
(:mod:`analyzer.report.peers`) need across batches:

* per queue id (a 64-bit hash, :class:`analyzer.keyed.QidTable`): the first size and sender
  (Postfix: qmgr; Exim: the '<=' line), whether it was received, deferred, failed, delivered
  remotely, the arrival time and the sending host (Exim), the client of its last receive line;
* per entity (:class:`analyzer.peer_agg.KeyAgg`): the recipients', domains', hosts' counts and bytes;
* the delivery lines whose message size is not read yet (a delivery logged before its size line):
  resolved when the size comes, else counted with size 0 at the end, as the peers do;
* Exim's 'Completed' lines: a message's last (:mod:`analyzer.message_ends`): what the end reads of
  the message (delayed, failed, its time on the queue) is counted there and its queue id forgotten;
  a line of the id after it is a new message's.

The results are those of the whole table read at once (definitions: :data:`analyzer.totals.DEFINITIONS`);
a message's first size line is the first one folded, whatever batch. ``tests/test_peers_fold.py`` cuts days.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .exim_ids import arrow_id_seconds as _id_seconds
from .exim_ids import id_seconds
from .keyed import key_hash
from .message_ends import QUEUE_BUCKETS, ExEnds, QueueCounts, end_cuts, rows_of, slice_rows
from .peer_agg import KeyAgg, SortedTable, new_vocab, rank, texts
from .peer_ended import Ended, PfEnds
from .peer_ranked import first_ties, sending_hosts
from .peer_srcs import HeldSources
from .totals import _client_domain, _ex_frame, _pf_frame, col, eq, isin, lower_domain, mask, valid

__all__ = ["QUEUE_BUCKETS", "ExFold", "PfFold", "id_seconds"]

# flags of a queue id
_SIZED, _RECV, _DEFERRED, _FAILED, _SRC, _REMOTE = 1, 2, 4, 8, 16, 32
#: The queue ids' fields held narrower than int64: the flags above, the codes of a vocabulary (new_vocab),
#: the sizes and arrival seconds (int32 while they fit: QidTable widens a field a value overflows)
_NARROW = {"flags": np.int8, "sender": np.int32, "client": np.int32, "src": np.int32, "size": np.int32,
           "arrived": np.int32}
#: eximstats' transports as maillens groups them, by their int8 code in the held delivery lines
_TRANSPORTS = pa.array(["remote (smtp)", "local", ":blackhole:"], pa.string())
#: Exim's ``queued`` field (int32) of a message whose 'Completed' line is not settled in it
_UNSETTLED = np.iinfo(np.int32).min


def _pf_sender(sender: pa.Array) -> pa.Array:
    """pflogsumm's sender: the domain part lower-cased, from=<> for the null sender."""
    low = lower_domain(sender)
    return pc.if_else(pc.equal(low, ""), "from=<>", low)


def _pf_domain(rcpt: pa.Array) -> pa.Array:
    """pflogsumm's recipient domain: the (lower-cased) recipient from its first '@' on, cut."""
    return pc.replace_substring_regex(rcpt, r"^[^@]+@", "", max_replacements=1)


def _per_value(a: pa.Array, fn: Any, coded: bool = False) -> pa.Array:
    """``fn`` (Arrow kernels) of each row, computed once per distinct value (null one of them);
    ``coded``: as a dictionary array (a vocabulary codes each distinct value once)."""
    enc = pc.dictionary_encode(a, null_encoding="encode")
    if coded:
        return pa.DictionaryArray.from_arrays(enc.indices, fn(enc.dictionary))
    return fn(enc.dictionary).take(enc.indices)


def _first(h: np.ndarray, keep: str = "first") -> np.ndarray:
    """Which rows are the first (or last) of their key within the batch."""
    return ~pd.Series(h).duplicated(keep=keep).to_numpy(dtype=bool)  # type: ignore[arg-type]


#: Lines held between batches: column -> Arrow array (texts) or numpy array (numbers, masks),
#: all of one length (no pandas DataFrame built per batch).
Rows = dict[str, Any]


def _len(rows: Rows) -> int:
    return len(next(iter(rows.values())))


def _sel(rows: Rows, keep: np.ndarray) -> Rows:
    m = pa.array(keep)
    return {k: v.filter(m) if isinstance(v, pa.Array) else v[keep] for k, v in rows.items()}


def _concat(parts: list[Rows]) -> Rows | None:
    parts = [p for p in parts if _len(p)]
    if len(parts) < 2:
        return parts[0] if parts else None
    return {k: pa.concat_arrays([p[k] for p in parts]) if isinstance(parts[0][k], pa.Array)
            else np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _sized(table: SortedTable, h: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first size of each key, and whether it is read yet (``known`` False: no queue id, size 0)."""
    run, pos = table.locate(h)
    flags = table.get("flags", run, pos)
    ready = (flags & _SIZED) > 0
    size = np.where(ready & known, table.get("size", run, pos), 0)
    return size, ready | ~known


class _Fold:
    """What both folds share: delivery lines that wait for their message's size."""

    def __init__(self) -> None:
        self.waiting: list[Rows] = []  # delivery lines whose message size is not read yet
        self.done = False
        self._tables: dict[str, pd.DataFrame] | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The sections' tables before ranking, made once when the fold is finished (the sections
        and the totals both read them)."""
        if self._tables is None:
            self._finish()
            self._tables = self._make_tables()
        return self._tables

    def _make_tables(self) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def _deliver(self, d: Rows, final: bool = False) -> None:
        raise NotImplementedError

    def _deliver_with_waiting(self, d: Rows) -> None:
        """Fold ``d`` and the lines still waiting (their size may have come in this batch)."""
        waiting = _concat(self.waiting)
        self.waiting = []
        self._deliver(_concat([waiting, d]) or d if waiting is not None else d)

    def _ready(self, d: Rows, known: np.ndarray, final: bool) -> tuple[Rows, np.ndarray]:
        """The lines of ``d`` whose size is read (all when ``final``) and their sizes; the others wait."""
        size, ready = _sized(self.qids, d["h"], known)
        ready |= final
        if ready.all():
            return d, size
        self.waiting.append(_sel(d, ~ready))
        return _sel(d, ready), size[ready]

    def _finish(self) -> None:
        if not self.done:
            waiting = _concat(self.waiting)
            self.waiting = []
            if waiting is not None:
                self._deliver(waiting, final=True)  # a size never read counts 0
            self._finish_more()
            self.done = True

    def _finish_more(self) -> None:
        pass


class PfFold(PfEnds, _Fold):
    """pflogsumm's totals and the state of its sections, folded batch by batch (Postfix events);
    a message's slot let go of at its ``removed`` line (:mod:`analyzer.peer_ended`)."""

    #: the rejects' fold of a native step (report.peers_pf_rejects.NativeRejects), None for the Python one
    rejects: Any = None

    COUNTS = ("received", "delivered", "forwarded", "deferrals", "bounced", "rejected", "reject_warnings",
              "held", "discarded")

    def __init__(self) -> None:
        super().__init__()
        self.n = dict.fromkeys(self.COUNTS, 0)
        self.qids = SortedTable({"flags": 0, "size": 0, "sender": -1, "client": -1}, _NARROW)
        self.senders, self.clients = new_vocab(), new_vocab()
        self.recipients = KeyAgg(["recipient"], {"messages": "sum", "bytes": "sum"})
        self.domains = KeyAgg(["domain"], {"sent": "sum", "bytes": "sum", "defers": "sum", "delay_sum": "sum",
                                           "max_delay": "max"})
        self.ended = Ended()  # the messages ended at their 'removed' line

    def add(self, ev: pd.DataFrame, f: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fold a batch of Postfix events; returns the batch's masks (:func:`analyzer.totals.pf_frame`)."""
        assert not self.done, "a fold gives its result once"
        f = f if f is not None else _pf_frame(ev)
        self._pieces(ev, f)
        return f

    def _add(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        self._count(ev, f)
        self._sizes(ev, f)
        self._received(ev, f)
        self._deliveries(ev, f)

    def _count(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        seen, smtpd, cleanup, event, status = f["seen"], f["smtpd"], f["cleanup"], f["event"], f["status"]
        plain = ~isin(col(ev, "detail"), ["milter-reject", "proxy-reject"])
        reject = eq(event, "reject")
        either = seen & (smtpd | cleanup) & eq(event, "filter_action")
        n = self.n
        n["received"] += int(f["recv"].sum())
        n["delivered"] += int(f["delivered"].sum())
        n["forwarded"] += int(f["forwarded"].sum())
        n["deferrals"] += int(f["deferred"].sum())
        n["bounced"] += int(f["bounced"].sum())
        n["rejected"] += int((seen & ((smtpd & reject & plain) | (cleanup & reject))).sum())
        n["reject_warnings"] += int((seen & ((smtpd & eq(event, "reject_warning"))
                                             | (cleanup & eq(event, "filter_action") & eq(status, "warning")))).sum())
        n["held"] += int((either & eq(status, "hold")).sum())
        n["discarded"] += int((either & eq(status, "discard")).sum())

    def _sizes(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        """Each queue id's first qmgr size= and sender."""
        q = pa.array(f["queued"])
        if not f["queued"].any():
            return
        h = key_hash(f["qid"].filter(q))
        first = _first(h)
        size = pc.fill_null(col(ev, "size"), 0).filter(q).cast(pa.int64()).to_numpy(zero_copy_only=False)
        sender = _per_value(pc.fill_null(col(ev, "sender"), "").filter(q).filter(pa.array(first)), _pf_sender, coded=True)
        run, pos = self.qids.ensure(h[first])
        fresh = (self.qids.get("flags", run, pos) & _SIZED) == 0
        self.qids.put("size", run, pos, size[first], fresh)
        self.qids.put("sender", run, pos, self.senders.encode(sender), fresh)
        self.qids.flag(_SIZED, run, pos, fresh)

    def _received(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        """Received queue ids, and the client of the last receive line of each."""
        rows = f["recv"] & f["has_qid"]
        if not rows.any():
            return
        r = pa.array(rows)
        h = key_hash(f["qid"].filter(r))
        last = _first(h, "last")
        client = _client_domain(col(ev, "client_host").filter(r), col(ev, "client_ip").filter(r))
        run, pos = self.qids.ensure(h[last])
        self.qids.put("client", run, pos, self.clients.encode(client.filter(pa.array(last))))
        self.qids.flag(_RECV, run, pos)

    def _deliveries(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        """Delivered (sent, not forwarded) and deferred lines: recipient, domain, size, delay."""
        dq = f["deferred"] & f["has_qid"]
        if dq.any():
            run, pos = self.qids.ensure(np.unique(key_hash(f["qid"].filter(pa.array(dq)))))
            self.qids.flag(_DEFERRED, run, pos)
        rows = f["delivered"] | f["deferred"]
        if not rows.any():
            return
        r = pa.array(rows)
        rcpt = _per_value(col(ev, "recipient").filter(r), lower_domain)
        domain = _per_value(rcpt, _pf_domain)
        delay = pc.fill_null(pc.cast(col(ev, "delay"), pa.float64()), 0.0).filter(r)
        qid = f["qid"].filter(r)
        known = valid(qid)
        h = np.zeros(len(qid), dtype=np.uint64)
        h[known] = key_hash(qid.filter(pa.array(known)))
        self._deliver_with_waiting({"recipient": rcpt, "domain": domain, "sent": f["delivered"][rows],
                                    "delay": delay.to_numpy(zero_copy_only=False), "h": h, "known": known})

    def _deliver(self, d: Rows, final: bool = False) -> None:
        d, size = self._ready(d, d["known"] & d["sent"], final)
        sent, delay = d["sent"], d["delay"]
        self.recipients.add([d["recipient"].filter(pa.array(sent))], messages=1, bytes=size[sent])
        self.domains.add([d["domain"]], sent=sent.astype("int64"), bytes=np.where(sent, size, 0),
                         defers=(~sent).astype("int64"), delay_sum=np.where(sent, delay, 0.0), max_delay=delay)

    def _got(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The received messages whose size was read, not ended: their sender's and client's codes, their size."""
        flags = self.qids.column("flags")
        got = (flags & (_SIZED | _RECV)) == (_SIZED | _RECV)
        return self.qids.column("sender")[got], self.qids.column("client")[got], self.qids.column("size")[got].astype(np.int64)

    def _make_tables(self) -> dict[str, pd.DataFrame]:
        """The sections' tables before ranking: senders, recipients (messages, bytes), domains."""
        sender, _, size = self._got()
        # per sender code (one per distinct sender), ascending: messages and bytes, ended or not
        codes, messages, nbytes = self.ended.senders(sender, size)
        senders = pd.DataFrame({"sender": texts(self.senders, codes), "messages": messages, "bytes": nbytes})
        recipients = self.recipients.result()
        dom = self.domains.result()
        sent = dom["sent"].to_numpy()
        dom = dom.assign(avg_delay=np.where(sent > 0, dom["delay_sum"] / np.clip(sent, 1, None), 0.0))
        dom = dom.astype({"sent": "int64", "bytes": "int64", "defers": "int64"})
        dom["avg_delay"] = dom["avg_delay"].astype(float).round(3)
        dom["max_delay"] = dom["max_delay"].astype(float).round(3)
        return {"senders": senders.astype({"messages": "int64", "bytes": "int64"}),
                "recipients": recipients.astype({"messages": "int64", "bytes": "int64"}),
                "domains": dom[["domain", "sent", "bytes", "defers", "avg_delay", "max_delay"]]}

    def totals(self) -> dict[str, int]:
        t = self.tables()
        codes, client_codes, _ = self._got()
        return {
            **{k: self.n[k] for k in ("received", "delivered", "forwarded")},
            "deferred": int(((self.qids.column("flags") & _DEFERRED) > 0).sum()) + self.ended.deferred,
            **{k: self.n[k] for k in ("deferrals", "bounced", "rejected", "reject_warnings", "held", "discarded")},
            "bytes_received": int(t["senders"]["bytes"].sum()),
            "bytes_delivered": int(t["recipients"]["bytes"].sum()),
            "senders": len(t["senders"]),  # a code per distinct sender
            "sending_hosts_domains": sending_hosts(self.senders, self.clients, *self.ended.sending(codes, client_codes)),
            "recipients": len(t["recipients"]),
            "recipient_hosts_domains": int((t["domains"]["sent"] > 0).sum()),
        }


def _str(a: pa.Array) -> pa.Array:
    """A string column as Arrow ``string`` (the joins take one string type)."""
    return a if pa.types.is_string(a.type) else a.cast(pa.string())


def _wrap(left: str, a: pa.Array, right: str) -> pa.Array:
    """``left + a + right`` per value, null where ``a`` is null."""
    return pc.binary_join_element_wise(left, a, right, "")


def _ip_suffix(ip: pa.Array) -> pa.Array:
    """``[ip]``, or an empty string where there is no IP."""
    return pc.fill_null(_wrap("[", ip, "]"), "")


def _lower(a: pa.Array) -> pa.Array:
    """Python's ``str.lower`` of each value: Arrow's where every text is ASCII, else Python's own
    (its full case mapping differs from Arrow's for a few letters)."""
    if pc.all(pc.string_is_ascii(a)).as_py() is not False:
        return pc.ascii_lower(a)
    return pa.array([None if v is None else v.lower() for v in a.to_pylist()], pa.string())


class ExFold(ExEnds, _Fold):
    """eximstats' totals and the state of its sections, folded batch by batch (Exim events)."""

    COUNTS = ("received", "received_bytes", "delivered", "delivered_addresses", "errors", "rejects",
              "temporary_rejects", "remote_reject_mentions")

    def __init__(self) -> None:
        super().__init__()
        self.n = dict.fromkeys(self.COUNTS, 0)
        self.qids = SortedTable({"flags": 0, "size": 0, "arrived": 0, "src": -1, "queued": _UNSETTLED},
                                {**_NARROW, "queued": np.int32})
        self.srcs = new_vocab()
        self.held_srcs = HeldSources(self.srcs)  # each message's, coded in srcs when a pair reads it
        self.sources = KeyAgg(["host"], {"messages": "sum", "bytes": "sum"})
        self.dest = KeyAgg(["host"], {"messages": "sum", "addresses": "sum", "bytes": "sum"})
        self.local = KeyAgg(["recipient"], {"messages": "sum", "addresses": "sum", "bytes": "sum"})
        self.transports = KeyAgg(["transport"], {"messages": "sum", "bytes": "sum"})
        self.relayed = KeyAgg(["from", "to"], {"count": "sum", "first": "min"}, vocabs={"from": self.srcs})
        self.relay_waiting: list[Rows] = []  # relayed deliveries whose sending host is not read yet
        self.completed: list[Rows] = []  # 'Completed' lines not settled (_completed): queue id, time, time in the id
        self.rows = 0  # lines folded (orders the relayed pairs as first seen)
        self.ended = {"delayed": 0, "failed": 0}  # of the messages ended (_end): their queue ids forgotten
        self.queued = QueueCounts()  # their times on the queue

    def add(self, ev: pd.DataFrame, f: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fold a batch of Exim events; returns the batch's masks (:func:`analyzer.totals.ex_frame`).
        A line of a message after its 'Completed' line in the batch starts a piece folded after
        the lines before it (:func:`analyzer.message_ends.end_cuts`): a new message's."""
        assert not self.done, "a fold gives its result once"
        f = f if f is not None else _ex_frame(ev)
        has = valid(f["qid"])
        h = np.zeros(len(has), dtype=np.uint64)
        h[has] = key_hash(f["qid"].filter(pa.array(has)))
        end = eq(f["event"], "removed") & eq(f["status"], "completed") & has
        bounds = [0, *end_cuts(h, has, end), rows_of(ev)]
        for lo, hi in pairwise(bounds):
            part = ev if hi - lo == rows_of(ev) else slice_rows(ev, lo, hi)
            self._add(part, f if part is ev else _ex_frame(part), end[lo:hi], h[lo:hi][end[lo:hi]])
        return f

    def _add(self, ev: pd.DataFrame, f: dict[str, Any], end: np.ndarray, ends: np.ndarray) -> None:
        """Fold rows none of which follows its message's end (``end``: the rows that end their
        message; ``ends``: their queue-id hashes, in row order); then the messages ended are
        counted and forgotten."""
        self._count(ev, f)
        seconds = np.floor_divide(pc.fill_null(pc.cast(col(ev, "ts"), pa.int64()), 0)
                                  .to_numpy(zero_copy_only=False), 10**6)
        self._arrivals(ev, f, seconds)
        self._deliveries(ev, f)
        self._completed(f, seconds, end, ends)
        self.rows += rows_of(ev)
        self._end(np.unique(ends))

    def _count(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        event, status, qid, detail, delivery = f["event"], f["status"], f["qid"], f["detail"], f["delivery"]
        arrival, arrow = f["arrival"], f["arrow"]
        failed = delivery & eq(status, "bounced")
        reject = eq(event, "reject")
        rejected = (reject & eq(status, "rejected")) \
            | (eq(event, "protocol_error") & eq(status, "synchronization")
               & ~isin(detail, ["sync failure", "synchronization error"])) \
            | eq(event, "too_many_errors") | f["blackhole"]
        # the texts of the remote servers' replies only (the regex on those lines, not on every line)
        remote = pa.array(isin(event, ["reply", "connect_failure", "lost_connection", "timeout"]) & valid(qid))
        text = pc.binary_join_element_wise(pc.fill_null(col(ev, "reply_text").filter(remote), ""),
                                           detail.filter(remote), " ")
        mentions = int(mask(pc.match_substring_regex(text, r"rejected|refused|dropped")).sum())
        n = self.n
        n["received"] += int(arrival.sum())
        n["received_bytes"] += int(pc.sum(f["size"].filter(pa.array(arrival))).as_py() or 0)
        n["delivered"] += int(arrow.sum())
        n["delivered_addresses"] += int(arrow.sum() + f["further"].sum())
        n["errors"] += int(failed.sum())
        n["rejects"] += int(rejected.sum())
        n["temporary_rejects"] += int((reject & eq(status, "tempfailed")).sum())
        n["remote_reject_mentions"] += mentions
        for rows, bit in ((delivery & eq(status, "deferred"), _DEFERRED), (failed, _FAILED)):
            rows = rows & valid(qid)
            if rows.any():
                run, pos = self.qids.ensure(np.unique(key_hash(qid.filter(pa.array(rows)))))
                self.qids.flag(bit, run, pos)

    def _arrivals(self, ev: pd.DataFrame, f: dict[str, Any], seconds: np.ndarray) -> None:
        """The '<=' lines: sending hosts (H=: 'name', '(helo)', '[ip]'; 'local' without), and each
        message's first size, arrival time and sending host and sender (Arrow kernels throughout:
        no Python string per line)."""
        if not f["arrival"].any():
            return
        r = pa.array(f["arrival"])
        chost, helo, ip, sender = (_str(col(ev, n).filter(r)) for n in ("client_host", "helo", "client_ip", "sender"))
        host = pc.coalesce(chost, _wrap("(", helo, ")"), _wrap("[", ip, "]"), pa.scalar("local"))
        size = f["size"].filter(r).to_numpy(zero_copy_only=False).astype("int64")
        self.sources.add([host], messages=1, bytes=size)
        h = key_hash(f["qid"].filter(r))  # an arrival has a queue id (ex_frame)
        first = _first(h)
        run, pos = self.qids.ensure(h[first])
        fresh = (self.qids.get("flags", run, pos) & _SIZED) == 0
        self.qids.put("size", run, pos, size[first], fresh)
        self.qids.put("arrived", run, pos, seconds[f["arrival"]][first], fresh)
        self.qids.flag(_SIZED, run, pos, fresh)
        # the sending host and sender of the first arrival from a remote host ('relayed')
        remote = mask(pc.not_equal(host, "local"))
        if remote.any():
            hr = h[remote]
            one = _first(hr)
            at = np.flatnonzero(remote)[one]  # only the lines read are joined
            said = pc.fill_null(sender.take(at), "")
            src = _lower(pc.binary_join_element_wise(
                host.take(at), _ip_suffix(ip.take(at)), " ", pc.if_else(pc.equal(said, ""), "<>", said), ""))
            run, pos = self.qids.locate(hr[one])  # (held: every arrival's queue id was ensured above)
            fresh = (self.qids.get("flags", run, pos) & _SRC) == 0
            self.held_srcs.hold(hr[one][fresh], src.filter(pa.array(fresh)))
            self.qids.flag(_SRC, run, pos, fresh)

    def _deliveries(self, ev: pd.DataFrame, f: dict[str, Any]) -> None:
        """The '=>' and '->' lines: destination host, local address, transport, size; relayed pairs."""
        rows = f["arrow"] | f["further"]
        if not rows.any():
            return
        r = pa.array(rows)
        qid = f["qid"].filter(r)
        rhost, rip, rcpt, parent, direction = (_str(col(ev, n).filter(r)) for n in (
            "relay_host", "relay_ip", "recipient", "orig_recipient", "direction"))
        rcpt = pc.fill_null(rcpt, "")
        arrow, blackhole = f["arrow"][rows], f["blackhole"][rows]
        remote = valid(rhost)
        pipe = mask(pc.or_(pc.starts_with(rcpt, "/"), pc.starts_with(rcpt, "|"))) & valid(parent)
        user = pc.if_else(pa.array(pipe), pc.binary_join_element_wise(rcpt, " <", parent, ">", ""), rcpt)
        user = pc.if_else(pa.array(blackhole), "blackhole", user)
        kind = np.where(blackhole, 2, np.where(eq(direction, "outbound"), 0, 1)).astype(np.int8)  # in _TRANSPORTS
        known = valid(qid)
        h = np.zeros(len(qid), dtype=np.uint64)
        h[known] = key_hash(qid.filter(pa.array(known)))
        local = pc.if_else(pa.array(remote), pa.scalar(None, pa.string()), user)
        self._deliver_with_waiting({"host": pc.fill_null(rhost, "local"), "recipient": local, "arrow": arrow,
                                    "transport": kind, "h": h, "known": known & arrow})
        sent_remote = arrow & remote & known
        rel = sent_remote.copy()
        if sent_remote.any():
            run, pos = self.qids.ensure(np.unique(h[sent_remote]))
            self.qids.flag(_REMOTE, run, pos)
            # a relayed pair: a remote delivery to the address itself (no parent, or the same one)
            at = np.flatnonzero(sent_remote)
            p, c = parent.take(at), rcpt.take(at)
            rel[at] = ~valid(p) | mask(pc.equal(_lower(pc.fill_null(p, "")), _lower(c)))
        at = np.flatnonzero(rel)
        dst = _lower(pc.binary_join_element_wise(rhost.take(at), _ip_suffix(rip.take(at)), " ", rcpt.take(at), ""))
        pairs = {"to": dst, "h": h[rel], "first": self.rows + np.flatnonzero(rows)[rel]}
        self._relay(_concat([*self.relay_waiting, pairs]) or pairs)

    def _deliver(self, d: Rows, final: bool = False) -> None:
        d, size = self._ready(d, d["known"], final)
        arrow = d["arrow"].astype(bool)
        size = np.where(arrow, size, 0)
        messages = arrow.astype("int64")
        self.dest.add([d["host"]], messages=messages, addresses=1, bytes=size)
        self.local.add([d["recipient"]], messages=messages, addresses=1, bytes=size)  # null: not local
        # the kinds as a dictionary column: each one coded once, not a Python string per line
        kinds = pa.DictionaryArray.from_arrays(pa.array(d["transport"][arrow]), _TRANSPORTS)
        self.transports.add([kinds], messages=1, bytes=size[arrow])

    def _relay(self, pairs: Rows, final: bool = False) -> None:
        self.relay_waiting = []
        if not _len(pairs):
            return
        run, pos = self.qids.locate(pairs["h"])
        ready = (self.qids.get("flags", run, pos) & _SRC) > 0
        if not final and not ready.all():
            self.relay_waiting.append(_sel(pairs, ~ready))
        src = self.qids.get("src", run, pos)  # the sending host's code in self.srcs, -1: not coded yet
        new = ready & (src < 0)
        if new.any():
            src[new] = self.held_srcs.code(pairs["h"][new])
            self.qids.put("src", run, pos, src, new)
        src = src[ready]
        self.relayed.add([src, pairs["to"].filter(pa.array(ready))], count=1, first=pairs["first"][ready])

    def _completed(self, f: dict[str, Any], seconds: np.ndarray, done: np.ndarray, h: np.ndarray) -> None:
        """The 'Completed' lines (rows ``done``, their queue ids' hashes ``h``)."""
        if not done.any():
            return
        ids = f["qid"].filter(pa.array(done)).cast(pa.string())
        at = seconds[done]  # (h: their queue ids' hashes)
        # settled in the message's entry: its arrival read (the first one read stays), none settled
        # there yet, the batch's first for the id; int32 where it fits (the remote flag: at the end)
        run, pos = self.qids.locate(h)
        queued = at - self.qids.get("arrived", run, pos)
        settle = (run >= 0) & ((self.qids.get("flags", run, pos) & _SIZED) > 0) & _first(h) \
            & (self.qids.get("queued", run, pos) == _UNSETTLED) \
            & (queued > _UNSETTLED) & (queued <= np.iinfo(np.int32).max)
        self.qids.put("queued", run, pos, queued, settle)
        if not settle.all():
            rest = ~settle
            self.completed.append({"h": h[rest], "at": at[rest], "id_at": _id_seconds(ids.filter(pa.array(rest)))})

    def _finish_more(self) -> None:
        waiting = _concat(self.relay_waiting)
        if waiting is not None:
            self._relay(waiting, final=True)

    def _make_tables(self) -> dict[str, pd.DataFrame]:
        """The sections' tables before ranking."""
        ints = {"messages": "int64", "bytes": "int64"}
        return {"sources": self.sources.result().astype(ints),
                "destinations": self.dest.result().astype({**ints, "addresses": "int64"}),
                "local_destinations": self.local.result().astype({**ints, "addresses": "int64"}),
                "transports": self.transports.result().astype(ints).sort_values("transport").reset_index(drop=True),
                "queue_times": self.queue_times()}

    def relayed_pairs(self, top: int | None = None) -> tuple[pd.DataFrame, int]:
        """The relayed pairs (from, to, count) in the order of their first line, and how many there
        are. With ``top``, only the pairs whose count reaches the ``top``-th largest: the only ones
        a ranking of ``top`` rows by count can keep (a day has a pair per sender and recipient:
        their strings are decoded for those pairs alone)."""
        self.tables()  # finished
        agg = self.relayed
        count, n = agg.values("count"), len(agg)
        rows = np.arange(n)
        if top is not None and 0 < top < n:
            kth = np.partition(count, n - top)[n - top]
            rows = np.flatnonzero(count >= kth)
            if len(rows) > 4 * top:  # (a day's pairs mostly seen once: most tie at the top-th count)
                rows = first_ties(agg, rows, count[rows] == kth, top - int((count > kth).sum()))
        rows = rows[np.argsort(agg.values("first")[rows], kind="stable")]
        pairs = agg.result(rows)[["from", "to", "count"]].reset_index(drop=True)
        return pairs.astype({"count": "int64"}), n

    def relayed_ranked(self, top: int | None = None) -> pd.DataFrame:
        """The relayed pairs as :func:`rank` ranks them by count (ties by sending host, then first
        line), made from the pairs that can reach the ``top`` rows only (:meth:`relayed_pairs`)."""
        pairs, n = self.relayed_pairs(top)
        if top is None or not 0 < top < n:
            return rank(pairs, ["count"], "from", top)
        out = rank(pairs, ["count"], "from").head(top)
        out.attrs["rows_total"] = n
        return out

    def totals(self) -> dict[str, int]:
        t = self.tables()
        flags = self.qids.column("flags")
        arrived = (flags & _SIZED) > 0
        n = self.n
        return {
            "received": n["received"], "received_bytes": n["received_bytes"], "delivered": n["delivered"],
            "delivered_addresses": n["delivered_addresses"],
            "delivered_bytes": int(t["destinations"]["bytes"].sum()),
            "delayed": self.ended["delayed"] + int((arrived & ((flags & _DEFERRED) > 0)).sum()),
            "failed": self.ended["failed"] + int((arrived & ((flags & _FAILED) > 0)).sum()),
            **{k: n[k] for k in ("errors", "rejects", "temporary_rejects", "remote_reject_mentions")},
        }
