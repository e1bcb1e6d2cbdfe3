"""Totals with the definitions of the two tools postmasters already trust: pflogsumm and eximstats.

:func:`peer_totals` computes, from the event table, each grand total that pflogsumm (Postfix) and
eximstats (Exim) print, counted the way they count it: lines where they count lines, distinct
queue ids where they count messages. That makes maillens' figures checkable against the peers'
(``tests/test_peer_parity.py`` runs both tools on the same logs) and lets the report show them
with the peers' definitions. Where a definition differs from maillens' own message table (a
bounced *line* against a bounced *recipient*, an expiry that pflogsumm does not count), the
README's "Totals and the peers" table says so; :data:`DEFINITIONS` holds the same words.

Everything is vectorized over the event table (masks, group-bys, ``nunique``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DEFINITIONS", "peer_section", "peer_totals"]

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


def _s(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as plain Python objects (None for null), so comparisons never raise on NA."""
    return df[col].astype(object).where(df[col].notna(), None)


def _lower_domain(addr: pd.Series) -> pd.Series:
    """pflogsumm lower-cases the domain part of an address, not the local part."""
    parts = addr.str.extract(r"^(?P<local>[^@]*)(?P<dom>@.*)?$")
    return parts["local"].fillna("") + parts["dom"].fillna("").str.lower()


def _client_domain(client_host: pd.Series, client_ip: pd.Series) -> pd.Series:
    """pflogsumm's gimme_domain: the client's IP when its name is unknown, else the last two labels."""
    host = client_host.fillna("")
    unknown = (host == "") | (host == "unknown")
    short = host.str.replace(r"^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$", r"\2.\3", regex=True).str.lower()
    return pd.Series(np.where(unknown, client_ip.fillna(""), short), index=host.index)


def _pflogsumm(ev: pd.DataFrame) -> dict[str, int]:
    cmd = ev["program"].astype(str).str.extract(_PF_CMD)["cmd"]
    seen = cmd.notna()  # lines of other syslog names (postfix-out/...) are not read by pflogsumm
    event = _s(ev, "event")
    status = _s(ev, "status")
    detail = _s(ev, "detail").fillna("")
    text = _s(ev, "reply_text").fillna("")
    qid = _s(ev, "queue_id")
    smtpd = cmd.isin(["smtpd", "postscreen"])
    cleanup = cmd.eq("cleanup")

    recv = seen & ((smtpd & (((event == "received") & qid.notna()) | (status == "client before queue")))
                   | (cmd.eq("pickup") & (event == "received")))
    agent = seen & ~smtpd & ~cleanup & ~cmd.eq("master")
    delivery = agent & (event == "delivery")
    sent = delivery & (status == "sent")
    forwarded = sent & text.str.contains("forwarded as", regex=False)
    delivered = sent & ~forwarded
    deferred = delivery & (status == "deferred")
    bounced = delivery & (status == "bounced")
    plain = ~detail.isin(["milter-reject", "proxy-reject"])
    rejected = seen & (((smtpd & (event == "reject") & plain))
                       | (cleanup & (event == "reject")))
    warned = seen & ((smtpd & (event == "reject_warning"))
                      | (cleanup & (event == "filter_action") & (status == "warning")))
    held = seen & (smtpd | cleanup) & (event == "filter_action") & (status == "hold")
    discarded = seen & (smtpd | cleanup) & (event == "filter_action") & (status == "discard")

    # sizes: the first qmgr "from=<>, size=" of each queue id; received ones count as bytes received
    queued = seen & (event == "queued") & qid.notna()
    sizes = ev.loc[queued, ["queue_id", "size", "sender"]].drop_duplicates("queue_id", keep="first")
    sizes = sizes.set_index(sizes["queue_id"].astype(str))
    recv_ids = set(qid[recv & qid.notna()].astype(str))
    got = sizes[sizes.index.isin(recv_ids)]
    senders = _lower_domain(got["sender"].astype(object).fillna("").astype(str))
    senders = senders.where(senders != "", "from=<>")
    # the sending domain; a sender without one is named by its client (or itself for pickup)
    clients = ev.loc[recv & qid.notna(), ["queue_id", "client_host", "client_ip"]].copy()
    clients["queue_id"] = clients["queue_id"].astype(str)
    clients = clients.drop_duplicates("queue_id", keep="last").set_index("queue_id")
    dom = senders.str.extract(r"^[^@]+@(?P<d>.+)$")["d"]
    cl = clients.reindex(got.index)
    by_client = _client_domain(cl["client_host"].astype(object), cl["client_ip"].astype(object))
    by_client = by_client.where(by_client != "", senders)
    sending = dom.where(dom.notna(), by_client)

    rcpt = _lower_domain(_s(ev, "recipient")[delivered].fillna("").astype(str))
    size_of = sizes["size"].astype("Int64")
    dq = qid[delivered].astype(str)
    bytes_delivered = int(size_of.reindex(dq).fillna(0).sum()) if len(dq) else 0
    return {
        "received": int(recv.sum()),
        "delivered": int(delivered.sum()),
        "forwarded": int(forwarded.sum()),
        "deferred": int(qid[deferred].nunique()),
        "deferrals": int(deferred.sum()),
        "bounced": int(bounced.sum()),
        "rejected": int(rejected.sum()),
        "reject_warnings": int(warned.sum()),
        "held": int(held.sum()),
        "discarded": int(discarded.sum()),
        "bytes_received": int(got["size"].astype("Int64").fillna(0).sum()),
        "bytes_delivered": bytes_delivered,
        "senders": int(senders.nunique()),
        "sending_hosts_domains": int(sending.nunique()),
        "recipients": int(rcpt.nunique()),
        "recipient_hosts_domains": int(rcpt.str.replace(r"^[^@]+@", "", regex=True).nunique()),
    }


