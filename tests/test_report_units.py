"""The report counts failures per message and recipient (as pflogsumm does), with the line count beside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analyzer.reader import parse_logs
from analyzer.report.build import make_report

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
    r = _report(tmp_path, [DEFER.format(m=m) for m in range(5)])
    causes = [c for c in r["outcomes"]["by_cause"] if c["outcome"] == "transient_failure"]
    assert [(c["messages"], c["lines"]) for c in causes] == [(1, 5)]
    assert causes[0]["share"] == 1.0
    (dest,) = r["top"]["destinations"]
    assert dest["domain"] == "nomail.example"
    assert (dest["messages"], dest["failed_messages"], dest["attempts"], dest["failures"]) == (1, 1, 5, 5)
    assert dest["failure_rate"] == 1.0


def test_each_noqueue_reject_is_its_own_message(tmp_path):
    r = _report(tmp_path, [REJECT.format(m=m) for m in (1, 2)])
    (cause,) = [c for c in r["outcomes"]["by_cause"] if c["outcome"] == "permanent_failure"]
    assert (cause["messages"], cause["lines"]) == (2, 2)


def test_two_recipients_of_one_message_are_two_messages(tmp_path):
    other = [DEFER.format(m=m).replace("user@nomail", "other@nomail") for m in range(3)]
    r = _report(tmp_path, [DEFER.format(m=m) for m in range(2)] + other)
    (dest,) = r["top"]["destinations"]
    assert (dest["failed_messages"], dest["failures"]) == (2, 5)
