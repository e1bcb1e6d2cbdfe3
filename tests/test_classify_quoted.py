"""The rules read the reply a wrapper quotes as well as the whole text (analyzer/quoted.py).

A reply that reads right alone reads the same inside Postfix's status line ('host H said: R (in
reply to X command)') and Exim's '**'/'==' line ('SMTP error from remote mail server after X: R'),
where rules anchored to the reply's start or end used to miss it."""
from __future__ import annotations

import pytest

from analyzer.classify import classify, default_rules
from analyzer.quoted import quoted_reply
from analyzer.reader import parse_lines


@pytest.mark.parametrize(("text", "want"), [
    ("host mx.example[~] said: 550 invalid address (in reply to RCPT TO command)", "550 invalid address"),
    ("host mx.example[~] said: 550 5.5.1 Protocol error (in reply to end of DATA command)", "550 5.5.1 Protocol error"),
    ("host mx.example[~] said: 554 blocked (see (in reply to x) here)", "554 blocked (see (in reply to x) here)"),
    ("host mx.example[~] said: 421 busy", "421 busy"),
    ("SMTP error from remote mail server after RCPT TO:<~>: 553 neko.example.com does not exist",
     "553 neko.example.com does not exist"),
    ("smtp error from remote mail server after pipelined MAIL FROM:<~> SIZE=1234: 550 Address rejected.",
     "550 Address rejected."),
    ("SMTP error from remote mail server after end of data: 554 5.7.1 rejected", "554 5.7.1 rejected"),
    ("connect to mx.example[~]:25: Connection refused", None),   # no quote: the rules read the text alone
    ("550 5.1.1 user unknown", None),
    ("host mx.example[~] said: ", None),
    ("SMTP error from remote mail server after RCPT TO", None),
    ("", None),
    (None, None),
])
def test_quoted_reply(text, want):
    assert quoted_reply(text) == want


def _postfix(reply: str) -> str:
    return ("Dec  7 09:00:00 mx postfix/smtp[123]: 4F1A2B3C4D: to=<user@example.com>, "
            "relay=mx.example.net[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.0.0, status=bounced "
            f"(host mx.example.net[192.0.2.1] said: {reply} (in reply to RCPT TO command))")


def _exim(reply: str) -> str:
    return ("2026-12-07 09:00:00 1vAbCd-000ABC-1x ** user@example.com R=dnslookup T=remote_smtp "
            f"H=mx.example.net [192.0.2.1]: SMTP error from remote mail server after RCPT TO:<user@example.com>: {reply}")


# each read right alone by a rule anchored to the reply's start or end, and read otherwise inside
# its MTA's line before the quoted reply was read too (r31-cvrules' probe over dev)
ANCHORED = [
    ("550 invalid address", "mailbox.unknown"),
    ("553 neko.example.com does not exist", "domain.not_found"),
    ("550 5.5.1 Protocol error", "protocol.syntax"),
    ("550 Unrouteable address", "mailbox.unknown"),
]


def _cause(lines: list[str]) -> list[str]:
    ev = parse_lines(lines).events
    out = classify(ev, default_rules(), attribute_causes=False, known_replies=False)
    return list(out["cause"])


@pytest.mark.parametrize(("reply", "cause"), ANCHORED)
def test_anchored_rule_reads_the_reply_inside_either_line(reply, cause):
    assert _cause([_postfix(reply)]) == [cause]
    assert _cause([_exim(reply)]) == [cause]


def test_a_rule_of_the_wrapper_still_reads_the_whole_line():
    # Postfix's own words around a lookup failure name the receiver's table (rules.toml: the
    # pattern asks for 'said:'); the quoted reply alone must not take that away
    line = _postfix("451 4.3.0 <user@example.com>: Temporary lookup failure").replace("status=bounced", "status=deferred")
    assert _cause([line])[0].startswith("server.")
