"""The report as plain text: what happened, what was abnormal, what to do. 100 columns or less."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from .headline import short_location, span
from .limits import more
from .peers_render import text_lines as peers_text
from .servers import SERVER_KEYS, server_label
from .timeline import rows_for_display

__all__ = ["EXPIRED_NOTE", "UNITS_NOTE", "baseline_phrase", "clean", "counted", "evidence_list", "measure", "observed", "pct",
           "render_text", "shown_key", "table", "where"]

WIDTH = 100
#: What the expiries' heading says in every format: failures, shown apart from the bounces (#9).
EXPIRED_NOTE = "(the queue gave up: returned to the sender; also counted by cause above)"
#: The units of a client's lines that belong to no message, said where a list shows one.
UNITS_NOTE = "a client's lines of no message count as logins (failed logins) or attempts (refused commands, sessions)"


def _one(n: int, unit: str) -> str:
    """The unit as it reads beside the count: 'message' for 1, 'messages' for 0 or many."""
    return unit[:-1] if n == 1 and unit.endswith("s") else unit


def counted(c: dict[str, Any]) -> tuple[int, str, str]:
    """A cause entry's count, its unit (messages, logins, attempts) and, for a client's lines, how
    many clients (' (N clients)'); an earlier report's entry has messages only."""
    n, unit = c.get("units", c["messages"]), c.get("unit", "messages")
    k = c.get("clients")
    return n, unit, f" ({k:,} client{'' if k == 1 else 's'})" if k is not None and unit != "messages" else ""



def _more(r: dict[str, Any], path: str) -> list[str]:
    """The "… and N more" line under a list the report cut (see analyzer.report.limits)."""
    n = more(r, path)
    return [f"  … and {n:,} more"] if n else []

def clean(value: Any, limit: int = 0) -> str:
    """One line of text: control characters shown as '?', cut to ``limit`` characters."""
    s = "-" if value is None else str(value)
    s = "".join(ch if ch.isprintable() else "?" for ch in s)
    if limit and len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def number(v: Any, other: Callable[[Any], str] = str) -> str:
    """A count or measure as every format shows it ('-' for none); anything else via ``other``."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.3g}" if v < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return other(v)


def _num(v: Any) -> str:
    return number(v, clean)


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def measure(f: dict[str, Any], key: str) -> str:
    """A finding's observed or expected value: a percentage for shares, a number otherwise."""
    v = f.get(key)
    if v is None:
        return "-"
    return pct(v) if f.get("unit") == "share" else _num(v)


def observed(f: dict[str, Any]) -> str:
    """What a finding measured, in words: "117, expected 30", or "100.0%; nothing earlier to
    compare with" when there is no expected value."""
    if f.get("expected") is None:
        return f"{measure(f, 'observed')}; nothing earlier to compare with"
    return f"{measure(f, 'observed')}, expected {measure(f, 'expected')}"


def baseline_phrase(b: dict[str, Any]) -> str:
    """The baseline in a few words; "history" only with the number of events it held."""
    src = str(b.get("source") or "none")
    n = int(b.get("events") or 0)
    if not n:
        return src if src.startswith("none") else "none"
    return f"{src} ({n:,} events)"


def shown_key(key: str, value: Any) -> Any:
    """A top-table key as shown: the null sender (empty) as ``<>``, not as a blank cell."""
    return "<>" if key == "sender" and (value is None or str(value) in ("", "<>")) else value


def evidence_list(items: list[dict[str, Any]]) -> str:
    """Evidence as short ``basename:line`` links (the JSON keeps the full paths)."""
    return ", ".join(short_location(clean(e["file"]), e["line"]) for e in items)


def where(f: dict[str, Any]) -> str:
    """A finding's entity, or the destinations a grouped finding stands for."""
    ents = f.get("entities") or []
    if len(ents) > 1:
        return "destinations: " + ", ".join(ents)
    return str(f["entity"])


def table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> list[str]:
    """Aligned plain-text columns."""
    right = right or set()
    cells = [[clean(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))).rstrip()

    return ["  " + line(headers), "  " + line(["-" * w for w in widths])] + ["  " + line(r) for r in cells]


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(clean(text), WIDTH, initial_indent=indent, subsequent_indent=indent) or [indent]


