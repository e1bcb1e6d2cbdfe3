"""Write ``sample_logs/README.md`` from the runs' results and the logs themselves.

Every log line quoted in the README is copied from the generated files (found by queue id
and recipient, or by a per-scenario pattern for sessions without a message); nothing is
typed by hand.
"""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

from mta import LOCAL_USERS
from peers import EXIMSTATS, PFLOGSUMM, concat_rotated, run_eximstats, run_pflogsumm
from scenarios import MX_SCRIPTS, ROUTES, SCENARIOS

# For sessions without a message: what to look for in each MTA's log.
SESSION_HINTS: dict[str, dict[str, str]] = {
    "sess-disconnect-no-quit": {"postfix": r"lost connection after RCPT|disconnect from .*rcpt=1 commands=3$",
                                "exim": r"unexpected disconnection|incomplete transaction"},
    "sess-no-mail": {"postfix": r"disconnect from .* ehlo=1 quit=1 commands=2",
                     "exim": r"no MAIL in SMTP connection from .*idle"},
    "sess-auth-failure": {"postfix": r"authentication fail", "exim": r"authenticator failed"},
    "sess-pipelining-violation": {"postfix": r"improper command pipelining after EHLO|impatient",
                                  "exim": r"impatient"},
    "sess-data-too-soon": {"postfix": r"improper command pipelining after DATA|hasty",
                           "exim": r"synchronization error|hasty"},
    "sess-non-smtp": {"postfix": r"non-SMTP command", "exim": r"GET / HTTP|unrecognized command"},
    "sess-unqualified": {"postfix": r"outside-client.*rset=2", "exim": r"unqualified (?:sender|recipient) rejected"},
    "sess-proxy-filter": {"postfix": r"proxysmtpd/smtpd\[\d+\]: (?:NOQUEUE: client=|proxy-accept)"},
    "sess-debug-peer": {"postfix": r"127\.0\.0\.68\]: |match_list_match: 127\.0\.0\.68|attribute name"},
}

RUN_DESCRIPTIONS = {
    "postfix": "Postfix logging through its own postlogd (`maillog_file = /var/log/postfix.log`); "
               "no syslog daemon involved. Split into a rotated set at the phase boundaries.",
    "postfix-syslog": "The same scenarios, Postfix logging to syslog (`maillog_file` unset) with "
                      "rsyslogd writing the mail facility twice: `postfix-syslog/mail.log` in the classic "
                      "format (`RSYSLOG_TraditionalFileFormat`, split into a rotated set) and "
                      "`formats/postfix-syslog-rfc3339/mail.log`, the same lines with RFC 3339 "
                      "high-precision stamps (`RSYSLOG_FileFormat`, Debian 12's default format). The "
                      "second copy is kept apart so that reading one server's folder reads its night once.",
    "exim": "Exim's own log files (`log_file_path = /var/log/exim4/%slog : syslog`): mainlog (split into a "
            "rotated set at the phase boundaries), rejectlog, paniclog. The same run also went to syslog "
            "under a wrapper's program name (`syslog_processname = mailwrapper`, as containers and wrappers "
            "name it): `formats/exim-syslog/mail.log`, Exim's own stamp inside each syslog line.",
}


def _read_run_lines(out: Path, tag: str) -> list[str]:
    """All lines of a run's main log, oldest file first."""
    lines: list[str] = []
    d = out / tag
    for base in ("mail.log", "mainlog"):
        for name in (f"{base}.2.gz", f"{base}.1", base):
            p = d / name
            if p.exists():
                data = gzip.decompress(p.read_bytes()) if name.endswith(".gz") else p.read_bytes()
                lines += data.decode("utf-8", "replace").splitlines()
    return lines


def _lines_for(lines: list[str], qid: str | None, rcpt: str, mta: str) -> list[str]:
    """Delivery lines for (qid, rcpt): the first and the last, deduplicated."""
    if not qid:
        return []
    if mta == "exim":
        hits = [ln for ln in lines if f" {qid} " in ln and re.search(rf" (=>|->|==|\*\*) .*{re.escape(rcpt)}", ln)]
    else:
        hits = [ln for ln in lines if f"{qid}: to=<{rcpt}>" in ln or (f"{qid}: from=" in ln and "expired" in ln)]
    if len(hits) > 2:
        hits = [hits[0], hits[-1]]
    return hits


