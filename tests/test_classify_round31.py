"""Table tests for round 31 of issue 9's reply set (bench/replies/README.md, "Round 31"): the replies of
mailfront, amavisd-new, python-slimta, gen_smtp and six Haraka plugins. The receiver's own virus or spam scan
failing, a step of its own processing failing (back end, queue hand-off, address lookup, giving up after its own
errors) a server error; a scanner's '<name> FOUND' line a virus; the host of its own scanner or filter
unresolvable, its own configuration file unreadable or broken a misconfigured server; an address without its
domain or an empty recipient an invalid address; a server not set up for the recipient a relay refusal, for the
sender a local policy; a DNS failure during a block-list lookup a DNS failure; commands pipelined after STARTTLS a
pipelining violation; too many unimplemented or invalid commands too many errors; unchecked (encrypted, over
limits) contents a content policy; malformed AUTH data a failed login; the other protocol's greeting an
unsupported command; a bare 'invalid hostname' an invalid HELO; suspicious mail deferred for a retry greylisting;
an authentication mechanism too weak a TLS requirement (as the set reads RFC 4954's 534).
Each family row is a paraphrase no record words that way and names the rule that must decide it; the look-alikes
keep the readings they had at ddf6a50 (checked beside /tmp/base30).
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("451 4.3.0 Unable to virus-scan the message, try later", "server.error",
     "phr.server.own_scan_failed"),
    ("451 Could not spam scan this mail right now", "server.error",
     "phr.server.own_scan_failed"),
    ("451 Cannot malware-scan the message now", "server.error",
     "phr.server.own_scan_failed"),
    ("451 4.5.0 spam_scan FAILED: timed out", "server.error",
     "phr.server.own_scan_failed"),
    ("554 5.7.1 stream: Win.Trojan.Agent-12345 FOUND", "content.virus",
     "phr.content.virus_found_scanner_line"),
    ("550 Virus scan failed: Heuristics.Phishing.Email FOUND", "content.virus",
     "phr.content.virus_found_scanner_line"),
    ("451 4.3.0 Cannot resolve the clamd host name", "server.misconfigured",
     "phr.server.own_helper_host_unresolvable"),
    ("451 Unable to look up the milter host", "server.misconfigured",
     "phr.server.own_helper_host_unresolvable"),
    ("421 4.3.0 Cannot read the control file", "server.misconfigured",
     "phr.server.own_config_broken"),
    ("451 4.3.0 Parse error in configuration file", "server.misconfigured",
     "phr.server.own_config_broken"),
    ("451 Missing queue configuration setting", "server.misconfigured",
     "phr.server.own_config_broken"),
    ("451 4.3.0 Module version mismatch", "server.misconfigured",
     "phr.server.own_config_broken"),
    ("451 Failed to hand off the message to the MTA, retry later", "server.error",
     "phr.server.own_processing_step_failed"),
    ("451 4.3.0 Failed to submit the message, try again later", "server.error",
     "phr.server.own_processing_step_failed"),
    ("450 Error looking up the address, retry later", "server.error",
     "phr.server.own_processing_step_failed"),
    ("451 Giving up after repeated temporary errors", "server.error",
     "phr.server.own_processing_step_failed"),
    ("553 5.1.2 Recipient address lacks a domain part", "address.invalid",
     "phr.address.missing_domain_or_empty"),
    ("501 5.1.3 Sender address has no fully qualified domain", "address.invalid",
     "phr.address.missing_domain_or_empty"),
    ("550 Recipient address must not be blank", "address.invalid",
     "phr.address.missing_domain_or_empty"),
    ("550 5.7.1 This host is not configured to receive mail for that domain", "relay.denied",
     "phr.relay.not_set_up_for_recipient"),
    ("550 Mail for this domain is not accepted here", "relay.denied",
     "phr.relay.not_set_up_for_recipient"),
    ("550 5.7.1 Server not configured to accept messages from the sender", "policy.rejected",
     "phr.policy.not_set_up_for_sender"),
    ("451 4.4.3 DNS timeout checking DNSBL", "dns.failure",
     "phr.dns.blocklist_lookup_error"),
    ("451 RBL query failed, try again later", "dns.failure",
     "phr.dns.blocklist_lookup_error"),
    ("451 Error during block list lookup", "dns.failure",
     "phr.dns.blocklist_lookup_error"),
    ("554 5.5.1 Pipelining after STARTTLS is not allowed", "protocol.pipelining",
     "phr.protocol.pipelining_after_starttls"),
    ("503 Data received after STARTTLS without the TLS handshake", "protocol.pipelining",
     "phr.protocol.pipelining_after_starttls"),
    ("421 4.7.0 Too many invalid SMTP commands, goodbye", "session.too_many_errors",
     "phr.session.too_many_unimplemented_commands"),
    ("550 5.7.1 Message UNCHECKED: scanner could not decode archive", "content.policy",
     "phr.content.unchecked_contents_refused"),
    ("554 Unscannable archives are rejected", "content.policy",
     "phr.content.unchecked_contents_refused"),
    ("501 5.5.4 Malformed authentication response", "auth.sasl_failed",
     "phr.auth.malformed_auth_data"),
    ("535 5.7.8 Invalid SASL data", "auth.sasl_failed",
     "phr.auth.malformed_auth_data"),
    ("500 5.5.1 LMTP clients must send LHLO instead of EHLO", "protocol.unsupported",
     "phr.protocol.wrong_greeting_for_protocol"),
    ("500 EHLO not accepted by LMTP, send LHLO", "protocol.unsupported",
     "phr.protocol.wrong_greeting_for_protocol"),
    ("501 Invalid hostname", "helo.invalid",
     "phr.helo.bare_invalid_hostname"),
    ("451 4.7.1 Message looks suspicious, try again later", "greylisted",
     "phr.greylisted.suspicious_retry_later"),
    ("535 5.7.9 SASL mechanism too weak for this account", "tls.required",
     "phr.tls.auth_mechanism_too_weak"),
])
def test_round31_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


#: Replies next to the round's families that must keep the reading they had at ddf6a50: virus and spam verdicts,
#: scanner failures, unknown users and domains, syntax, lookups, DNS, busy servers, listings, relays, sender and
#: bounce blocks (qpsmtpd's 'mail to <address> not accepted here' is a block of a sender/recipient pair, which
#: ddf6a50 reads as a bare refusal: the relay rule must not take it), content rules, loops, command errors, TLS,
#: credentials, greetings, HELO names, greylisting, a 5xx 'suspicious' refusal, queue and reverse-DNS errors.
LOOK_ALIKES = [
    ("554 5.7.1 Virus found in message", "content.virus"),
    ("550 5.7.0 Message rejected: infected with Eicar-Test-Signature", "content.virus"),
    ("451 Virus scanner failure, try again later", "server.error"),
    ("550 Message rejected by SpamAssassin", "content.spam"),
    ("550 5.1.1 User not found", "mailbox.unknown"),
    ("550 5.1.2 Host unknown", "domain.not_found"),
    ("501 5.5.2 Syntax error in parameters or arguments", "protocol.syntax"),
    ("451 4.3.0 Temporary lookup failure", "server.error"),
    ("451 4.4.3 Temporary DNS failure", "dns.failure"),
    ("421 Service temporarily unavailable, try again later", "server.unavailable"),
    ("550 5.7.1 Client host blocked using zen.spamhaus.org", "reputation.ip_listed"),
    ("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net", "reputation.ip_listed"),
    ("550 5.7.1 Relaying denied", "relay.denied"),
    ("550 mail to user@example.com not accepted here", "policy.rejected"),
    ("550 Email from that domain is not accepted here.", "policy.sender_blocked"),
    ("550 Bounces not accepted here", "policy.rejected"),
    ("553 5.1.8 Sender address rejected: Domain not found", "sender.invalid"),
    ("550 Failed to queue message, too many nested attachments [ERRQ07]", "content.policy"),
    ("554 5.4.6 Too many hops", "routing.loop"),
    ("502 5.5.1 Too many unrecognized commands, goodbye.", "session.too_many_errors"),
    ("502 5.5.1 Command not implemented", "protocol.unsupported"),
    ("454 4.7.0 TLS not available due to local problem", "tls.failed"),
    ("530 5.7.0 Must issue a STARTTLS command first", "tls.required"),
    ("535 5.7.8 Authentication credentials invalid", "auth.sasl_failed"),
    ("504 Unrecognized authentication type", "protocol.unsupported"),
    ("503 5.5.1 Need LHLO command", "protocol.sequence"),
    ("503 5.5.1 Error: send HELO/EHLO first", "protocol.sequence"),
    ("553 5.1.2 XXXX <xxxxx@yourdomain..com>... Invalid host name", "address.invalid"),
    ("550 5.7.1 Invalid HELO name (See RFC2821 4.1.1.1)", "helo.invalid"),
    ("554 5.7.1 Message content rejected", "content.spam"),
    ("550 5.7.1 Attachment type not allowed", "content.policy"),
    ("451 4.7.1 Greylisting in action, please come back later", "greylisted"),
    ("550 5.7.0 Mail is suspicious", "policy.rejected"),
    ("451 4.3.0 Error: queue file write error", "server.error"),
    ("451 4.7.25 Temporary error validating reverse DNS.", "auth.reverse_dns"),
    ("554 5.5.0 Transaction failed - backend not running", "server.error"),
    ("451 4.3.0 Backend failure", "server.unavailable"),
    ("552 Encrypted attachments are not accepted", "content.policy"),
    ("451 4.3.0 Temporary failure while storing the message", "server.error"),
    ("550 5.7.1 Sender address rejected: Access denied", "policy.sender_blocked"),
    ("550 5.1.0 Sender rejected", "sender.invalid"),
    ("550 5.1.1 Recipient address rejected: User unknown in local recipient table", "mailbox.unknown"),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
