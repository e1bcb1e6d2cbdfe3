"""Trace messages: the whole story of each message matching a queue id, address or Message-ID.

``trace(index, query)`` returns plain data (lists and dicts, JSON-ready): for each message, where
it came from, a timeline of every line of every hop in time order, and per recipient the final
status with, for a failure, the knowledge base's explanation and fix. Rendering is the CLI's job
(:func:`render_text` gives the plain-text form).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .messages import MessageIndex, _arrow

__all__ = ["find_messages", "render_text", "trace"]

FAILED = ("bounced", "expired", "rejected", "deferred")


def _clean(v: Any) -> Any:
    """Plain Python values for JSON (None for missing, ISO strings for times)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v


def find_messages(ix: MessageIndex, query: str) -> np.ndarray:
    """Message numbers whose queue id, Message-ID, sender or recipient is ``query`` (exact,
    case-insensitive for addresses; '<>' around a Message-ID is optional), in time order."""
    q = query.strip()
    m = ix.messages
    ids = pc.fill_null(_arrow(m, "queue_ids", pa.string()), "")
    hit = pc.match_substring_regex(ids, f"(?:^| ){re.escape(q)}(?: |$)").to_numpy(zero_copy_only=False)
    bare = q.strip("<>").lower()
    mid = pc.utf8_lower(pc.replace_substring_regex(pc.fill_null(_arrow(m, "message_id", pa.string()), ""),
                                                   r"^<|>$", ""))
    hit |= pc.equal(mid, bare).to_numpy(zero_copy_only=False)
    if "@" in q:
        addr = bare
        for name in ("sender", "recipient", "orig_recipient"):
            col = pc.utf8_lower(pc.fill_null(_arrow(m, name, pa.string()), ""))
            hit |= pc.equal(col, addr).to_numpy(zero_copy_only=False)
    msgs = m["msg"].to_numpy()[hit]
    _, first = np.unique(msgs, return_index=True)
    return msgs[np.sort(first)]


_VERBS = {
    "received": "received", "message_id": "message-id", "queued": "queued", "delivery": "attempt",
    "reply": "reply", "connect_failure": "connect failed", "expired": "expired",
    "bounce_notice": "notice", "removed": "removed", "reject": "rejected", "filter_action": "filter",
    "frozen": "frozen", "admin": "admin",
}


def _describe(e: dict[str, Any]) -> str:
    """One line of the timeline, in words."""
    ev = e["event"]
    if ev == "received":
        who = e.get("client_host") or ""
        ip = e.get("client_ip")
        src = f"{who}[{ip}]" if ip else (who or "local submission")
        extra = f" (from queue {e['related_id']})" if e.get("related_id") and e.get("mta") == "postfix" else ""
        if e.get("mta") == "exim" and e.get("related_id"):
            extra = f" (notice about {e['related_id']})"
        sender = f" from <{e['sender']}>" if e.get("sender") is not None else ""
        return f"received{sender} via {src}{extra}"
    if ev == "message_id":
        return f"message-id <{e.get('message_id') or ''}>"
    if ev == "queued":
        return f"queued: from <{e.get('sender') or ''}>, size {e.get('size')}, {e.get('nrcpt')} recipient(s)"
    if ev == "delivery":
        relay = e.get("relay_host") or "?"
        if e.get("relay_ip"):
            relay += f"[{e['relay_ip']}]"
        delay = f", delay {e['delay']:g}s" if e.get("delay") is not None else ""
        return (f"{e.get('status') or 'attempt'}: to <{e.get('recipient') or ''}> via {relay}{delay}: "
                f"{e.get('reply_text') or ''}").rstrip(": ")
    if ev in ("reply", "connect_failure"):
        relay = e.get("relay_host") or ""
        return f"{_VERBS[ev]} {relay}: {e.get('reply_text') or e.get('detail') or ''}".rstrip(": ")
    if ev == "bounce_notice":
        return f"{e.get('status') or 'notice'} created as {e.get('related_id')}"
    if ev == "expired":
        return f"expired: {e.get('reply_text') or 'returned to sender'}"
    if ev == "removed":
        return "removed from the queue" if e.get("mta") == "postfix" else "completed"
    if ev == "reject":
        return f"rejected <{e.get('recipient') or ''}>: {e.get('reply_text') or ''}".rstrip(": ")
    text = e.get("reply_text") or e.get("detail") or e.get("status") or ""
    return f"{_VERBS.get(ev, ev)}: {text}".rstrip(": ")


_TL_FIELDS = ("ts", "queue_id", "event", "status", "client_host", "client_ip", "relay_host", "relay_ip",
              "sender", "recipient", "reply_code", "enhanced_code", "dsn", "reply_text", "delay", "size",
              "nrcpt", "message_id", "related_id", "detail", "mta", "source", "line_no")


def _explanation(fix_id: str | None, direction: str | None, kb) -> dict[str, Any] | None:
    """The knowledge base's entry for the deciding line's fix entry, read in its direction: only
    the advice that applies (a client refused at our door is not fixed like a refusal of us)."""
    if not fix_id or fix_id == "unknown":
        return None
    from .explain import DIRECTIONS, UnknownQuery, explain

    try:
        e = explain(fix_id, rules=kb, direction=direction if direction in DIRECTIONS else None)
    except UnknownQuery:
        return None
    return {"cause": e.get("cause"), "title": e.get("title"), "meaning": e.get("meaning"),
            "direction": direction, "fix": list(e.get("fix") or []), "references": list(e.get("references") or [])}


