"""Totals with the definitions of the two tools postmasters already trust: pflogsumm and eximstats.

:func:`peer_totals` computes, from the event table, each grand total that pflogsumm (Postfix) and
eximstats (Exim) print, counted the way they count it: lines where they count lines, distinct
queue ids where they count messages. That makes maillens' figures checkable against the peers'
(``tests/test_peer_parity.py`` runs both tools on the same logs) and lets the report show them
with the peers' definitions. Where a definition differs from maillens' own message table (a
bounced *line* against a bounced *recipient*, an expiry that pflogsumm does not count), the
README's "Totals and the peers" table says so; :data:`DEFINITIONS` holds the same words.

Everything is vectorized over the event table's Arrow columns (masks, RE2 rewrites, lookups),
with no Python object per line. :func:`pf_frame` and :func:`ex_frame` hold a table's masks; the
counts that need state across lines (each queue id's first size, whether it was received,
deferred ...) are folded by :mod:`analyzer.peer_folds`, one batch at a time, so a day read in
batches gives the same totals (the report's :class:`analyzer.report.peers.PeersFold`). For a
whole table, the masks and the fold are computed once (the totals and the report's peer
sections share them) and forgotten with the table.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DEFINITIONS", "by_mta", "col", "eq", "ex_fold", "ex_frame", "frame", "isin", "lower_domain", "mask",
           "peer_section", "peer_totals", "peer_totals_of", "pf_cmd", "pf_fold", "pf_frame", "pick", "valid"]

#: (tool, total) -> what the tool counts (our computation counts the same from the events).
DEFINITIONS: dict[tuple[str, str], str] = {
    ("pflogsumm", "received"): "smtpd/postscreen 'QID: client=' lines (NOQUEUE: client= included) and pickup lines",
    ("pflogsumm", "delivered"): "status=sent lines (one per recipient and attempt), forwards excluded",
    ("pflogsumm", "forwarded"): "status=sent lines that say 'forwarded as'",
    ("pflogsumm", "deferred"): "queue ids with at least one status=deferred line (postfix/error included)",
    ("pflogsumm", "deferrals"): "status=deferred lines",
    ("pflogsumm", "bounced"): "status=bounced lines; status=expired and force-expired are not counted",
    ("pflogsumm", "rejected"): "smtpd/postscreen 'reject:' lines (4xx and 5xx; not milter-reject or proxy-reject) "
                               "and cleanup reject/milter-reject lines",
    ("pflogsumm", "reject_warnings"): "smtpd reject_warning lines and cleanup 'warning:' header/body lines",
    ("pflogsumm", "held"): "smtpd and cleanup 'hold:' lines",
    ("pflogsumm", "discarded"): "smtpd and cleanup 'discard:' lines",
    ("pflogsumm", "bytes_received"): "the first qmgr size= of each queue id that was received in the logs read",
    ("pflogsumm", "bytes_delivered"): "that size, once per delivered (sent) line",
    ("pflogsumm", "senders"): "distinct senders of the received messages (domain part lower-cased, <> as one)",
    ("pflogsumm", "sending_hosts_domains"): "distinct sender domains (the client host for senders without one)",
    ("pflogsumm", "recipients"): "distinct recipients of delivered lines (domain part lower-cased)",
    ("pflogsumm", "recipient_hosts_domains"): "distinct recipient domains of delivered lines",
    ("eximstats", "received"): "'<=' lines",
    ("eximstats", "received_bytes"): "S= of the '<=' lines",
    ("eximstats", "delivered"): "'=>' lines (blackhole deliveries included)",
    ("eximstats", "delivered_addresses"): "'=>' and '->' lines",
    ("eximstats", "delivered_bytes"): "S= of the message, once per '=>' line",
    ("eximstats", "delayed"): "messages received in the logs read with at least one '==' line",
    ("eximstats", "failed"): "messages received in the logs read with at least one '**' line",
    ("eximstats", "errors"): "'**' lines",
    ("eximstats", "rejects"): "our rejects: rejected MAIL/RCPT/DATA/connection/HELO, unqualified addresses, "
                              "synchronization errors, drops, refused connections, blackhole deliveries",
    ("eximstats", "temporary_rejects"): "'temporarily rejected' lines",
    ("eximstats", "remote_reject_mentions"): "remote servers' replies on delivery attempts that contain "
                                             "'rejected', 'refused' or 'dropped': eximstats adds these to its "
                                             "rejects (it matches the words anywhere in a line without a flag)",
}

_PF_CMD = r"^postfix(?:/(?:smtps|submission))?/(?P<cmd>[^\[:]+)$"


# --------------------------------------------------------------------------------------------
# Arrow helpers: masks and subsets straight from the Arrow-backed columns (no per-row objects)


def col(ev: pd.DataFrame | pa.Table, name: str) -> pa.Array:
    """A column as one Arrow string/number array; all nulls when the table lacks it. ``ev`` is a
    pandas table or an Arrow one (the report's peers' fold holds its rows in Arrow: no pandas
    table built per flush)."""
    if isinstance(ev, pa.Table):
        i = ev.schema.get_field_index(name)
        if i < 0:
            return pa.nulls(ev.num_rows, pa.string())
        a = ev.column(i)
        a = a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()
        return a.dictionary_decode() if pa.types.is_dictionary(a.type) else a
    if name not in ev.columns:
        return pa.nulls(len(ev), pa.string())
    a = pa.array(ev[name], from_pandas=True)
    a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    return a.dictionary_decode() if pa.types.is_dictionary(a.type) else a


def mask(b: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, null as False."""
    return pc.fill_null(b, False).to_numpy(zero_copy_only=False)