def _clip(line: str, n: int = 400) -> str:
    return line if len(line) <= n else line[:n] + " …"


def _file_table(out: Path, runs: dict) -> list[str]:
    rows = ["| file | lines | written by |", "| --- | ---: | --- |"]
    for tag, run in runs.items():
        for name, count in run["counts"].items():
            path = name if name.startswith("formats/") else f"{tag}/{name}"
            rows.append(f"| `{path}` | {count} | {run['version']} |")
    exp = out / "expected"
    for name, what in (("messages.jsonl", "the generator's record, one object per (message, recipient)"),
                       ("sessions.jsonl", "inbound sessions that carried no message"),
                       ("runs.json", "per-run summary: versions, durations, line counts, mismatches")):
        p = exp / name
        if p.exists():
            rows.append(f"| `expected/{name}` | {p.read_text().count(chr(10))} | {what} |")
    for tag in runs:
        p = exp / f"{tag}.fakemx.jsonl"
        if p.exists():
            rows.append(f"| `expected/{tag}.fakemx.jsonl` | {p.read_text().count(chr(10))} | "
                        f"transcript of every session the fake MXes served in the {tag} run |")
    return rows


def write(out: Path, runs: dict, *, queue_lifetime: int, delay_warning: int) -> None:
    """(Re)write ``out/README.md``."""
    run_lines = {tag: _read_run_lines(out, tag) for tag in runs}
    md: list[str] = []
    md += ["# sample_logs — written by real Postfix and Exim daemons", "",
           ("Every log file here was written by a real MTA from Debian 12's packages, running on "
           "this machine's loopback interface, while `tools/make_sample_logs.py` played scripted "
           "scenarios against it. Remote mail servers are fake MXes (`tools/fakemx.py`, Python "
           "asyncio) on `127.0.0.x` addresses that answer with chosen replies. No line was edited; "
           "rotated files are byte-exact slices of one log cut at phase boundaries."), "",
           ("Addresses are `.test`/`.example` only. DNS, ident and every other network access are "
           "off: each destination domain is routed by a Postfix `transport_maps` table / an Exim "
           "`manualroute` router to `127.0.0.x:port`; anything unrouted is refused by a catch-all. "
           "The host name in syslog-format lines is `mx` where postlogd wrote them (Postfix's `myhostname`, first label) and the machine's own name where rsyslogd did."), "",
           "## Files", ""]
    md += _file_table(out, runs)
    md += ["", "## Runs", ""]
    for tag, run in runs.items():
        md += [f"### `{tag}/`", "", RUN_DESCRIPTIONS.get(tag, ""), "",
               f"- daemon: {run['version']}",
               (f"- run id (in every generated Message-ID): `{run['run_id']}`; duration {run['duration']} s; "
               f"{run['left_in_queue']} messages were still queued (deferred) when the daemon was stopped"),
               f"- outcome mismatches (intended vs. observed): {len(run['mismatches']) or 'none'}"]
        md += [f"  - {m}" for m in run["mismatches"]]
        md += [""]
    md += _figures(out, runs)
    md += ["## How a run goes", "",
           ("1. Install the MTA from Debian (`postfix`, `sasl2-bin`, `rsyslog` / `exim4-daemon-light`; "
           "installing one removes the other), write its configuration from `tools/conf/`, create "
           f"the local users {', '.join(LOCAL_USERS)} (no login), empty the queue and old logs, start "
           "the daemon by hand (no systemd)."),
           "2. Start the fake MXes and play the **early** scenarios (the one meant to expire).",
           "3. 45 s later — first rotation cut — play every other scenario.",
           ("4. 15 s later flush the queue (`postqueue -f` / `exim4 -qff`): greylisted and 4xx-at-DATA "
           "mail gets through; 5 s later the Postfix run force-expires its force-expire message (`postsuper -e`, "
           "then `postqueue -i`). 10 s later — second rotation cut."),
           (f"5. When the early message is older than the queue lifetime ({queue_lifetime} s) flush "
           "again: it expires and is returned to the sender; everything else that is still failing "
           "stays deferred (their senders got delay warnings after "
           f"{delay_warning} s). Let 25 s of timeouts and DSNs finish, stop the daemon."),
           ("6. Read back each message's outcome from the log (`tools/observe.py`, matching by "
           "Message-ID → queue id → recipient) and write `expected/`."), "",
           ("Timers are shortened so a run takes about three minutes: Postfix "
           "`smtp_connect_timeout`/`smtp_helo_timeout`/`smtp_data_done_timeout` = 5s, "
           f"`queue_run_delay`/`minimal_backoff_time` = 20s, `maximal_queue_lifetime` = {queue_lifetime}s, "
           f"`delay_warning_time` = {delay_warning}s; Exim transport timeouts 5s, queue runner every 20s, "
           f"retry rule `F,{queue_lifetime}s,20s` for the expiring domain and `F,1h,20s` otherwise."), "",
           "## Regenerate", "",
           ("As root on a disposable Debian 12 machine (it changes system configuration, installs and "
           "removes MTAs, creates users):"), "",
           "```sh",
           "python3 tools/make_sample_logs.py        # all runs: postfix, postfix-syslog, exim (~10 min)",
           "python3 tools/make_sample_logs.py --mta exim   # one run; the others' results are kept",
           "```", "",
           ("The Message-IDs carry the run id and the timestamps come from the run's clock, so a new run produces "
           "different ids, queue ids and times; the shapes of the lines stay the same."), "",
           "## `expected/messages.jsonl`", "",
           "One object per (message, recipient) the generator sent:", "",
           "| field | meaning |", "| --- | --- |",
           "| `run`, `mta`, `log` | which run, which MTA, and the log file (before rotation) to read |",
           "| `scenario`, `kind`, `summary`, `phase` | the scenario (see below); kind is outbound, inbound |",
           "| `sender`, `recipient`, `message_id` | envelope and the unique Message-ID header set on the message |",
           "| `client_ip`, `submitted_at` | the client's source address (null: sendmail command), UTC time of submission |",
           "| `mta_reply`, `mta_reply_stage` | what the MTA under test answered our client (inbound rejects, queue ids) |",
           "| `mx_answer` | what the fake MX was scripted to answer on the final attempt: stage, code, enhanced code, text lines, or an action (hang, drop, refused: nothing listens); `earlier_attempts` lists the replies of earlier attempts (greylisting); `{queue_id}` stands for the FAKEnnnnnn id the fake MX made up (see the fakemx transcripts); null: no MX involved |",
           ("| `expected_outcome` | what the scenario is designed to end in: sent, deferred, bounced, rejected, "
            "expired, force-expired (postsuper -e), held, discarded, error-ignored (Exim: errors_to empty) |"),
           "| `outcome` | what the log shows at the end of the run (same vocabulary) |",
           "| `queue_id`, `final_log_line` | the MTA's queue id and the log line that decided the outcome |",
           "| `bounce_notice_queue_id` | queue id of the bounce (non-delivery) notice it caused, if any |",
           "| `bounce_notice_outcome` | `frozen` when Exim froze that notice (it could not be delivered) |", "",
           "`sessions.jsonl` records inbound sessions that carried no message (what the client saw).", "",
           "## Scenarios", "",
           "| scenario | kind | exercises | " + " | ".join(runs) + " |",
           "| --- | --- | --- | " + " | ".join("---" for _ in runs) + " |"]
    recs_by = {tag: run.get("records", []) for tag, run in runs.items()}
    for sc in SCENARIOS:
        cells = []
        for tag, run in runs.items():
            if run["mta"] not in sc.mtas:
                cells.append("n/a")
                continue
            if sc.kind == "session":
                cells.append("session")
                continue
            outs = sorted({r["outcome"] for r in recs_by[tag] if r["scenario"] == sc.name})
            cells.append(", ".join(outs) or "?")
        md.append(f"| [{sc.name}](#{sc.name.replace('.', '')}) | {sc.kind} | {sc.summary} | " + " | ".join(cells) + " |")
    md += ["", "### Lines each scenario produces", "",
           ("Copied from the logs of the last run: for messages, the first and the last delivery line "
           "of each recipient (or the reject line); for sessions, the lines matching the scenario."), ""]
    for sc in SCENARIOS:
        md += [f"#### {sc.name}", "", sc.summary + ".", ""]
        for tag, run in runs.items():
            if run["mta"] not in sc.mtas:
                continue
            shown: list[str] = []
            if sc.kind == "session":
                pat = SESSION_HINTS.get(sc.name, {}).get(run["mta"])
                if pat:
                    shown = [ln for ln in run_lines[tag] if re.search(pat, ln)][:4]
            else:
                for r in recs_by[tag]:
                    if r["scenario"] != sc.name:
                        continue
                    ls = _lines_for(run_lines[tag], r["queue_id"], r["recipient"], run["mta"])
                    if not ls and r.get("final_log_line"):
                        ls = [r["final_log_line"]]
                    shown += [ln for ln in ls if ln not in shown]
            if shown:
                md += [f"`{tag}`:", "", "```"] + [_clip(ln) for ln in shown] + ["```", ""]
            else:
                md += [f"`{tag}`: (no matching line found)", ""]
    md += ["## Fake MX fleet", "", "| listener | answers | domains routed there |", "| --- | --- | --- |"]
    for s in MX_SCRIPTS:
        doms = ", ".join(d for d, (ip, port, _t) in ROUTES.items() if ip == s.host and port == s.port)
        md.append(f"| {s.host}:{s.port} ({s.name}) | {_describe(s)} | {doms} |")
    for dom, (ip, port, _t) in ROUTES.items():
        if not any(s.host == ip and s.port == port for s in MX_SCRIPTS):
            md.append(f"| {ip}:{port} (nothing listens) | connection refused | {dom} |")
    md.append("")
    (out / "README.md").write_text("\n".join(md))


