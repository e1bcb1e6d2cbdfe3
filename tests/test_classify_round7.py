"""Table tests for round 7 of issue 9's reply set: the families written after scoring round 7
(bench/replies/README.md, "Round 7") read replies worded as no reply set record words them, each
through the rule written for it, and leave look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("554 Spamming is not permitted here", "content.spam", "phr.content.spam_word_forms"),
    ("550 Message blocked by SpamBouncer", "content.spam", "phr.content.spam_word_forms"),
    ("554 5.7.1 Refused as bulk mail", "content.spam", "phr.content.spam_word_forms"),
    ("554 Personal-level block list in force", "policy.sender_blocked", "phr.policy.gateway_block_list"),
    ("550 You are blacklisted at this host", "policy.sender_blocked", "phr.policy.gateway_block_list"),
    ("451 4.7.1 Internal resource is temporarily unavailable", "greylisted", "mimecast.greylisting"),
    ("551 Not authorized to send on behalf of the identity", "sender.invalid", "phr.sender.not_authorised_address"),
    ("552 Unsafe file type attachment removed and message refused", "content.policy", "phr.content.attachment_risk_family"),
    ("550 Only local users are accepted", "relay.denied", "phr.relay.local_recipients_only"),
    ("550 Recipient domain is not hosted here", "relay.denied", "phr.relay.local_recipients_only"),
    ("550 La boîte mail est suspendue", "mailbox.disabled", "phr.mailbox.disabled_boite_aux_lettres"),
    ("452 Insufficient disk space for the recipient", "mailbox.full", "phr.mailbox.storage_for_user"),
    ("550 Unavailable e-mail user", "mailbox.unknown", "phr.mailbox.user_not_found_family"),
    ("550 not exists that user", "mailbox.unknown", "phr.mailbox.user_not_found_family"),
    ("450 Mailbox temporarily inaccessible", "mailbox.unavailable", "phr.mailbox.temporarily_unavailable_family"),
    ("552 Folder space used up", "mailbox.full", "phr.mailbox.size_exceeded_family"),
    ("554 Connection blocked by rbl.example.net", "reputation.ip_listed", "phr.reputation.rbl_block_family"),
    ("550 Domain is not provisioned on this service", "relay.denied", "phr.relay.domain_not_configured_family"),
    ("451 Unable to complete the recipient callout", "recipient.unverified", "phr.recipient.callout_failed"),
    ("550 Your domain is required to deliver over TLS", "tls.required", "phr.tls.required_session_family"),
])
def test_round7_family_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    ("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net", "reputation.ip_listed"),
    ("550 5.7.1 Your IP is listed on a DNS blocklist", "reputation.ip_listed"),
    ("452 4.3.1 Insufficient system storage", "server.unavailable"),
    ("421 4.7.29 Your email has been rate limited because this message wasn't sent over a TLS connection. "
     "Gmail requires all bulk email senders to use TLS/SSL for SMTP connections.", "tls.required"),
    ("421 4.3.2 System not accepting network messages", "server.unavailable"),
    ("552 5.3.4 Message size exceeds fixed maximum message size", "message.too_big"),
    ("554 5.5.1 Error: no valid recipients", "protocol.sequence"),
    ("550 5.1.8 <user@example.com>: Sender address rejected: Domain not found", "sender.invalid"),
])
def test_round7_families_leave_lookalikes_alone(text, cause):
    """A public DNSBL stays a listing (not the gateway's own block list), the server's own disk stays
    an unavailable server (not a full mailbox), and 'bulk email senders' in Gmail's TLS requirement
    is no spam verdict."""
    assert cause_of(text) == cause
