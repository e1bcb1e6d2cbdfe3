"""Per-message accuracy on the real-daemon sample logs (sample_logs/) against their scripted truth.

``tools/make_sample_logs.py`` played scripted scenarios against real Postfix and Exim daemons
and wrote what each message was meant to meet to ``expected/messages.jsonl``: the fake MX's
answer (a reply code and text, a refused connection, a hang, a dropped socket), or for inbound
mail the policy our own server applies. This script maps each scenario's scripted behaviour to
the cause a postmaster would name, parses and classifies the matching logs with maillens, links
lines into messages (``analyzer.messages``) and prints the share of failed messages (final
status deferred, bounced, expired or rejected) whose cause is the expected one. Exim messages
whose last line is ``retry time not reached ...`` or ``retry timeout exceeded`` are failed
messages like any other: their cause must be the root reason, not the waiting.

A second figure covers messages that were deferred before being delivered (greylisting, a 451
at end of data): every deferral line of such a message must carry the expected cause.

    python bench/eval_samples.py                  # table per message and the figures
    python bench/eval_samples.py --min 0.97       # exit 1 when the failed-message figure is lower
    python bench/eval_samples.py --root DIR       # another sample_logs tree

The expected files are found by glob (``**/expected/messages.jsonl``), so sample logs kept in
per-server folders are scored the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

FAILED = ("deferred", "bounced", "expired", "rejected")
#: Where the knowledge base has a generic cause and a direction-specific one for the same meaning
#: (the issue asks for causes that differ by direction), both count.
TIMEOUT = ("network.timeout", "session.timeout", "remote.timeout")   # outbound: the MX stopped answering
LOST = ("session.lost", "remote.connection_lost")                     # outbound: the MX closed the socket

#: Scenario -> the causes its scripted behaviour implies (the first is the one reported).
#: Written from the scenario's script (tools/scenarios.py), not from maillens' output.
SCENARIO_CAUSES: dict[str, tuple[str, ...]] = {
    # outbound: what the fake MX did
    "connect-refused": ("network.refused",),
    "connect-refused-expire": ("network.refused",),      # refused until the queue lifetime ran out
    "greeting-timeout": TIMEOUT,
    "eod-timeout": TIMEOUT,
    "drop-at-rcpt": LOST,                                # socket closed at RCPT, no reply
    "greeting-421": ("rate.limited",),                   # 421 4.7.0 Too many connections, try again later
    "mail-421": ("server.unavailable", "server.error"),  # 421 4.7.0 Temporary System Problem
    "greeting-521": ("host.no_mail",),
    "greeting-521-noskip": ("host.no_mail",),
    "rcpt-550-unknown-user": ("mailbox.unknown",),
    "rcpt-450-greylist": ("greylisted",),
    "rcpt-451-greylist": ("greylisted",),
    "eod-451-then-ok": ("server.unavailable", "server.error"),  # 451 4.3.0 temporarily rejected
    "eod-552-too-big": ("message.too_big",),
    "eod-554-policy": ("content.policy", "policy.rejected"),    # rejected due to content restrictions
    "rcpt-556-null-mx": ("domain.no_mail",),
    "rcpt-550-multiline": ("policy.rejected", "policy.sender_blocked"),  # does not accept mail from your network
    "rcpt-550-5.7.606-microsoft": ("reputation.ip_listed",),
    "eod-550-5.7.26-gmail-dmarc": ("auth.dmarc",),
    "unrouted-domain-sendmail": ("domain.not_found", "local.config"),  # no route to this destination
    "bounce-frozen": ("mailbox.unknown",),               # 550 5.1.1 at RCPT; its bounce then freezes
    # inbound: what our own server did to a client
    "in-unknown-user": ("mailbox.unknown", "client.recipient_unknown"),
    "in-relay-denied": ("relay.denied", "client.relay_denied"),
    "in-sender-policy": ("policy.sender_blocked", "policy.rejected"),
    "in-content-reject": ("content.policy", "policy.rejected"),
    "in-acl-panic": ("local.config", "system.error"),   # deny ACL whose message expansion fails
}


def fallback_causes(row: dict) -> tuple[str, ...] | None:
    """Causes for a scenario not in the table, from the fake MX's scripted answer alone."""
    ans = row.get("mx_answer") or {}
    action, code, enh = ans.get("action"), ans.get("code"), ans.get("enhanced") or ""
    if action == "refused":
        return ("network.refused",)
    if action == "hang":
        return TIMEOUT
    if action == "drop":
        return LOST
    by_enh = {"5.1.1": "mailbox.unknown", "5.1.10": "domain.no_mail", "5.3.4": "message.too_big",
              "5.2.2": "mailbox.full", "4.2.2": "mailbox.full", "5.7.26": "auth.dmarc"}
    if code == 521:
        return ("host.no_mail",)
    if enh in by_enh:
        return (by_enh[enh],)
    return None


