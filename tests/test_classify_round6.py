"""Table tests for round 6 of issue 9's reply set: the families written after scoring round 6
(bench/replies/README.md, "Round 6") read replies worded as no reply set record words them, each
through the rule written for it, and leave look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 EHLO hostname looks dynamic", "helo.invalid", "phr.helo.refused_family"),
    ("550 HELO host has no forward record", "helo.invalid", "phr.helo.refused_family"),
    ("550 Bad address literal given in EHLO", "helo.invalid", "phr.helo.refused_family"),
    ("550 Your HELO doesn't match the PTR of your IP", "helo.invalid", "phr.helo.not_matching_rdns"),
    ("451 Content filter not responding, try again", "server.error", "phr.server.scanner_failure"),
    ("451 Error contacting the virus scanner", "server.error", "phr.server.scanner_failure"),
    ("450 Temporary DNS failure while checking DMARC", "dns.failure", "phr.dns.temporary_lookup_failure"),
    ("554 Client spoke before the banner", "protocol.sequence", "phr.protocol.early_talker_family"),
    ("550 Null MX: sender domain does not send mail", "sender.invalid", "phr.sender.no_mx_family"),
    ("421 Envelope sender domain has no usable MX", "sender.invalid", "phr.sender.no_mx_family"),
    ("550 Bounce messages are not accepted for this list", "policy.rejected", "phr.policy.bounces_refused"),
    ("550 Client not welcome here", "policy.sender_blocked", "phr.policy.access_list_family"),
    ("550 Rejected: your karma is too low", "reputation.poor", "phr.reputation.poor_behaviour_family"),
    ("421 Excessive spam originating from your network", "reputation.poor", "phr.reputation.poor_behaviour_family"),
    ("550 DSN to multiple recipients refused", "message.too_many_recipients", "phr.message.too_many_recipients_family"),
    ("550 Banned MIME type in message", "content.policy", "phr.content.attachment_policy_family"),
    ("450 This inbox is receiving mail too fast", "mailbox.rate_limited", "phr.mailbox.rate_limited_family"),
    ("421 Relay not ready, come back later", "server.unavailable", "server.phrasings"),
    ("554 Service refused: your machine appears to be compromised", "reputation.ip_listed", "phr.reputation.client_host_blocked"),
    ("553 Illegal characters in sender address", "address.invalid", "phr.address.improper_family"),
    ("553 Faked MAIL FROM rejected", "auth.spoofed", "auth.spoofed"),
    ("451 Recipient verification failure, try again", "recipient.unverified", "phr.recipient.verification_failed"),
    ("550 Adress unknown", "mailbox.unknown", "phr.mailbox.address_unknown_family"),
    ("554 Refused. Sending to other domains (relaying) is not allowed.", "relay.denied", "phr.relay.denied_generic"),
])
def test_round6_family_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    ("503 5.5.1 Error: send HELO/EHLO first", "protocol.sequence"),
    ("550 5.7.1 Message rejected: virus found in attachment", "content.virus"),
    ("451 4.3.0 <user@example.com>: Temporary lookup failure", "server.error"),
    ("550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "reputation.ip_listed"),
    ("550 5.7.513 Service unavailable, Client host [192.0.2.1] blocked by contoso.com using Customer Block list (AS16012607)", "policy.sender_blocked"),
    ("450 4.7.1 Error: too many recipients from 192.0.2.1", "rate.limited"),
    ("550 IP address is banned", "reputation.ip_listed"),
    ("554 5.7.1 Message content rejected as spam", "content.spam"),
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "mailbox.unknown"),
])
def test_round6_families_leave_lookalikes_alone(text, cause):
    """Wordings that share the new families' words keep their own cause: HELO first is command
    order, a virus in the message is no scanner failure, Postfix's local 'Temporary lookup failure'
    is no DNS failure, a DNSBL or customer block list is no infected host, a per-client recipient
    rate is no per-message recipient limit."""
    assert cause_of(text) == cause
