"""Table tests: the key-word band of analyzer/rules/generalise.toml and its precedence.

A key word (quota, relay, HELO, DNS-BL ...) decides a reply only when no phrase family names its
reason; it beats the "verdict" phrases (a refusal that names no reason), enhanced-code-only and
code-only rules, and reads replies only. Each row names the rule that must decide, so a row fails
if the rule goes or another rule takes the reply.
"""

from __future__ import annotations

import pytest

from analyzer.classify import classify, default_rules, example_frame


def decide(text: str, code: int | None = None, enhanced: str | None = None, **extra: object) -> tuple[str, str]:
    row = classify(example_frame([{"text": text, "code": code, "enhanced": enhanced, **extra}]),
                   default_rules(), attribute_causes=False, rule_ids=True, known_replies=False).iloc[0]
    return str(row["cause"]), str(row["rule_id"])


# paraphrases no phrase family words: the key word decides, over the code or enhanced code
KEYWORD_ROWS = [
    ("550 5.7.1 Nonexisting recipient", 550, "5.7.1", "mailbox.unknown", "kw.mailbox.unknown"),
    ("550 Bad local part in envelope", 550, None, "mailbox.unknown", "kw.mailbox.unknown"),
    ("552 5.2.2 Inbox exceeded its allowed volume", 552, "5.2.2", "mailbox.full", "kw.mailbox.full"),
    ("550 Deleted mailbox, sorry", 550, None, "mailbox.disabled", "kw.mailbox.disabled"),
    ("550 Recipient relocated to another domain", 550, None, "mailbox.moved", "kw.mailbox.moved"),
    ("550 We are not an open relay", 550, None, "relay.denied", "kw.relay.denied"),
    ("550 5.7.1 Local recipients only", 550, "5.7.1", "relay.denied", "kw.relay.denied"),
    ("550 Your greeting HELO was refused", 550, None, "helo.invalid", "kw.helo.invalid"),
    ("530 5.7.0 TLS only on this port", 530, "5.7.0", "tls.required", "kw.tls.required"),
    ("454 4.7.0 Handshake aborted", 454, "4.7.0", "tls.failed", "kw.tls.failed"),
    ("554 Message loops back to us", 554, None, "routing.loop", "kw.routing.loop"),
    ("421 Too many protocol errors", 421, None, "session.too_many_errors", "kw.session.too_many_errors"),
    ("550 Envelope-From is unverifiable", 550, None, "sender.invalid", "kw.sender.invalid"),
    ("550 Host name is unresolvable", 550, None, "domain.not_found", "kw.domain.not_found"),
    ("451 4.4.3 Resolver unavailable", 451, "4.4.3", "dns.failure", "kw.dns.failure"),
    ("552 Mail size over our maximum", 552, None, "message.too_big", "kw.message.too_big"),
    ("550 Header folding broken", 550, None, "message.invalid", "kw.message.invalid"),
    ("451 Storage failure, retry", 451, None, "server.error", "kw.server.error"),
    ("550 Banned IP range", 550, None, "reputation.ip_listed", "kw.ip_blocked"),
    ("550 Refused: your host is on our DNS-BL", 550, None, "reputation.ip_listed", "kw.reputation.ip_listed"),
    ("550 Sender domain on our RHSBL", 550, None, "reputation.domain_listed", "kw.reputation.domain_listed"),
    ("550 5.7.1 Looks like bulk email to us", 550, "5.7.1", "content.spam", "kw.content.spam"),
    ("554 Your mail carried ransomware", 554, None, "content.virus", "kw.content.virus"),
    ("552 File extension not on our allow list", 552, None, "content.policy", "kw.content.policy"),
    ("550 Unauthenticated senders are refused", 550, None, "auth.required", "kw.auth.required"),
    ("503 5.5.0 RCPT TO not yet given", 503, "5.5.0", "protocol.sequence", "kw.protocol.sequence"),
    ("501 Required argument not supplied", 501, None, "protocol.syntax", "kw.protocol.syntax"),
    ("550 Afzender is geblokkeerd", 550, None, "policy.sender_blocked", "kw.policy.sender_blocked_languages"),
    ("550 Отклонено", 550, None, "policy.rejected", "kw.policy.rejected_languages"),
    ("550 拒收此邮件", 550, None, "policy.rejected", "kw.policy.rejected_languages"),
]


@pytest.mark.parametrize(("text", "code", "enhanced", "cause", "rule"), KEYWORD_ROWS,
                         ids=[r[0][:40] for r in KEYWORD_ROWS])
def test_key_word_decides_when_no_phrase_does(text, code, enhanced, cause, rule):
    assert decide(text, code, enhanced) == (cause, rule)


# look-alikes: a phrase family, or a registered enhanced detail the key word would misread, keeps its cause
KEEP_ROWS = [
    ("503 5.5.1 Send HELO/EHLO first", 503, "5.5.1", "protocol.sequence"),  # not a HELO refusal
    ("501 Syntax: HELO hostname", 501, None, "protocol.syntax"),
    ("431-4.3.1 STOREDRV; disk is full", 431, "4.3.1", "server.unavailable"),  # the server's disk, no quota
    ("553 5.1.3 sorry, mailbox syntax not allowed (chkuser)", 553, "5.1.3", "address.invalid"),
    ("553 5.1.7 sorry, mailbox syntax not allowed (chkuser)", 553, "5.1.7", "sender.invalid"),
    ("501 5.1.8 Sender address must contain a domain", 501, "5.1.8", "sender.invalid"),
    ("554 Refused. Identical sender and recipient addresses are not allowed.", 554, None, "policy.rejected"),
    ("550 5.1.1 <x@example.com>... email address lookup in domain map failed", 550, "5.1.1", "mailbox.unknown"),
    ("552 5.3.4 Message header size exceeds limit", 552, "5.3.4", "message.too_big"),
]


@pytest.mark.parametrize(("text", "code", "enhanced", "cause"), KEEP_ROWS, ids=[r[0][:40] for r in KEEP_ROWS])
def test_look_alikes_keep_their_cause(text, code, enhanced, cause):
    assert decide(text, code, enhanced)[0] == cause


def test_key_word_beats_a_bare_verdict():
    """'Message rejected:' names no reason; the key word after it does."""
    cause, rule = decide("554 Message rejected: looks like bulk email to us", 554)
    assert (cause, rule) == ("content.spam", "kw.content.spam")


def test_key_words_read_replies_only():
    """A screening event's detail quoting the client's greeting is no HELO refusal."""
    cause, rule = decide(None, None, None, event="screen", detail="EHLO localhost")
    assert not rule.startswith("kw.")
    assert cause != "helo.invalid"


def test_replay_overlay_lays_todays_file_over_old_rules():
    """bench/eval_classify.py's replay reads generalise.toml from the working tree, whatever the commit."""
    from bench import eval_classify as ec

    kb = ec.rules_at("HEAD", overlay=True)
    if kb is None:
        pytest.skip("not a git checkout")
    ids = {r.id for r in kb.rules}
    assert {r.id for r in default_rules().rules if r.source == "generalise.toml"} <= ids