def expected_causes(row: dict) -> tuple[tuple[str, ...] | None, str]:
    """(causes, how): from the scenario table, else from the MX answer, else None. Each cause is
    is also accepted as read in the scenario's direction (the knowledge base's inbound/outbound
    variant of it: mailbox.unknown at our door is client.recipient_unknown)."""
    if row.get("scenario") in SCENARIO_CAUSES:
        causes, how = SCENARIO_CAUSES[row["scenario"]], "scenario"
    else:
        causes = fallback_causes(row)
        how = "mx_answer" if causes else "none"
    if causes and row.get("kind") in ("inbound", "outbound"):
        from analyzer.classify import default_rules

        kb = default_rules()
        causes = tuple(dict.fromkeys([*causes, *(kb.cause_for(c, row["kind"]) for c in causes)]))
    return causes, how


#: Exim's secondary logs, read with the mainlog (maillens drops rejectlog lines the mainlog has).
SIBLINGS = ("rejectlog", "paniclog")


def rotated_set(log: Path) -> list[Path]:
    """The log and its rotations (mail.log, mail.log.1, mail.log.2.gz), oldest first, plus an
    Exim mainlog's rejectlog and paniclog. Other files in the folder (the same run in another
    time format, say) are left out so no line is read twice."""
    def mine(p: Path, name: str) -> bool:
        return p.name == name or p.name.startswith(name + ".")

    names = [log.name] + (list(SIBLINGS) if log.name.startswith("mainlog") else [])
    files = [p for p in log.parent.iterdir() if p.is_file() and any(mine(p, n) for n in names)]

    def order(p: Path) -> tuple[int, int]:
        if not mine(p, log.name):
            return (1, 0)
        rest = p.name[len(log.name):].lstrip(".").split(".")[0]
        return (0, -int(rest) if rest.isdigit() else 0)

    return sorted(files, key=order)


def _missing(v) -> bool:
    import pandas as pd
    return v is None or bool(pd.isna(v))


def _norm_id(v) -> str:
    return "" if _missing(v) else str(v).strip().strip("<>")


def _strs(col) -> list[str]:
    return ["" if _missing(v) else str(v) for v in col]


@dataclass
class Result:
    row: dict
    causes: tuple[str, ...] | None
    how: str
    got: str | None          # the message's cause (failed) or the deferrals' causes (retried)
    ok: bool


def _cause_str(v) -> str | None:
    return None if _missing(v) else str(v)


def locate(base: Path, root: Path, log: str) -> Path | None:
    """The log an expected row names: beside its expected/ folder, else anywhere under root."""
    if (base / log).is_file():
        return base / log
    found = sorted(p for p in root.glob(f"**/{log}") if p.is_file())
    return found[0] if found else None


def score_log(path: Path | None, rows: list[dict]) -> list[Result]:
    """Parse, classify and link one run's log set; score each expected row against it."""
    from analyzer.classify import classify
    from analyzer.messages import link
    from analyzer.reader import parse_logs

    if path is None:
        return [Result(r, *expected_causes(r), None, False) for r in rows]
    files = rotated_set(path)
    year = None
    for r in rows:
        if r.get("submitted_at"):
            year = int(r["submitted_at"][:4])
            break
    events = classify(parse_logs([str(f) for f in files], tz="UTC", year=year).events)
    idx = link(events)
    msgs = idx.messages
    mid = [_norm_id(v) for v in msgs["message_id"]]
    rcpt, orig = _strs(msgs["recipient"]), _strs(msgs["orig_recipient"])
    sender, status = _strs(msgs["sender"]), _strs(msgs["status"])
    by_id: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in range(len(msgs)):
        for r in {rcpt[i], orig[i]} - {""}:
            by_id[(mid[i], r.lower())].append(i)
    ev_row = idx.row
    ev_status = idx.events["status"].astype(object).to_numpy()
    ev_cause = idx.events["cause"].astype(object).to_numpy()

    out = []
    for r in rows:
        causes, how = expected_causes(r)
        want_rcpt = (r.get("recipient") or "").lower()
        hits = by_id.get((_norm_id(r.get("message_id")), want_rcpt), [])
        if not hits and r["outcome"] == "rejected":  # refused before a Message-ID was seen
            hits = [i for i in range(len(msgs)) if status[i] == "rejected"
                    and sender[i].lower() == (r.get("sender") or "").lower()
                    and (not (rcpt[i] or orig[i]) or want_rcpt in (rcpt[i].lower(), orig[i].lower()))]
        if not hits:
            out.append(Result(r, causes, how, None, False))
            continue
        i = hits[-1]
        if r["outcome"] in FAILED:
            got = _cause_str(msgs["cause"].iloc[i])
            out.append(Result(r, causes, how, got, bool(causes) and got in causes))
        else:  # delivered in the end: judge the deferrals before it
            deferrals = [_cause_str(c) for c, s in zip(ev_cause[ev_row == i], ev_status[ev_row == i], strict=False)
                         if s == "deferred"]
            got = ",".join(sorted(set(c or "None" for c in deferrals))) or None
            ok = bool(causes) and bool(deferrals) and all(c in causes for c in deferrals)
            out.append(Result(r, causes, how, got, ok))
    return out