def peer_figures(out: Path, tag: str, mta: str) -> dict[str, int] | None:
    """The peer's grand totals of one server's night (pflogsumm for Postfix, eximstats for Exim)."""
    with tempfile.TemporaryDirectory() as tmp:
        if mta == "exim":
            if EXIMSTATS is None:
                return None
            return run_eximstats(concat_rotated(out / tag, "mainlog", Path(tmp) / "mainlog"))
        if PFLOGSUMM is None:
            return None
        return run_pflogsumm(concat_rotated(out / tag, "mail.log", Path(tmp) / "mail.log"))


def _figures(out: Path, runs: dict) -> list[str]:
    """Each server's night in the figures of the tool its postmaster already runs."""
    md = ["## Figures of each night", "",
          ("What the peers print for each server's folder (pflogsumm 1.1.5 for Postfix, eximstats 1.61 for "
           "Exim, Debian 12): `maillens report sample_logs/<server>/` shows the same totals, with the same "
           "definitions, in its \"Totals as pflogsumm / eximstats count them\" section "
           "(`tests/test_sample_logs.py` checks that they agree)."), ""]
    for tag, run in runs.items():
        figs = peer_figures(out, tag, run["mta"])
        if figs is None:
            continue
        tool = "eximstats" if run["mta"] == "exim" else "pflogsumm"
        md += [f"### `{tag}/` ({tool})", "", "| total | value |", "| --- | ---: |"]
        md += [f"| `{k}` | {v} |" for k, v in figs.items()]
        md.append("")
    return md


def _describe(script) -> str:
    from fakemx import Drop, Hang, Reply
    parts = []
    defaults = {"greeting": 220, "mail": 250, "rcpt": 250, "eod": 250}
    for attr, stage in (("greeting", "greeting"), ("mail", "MAIL"), ("rcpt", "RCPT"), ("eod", "end of DATA")):
        beh = getattr(script, attr)
        seq = beh if isinstance(beh, list) else [beh]
        desc = []
        for b in seq:
            if isinstance(b, Hang):
                desc.append("never answers")
            elif isinstance(b, Drop):
                desc.append("closes the connection")
            elif isinstance(b, Reply) and (b.code != defaults[attr] or len(seq) > 1):
                desc.append(f"{b.code} {b.enhanced or ''}".strip())
        if desc:
            parts.append(f"{stage}: " + " then ".join(desc))
    for lp, b in script.rcpt_by_localpart.items():
        if isinstance(b, Reply):
            parts.append(f"RCPT {lp}@: {b.code} {b.enhanced or ''}".strip())
    return "; ".join(parts) or "accepts everything (250, QUIT → 221)"