def _eximstats(ev: pd.DataFrame) -> dict[str, int]:
    event = _s(ev, "event")
    status = _s(ev, "status")
    detail = _s(ev, "detail").fillna("")
    qid = _s(ev, "queue_id")
    text = (_s(ev, "reply_text").fillna("") + " " + detail)
    arrival = (event == "received") & (status != "fakereject") & qid.notna()
    delivery = event == "delivery"
    blackhole = delivery & (status == "discarded")  # '=> blackhole (... discarded recipients)'
    arrow = (delivery & (status == "sent") & (detail == "")) | blackhole  # '=>' lines
    further = delivery & (status == "sent") & (detail == "->")
    deferred = delivery & (status == "deferred")
    failed = delivery & (status == "bounced")
    size = pd.to_numeric(ev["size"], errors="coerce")
    # eximstats knows a message's size only from a '<=' line it read before
    sizes = pd.Series(size[arrival].to_numpy(), index=qid[arrival].astype(str).to_numpy())
    sizes = sizes[~sizes.index.duplicated(keep="first")]
    received_ids = set(sizes.index)
    rejected = ((event == "reject") & (status == "rejected")) \
        | ((event == "protocol_error") & (status == "synchronization")
           & ~detail.isin(["sync failure", "synchronization error"])) \
        | (event == "too_many_errors") | blackhole
    temp = (event == "reject") & (status == "tempfailed")
    remote = event.isin(["reply", "connect_failure", "lost_connection", "timeout"]) & qid.notna() \
        & text.str.contains(r"rejected|refused|dropped", regex=True)
    aq = qid[arrow].astype(str)
    return {
        "received": int(arrival.sum()),
        "received_bytes": int(size[arrival].fillna(0).sum()),
        "delivered": int(arrow.sum()),
        "delivered_addresses": int(arrow.sum() + further.sum()),
        "delivered_bytes": int(sizes.reindex(aq).fillna(0).sum()) if len(aq) else 0,
        "delayed": int(qid[deferred & qid.astype(str).isin(received_ids)].nunique()),
        "failed": int(qid[failed & qid.astype(str).isin(received_ids)].nunique()),
        "errors": int(failed.sum()),
        "rejects": int(rejected.sum()),
        "temporary_rejects": int(temp.sum()),
        "remote_reject_mentions": int(remote.sum()),
    }


def peer_totals(events: pd.DataFrame) -> dict[str, dict[str, int]]:
    """pflogsumm's and eximstats' grand totals, computed from ``events`` with their definitions.

    Returns ``{"pflogsumm": {...}}`` for Postfix events and ``{"eximstats": {...}}`` for Exim
    events (either key absent when there are none); :data:`DEFINITIONS` says what each counts.
    """
    out: dict[str, dict[str, int]] = {}
    if not len(events):
        return out
    mta = events["mta"].astype(str)
    pf = events[mta == "postfix"].reset_index(drop=True)
    ex = events[mta == "exim"].reset_index(drop=True)
    if len(pf):
        out["pflogsumm"] = _pflogsumm(pf)
    if len(ex):
        out["eximstats"] = _eximstats(ex)
    return out


def peer_section(events: pd.DataFrame) -> list[dict[str, object]]:
    """The report's ``peer_totals`` section: per peer, each total with its value and definition."""
    return [{"tool": tool, "totals": [{"key": k, "value": v, "definition": DEFINITIONS[(tool, k)]}
                                      for k, v in totals.items()]}
            for tool, totals in peer_totals(events).items()]