def trace(ix: MessageIndex, query: str, *, limit: int = 20, kb=None) -> list[dict[str, Any]]:
    """The story of each message matching ``query`` (at most ``limit``, most recent last)."""
    msgs = find_messages(ix, query)
    if limit and len(msgs) > limit:
        msgs = msgs[-limit:]
    m = ix.messages
    stories = []
    for mnum in msgs.tolist():
        rows = m[m["msg"] == mnum]
        head = rows.iloc[0]
        sel = np.flatnonzero(ix.msg == mnum)
        sel = sel[np.argsort(ix.rank[sel], kind="stable")]
        evs = ix.events.iloc[sel]
        timeline = []
        for rec in evs[list(_TL_FIELDS)].to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            timeline.append({"ts": rec["ts"], "queue_id": rec["queue_id"], "event": rec["event"],
                             "what": _describe(rec), "status": rec["status"], "reply_code": rec["reply_code"],
                             "enhanced_code": rec["enhanced_code"], "where": f"{rec['source']}:{rec['line_no']}"})
        recipients = []
        for r in rows.to_dict("records"):
            r = {k: _clean(v) for k, v in r.items() if k != "history"}
            entry = {k: r[k] for k in ("recipient", "orig_recipient", "status", "final_ts", "delay", "attempts",
                                       "relay", "reply_code", "enhanced_code", "dsn", "reply_text", "cause",
                                       "outcome", "fix_id", "direction", "cause_ref")}
            entry["where"] = f"{r['source']}:{r['line_no']}"
            entry["explanation"] = _explanation(r["fix_id"] or r["cause"], r["direction"], kb) \
                if r["status"] in FAILED else None
            recipients.append(entry)
        h = {k: _clean(head[k]) for k in ("queue_id", "queue_ids", "host", "mta", "message_id", "sender",
                                           "client_host", "client_ip", "sasl_username", "size", "nrcpt",
                                           "received", "bounce_id", "notice_of")}
        h["queue_ids"] = (h["queue_ids"] or "").split()
        notice = None
        if h["bounce_id"]:
            nrows = m[(m["queue_id"] == h["bounce_id"]).fillna(False).to_numpy(dtype=bool)]
            if len(nrows):
                nr = nrows.iloc[-1]
                to = _clean(nr["recipient"])
                if to and "@" not in to and _clean(nr["orig_recipient"]):  # Exim local: 'alice <alice@host>'
                    to = _clean(nr["orig_recipient"])
                notice = {"queue_id": h["bounce_id"], "recipient": to,
                          "status": _clean(nr["status"]), "where": f"{nr['source']}:{nr['line_no']}"}
        stories.append({"message": h, "timeline": timeline, "recipients": recipients, "notice": notice})
    return stories


def _when(ts: str | None) -> str:
    return ts.replace("T", " ").replace("+00:00", "")[:19] if ts else "?"


def render_text(stories: list[dict[str, Any]]) -> str:
    """Plain text for a terminal (the caller escapes markup and control characters)."""
    out: list[str] = []
    for s in stories:
        h = s["message"]
        ids = " → ".join(h["queue_ids"]) or "(not queued)"
        out.append(f"Message {ids}" + (f"  <{h['message_id']}>" if h["message_id"] else ""))
        who = h["client_host"] or ""
        if h["client_ip"]:
            who += f"[{h['client_ip']}]"
        facts = [f"from <{h['sender']}>" if h["sender"] is not None else None,
                 f"client {who}" if who else None,
                 f"SASL {h['sasl_username']}" if h["sasl_username"] else None,
                 f"size {h['size']}" if h["size"] is not None else None,
                 f"host {h['host']}" if h["host"] else None,
                 f"notice about {h['notice_of']}" if h["notice_of"] else None]
        out.append("  " + ", ".join(f for f in facts if f))
        for t in s["timeline"]:
            out.append(f"  {_when(t['ts'])}  {t['queue_id'] or '-':<12} {t['what']}   [{t['where']}]")
        for r in s["recipients"]:
            rc = r["recipient"] or r["orig_recipient"] or "(no recipient)"
            delay = f" after {_dur(r['delay'])}" if r["delay"] is not None else ""
            n = r["attempts"] or 0
            out.append(f"  → {rc}: {str(r['status']).upper()}{delay} ({n} attempt{'s' if n != 1 else ''})")
            if r["status"] != "sent" and r["reply_text"]:
                code = " ".join(str(x) for x in (r["reply_code"], r["enhanced_code"]) if x)
                out.append(f"      {code + ': ' if code else ''}{r['reply_text']}"
                           + (f" (relay {r['relay']})" if r["relay"] else ""))
            ex = r["explanation"]
            if ex:
                out.append(f"      Why: {ex['title']} — {ex['meaning']}")
                if r.get("cause_ref"):
                    out.append(f"      (the line above only waited or gave up; the error behind it: {r['cause_ref']})")
                for fix in ex["fix"][:3]:
                    out.append(f"      Fix: {fix}")
        if s["notice"]:
            n = s["notice"]
            out.append(f"  Notice {n['queue_id']} to <{n['recipient'] or ''}>: {n['status']}")
        out.append("")
    return "\n".join(out).rstrip() + "\n" if out else ""


def _dur(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
