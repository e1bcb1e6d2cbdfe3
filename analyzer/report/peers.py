"""The peers' sections: what pflogsumm (Postfix) and eximstats (Exim) show, with their definitions.

:func:`peer_sections` builds the report's ``peers`` list from the event table: byte volumes,
senders and recipients by count and by size, the per-domain delivery summary with average and
maximum delay, warnings grouped by daemon and text, rejects grouped by kind and reason (pflogsumm);
byte volumes, sending hosts and destinations by count and volume, deliveries by transport, relayed
messages, time on the queue and rejects by kind (eximstats). Each section names the peer's section,
says what it counts and, where maillens counts differently, how (``difference``).
``tests/test_peers_*.py`` run both tools on the same logs and hold the figures equal.

The full tables come from :func:`pflogsumm_tables` and :func:`eximstats_tables` (what the tests
compare); the report shows the top rows of each with "and N more". Everything is vectorised: masks,
group-bys and RE2 rewrites (pyarrow) over the event table, no Python loop per line.

:func:`text_lines`, :func:`markdown_lines` and :func:`html_fragment` render the sections for the
text, Markdown and HTML reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..totals import by_mta, col, eq, ex_frame, frame, isin, lower_domain, mask, pf_frame, pick, valid

__all__ = ["QUEUE_BUCKETS", "TOP", "eximstats_tables", "peer_sections", "pflogsumm_tables"]

#: Rows shown per section (per kind for the reject sections); the rest is "and N more".
TOP = 10
#: eximstats' default "Time spent on the queue" bucket limits, in seconds (under each; then "over 1d").
QUEUE_BUCKETS: tuple[tuple[int, str], ...] = ((60, "1m"), (300, "5m"), (900, "15m"), (1800, "30m"), (3600, "1h"),
                                               (10800, "3h"), (21600, "6h"), (43200, "12h"), (86400, "1d"))
#: Postfix's reject word for each of our SMTP stages (pflogsumm groups rejects by that word).
_PF_KIND = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "connect": "CONNECT", "DATA": "DATA",
            "end of DATA": "END-OF-MESSAGE"}
#: pflogsumm cuts warning texts to 66 characters (63 and "..."); maillens groups by the whole text.
PF_WARNING_WIDTH = 66


# --------------------------------------------------------------------------------------------
# helpers


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """A column of a small (already selected) table as plain objects, None for null."""
    s = df[name]
    return s.astype(object).where(s.notna(), None)


def _re(s: pd.Series, pattern: str, repl: str) -> pd.Series:
    """RE2 rewrite (linear time whatever the text) of the first match, null-safe."""
    arr = pa.array(s.astype(object).where(s.notna(), None), type=pa.string(), from_pandas=True)
    out = pc.replace_substring_regex(arr, pattern=pattern, replacement=repl, max_replacements=1)
    return pd.Series(out.to_numpy(zero_copy_only=False), index=s.index, dtype=object)


def _has(s: pd.Series, pattern: str) -> np.ndarray:
    """RE2 search, False for null."""
    arr = pa.array(s.astype(object).where(s.notna(), None), type=pa.string(), from_pandas=True)
    return mask(pc.match_substring_regex(arr, pattern=pattern))


def _rank(df: pd.DataFrame, by: list[str], key: str) -> pd.DataFrame:
    """Largest first; ties by ``key`` (the peers break ties by name too)."""
    return df.sort_values([*by, key], ascending=[False] * len(by) + [True], kind="stable").reset_index(drop=True)


def _sum_by(keys: Any, sizes: Any, name: str) -> pd.DataFrame:
    """Rows and summed size per key: ``name``, messages, bytes."""
    g = pd.DataFrame({name: keys, "size": sizes})
    agg = g.groupby(name, sort=False).agg(messages=("size", "size"), bytes=("size", "sum")).reset_index()
    return agg.astype({"messages": "int64", "bytes": "int64"})


# --------------------------------------------------------------------------------------------
# pflogsumm


def _pf_senders(f: dict[str, Any]) -> pd.DataFrame:
    sizes = f["sizes"]
    got = pa.array(mask(pc.is_in(sizes.ids, value_set=f["recv_ids"])))
    sender = lower_domain(sizes.sender.filter(got))
    sender = pc.if_else(pc.equal(sender, ""), "from=<>", sender)
    return _sum_by(sender.to_numpy(zero_copy_only=False), sizes.size.filter(got).to_numpy(zero_copy_only=False),
                   "sender")


def _pf_deliveries(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """Delivered (sent, not forwarded) and deferred lines: recipient, domain, size, delay."""
    rows = f["delivered"] | f["deferred"]
    rcpt = lower_domain(col(ev, "recipient").filter(pa.array(rows)))
    domain = pc.replace_substring_regex(rcpt, r"^[^@]+@", "", max_replacements=1)
    delay = pc.fill_null(pc.cast(col(ev, "delay"), pa.float64()), 0.0).filter(pa.array(rows))
    return pd.DataFrame({
        "recipient": rcpt.to_numpy(zero_copy_only=False), "domain": domain.to_numpy(zero_copy_only=False),
        "sent": f["delivered"][rows], "size": f["sizes"].of(f["qid"].filter(pa.array(rows))),
        "delay": delay.to_numpy(zero_copy_only=False),
    })


def _pf_recipients(d: pd.DataFrame) -> pd.DataFrame:
    s = d[d["sent"]]
    return _sum_by(s["recipient"].to_numpy(), s["size"].to_numpy(), "recipient")


def _pf_domains(d: pd.DataFrame) -> pd.DataFrame:
    """pflogsumm's "Host/Domain Summary: Message Delivery": per recipient domain, sent lines, their
    bytes, deferred lines, average delay of the sent lines and the maximum over sent and deferred."""
    d = d.assign(sent_size=np.where(d["sent"], d["size"], 0), sent_delay=np.where(d["sent"], d["delay"], 0.0),
                 defer=~d["sent"])
    agg = d.groupby("domain", sort=False).agg(sent=("sent", "sum"), bytes=("sent_size", "sum"),
                                              defers=("defer", "sum"), delay_sum=("sent_delay", "sum"),
                                              max_delay=("delay", "max")).reset_index()
    agg["avg_delay"] = np.where(agg["sent"] > 0, agg["delay_sum"] / agg["sent"].clip(lower=1), 0.0)
    agg = agg.drop(columns="delay_sum").astype({"sent": "int64", "bytes": "int64", "defers": "int64"})
    agg["avg_delay"] = agg["avg_delay"].round(3)
    agg["max_delay"] = agg["max_delay"].round(3)
    return agg[["domain", "sent", "bytes", "defers", "avg_delay", "max_delay"]]


#: The events that Postfix 'warning:' lines become (the generic one and those parsed further).
_PF_WARNING_EVENTS = ["warning", "auth_failure", "protocol_error", "dns"]


def _pf_warning_text(w: pd.DataFrame) -> pd.Series:
    """The text after 'warning: ' of the warning lines among ``w`` (None for the others), rebuilt
    from the fields for the warnings maillens parses into an event of their own."""
    event, status, detail = _col(w, "event"), _col(w, "status"), _col(w, "detail")
    has_host, has_ip = w["client_host"].notna(), w["client_ip"].notna()
    host, ip = _col(w, "client_host").fillna(""), _col(w, "client_ip").fillna("")
    client = _col(w, "client_host").fillna("unknown") + "[" + ip + "]"
    qid, tail = _col(w, "queue_id"), detail.fillna("")
    text = pd.Series([None] * len(w), index=w.index, dtype=object)
    generic = (event == "warning") & detail.notna()
    text = text.where(~generic, np.where(qid.notna(), qid.fillna("") + ": ", "") + tail)
    user = _col(w, "sasl_username")
    sasl = (client + ": SASL " + tail + " authentication failed: " + _col(w, "reply_text").fillna("")
            + np.where(user.notna(), ", sasl_username=" + user.fillna(""), ""))
    text = text.where(~((event == "auth_failure") & (_col(w, "direction") != "outbound") & detail.notna()), sasl)
    text = text.where(~((event == "protocol_error") & (status == "non-smtp command")),
                      "non-SMTP command from " + client + ": " + tail)
    # smtpd's reverse-DNS checks: 'hostname H does not resolve to address A...', 'address not
    # listed for hostname H...', 'A: hostname/address ...'
    dns = event == "dns"
    text = text.where(~(dns & has_host & has_ip), "hostname " + host + " does not resolve to address " + ip + tail)
    text = text.where(~(dns & has_host & ~has_ip), "address not listed for hostname " + host + tail)
    text = text.where(~(dns & ~has_host & has_ip), ip + ": " + tail)
    # pflogsumm keeps what follows the last 'warning: ' of the line
    return _re(text, r"^.*warning: ", "").where(text.notna(), None)


def _pf_warnings(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    rows = f["seen"] & isin(f["event"], _PF_WARNING_EVENTS)
    w = frame(ev, rows, ["event", "status", "detail", "client_host", "client_ip", "queue_id", "sasl_username",
                         "reply_text", "direction"])
    text = _pf_warning_text(w)
    keep = text.notna().to_numpy(dtype=bool)
    g = pd.DataFrame({"daemon": f["cmd"][rows][keep].astype(str), "text": text[keep].astype(str).to_numpy()})
    agg = g.groupby(["daemon", "text"], sort=False).size().reset_index(name="count")
    return agg.astype({"count": "int64"})


def _pf_reject_reason(text: pd.Series, kind: pd.Series) -> pd.Series:
    """pflogsumm's reject "reason": the reply text rewritten by its rules for the reject's kind."""
    # the envelope maillens keeps apart ('; from=<...> to=<...>') ends the reason, as in the log line
    r = text.fillna("") + "; from=<>"
    # pflogsumm's rule for other kinds (HELO, VRFY, END-OF-MESSAGE ...) keeps the envelope tail
    # ('from=<...> to=<...> proto=...'): maillens gives them the RCPT rule, which keeps the reason
    special = ~kind.eq("MAIL")
    a = _re(r, r"^(\d{3} <).*?(>:)", r"\1\2")
    a = _re(a, r"^(?:\d{3} \d\.\d\.\d )(Protocol error);.*$", r"\1")
    a = _re(a, r"^(?:.*?[:;] )(?:\[[^\]]+\] )?([^;,]+)[;,].*$", r"\1")
    a = _re(a, r"^((?:Sender|Recipient) address rejected: [^:]+):.*$", r"\1")
    a = _re(a, r"(client|Client host|Sender address) .+? blocked", "blocked")
    m = _re(r, r"^\d{3} (?:<.+>: )?([^;:]+)[;:]?.*$", r"\1")
    reason = pd.Series(np.where(special, a, m), index=text.index, dtype=object)
    plain = ~reason.str.startswith("Sender address rejected:") & ~_has(reason, r"^(Recipient address rejected:|User unknown( |$))")
    for pat, repl in ((r"^.*?\d{3} (Improper use of SMTP command pipelining);.*$", r"\1"),
                      (r"^.*?\d{3} (Message size exceeds fixed limit);.*$", r"\1"),
                      (r"^.*?\d{3} (Server configuration (?:error|problem));.*$", r"(Local) \1")):
        hit = plain & _has(reason, pat)
        reason = reason.where(~hit, _re(reason, pat, repl))
        plain &= ~hit
    return reason


def _pf_rejects(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """pflogsumm's "message reject detail": smtpd/postscreen reject lines by reject kind (RCPT,
    MAIL, CONNECT ...) and reason; cleanup rejects under 'cleanup' by header/body."""
    reject = f["seen"] & eq(f["event"], "reject")
    plain = ~isin(col(ev, "detail"), ["milter-reject", "proxy-reject"])
    smtpd = frame(ev, reject & f["smtpd"] & plain, ["smtp_stage", "reply_text"])
    stage = _col(smtpd, "smtp_stage")
    kind = stage.map(_PF_KIND).where(stage.map(_PF_KIND).notna(), stage.fillna("other"))
    reason = _pf_reject_reason(_col(smtpd, "reply_text"), kind)
    cleanup = frame(ev, reject & f["cleanup"], ["detail", "smtp_stage"])
    # header/body checks name the part in the detail; a milter's reject names the stage (END-OF-MESSAGE)
    where = _col(cleanup, "detail").fillna("").str.extract(r"^(?P<w>header|body)\b")["w"]
    where = where.fillna(_col(cleanup, "smtp_stage").map(_PF_KIND)).fillna("other")
    g = pd.concat([pd.DataFrame({"kind": kind.to_numpy(), "reason": reason.to_numpy()}),
                   pd.DataFrame({"kind": "cleanup", "reason": where.to_numpy()})], ignore_index=True)
    agg = g.groupby(["kind", "reason"], sort=False).size().reset_index(name="count")
    return agg.astype({"count": "int64"})


def pflogsumm_tables(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The full pflogsumm tables of the Postfix events (uncapped, what the tests compare)."""
    ev = events  # positions, not the index, pick rows: no copy
    f = pf_frame(ev)
    d = _pf_deliveries(ev, f)
    senders = _pf_senders(f)
    recipients = _pf_recipients(d)
    volumes = pd.DataFrame({"measure": ["bytes received", "bytes delivered"],
                            "value": [int(senders["bytes"].sum()), int(recipients["bytes"].sum())]})
    return {
        "volumes": volumes,
        "senders_by_count": _rank(senders, ["messages", "bytes"], "sender"),
        "senders_by_size": _rank(senders, ["bytes", "messages"], "sender"),
        "recipients_by_count": _rank(recipients, ["messages", "bytes"], "recipient"),
        "recipients_by_size": _rank(recipients, ["bytes", "messages"], "recipient"),
        "domains": _rank(_pf_domains(d), ["sent", "bytes"], "domain"),
        "warnings": _pf_warnings(ev, f).sort_values(["daemon", "count", "text"], ascending=[True, False, True],
                                                     kind="stable").reset_index(drop=True),
        "rejects": _pf_rejects(ev, f).sort_values(["kind", "count", "reason"], ascending=[True, False, True],
                                                   kind="stable").reset_index(drop=True),
    }


