"""The report counts failures per message and recipient (as pflogsumm does), with the line count beside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analyzer.reader import parse_logs
from analyzer.report.run import make_report

NOW = pd.Timestamp("2026-12-02T06:00:00Z")
DEFER = ("Dec 01 21:{m:02d}:04 mx postfix/smtp[10996]: 487C7BE082: to=<user@nomail.example>, "
         "relay=127.0.0.13[127.0.0.13]:25, delay=0.01, delays=0.01/0/0/0, dsn=4.3.2, status=deferred "
         "(host 127.0.0.13[127.0.0.13] refused to talk to me: 521 5.3.2 mx.nomail.example does not accept mail)")
REJECT = ("Dec 01 21:{m:02d}:09 mx postfix/smtpd[2001]: NOQUEUE: reject: RCPT from unknown[203.0.113.{m}]: "
          "554 5.7.1 <victim@deliver.example>: Relay access denied; from=<a@b.example> to=<victim@deliver.example> "
          "proto=ESMTP helo=<x>")


def _report(tmp_path: Path, lines: list[str]) -> dict:
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n")
    return make_report(parse_logs([str(log)], tz="UTC", year=2026), now=NOW, generated_at=NOW)


def test_one_message_deferred_five_times_is_one_message_of_five_lines(tmp_path):
    """Five deferrals of one message and recipient: one message, five lines, in causes and destinations."""
    r = _report(tmp_path, [DEFER.format(m=m) for m in range(5)])
    causes = [c for c in r["outcomes"]["by_cause"] if c["outcome"] == "transient_failure"]
    assert [(c["messages"], c["lines"]) for c in causes] == [(1, 5)]
    assert causes[0]["share"] == 1.0
    (dest,) = r["top"]["destinations"]
    assert dest["domain"] == "nomail.example"
    assert (dest["messages"], dest["failed_messages"], dest["attempts"], dest["failures"]) == (1, 1, 5, 5)
    assert dest["failure_rate"] == 1.0


def test_each_noqueue_reject_is_its_own_message(tmp_path):
    """A NOQUEUE reject names no queue id: each is a refused message of its own."""
    r = _report(tmp_path, [REJECT.format(m=m) for m in (1, 2)])
    (cause,) = [c for c in r["outcomes"]["by_cause"] if c["outcome"] == "permanent_failure"]
    assert (cause["messages"], cause["lines"]) == (2, 2)


def test_two_recipients_of_one_message_are_two_messages(tmp_path):
    """One message to two recipients that both fail counts two failed messages (message and recipient)."""
    other = [DEFER.format(m=m).replace("user@nomail", "other@nomail") for m in range(3)]
    r = _report(tmp_path, [DEFER.format(m=m) for m in range(2)] + other)
    (dest,) = r["top"]["destinations"]
    assert (dest["failed_messages"], dest["failures"]) == (2, 5)


EXIM = ["2026-11-29 15:55:31 1xXhFT-0003uC-0m == user@refused.example R=sandbox_routes T=remote_smtp "
        "H=127.0.0.25 [127.0.0.25]:25 defer (111): Connection refused DT=0s"] + [
    f"2026-11-29 {h}:55:31 1xXhFT-0003uC-0m == user@refused.example R=sandbox_routes T=remote_smtp defer (-54) "
    "DT=0s: retry time not reached for any host for 'refused.example'" for h in range(16, 22)] + [
    "2026-11-29 22:55:31 1xXhFT-0003uC-0m ** user@refused.example: retry timeout exceeded",
    "2026-11-29 22:56:00 1xXhFT-0003uC-0m Message is frozen",
    "2026-11-29 23:56:00 1xXhFT-0003uC-0m Message is frozen",
    "2026-11-29 23:57:00 1xXhFT-0003uC-0m Unfrozen by errmsg timer"]


def test_retry_waits_count_once_and_the_give_up_is_expired(tmp_path):
    """A message deferred 7 times (1 attempt, 6 retry waits) is 1 deferred message of 7 deferral lines; its
    give-up is expired, not bounced; its frozen/unfrozen lines are states, never failures."""
    log = tmp_path / "mainlog"
    log.write_text("\n".join(EXIM) + "\n")
    r = make_report(parse_logs([str(log)], tz="UTC", year=2026), now=NOW, generated_at=NOW)
    v = r["volumes"]
    assert (v["deferred"], v["deferrals"], v["bounced"], v["expired"]) == (1, 7, 0, 1)
    (cause,) = r["outcomes"]["by_cause"]
    assert (cause["cause"], cause["messages"], cause["lines"]) == ("network.refused", 1, 8)
    assert cause["example"]["line"] == 1
    frozen = {c["cause"]: c for c in r["outcomes"]["states"]}["queue.frozen"]
    assert (frozen["messages"], frozen["lines"]) == (1, 3)
    (dest,) = r["top"]["destinations"]
    assert (dest["failed_messages"], dest["failures"], dest["top_cause"]) == (1, 8, "network.refused")


def test_postfix_connection_lines_without_queue_id_are_no_message(tmp_path):
    """Postfix's smtp 'connect to H: Connection refused' (no queue id) before each status line adds lines,
    not messages."""
    lines = []
    for m in range(3):
        lines.append(f"Dec 01 21:{m:02d}:03 mx postfix/smtp[10996]: connect to 127.0.0.25[127.0.0.25]:25: "
                     "Connection refused")
        lines.append(f"Dec 01 21:{m:02d}:04 mx postfix/smtp[10996]: 487C7BE082: to=<user@refused.example>, "
                     "relay=none, delay=0.01, delays=0.01/0/0/0, dsn=4.4.1, status=deferred (connect to "
                     "127.0.0.25[127.0.0.25]:25: Connection refused)")
    r = _report(tmp_path, lines)
    (cause,) = r["outcomes"]["by_cause"]
    assert (cause["cause"], cause["messages"], cause["lines"]) == ("network.refused", 1, 6)
    assert "487C7BE082" not in cause["example"]["text"] and cause["example"]["line"] == 2
    assert (r["volumes"]["deferred"], r["volumes"]["deferrals"]) == (1, 3)
