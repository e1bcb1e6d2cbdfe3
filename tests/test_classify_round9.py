"""Table tests for rounds 9 and 10 of issue 9's reply set (bench/replies/README.md, "Round 9"): the
key-word families for sending limits and the sender's conduct read replies worded as no record
words them, each through the rule written for it; 'try again later' no longer decides over a
reason; a count of errors outranks the listing it led to; and the enhanced codes X.7.20-X.7.30
keep losing to words that name another reason (the decision taken on the development part)."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("452 Hourly message cap reached for this account", "rate.limited", "kw.rate.limited"),
    ("550 Per-day e-mail allowance exhausted", "rate.limited", "kw.rate.limited"),
    ("421 Per-minute outbound cap hit, come back tomorrow", "rate.limited", "kw.rate.limited"),
    ("451 Unusual sending pattern seen from 198.51.100.7, try again later", "reputation.poor", "kw.reputation.poor"),
    ("451 Messages from 198.51.100.7 temporarily deferred", "reputation.poor", "kw.reputation.poor"),
    ("421 Unexpected volume from your network, please try later", "reputation.poor", "kw.reputation.poor"),
    ("550 Trop de plaintes pour ce domaine", "reputation.poor", "kw.reputation.poor"),
    ("421 Try again later", "server.unavailable", "server.try_later"),
    ("451 4.3.0 Message temporarily deferred", "server.unavailable", "server.try_later"),
    ("421 4.7.0 Too many errors; you are blacklisted for an hour", "session.too_many_errors",
     "session.too_many_errors_text"),
    # round 10: address forms, concurrency, reserved sender domains
    ("553 Bang-path addresses are not accepted", "address.invalid", "kw.address.invalid"),
    ("501 Source-routed paths refused", "address.invalid", "kw.address.invalid"),
    ("451 Parallel sessions capped for your host", "rate.limited", "kw.rate.limited"),
    ("550 Sender <a@foo.test> uses a reserved TLD", "sender.invalid", "kw.sender.invalid"),
])
def test_round9_family_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    # a reason next to 'try again later' decides, as it did before the generic phrase moved down
    ("421 4.7.0 TLS required for RCPT domain, closing connection. Try again later", "tls.required"),
    ("450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your "
     "message at a later time.", "mailbox.rate_limited"),
    ("421 Temporary failure, please try again later.", "server.unavailable"),
    ("452 4.3.1 Insufficient system resources", "server.unavailable"),
    # a mailbox quota and a recipient count are not sending limits
    ("552 5.2.2 Mailbox quota exceeded", "mailbox.full"),
    # an unknown local part is an unknown mailbox, a routed address refused for relaying a relay denial
    ("550 5.1.1 Unknown local part in <x@example.com>", "mailbox.unknown"),
    ("550 5.7.1 routed address relaying denied", "relay.denied"),
    ("452 4.5.3 Too many recipients", "message.too_many_recipients"),
    # a public list named in the reply stays a listing, complaints or not
    ("554 Client host [192.0.2.1] blocked using zen.spamhaus.org", "reputation.ip_listed"),
    # X.7.2x: the words win over the enhanced code (Gmail's 5.7.26 for SPF, 4.7.28 for a spam rate)
    ("550 5.7.26 The MAIL FROM domain [example.com] has an SPF record with a hard fail policy (-all)",
     "auth.spf"),
    ("421 4.7.28 Gmail has detected an unusual rate of unsolicited email originating from your IP "
     "address", "reputation.poor"),
    # ... and decide alone when the words name nothing
    ("550 5.7.25 Rejected", "auth.reverse_dns"),
    ("550 5.7.23 Rejected", "auth.spf"),
])
def test_round9_lookalikes_keep_their_cause(text, cause):
    assert cause_of(text) == cause
