"""Table tests for round 14 of issue 9's reply set (bench/replies/README.md, "Round 14"): the rules
written after scoring that round read replies worded as no record words them, each through the
rule written for it, and leave look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("451 qq internal bug (#4.3.0)", "server.error", "phr.server.qmail_queue_family"),
    ("451 qq trouble creating files in queue (#4.3.0)", "server.error", "phr.server.qmail_queue_family"),
    ("421 Unable to load configuration, try later", "server.misconfigured", "phr.server.config_error_reply_family"),
    ("421 4.3.5 Internal config error, try later", "server.misconfigured", "phr.server.config_error_reply_family"),
    ("550 Wrong MX records configured for the inbound route", "server.misconfigured",
     "phr.server.config_error_reply_family"),
    ("451 Unable to process the message right now", "server.error", "phr.server.processing_failure_family"),
    ("451 Database timeout", "server.error", "phr.server.processing_failure_family"),
    ("452 Could not queue the message", "server.error", "phr.server.processing_failure_family"),
    ("451 Internal error during spam scanning", "server.error", "phr.server.check_internal_error"),
    ("451 4.3.0 Temporary map lookup error", "server.error", "phr.server.processing_failure_family"),
    ("554 5.7.0 TLS 1.2 or higher is required", "tls.failed", "phr.tls.version_or_cipher_too_weak"),
    ("454 4.7.0 Obsolete TLS version refused", "tls.failed", "phr.tls.version_or_cipher_too_weak"),
    ("550 EHLO name fails the forward DNS check", "helo.invalid", "phr.helo.name_fails_fcrdns"),
    ("550 HELO relay.example.net does not resolve", "helo.invalid", "phr.helo.named_host_not_found"),
    ("554 5.7.1 Retransmission refused", "relay.denied", "relay.phrasings"),
    ("550 Header From address is blacklisted", "policy.sender_blocked", "phr.policy.sender_block_policy"),
    ("550 5.7.1 Message refused by sender filtering", "policy.sender_blocked", "phr.policy.sender_filtering"),
    ("451 Problem while writing your message", "server.error", "phr.server.processing_failure_family"),
    ("550 5.7.1 Your e-mail domain is on the tenant's deny list", "policy.sender_blocked",
     "phr.policy.sender_on_organisation_block_list"),
])
def test_round14_rule_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    # Mimecast at maximum load stays unavailable; only its generic 'unable to process command' is an error
    ("421 Unable to process connection at this time", "server.unavailable"),
    # qmail's 'write error or disk full' keeps its earlier rule's reading
    ("451 qq write error or disk full (#4.3.0)", "server.error"),
    # a known misconfiguration wording keeps its cause, and a lookup failure is not a configuration error
    ("451 4.3.5 System incorrectly configured", "server.misconfigured"),
    ("451 4.3.0 <user@example.com>: Temporary lookup failure", "server.error"),
    # sendmail's weak-encryption refusal is still a TLS requirement
    ("403 4.7.0 encryption too weak 56 less than 128", "tls.required"),
    # a client without PTR is still a reverse-DNS refusal, not a HELO one
    ("554 Sorry, no FCrDNS match found", "auth.reverse_dns"),
    # a recipient that does not exist is not a HELO name
    ("550 Mailbox user@example.com does not exist", "mailbox.unknown"),
    # a backend that is down reads as unavailability (server.phrasings), a spam verdict naming one as spam
    ("451 4.3.0 Backend failure", "server.unavailable"),
    ("550 Backend Replied [abc]: 5.7.1 Message rejected as spam", "content.spam"),
    # an IP on a list, even the receiver's own, is a listing (reputation), not a blocked sender
    ("554 Your IP is on our block list", "reputation.ip_listed"),
    # plain relay refusals keep relay.denied
    ("550 5.7.1 Relaying denied", "relay.denied"),
])
def test_round14_look_alikes_keep_their_cause(text, cause):
    assert cause_of(text) == cause