# --------------------------------------------------------------------------------------------
# eximstats


def _ex_arrivals(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """The '<=' lines: queue id, the H= host as eximstats takes it (its first word: 'name', '(helo)'
    or '[ip]'; 'local' without H=), client IP, sender, size."""
    a = frame(ev, f["arrival"], ["queue_id", "client_host", "helo", "client_ip", "sender"])
    helo, ip = _col(a, "helo"), _col(a, "client_ip")
    host = _col(a, "client_host")
    host = host.where(host.notna(), ("(" + helo.fillna("") + ")").where(helo.notna(), None))
    a["host"] = host.where(host.notna(), ("[" + ip.fillna("") + "]").where(ip.notna(), "local"))
    a["size"] = f["size"].filter(pa.array(f["arrival"])).to_numpy(zero_copy_only=False).astype("int64")
    return a


def _ex_sources(a: pd.DataFrame) -> pd.DataFrame:
    return _sum_by(a["host"].astype(str).to_numpy(), a["size"].to_numpy(), "host")


def _ex_deliveries(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """The '=>' and '->' lines: queue id, H= host ('local' without one), recipient, its parent
    address, direction, whether '=>' and blackhole, and the message's size."""
    rows = f["arrow"] | f["further"]
    d = frame(ev, rows, ["queue_id", "relay_host", "relay_ip", "recipient", "orig_recipient", "direction"])
    d["arrow"], d["blackhole"] = f["arrow"][rows], f["blackhole"][rows]
    d["host"] = _col(d, "relay_host").fillna("local")
    d["size"] = np.where(d["arrow"], f["sizes"].of(f["qid"].filter(pa.array(rows))), 0)
    return d


def _ex_destinations(d: pd.DataFrame) -> pd.DataFrame:
    agg = d.groupby("host", sort=False).agg(messages=("arrow", "sum"), addresses=("arrow", "size"),
                                            bytes=("size", "sum")).reset_index()
    return agg.astype({"messages": "int64", "addresses": "int64", "bytes": "int64"})


def _ex_local_destinations(d: pd.DataFrame) -> pd.DataFrame:
    """eximstats' "local destinations": '=>' (messages) and '->' lines (with them: addresses) without
    a remote host, by the address as logged (a pipe or file delivery with its parent address)."""
    loc = d[d["relay_host"].isna().to_numpy(dtype=bool)]
    rcpt, parent = _col(loc, "recipient").fillna(""), _col(loc, "orig_recipient")
    pipe = rcpt.str.startswith(("/", "|")) & parent.notna()
    user = rcpt.where(~pipe, rcpt + " <" + parent.fillna("") + ">").where(~loc["blackhole"], "blackhole")
    g = pd.DataFrame({"recipient": user.to_numpy(), "msg": loc["arrow"].to_numpy(), "size": loc["size"].to_numpy()})
    agg = g.groupby("recipient", sort=False).agg(messages=("msg", "sum"), addresses=("msg", "size"),
                                                 bytes=("size", "sum")).reset_index()
    return agg.astype({"messages": "int64", "addresses": "int64", "bytes": "int64"})


def _ex_transports(d: pd.DataFrame) -> pd.DataFrame:
    """Deliveries ('=>' lines) by kind of transport: remote SMTP, local, :blackhole:."""
    a = d[d["arrow"]]
    kind = np.where(a["blackhole"], ":blackhole:", np.where(a["direction"] == "outbound", "remote (smtp)", "local"))
    return _sum_by(kind, a["size"].to_numpy(), "transport").sort_values("transport").reset_index(drop=True)


def _ex_relayed(a: pd.DataFrame, d: pd.DataFrame) -> pd.DataFrame:
    """eximstats' "Relayed messages": remote deliveries of messages received from a remote host,
    the address unchanged, by (from host and sender, to host and recipient)."""
    a = a[a["host"] != "local"]
    ip, sender = _col(a, "client_ip"), _col(a, "sender").fillna("")
    src = (a["host"].astype(str) + ("[" + ip.fillna("") + "]").where(ip.notna(), "") + " "
           + sender.where(sender != "", "<>")).str.lower()
    src = pd.Series(src.to_numpy(), index=a["queue_id"].astype(str).to_numpy())
    src = src[~src.index.duplicated(keep="first")]
    rcpt, orig = _col(d, "recipient").fillna(""), _col(d, "orig_recipient")
    same = orig.isna() | (orig.fillna("").str.lower() == rcpt.str.lower())
    r = d[(d["arrow"] & d["relay_host"].notna() & same).to_numpy(dtype=bool)]
    rip = _col(r, "relay_ip")
    dst = (r["relay_host"].astype(str) + ("[" + rip.fillna("") + "]").where(rip.notna(), "") + " "
           + _col(r, "recipient").fillna("")).str.lower()
    g = pd.DataFrame({"from": r["queue_id"].astype(str).map(src).to_numpy(), "to": dst.to_numpy()}).dropna()
    agg = g.groupby(["from", "to"], sort=False).size().reset_index(name="count")
    return agg.astype({"count": "int64"})


def _id_seconds(ids: pd.Series) -> np.ndarray:
    """The arrival time an Exim message id holds (its first six characters, base 62), in seconds."""
    raw = np.array(ids.str.slice(0, 6).str.ljust(6, "0").tolist(), dtype="S6")
    code = raw.view(np.uint8).reshape(-1, 6).astype("int64") if len(raw) else np.zeros((0, 6), dtype="int64")
    val = np.clip(np.where(code >= 97, code - 61, np.where(code >= 65, code - 55, code - 48)), 0, 61)
    total = np.zeros(len(ids), dtype="int64")
    for i in range(6):  # six characters, not one step per line
        total = total * 62 + val[:, i]
    return total


def _ex_queue_times(ev: pd.DataFrame, f: dict[str, Any], a: pd.DataFrame, d: pd.DataFrame) -> pd.DataFrame:
    """eximstats' "Time spent on the queue": per 'Completed' line, its time minus the message's
    arrival ('<=' line read, else the time in the message id); all messages, and those with at
    least one remote delivery."""
    done = eq(f["event"], "removed") & eq(f["status"], "completed") & valid(f["qid"])
    ts = pc.cast(col(ev, "ts"), pa.int64())  # microseconds
    seconds = np.floor_divide(ts.to_numpy(zero_copy_only=False), 10**6)
    arrived = pd.Series(seconds[f["arrival"]], index=a["queue_id"].astype(str).to_numpy())
    arrived = arrived[~arrived.index.duplicated(keep="first")]
    ids = pick(f["qid"], done).astype(str)
    start = ids.map(arrived)
    start = np.where(start.notna(), start.fillna(0).astype("int64"), _id_seconds(ids))
    queued = seconds[done] - start
    remote = ids.isin(pd.Index(d.loc[d["arrow"] & d["relay_host"].notna(), "queue_id"].astype(str))).to_numpy(bool)
    limits = np.array([lim for lim, _ in QUEUE_BUCKETS])
    bucket = np.searchsorted(limits, queued, side="right")  # index of the first limit above
    labels = [f"under {QUEUE_BUCKETS[0][1]}"] + [f"{QUEUE_BUCKETS[i - 1][1]} to {QUEUE_BUCKETS[i][1]}"
                                                  for i in range(1, len(QUEUE_BUCKETS))] + [f"over {QUEUE_BUCKETS[-1][1]}"]
    n_all = np.bincount(bucket, minlength=len(labels))
    n_remote = np.bincount(bucket[remote], minlength=len(labels))
    total_all, total_remote = max(int(n_all.sum()), 1), max(int(n_remote.sum()), 1)
    out = pd.DataFrame({"time": labels, "messages": n_all.astype("int64"),
                        "share": (n_all / total_all).round(4),
                        "remote_messages": n_remote.astype("int64"), "remote_share": (n_remote / total_remote).round(4)})
    return out[(out["messages"] > 0) | (out["remote_messages"] > 0)].reset_index(drop=True)


def _ex_rejects(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """Our rejects (rejected MAIL/RCPT/DATA/connection/HELO) by the command rejected and the reason
    Exim logged (its text up to the next colon, as eximstats cuts it)."""
    r = frame(ev, eq(f["event"], "reject") & eq(f["status"], "rejected"), ["smtp_stage", "reply_text"])
    stage = _col(r, "smtp_stage").fillna("connection")
    kind = stage.map({"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "end of DATA": "after DATA", "DATA": "DATA",
                      "HELO/EHLO": "HELO/EHLO", "connect": "connection"}).fillna(stage)
    reason = _col(r, "reply_text").fillna("(no reason logged)").str.split(":").str[0]
    g = pd.DataFrame({"kind": kind.to_numpy(), "reason": reason.to_numpy()})
    agg = g.groupby(["kind", "reason"], sort=False).size().reset_index(name="count")
    return agg.astype({"count": "int64"})


def eximstats_tables(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The full eximstats tables of the Exim events (uncapped, what the tests compare)."""
    ev = events
    f = ex_frame(ev)
    a = _ex_arrivals(ev, f)
    d = _ex_deliveries(ev, f)
    sources = _ex_sources(a)
    dest = _ex_destinations(d)
    volumes = pd.DataFrame({"measure": ["bytes received", "bytes delivered"],
                            "value": [int(sources["bytes"].sum()), int(dest["bytes"].sum())]})
    return {
        "volumes": volumes,
        "sources_by_count": _rank(sources, ["messages", "bytes"], "host"),
        "sources_by_volume": _rank(sources, ["bytes", "messages"], "host"),
        "destinations_by_count": _rank(dest, ["messages", "bytes"], "host"),
        "destinations_by_volume": _rank(dest, ["bytes", "messages"], "host"),
        "local_destinations": _rank(_ex_local_destinations(d), ["messages", "bytes"], "recipient"),
        "transports": _ex_transports(d),
        "relayed": _rank(_ex_relayed(a, d), ["count"], "from"),
        "queue_times": _ex_queue_times(ev, f, a, d),
        "rejects": _ex_rejects(ev, f).sort_values(["kind", "count", "reason"], ascending=[True, False, True],
                                                   kind="stable").reset_index(drop=True),
    }


# --------------------------------------------------------------------------------------------
# the report's sections

#: Column labels where they differ from the row key.
#: (Definitions never pair a '<' with a later '>': --redact would read that as an address.)
_LABELS = {"avg_delay": "avg delay s", "max_delay": "max delay s", "text": "warning", "count": "lines",
           "value": "bytes", "remote_messages": "with a remote delivery", "remote_share": "share",
           "time": "time on queue", "from": "from host and sender", "to": "to host and recipient"}


def _cols(*keys: str) -> list[dict[str, str]]:
    """Columns (``key``, ``label``) from row keys, ``"key=label"`` where the label is not the usual one."""
    out = []
    for k in keys:
        key, _, label = k.partition("=")
        out.append({"key": key, "label": label or _LABELS.get(key, key)})
    return out


#: Per section: (id, peer section title, our title, columns, definition, difference from the peer or None)
PF_SECTIONS: tuple[tuple[str, str, str, list[dict[str, str]], str, str | None], ...] = (
    ("volumes", "Grand Totals: bytes received, bytes delivered", "Byte volumes",
     _cols("measure", "value"),
     "bytes received: the first qmgr size= of each queue id received (smtpd client= or pickup) in the logs read; "
     "bytes delivered: that size once per status=sent line (forwards excluded)", None),
    ("senders_by_count", "Senders by message count", "Senders by message count",
     _cols("sender", "messages", "bytes"),
     "messages received in the logs read, by envelope sender (domain lower-cased, from=<> for the null sender)",
     None),
    ("senders_by_size", "Senders by message size", "Senders by message size",
     _cols("sender", "bytes", "messages"),
     "the sizes of those messages summed per sender", None),
    ("recipients_by_count", "Recipients by message count", "Recipients by message count",
     _cols("recipient", "messages=deliveries", "bytes"),
     "status=sent lines (not forwards) by recipient (domain lower-cased): one per recipient and delivery", None),
    ("recipients_by_size", "Recipients by message size", "Recipients by message size",
     _cols("recipient", "bytes", "messages=deliveries"),
     "the message size (qmgr size=, 0 when not in the logs) summed over those lines", None),
    ("domains", "Host/Domain Summary: Message Delivery", "Deliveries by recipient domain",
     _cols("domain", "sent", "bytes", "defers", "avg_delay", "max_delay"),
     "per recipient domain: status=sent lines, their bytes, status=deferred lines, the average delay= of the "
     "sent lines and the largest delay= of sent and deferred lines (seconds)",
     "delays in seconds (the JSON to the millisecond); pflogsumm prints minutes or hours above 60 s"),
    ("warnings", "Warnings", "Warnings by daemon and text",
     _cols("daemon", "text", "count"),
     "'warning:' lines of each Postfix daemon, grouped by the text after 'warning: '",
     f"maillens groups by the whole text (pflogsumm by its first {PF_WARNING_WIDTH - 3} characters); "
     "warnings parsed into an event of their own are rebuilt from its fields (SASL failures, non-SMTP "
     "commands, hostname/address checks); TLS library and bare-LF warnings are left out; a warning "
     "with a queue id is counted as 'warning: QID: text' (pflogsumm skips 'QID: warning: text')"),
    ("rejects", "message reject detail", "Rejects by kind and reason",
     _cols("kind", "reason", "count"),
     "smtpd/postscreen reject lines by the rejected command (RCPT, MAIL, CONNECT, DATA, END-OF-MESSAGE) and "
     "pflogsumm's reason (the reply text cut by its rules); cleanup rejects under 'cleanup' by header/body",
     "HELO and EHLO rejects share one kind, HELO/EHLO; for kinds other than RCPT, MAIL, CONNECT and DATA "
     "pflogsumm's reason is the envelope tail (from=, to=, proto=): maillens cuts the reply text as for RCPT"),
)

EX_SECTIONS: tuple[tuple[str, str, str, list[dict[str, str]], str, str | None], ...] = (
    ("volumes", "Grand total summary: Received/Delivered Volume", "Byte volumes",
     _cols("measure", "value"),
     "bytes received: S= of the arrival lines; bytes delivered: the message's S= once per delivery "
     "line ('=>')", None),
    ("sources_by_count", "Top sending hosts by message count", "Sending hosts by message count",
     _cols("host", "messages", "bytes"),
     "'<=' lines by the first word of H= (name, (helo) or [ip]); 'local' without H=", None),
    ("sources_by_volume", "Top sending hosts by volume", "Sending hosts by volume",
     _cols("host", "bytes", "messages"),
     "S= of those lines summed per host", None),
    ("destinations_by_count", "Top host destinations by message count", "Destination hosts by message count",
     _cols("host", "messages", "addresses", "bytes"),
     "'=>' lines (messages; with '->' lines: addresses) by H= host, 'local' without one; bytes: the message's "
     "S= once per '=>' line", None),
    ("destinations_by_volume", "Top host destinations by volume", "Destination hosts by volume",
     _cols("host", "bytes", "messages", "addresses"),
     "the same, largest volume first", None),
    ("local_destinations", "Top local destinations by message count", "Local destinations",
     _cols("recipient=address", "messages", "addresses", "bytes"),
     "'=>' lines (messages; with '->' lines: addresses) without a remote host by address as logged (pipes "
     "and files with their parent address)", None),
    ("transports", "Deliveries by transport", "Deliveries by transport",
     _cols("transport", "messages", "bytes"),
     "'=>' lines by transport, :blackhole: for deliveries without one",
     "maillens does not keep the transport's name (T=): transports are grouped as remote (smtp: a T= "
     "naming smtp), local (the others) and :blackhole:"),
    ("relayed", "Relayed messages", "Relayed messages",
     _cols("from", "to", "count=messages"),
     "remote '=>' deliveries of messages received from a remote host in the logs read, the address unchanged "
     "(no alias), by sending host and sender, receiving host and recipient (lower-cased)", None),
    ("queue_times", "Time spent on the queue", "Time on the queue",
     _cols("time", "messages=all messages", "share", "remote_messages", "remote_share"),
     "per 'Completed' line: its time minus the message's arrival ('<=' line, else the time in the message id); "
     "all messages, and those with at least one remote delivery", None),
    ("rejects", "Top mail rejection reasons by message count", "Rejects by kind and reason",
     _cols("kind", "reason", "count"),
     "our rejected MAIL/RCPT/DATA/connection/HELO lines by the command rejected and the reason up to its "
     "first colon",
     "eximstats puts all reasons in one list and also counts synchronization errors, drops, blackhole "
     "deliveries and remote servers' replies that mention 'rejected'/'refused'/'dropped', and files any "
     "reason naming SpamAssassin under 'Rejected by SpamAssassin'; maillens groups by "
     "the rejected command and leaves those out (their totals are in peer_totals)"),
)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict("records"):
        out.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out


def _cap(df: pd.DataFrame, group: str | None, top: int) -> pd.DataFrame:
    if group is None:
        return df.head(top)
    return df[df.groupby(group, sort=False).cumcount() < top]


def _sections(mta: str, peer: str, tables: dict[str, pd.DataFrame], spec: tuple[Any, ...], top: int) -> list[dict[str, Any]]:
    out = []
    for key, peer_title, title, columns, definition, difference in spec:
        df = tables[key]
        if key != "volumes" and df.empty:
            continue
        shown = df if key in ("volumes", "queue_times", "transports") else \
            _cap(df, {"warnings": "daemon", "rejects": "kind"}.get(key), top)
        out.append({"id": f"{peer}.{key}", "mta": mta, "peer": peer, "peer_title": peer_title, "title": title,
                    "definition": definition, "difference": difference, "columns": columns,
                    "rows": _records(shown[[c["key"] for c in columns]]), "rows_total": len(df),
                    "more": len(df) - len(shown)})
    return out


def peer_sections(events: pd.DataFrame, top: int = TOP) -> list[dict[str, Any]]:
    """The report's ``peers`` list: pflogsumm's sections for the Postfix events, eximstats' for the
    Exim events, each the top ``top`` rows (per daemon / kind where grouped) with ``more`` left out."""
    if not len(events):
        return []
    parts = by_mta(events)  # the same tables analyzer.totals reads: their frames are computed once
    out: list[dict[str, Any]] = []
    if "postfix" in parts:
        out += _sections("postfix", "pflogsumm", pflogsumm_tables(parts["postfix"]), PF_SECTIONS, top)
    if "exim" in parts:
        out += _sections("exim", "eximstats", eximstats_tables(parts["exim"]), EX_SECTIONS, top)
    return out
