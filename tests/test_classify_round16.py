"""Table tests for round 16 of issue 9's reply set (bench/replies/README.md, "Round 16"): the rules
written after scoring that round read replies worded as no record words them, each through the
rule written for it, and leave look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 5.7.26 DKIM signatures are not enabled for this sender domain", "auth.dkim", "phr.auth.dkim_not_configured"),
    ("550 Refusé: DKIM n'a pas été configuré pour ce domaine", "auth.dkim", "phr.auth.dkim_not_configured"),
    ("550 5.7.1 DKIM-Schlüssel nicht eingerichtet", "auth.dkim", "phr.auth.dkim_not_configured"),
    ("550 The From domain failed to meet the minimum authentication requirements", "auth.dmarc",
     "auth.dmarc"),
    ("550 5.7.1 Sender's domain did not satisfy our authentication requirements", "auth.dmarc",
     "auth.dmarc"),
    ("550 5.7.1 Client host [192.0.2.7] rejected: blocked using a sender score list", "reputation.ip_listed",
     "phr.reputation.client_blocked_using_list"),
    ("421 4.7.0 Client 192.0.2.7 temporarily blocked using SenderScore (score 12)", "reputation.ip_listed",
     "phr.reputation.client_blocked_using_list"),
    ("550 Blocked: a high number of non-existent recipients was sent from your server", "reputation.poor",
     "phr.reputation.invalid_recipient_volume"),
    ("421 Too many undeliverable addresses from this IP, try later", "reputation.poor",
     "phr.reputation.invalid_recipient_volume"),
    ("550 Your IP exceeded the spam ratio allowed here", "reputation.poor", "phr.reputation.poor_behaviour_family"),
    ("554 Sender rejected: spam percentage above threshold", "reputation.poor", "phr.reputation.poor_behaviour_family"),
    ("550 Unknown user (our MX records don't point at this host)", "relay.denied", "relay.phrasings"),
    ("550 Domain MX does not point to our servers", "relay.denied", "relay.phrasings"),
    ("451 Message was routed to the wrong Microsoft 365 forest", "server.misconfigured", "phr.server.wrong_region"),
    ("451 4.4.62 Wrong Exchange Online region, check your connectors", "server.misconfigured", "phr.server.wrong_region"),
    ("421 4.7.0 Mail rate for this host has exceeded the limit", "rate.limited", "phr.rate.client_message_rate"),
    ("451 4.4.2 Too much mail from 192.0.2.7, slow down", "rate.limited", "phr.rate.client_message_rate"),
    ("550 Recipient's daily incoming quota exceeded, try tomorrow", "mailbox.rate_limited",
     "mailbox.rate_limited"),
    ("452 Recipient domain per-hour message quota reached", "mailbox.rate_limited",
     "mailbox.rate_limited"),
    ("554 Rejected: viral attachments are not accepted", "content.virus", "content.virus"),
    ("550 5.7.1 Executable attachments refused because they are dangerous", "content.policy",
     "content.policy"),
    ("554 HTML forms stripped as potentially harmful, message rejected", "content.policy",
     "phr.content.attachment_policy_family"),
    ("550 This mailbox can only receive mail from approved senders", "policy.rejected", "phr.policy.restricted_senders"),
    ("550 We don't accept outside e-mails for this address", "policy.rejected", "phr.policy.restricted_senders"),
    ("552 Too large: please shrink the email size and resend", "message.too_big", "phr.message.too_big_english"),
    ("552 Please reduce the size of the attachments", "message.too_big", "phr.message.too_big_english"),
])
def test_round16_rule_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    # neither mechanism passed stays unauthenticated; DKIM that failed (not missing) stays DKIM's own rule
    ("550 5.7.26 This mail is unauthenticated: neither SPF nor DKIM passed", "auth.unauthenticated"),
    ("550 5.7.1 DKIM signature verification failed", "auth.dkim"),
    # Orange's numbered AUTH refusal stays an AUTH requirement
    ("550 5.5.0 Authentification requise. Authentication Required. LPN105_402", "auth.required"),
    # SMTP AUTH failures are not a domain's authentication level
    ("535 5.7.8 Authentication credentials invalid", "auth.sasl_failed"),
    # other DNS lists keep the listing rule, a bare low score stays a reputation verdict
    ("554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org", "reputation.ip_listed"),
    ("550 Rejected due to low sender score", "reputation.poor"),
    # one unknown recipient stays unknown; too many recipients in one message stays a message limit
    ("550 5.1.1 Invalid recipient", "mailbox.unknown"),
    ("452 4.5.3 Too many recipients", "message.too_many_recipients"),
    # a message scored as spam stays content
    ("550 5.7.1 Message rejected: spam score too high", "content.spam"),
    # a sending-rate 'please reduce' stays a rate limit, a size verdict stays a size verdict
    ("421 Please reduce your sending rate", "rate.limited"),
    ("552 5.3.4 Message size exceeds fixed limit", "message.too_big"),
    # a bare storage quota stays the mailbox's storage
    ("552 5.2.2 Quota exceeded (mailbox for user is full)", "mailbox.full"),
    ("550 Recipient quota exceeded", "mailbox.full"),
    # a sender's own hourly sending quota stays a sending rate limit
    ("550 Daily sending quota exceeded", "rate.limited"),
    # an unknown recipient in a domain that is hosted here stays unknown
    ("550 No such user here", "mailbox.unknown"),
    # virus verdicts keep the virus rule, relaying refusals keep relay
    ("554 5.7.1 Message contains a virus", "content.virus"),
    ("554 5.7.1 Relay access denied", "relay.denied"),
])
def test_round16_look_alikes_keep_their_cause(text, cause):
    assert cause_of(text) == cause