def _finding(f: dict[str, Any], servers: bool = False) -> list[str]:
    out = [f"[{f['severity'].upper()}] {clean(f['title'])}"]
    out.append(f"    when:     {span(f['window_start'], f['window_end'])}")
    out += _wrap(f"{where(f)} ({f['detector']})", "    entity:   ")[:3]
    if servers and f.get("servers"):
        out.append(f"    server:   {clean(', '.join(f['servers']), 120)}")
    out.append(f"    observed: {observed(f)}")
    if f.get("reason"):
        out.append(f"    severity: {clean(f['reason'], 120)}")
    if f.get("detail"):
        out += _wrap(f["detail"], "    ")
    if f["evidence"]:
        out.append("    evidence: " + evidence_list(f["evidence"]))
    for i, step in enumerate(f["fix"], 1):
        out += textwrap.wrap(clean(step), WIDTH, initial_indent=f"    fix {i}. ", subsequent_indent="           ")
    return out


def render_text(r: dict[str, Any]) -> str:
    """The report dict as plain text."""
    w, v, s = r["window"], r["volumes"], r["summary"]
    out = [f"maillens report — {w['first_event'] or '-'} to {w['last_event'] or '-'} ({r['generator']})", ""]
    if r.get("headline"):
        out += _wrap(r["headline"]["text"], "")
        out.append("")
    if w["since"] or w["until"]:
        out.append(f"Window: {w['since'] or 'start'} to {w['until'] or 'end'} (UTC)")
    ln = r["lines"]
    out.append(f"Read {_num(ln['read'])} lines from {len(r['inputs'])} file(s): {_num(ln['events'])} events, "
               f"{_num(ln['foreign'])} from other programs, {_num(ln['unrecognised'])} not recognised"
               + (f", {_num(ln['debug'])} debug lines." if ln.get("debug") else "."))
    servers = r.get("servers") or []
    if servers:
        out.append(clean(server_label(servers)) + ".")
    out.append(f"Anomaly findings: {s['critical']} critical, {s['warning']} warning, {s['info']} info. "
               f"Baseline: {clean(baseline_phrase(r['baseline']))}.")
    out.append("")
    out.append("ANOMALIES")
    if not r["findings"]:
        out.append("  Nothing abnormal found.")
    for f in r["findings"]:
        out += ["  " + line if line else "" for line in _finding(f, len(servers) > 1)]
        out.append("")
    out += _more(r, "findings")
    out += ["", "VOLUMES",
            f"  sessions {_num(v['sessions'])} · received {_num(v['received'])} · delivered {_num(v['delivered'])}"
            f" · deferred {_num(v['deferred'])} ({_num(v.get('deferrals', v['deferred']))} deferral lines)"
            f" · bounced {_num(v['bounced'])} · expired {_num(v.get('expired', 0))} · rejected {_num(v['rejected'])}"]
    d = v["delay_seconds"]
    out.append(f"  delivery delay (s): p50 {_num(d['p50'])}, p90 {_num(d['p90'])}, p99 {_num(d['p99'])}, "
               f"max {_num(d['max'])} over {_num(d['count'])} deliveries")
    out.append("")
    keys = ["received", "delivered", "deferred", "bounced", "rejected"]
    head, periods, _omitted = rows_for_display(v)
    out += table([head, *keys], [[label] + [h[k] for k in keys] for label, h in periods], right=set(range(1, 6)))
    out += _more(r, "volumes.timeline")
    if len(servers) > 1:
        out += ["", "BY SERVER"]
        out += table(["server", *SERVER_KEYS], [[clean(x["name"], 40)] + [_num(x[k]) for k in SERVER_KEYS]
                                               for x in servers], right=set(range(1, len(SERVER_KEYS) + 1)))
    o = r["outcomes"]
    out += ["", "OUTCOMES BY REPLY CLASS"]
    out += table(["class", "count", "share"], [[c["reply_class"], _num(c["count"]), pct(c["share"])]
                                               for c in o["by_reply_class"]], right={1, 2})
    out += ["", "OUTCOMES BY CAUSE (messages = message and recipient, as pflogsumm counts; lines = log lines)"]
    if any(counted(c)[1] != "messages" for c in o["by_cause"] + o.get("states", [])):
        out.append(f"  {UNITS_NOTE}")
    for c in o["by_cause"]:
        ex = c["example"]
        n, unit, clients = counted(c)
        out.append(f"  {_num(n):>8} {_one(n, unit):<8} {_num(c['lines']):>8} {_one(c['lines'], 'lines'):<5}  {pct(c['share']):>6}  "
                   f"{clean(c['cause'])} — {clean(c['title'])}{clients} "
                   f"[{c['outcome']}, {c['severity']}]")
        if ex:
            out.append(f"            e.g. {short_location(clean(ex['file']), ex['line'])}  {clean(ex['text'], 80)}")
        if c["fix"] and c["severity"] != "info":
            out += textwrap.wrap(clean(c["fix"][0]), WIDTH, initial_indent="            fix: ",
                                 subsequent_indent="                 ")
    out += _more(r, "outcomes.by_cause")
    if o.get("expired"):  # failures, apart from the bounces: the queue gave up
        out += ["", f"EXPIRED {EXPIRED_NOTE}"]
        for c in o["expired"]:
            ex = c["example"]
            out.append(f"  {_num(c['messages']):>8} {_one(c['messages'], 'messages'):<8} {_num(c['lines']):>8} {_one(c['lines'], 'lines'):<5}  {clean(c['cause'])} — "
                       f"{clean(c['title'])} [{c['severity']}]")
            if ex:
                out.append(f"            e.g. {short_location(clean(ex['file']), ex['line'])}  {clean(ex['text'], 80)}")
    if o.get("states"):  # not failures: frozen/held messages, lost sessions, MTA warnings
        out += ["", "STATES AND MTA WARNINGS (not failures)"]
        for c in o["states"]:
            n, unit, clients = counted(c)
            out.append(f"  {_num(n):>8} {_one(n, unit):<8} {_num(c['lines']):>8} {_one(c['lines'], 'lines'):<5}  {clean(c['cause'])} — "
                       f"{clean(c['title'])}{clients} [{c['severity']}]")
    se = r["session_ends"]
    out += ["", "SESSION ENDS (inbound)",
            f"  closed with QUIT/221 {_num(se['closed'])} · closed without QUIT {_num(se['closed_without_quit'])} · "
            f"lost {_num(se['lost'])} · timed out {_num(se['timeout'])} · too many errors {_num(se['too_many_errors'])}"]
    if se["by_stage"]:
        out += table(["stage", "lost", "timeout", "too many errors"],
                     [[b["stage"], b["lost_connection"], b["timeout"], b["too_many_errors"]] for b in se["by_stage"]],
                     right={1, 2, 3})
    t = r["top"]
    for title, key, rows, path in (("TOP DESTINATIONS BY FAILURES", "domain", t["destinations"], "top.destinations"),
                                   ("TOP RELAYS BY FAILURES", "relay", t["relays"], "top.relays"),
                                   ("TOP SENDERS BY FAILED DELIVERIES", "sender", t["senders"], "top.senders")):
        out += ["", title]
        out += table([key, "messages", "failed messages", "lines", "failed lines", "rate", "top cause"],
                     [[clean(shown_key(key, x[key]), 60), x["messages"], x["failed_messages"], x["attempts"], x["failures"],
                       pct(x["failure_rate"]), x["top_cause"]]
                      for x in rows], right={1, 2, 3, 4, 5}) if rows else ["  none"]
        out += _more(r, path)
    out += ["", "TOP CLIENTS BY REJECTS"]
    out += table(["client ip", "host", "rejects", "top cause"],
                 [[x["client_ip"], clean(x["client_host"], 50), x["rejects"], x["top_cause"]]
                  for x in t["clients_by_rejects"]], right={2}) if t["clients_by_rejects"] else ["  none"]
    out += _more(r, "top.clients_by_rejects")
    out += ["", "TOP CLIENTS BY AUTHENTICATION FAILURES"]
    out += table(["client ip", "failures", "user names"],
                 [[x["client_ip"], x["failures"], x["user_names"]] for x in t["clients_by_auth_failures"]],
                 right={1, 2}) if t["clients_by_auth_failures"] else ["  none"]
    out += _more(r, "top.clients_by_auth_failures")
    u = r["unrecognised"]
    out += ["", f"NOT RECOGNISED ({_num(u['lines'])} lines)"]
    if not u["kinds"]:
        out.append("  Every Postfix/Exim line was recognised.")
    for k in u["kinds"]:
        out.append(f"  {_num(k['count']):>8}  {clean(k['kind'], 80)}")
        for smp in k["samples"][:2]:
            out.append(f"            {short_location(clean(smp['file']), smp['line'])}  {clean(smp['text'], 70)}")
    out += _more(r, "unrecognised.kinds")
    if u["foreign"]:
        out.append("  other programs: " + ", ".join(f"{clean(x['program'])} {x['lines']:,}" for x in u["foreign"])
                   + (f" and {more(r, 'unrecognised.foreign'):,} more" if more(r, "unrecognised.foreign") else ""))
    for peer in r.get("peer_totals", []):
        out += ["", f"TOTALS AS {peer['tool'].upper()} COUNTS THEM"]
        out += ["  " + " · ".join(f"{x['key'].replace('_', ' ')} {_num(x['value'])}" for x in peer["totals"])]
    out += peers_text(r)
    for warning in r["warnings"]:
        out.append(f"Warning: {clean(warning)}")
    out += [line.strip() for line in _more(r, "warnings")]
    return "\n".join(line.rstrip() for line in out).rstrip() + "\n"