def find_expected(root: Path) -> list[Path]:
    return sorted(root.glob("**/expected/messages.jsonl"))


def evaluate(root: Path) -> list[Result]:
    results: list[Result] = []
    for exp in find_expected(root):
        base = exp.parent.parent
        with open(exp, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        by_log: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            failed = r["outcome"] in FAILED
            retried = bool((r.get("mx_answer") or {}).get("earlier_attempts"))
            if failed or retried:
                by_log[r["log"]].append(r)
        for log, rs in sorted(by_log.items()):
            path = locate(base, root, log)
            if path is None:
                print(f"warning: {log} (named in {exp}) not found; its messages count as misses",
                      file=sys.stderr)
            results += score_log(path, rs)
    return results


def figures(results: list[Result]) -> dict:
    failed = [x for x in results if x.row["outcome"] in FAILED]
    retried = [x for x in results if x.row["outcome"] not in FAILED]
    per_mta: dict[str, Counter] = defaultdict(Counter)
    for x in failed:
        per_mta[x.row["mta"]]["n"] += 1
        per_mta[x.row["mta"]]["ok"] += x.ok
    return {
        "failed": {"messages": len(failed), "correct": sum(x.ok for x in failed)},
        "retried": {"messages": len(retried), "correct": sum(x.ok for x in retried)},
        "per_mta": {m: dict(c) for m, c in sorted(per_mta.items())},
        "not_found": sum(x.got is None and x.row["outcome"] in FAILED for x in failed),
        "unmapped": sum(x.causes is None for x in results),
    }


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%" if n else "-"


def render(results: list[Result], fig: dict) -> str:
    lines = [f"{'run':<15} {'scenario':<28} {'status':<9} {'expected':<36} {'got':<24} ok"]
    for x in sorted(results, key=lambda x: (x.row["run"], x.row["scenario"], x.row.get("recipient", ""))):
        exp = "|".join(x.causes) if x.causes else "(no mapping)"
        lines.append(f"{x.row['run']:<15} {x.row['scenario']:<28} {x.row['outcome']:<9} {exp:<36} "
                     f"{(x.got or '(not found)'):<24} {'OK' if x.ok else 'MISS'}")
    f, r = fig["failed"], fig["retried"]
    lines += ["",
              f"failed messages with the expected cause: {f['correct']}/{f['messages']} = "
              f"{_pct(f['correct'], f['messages'])}"]
    for m, c in fig["per_mta"].items():
        lines.append(f"  {m}: {c['ok']}/{c['n']} = {_pct(c['ok'], c['n'])}")
    lines.append(f"deferred-then-delivered messages whose deferrals carry the expected cause: "
                 f"{r['correct']}/{r['messages']} = {_pct(r['correct'], r['messages'])}")
    if fig["not_found"]:
        lines.append(f"({fig['not_found']} failed message(s) not found in the logs; counted as misses)")
    if fig["unmapped"]:
        lines.append(f"({fig['unmapped']} message(s) of scenarios with no expected cause; counted as misses)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=HERE.parent / "sample_logs", help="sample_logs tree")
    ap.add_argument("--min", type=float, default=None,
                    help="exit 1 when the failed-message figure is below this fraction (e.g. 0.97)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if not find_expected(args.root):
        print(f"Error: no expected/messages.jsonl under {args.root}\n"
              "Try: --root pointing at a sample_logs tree made by tools/make_sample_logs.py", file=sys.stderr)
        return 2
    results = evaluate(args.root)
    fig = figures(results)
    if args.json:
        fig["messages"] = [{"run": x.row["run"], "scenario": x.row["scenario"], "recipient": x.row.get("recipient"),
                            "status": x.row["outcome"], "expected": list(x.causes or ()), "got": x.got,
                            "ok": x.ok} for x in results]
        print(json.dumps(fig, indent=2))
    else:
        print(render(results, fig))
    f = fig["failed"]
    if args.min is not None and (f["correct"] / f["messages"] if f["messages"] else 0.0) < args.min:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
