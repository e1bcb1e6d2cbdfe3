"""The report counts each failure in a unit that is true and shows expiries apart (issue 9).

A failed SASL login is a login, not a message, and Cyrus SASL's companion warning next to it is
the same login's reason, not a second failure; the messages the queue gave up on are failures
(their own list in every format), never "states".
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from analyzer.cli import app

PF = "Dec  1 10:{m:02d}:{s:02d} mx postfix/{d}[{pid}]: "
ARGS = ["--tz", "UTC", "--year", "2026", "--now", "2026-12-02T06:00:00Z"]


def _pf(m: int, s: int, d: str, text: str, pid: int = 100) -> str:
    return PF.format(m=m, s=s, d=d, pid=pid) + text


def _logins(n: int, ip: str, pid: int, m: int) -> list[str]:
    out = [_pf(m, 0, "smtpd", f"connect from unknown[{ip}]", pid)]
    for i in range(n):
        out += [_pf(m, i + 1, "smtpd", "warning: SASL authentication failure: Password verification failed", pid),
                _pf(m, i + 1, "smtpd", f"warning: unknown[{ip}]: SASL PLAIN authentication failed: authentication "
                    "failure, sasl_username=carol@ours.example", pid)]
    out.append(_pf(m, 30, "smtpd", f"disconnect from unknown[{ip}] ehlo=1 auth=0/{n} quit=1 commands=2/{n + 2}", pid))
    return out


def _expiry(qid: str, m: int, forced: bool) -> list[str]:
    out = [_pf(m, 0, "qmgr", f"{qid}: from=<alice@ours.example>, size=1650, nrcpt=1 (queue active)"),
           _pf(m, 1, "smtp", f"{qid}: to=<user@gone.example>, relay=none, delay=90, delays=90/0/0/0, dsn=4.4.1, "
               "status=deferred (connect to mx.gone.example[192.0.2.7]:25: Connection refused)")]
    if forced:
        out += [_pf(m, 2, "postsuper", f"{qid}: expired"), _pf(m, 2, "postsuper", "Force-expired: 1 message"),
                _pf(m, 3, "qmgr", f"{qid}: from=<alice@ours.example>, status=force-expired, returned to sender")]
    else:
        out.append(_pf(m, 3, "qmgr", f"{qid}: from=<alice@ours.example>, status=expired, returned to sender"))
    return [*out, _pf(m, 4, "qmgr", f"{qid}: removed")]


def _report(tmp_path: Path, lines: list[str], fmt: str = "json") -> str:
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["report", str(log), *ARGS, "--format", fmt], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


def test_failed_logins_count_as_logins_once(tmp_path):
    """Three failed logins from one client and two from another: 5 logins, 2 clients, 0 messages;
    the Cyrus companion warnings are neither a second failure nor a state."""
    lines = _logins(3, "192.0.2.66", 200, 1) + _logins(2, "192.0.2.67", 201, 2)
    r = json.loads(_report(tmp_path, lines))
    auth = [c for c in r["outcomes"]["by_cause"] if c["cause"] == "auth.sasl_failed"]
    assert len(auth) == 1
    assert (auth[0]["unit"], auth[0]["units"], auth[0]["messages"], auth[0]["clients"], auth[0]["lines"]) == \
        ("logins", 5, 0, 2, 5)
    assert not [c for c in r["outcomes"]["states"] if c["cause"].startswith("auth.")]
    text = _report(tmp_path, lines, "text")
    assert "5 logins" in text and "(2 clients)" in text
    assert "5 messages" not in text
    assert "5 logins (2 clients)" in _report(tmp_path, lines, "markdown")


def test_a_broken_sasl_setup_is_our_configuration(tmp_path):
    """The companion warning that says saslauthd is unreachable is not a user's wrong password."""
    lines = [_pf(1, 1, "smtpd", "warning: SASL authentication failure: cannot connect to saslauthd server: "
                 "No such file or directory", 300),
             _pf(1, 1, "smtpd", "warning: unknown[192.0.2.70]: SASL LOGIN authentication failed: generic failure",
                 300)]
    r = json.loads(_report(tmp_path, lines))
    states = {c["cause"] for c in r["outcomes"]["states"]}
    assert "local.config" in states


def test_expiries_are_failures_shown_apart(tmp_path):
    """An expiry at the queue lifetime and a 'postsuper -e' forced one: two expired messages under
    their root cause, in JSON, text, Markdown and HTML; no queue.expired among the states."""
    lines = _expiry("4BBFBBE07C", 1, forced=False) + _expiry("60C38BE0A2", 2, forced=True)
    r = json.loads(_report(tmp_path, lines))
    expired = r["outcomes"]["expired"]
    assert [(c["cause"], c["messages"]) for c in expired] == [("network.refused", 2)]
    assert r["volumes"]["expired"] == 2
    assert not [c for c in r["outcomes"]["states"] if c["cause"] == "queue.expired"]
    text = _report(tmp_path, lines, "text")
    head = text.index("EXPIRED (")
    assert head < text.index("SESSION ENDS") and "network.refused" in text[head:text.index("SESSION ENDS")]
    assert "## Expired (" in _report(tmp_path, lines, "markdown")
    assert 'id="expired"' in _report(tmp_path, lines, "html")


def test_a_lone_admin_expiry_is_still_shown_as_an_expiry(tmp_path):
    """A 'postsuper -e' line whose give-up is not in these logs is an expiry too (not a state)."""
    r = json.loads(_report(tmp_path, [_pf(1, 0, "postsuper", "5D1C3BE0A9: expired")]))
    assert [c["cause"] for c in r["outcomes"]["expired"]] == ["queue.expired"]
    assert not r["outcomes"]["states"]


def test_failures_by_cause_lead_with_messages(tmp_path):
    """Five failed logins outnumber one expired message's deferral and one bounced message, yet the
    entries counted in messages come first; the logins entry follows (in every format's order)."""
    bounced = [_pf(5, 0, "qmgr", "5BBB1: from=<alice@ours.example>, size=1650, nrcpt=1 (queue active)"),
               _pf(5, 1, "smtp", "5BBB1: to=<user@far.example>, relay=mx.far.example[192.0.2.9]:25, delay=1, "
                   "delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.far.example[192.0.2.9] said: 550 5.1.1 "
                   "<user@far.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))"),
               _pf(5, 2, "qmgr", "5BBB1: removed")]
    lines = _logins(3, "192.0.2.66", 200, 1) + _logins(2, "192.0.2.67", 201, 2) + _expiry("4AAA1", 3, False) + bounced
    r = json.loads(_report(tmp_path, lines))
    units = [c["unit"] for c in r["outcomes"]["by_cause"]]
    assert "logins" in units and units.count("messages") >= 2
    assert units == sorted(units, key=lambda u: u != "messages"), units
    logins = next(c for c in r["outcomes"]["by_cause"] if c["unit"] == "logins")
    assert logins["units"] > max(c["units"] for c in r["outcomes"]["by_cause"] if c["unit"] == "messages")
    text = _report(tmp_path, lines, "text")
    assert text.index("mailbox.unknown") < text.index("auth.sasl_failed")