def coded(a: pa.Array) -> pa.DictionaryArray:
    """A string column dictionary-encoded once, for the many :func:`eq` and :func:`isin` tests of
    a flush: each then compares the few distinct values, not every row. (A null is a value of the
    dictionary, equal to none: the indices have no nulls, so read it with eq/isin only.)"""
    return pc.dictionary_encode(a, null_encoding="encode")


def _per_code(a: pa.DictionaryArray, hits: np.ndarray) -> np.ndarray:
    """``hits`` (a boolean per dictionary value) of each row; null rows False."""
    idx = a.indices
    if idx.null_count:  # (not :func:`coded`'s: a null row takes the False appended after the hits)
        idx = pc.fill_null(idx, len(hits))
    return np.append(hits, False)[idx.to_numpy(zero_copy_only=False)]


def eq(a: pa.Array, value: str) -> np.ndarray:
    if pa.types.is_dictionary(a.type):
        return _per_code(a, eq(a.dictionary, value))
    return mask(pc.equal(a, value))


def isin(a: pa.Array, values: list[str]) -> np.ndarray:
    if pa.types.is_dictionary(a.type):
        return _per_code(a, isin(a.dictionary, values))
    return mask(pc.is_in(a, value_set=pa.array(values, type=a.type if pa.types.is_string(a.type) else None)))


def valid(a: pa.Array) -> np.ndarray:
    return pc.is_valid(a).to_numpy(zero_copy_only=False)


def pick(a: pa.Array, rows: np.ndarray) -> pd.Series:
    """The values of ``rows`` as a pandas Series of Python objects (None for null)."""
    return pd.Series(a.filter(pa.array(rows)).to_numpy(zero_copy_only=False), dtype=object)


def frame(ev: pd.DataFrame, rows: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The ``rows`` of a few columns as plain objects: the small tables the sections group."""
    return pd.DataFrame({n: pick(col(ev, n), rows).to_numpy() for n in names})


_LAST: dict[str, tuple[Any, Any]] = {}


def _once(name: str, ev: pd.DataFrame, make: Any) -> Any:
    """``make(ev)``, reused while the same events table is asked again (the report asks for the
    peer totals and the peer sections of one table)."""
    hit = _LAST.get(name)
    if hit is not None and hit[0]() is ev:
        return hit[1]
    out = make(ev)
    # forgotten with the table: the result holds views of its columns
    def forget(ref: Any) -> None:
        if _LAST.get(name, (None,))[0] is ref:
            del _LAST[name]

    _LAST[name] = (weakref.ref(ev, forget), out)
    return out


def by_mta(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The Postfix and the Exim events of a table: the table itself when it holds one MTA (most
    runs), else the two parts, kept while the table lives so that every caller gets the same parts."""
    mta = col(events, "mta")
    rows = {name: eq(mta, name) for name in ("postfix", "exim")}
    present = [name for name, r in rows.items() if r.any()]
    if len(present) < 2:
        return {name: events for name in present}
    if isinstance(events, pa.Table):
        return _once("mta", events, lambda ev: {name: ev.filter(pa.array(rows[name])) for name in present})
    return _once("mta", events, lambda ev: {name: ev[rows[name]] for name in present})


def pf_cmd(ev: pd.DataFrame) -> np.ndarray:
    """pflogsumm's daemon name of each line (``smtpd`` for postfix/submission/smtpd), None for lines
    of other syslog names; the pattern runs once per distinct program, not per line."""
    lookup, index = _pf_cmd_codes(ev)
    return lookup[index]


def _pf_cmd_codes(ev: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The daemon name of each distinct program (None at the end, for null) and each line's index into it."""
    enc = pc.dictionary_encode(col(ev, "program"))
    names = pd.Series(enc.dictionary.to_pylist(), dtype=object).astype(str).str.extract(_PF_CMD)["cmd"]
    lookup = np.append(names.astype(object).where(names.notna(), None).to_numpy(), None)
    return lookup, pc.fill_null(enc.indices, len(names)).to_numpy(zero_copy_only=False)


def lower_domain(addr: pa.Array) -> pa.Array:
    """pflogsumm lower-cases the domain part of an address (from the first '@'), not the local part."""
    parts = pc.extract_regex(pc.fill_null(addr, ""), r"^(?P<local>[^@]*)(?P<dom>@.*)?$")
    return pc.binary_join_element_wise(parts.field("local"), pc.utf8_lower(parts.field("dom")), "")


def _client_domain(client_host: pa.Array, client_ip: pa.Array) -> pa.Array:
    """pflogsumm's gimme_domain: the client's IP when its name is unknown, else the last two labels."""
    host = pc.fill_null(client_host, "")
    unknown = pc.or_(pc.equal(host, ""), pc.equal(host, "unknown"))
    # the rewrite once per distinct name (a day's clients are a few thousand names over many lines)
    enc = pc.dictionary_encode(host.combine_chunks() if isinstance(host, pa.ChunkedArray) else host)
    short = pc.utf8_lower(pc.replace_substring_regex(
        enc.dictionary, r"^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$", r"\2.\3", max_replacements=1))
    return pc.if_else(unknown, pc.fill_null(client_ip, ""), short.take(enc.indices))


def pf_frame(ev: pd.DataFrame) -> dict[str, Any]:
    """The masks pflogsumm's counts share, and each queue id's first qmgr size and sender."""
    return _once("pflogsumm", ev, _pf_frame)


def _pf_frame(ev: pd.DataFrame) -> dict[str, Any]:
    lookup, index = _pf_cmd_codes(ev)
    cmd = lookup[index]

    def named(*names: str) -> np.ndarray:  # compared once per distinct program, not per line
        return np.array([n in names for n in lookup], dtype=bool)[index]

    seen = np.array([n is not None for n in lookup], dtype=bool)[index]
    smtpd, cleanup = named("smtpd", "postscreen"), named("cleanup")
    event, status, qid = coded(col(ev, "event")), coded(col(ev, "status")), col(ev, "queue_id")
    has_qid = valid(qid)
    received = eq(event, "received")
    recv = seen & ((smtpd & ((received & has_qid) | eq(status, "client before queue"))) | (named("pickup") & received))
    agent = seen & ~smtpd & ~cleanup & ~named("master")
    delivery = agent & eq(event, "delivery")
    sent = delivery & eq(status, "sent")
    forwarded = sent & mask(pc.match_substring(col(ev, "reply_text"), "forwarded as"))
    return {"cmd": cmd, "seen": seen, "smtpd": smtpd, "cleanup": cleanup, "event": event, "status": status,
            "qid": qid, "has_qid": has_qid, "recv": recv, "sent": sent, "forwarded": forwarded,
            "delivered": sent & ~forwarded, "deferred": delivery & eq(status, "deferred"),
            "bounced": delivery & eq(status, "bounced"), "queued": seen & eq(event, "queued") & has_qid}


def ex_frame(ev: pd.DataFrame) -> dict[str, Any]:
    """The masks eximstats' counts share ('<=', '=>', '->' lines ...) and each message's size from
    its '<=' line (eximstats knows a size only from a '<=' line it read)."""
    return _once("eximstats", ev, _ex_frame)


def _ex_frame(ev: pd.DataFrame) -> dict[str, Any]:
    event, status, qid = coded(col(ev, "event")), coded(col(ev, "status")), col(ev, "queue_id")
    detail = pc.fill_null(col(ev, "detail"), "")
    arrival = eq(event, "received") & ~eq(status, "fakereject") & valid(qid)
    delivery = eq(event, "delivery")
    blackhole = delivery & eq(status, "discarded")  # '=> blackhole (... discarded recipients)'
    sent = delivery & eq(status, "sent")
    arrow = (sent & eq(detail, "")) | blackhole  # '=>' lines
    further = sent & eq(detail, "->")
    size = pc.fill_null(col(ev, "size"), 0)
    return {"event": event, "status": status, "qid": qid, "detail": detail, "arrival": arrival,
            "delivery": delivery, "blackhole": blackhole, "arrow": arrow, "further": further, "size": size}


def pf_fold(ev: pd.DataFrame) -> Any:
    """The Postfix events folded as one batch (:class:`analyzer.peer_folds.PfFold`), kept with the table."""
    from .peer_folds import PfFold

    return _once("pflogsumm.fold", ev, lambda e: _folded(PfFold(), e, pf_frame(e)))


def ex_fold(ev: pd.DataFrame) -> Any:
    """The Exim events folded as one batch (:class:`analyzer.peer_folds.ExFold`), kept with the table."""
    from .peer_folds import ExFold

    return _once("eximstats.fold", ev, lambda e: _folded(ExFold(), e, ex_frame(e)))


def _folded(fold: Any, ev: pd.DataFrame, f: dict[str, Any]) -> Any:
    fold.add(ev, f)
    return fold


def peer_totals(events: pd.DataFrame) -> dict[str, dict[str, int]]:
    """pflogsumm's and eximstats' grand totals, computed from ``events`` with their definitions.

    Returns ``{"pflogsumm": {...}}`` for Postfix events and ``{"eximstats": {...}}`` for Exim
    events (either key absent when there are none); :data:`DEFINITIONS` says what each counts.
    A day read batch by batch folds into the same totals (:class:`analyzer.report.peers.PeersFold`).
    """
    out: dict[str, dict[str, int]] = {}
    if not len(events):
        return out
    parts = by_mta(events)
    if "postfix" in parts:
        out["pflogsumm"] = pf_fold(parts["postfix"]).totals()
    if "exim" in parts:
        out["eximstats"] = ex_fold(parts["exim"]).totals()
    return out


def peer_totals_of(totals: dict[str, dict[str, int]]) -> list[dict[str, object]]:
    """The report's ``peer_totals`` section of the totals: per peer, each total with its value and definition."""
    return [{"tool": tool, "totals": [{"key": k, "value": v, "definition": DEFINITIONS[(tool, k)]}
                                      for k, v in t.items()]}
            for tool, t in totals.items()]


def peer_section(events: pd.DataFrame) -> list[dict[str, object]]:
    """The report's ``peer_totals`` section of ``events``."""
    return peer_totals_of(peer_totals(events))
