"""Table tests for round 4 of issue 9: replies written from documentation (RFC 3463, Gmail's and
Exchange Online's code pages, MTA defaults) and from paraphrase, not from any reply set record,
land on the cause their wording or enhanced code names; and wordings that look alike but are
something else do not."""

from __future__ import annotations

import pytest

from analyzer.classify import classify, example_frame
from analyzer.reader import parse_lines
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause", [
    # an unregistered enhanced detail is read by its subject (RFC 3463 §3), above the basic code
    ("550 5.7.133 Sender not authenticated for group", "policy.rejected"),
    ("550 5.3.190 Journaling on-premises messages to Microsoft 365 not supported", "server.error"),
    # a quota under the security subject is a sending quota; under the mailbox subject, storage
    ("550 5.7.1 Email quota exceeded.", "rate.limited"),
    ("552 5.2.2 Mailbox quota exceeded", "mailbox.full"),
    ("452 Insufficient storage in mailbox", "mailbox.full"),
    # relaying refused, however worded
    ("550 5.7.1 Mail relay is not allowed", "relay.denied"),
    ("550 Relay não permitido", "relay.denied"),
    ("550 <user@example.com>: Recipient address rejected: not our domain", "relay.denied"),
    # authentication
    ("550 5.7.1 SMTP AUTH is required for message submission", "auth.required"),
    ("550 5.7.26 This message does not have authentication information or fails to pass "
     "authentication checks (SPF or DKIM).", "auth.unauthenticated"),
    ("550 5.7.1 Unauthenticated email is not accepted from this domain.", "auth.dmarc"),
    # HELO checks
    ("550 Ungültiger HELO", "helo.invalid"),
    ("550 Forged HELO", "helo.invalid"),
    ("554 5.7.1 Rejected: HELO is our own hostname", "helo.invalid"),
    # blocklists and reputation
    ("554 Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.1", "reputation.ip_listed"),
    ("553 Your IP is in a blocked range", "reputation.ip_listed"),
    ("554 Service unavailable; Client host [192.0.2.9] blocked using dnsbl.example.net; "
     "delivery refused after complaints", "reputation.ip_listed"),
    # the receiver blocking us on its own list
    ("550 Blocked sender", "policy.sender_blocked"),
    ("554 <unknown[192.0.2.1]>: Client host rejected: Access denied", "policy.sender_blocked"),
    # a refusal with no other reason is policy, not the mailbox a bare 550 names
    ("550 Inbound mail is not allowed", "policy.rejected"),
    # network and TLS
    ("451 4.4.2 Timeout - closing connection.", "network.timeout"),
    ("Remote server did not respond", "network.timeout"),
    ("Host unreachable", "network.unreachable"),
    ("454 TLS connection failed", "tls.failed"),
    ("Cannot establish TLS session", "tls.failed"),
    # recipients
    ("550 Address unknown", "mailbox.unknown"),
    ("550 Utilizador desconhecido", "mailbox.unknown"),
    ("501 #5.1.1 bad address user@example.com", "mailbox.unknown"),
    ("553 5.3.0 <user@example.com>... Recipient address no longer exists", "mailbox.disabled"),
    ("550 Host unknown", "domain.not_found"),
    ("451 Servizio temporaneamente non disponibile", "server.unavailable"),
])
def test_documented_and_paraphrased_replies(text, cause):
    """Each reply lands on the cause its wording or its enhanced code names."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, not_cause", [
    # Exim's retry wording holds 'timeout exceeded' but is no network timeout
    ("retry timeout exceeded", "network.timeout"),
    # a 535 is an authentication failure whatever generic word it uses
    ("535 5.5.4 Optional Argument not permitted for that AUTH mode.", "policy.rejected"),
    # an idle client is a session timeout, not a network one
    ("421 4.4.2 Idle timeout, closing connection", "network.timeout"),
])
def test_lookalike_wording_does_not_mislead(text, not_cause):
    """Generic words ('timeout exceeded', 'not permitted') do not override a more specific reading."""
    assert cause_of(text) != not_cause


def test_postscreen_pregreet_is_no_helo_failure():
    """postscreen's PREGREET detail quotes the client's 'EHLO localhost': a screening event, not
    an invalid-HELO rejection."""
    line = ("Nov 28 00:16:06 mx1 postfix/postscreen[2263]: PREGREET 16 after 0.29 from "
            "[198.51.100.7]:23204: EHLO localhost\\r\\n")
    events = parse_lines([line]).events
    assert events["detail"].iloc[0].startswith("EHLO localhost")  # the detail the rules read
    got = classify(events, attribute_causes=False)["cause"].iloc[0]
    assert got != "client.helo_invalid" and got != "helo.invalid"


def test_lookup_failure_reply_is_theirs_outbound_and_ours_inbound():
    """'451 4.3.0 Temporary lookup failure' from a remote server is its error; the same reply
    from our own smtpd to a client is our configuration."""
    outbound = ("Nov 28 00:16:07 mx1 postfix/smtp[2264]: 4ABC125: to=<a@b.example>, "
                "relay=mx.b.example[192.0.2.1]:25, delay=1, delays=1/0/0/0, dsn=4.3.0, status=deferred "
                "(host mx.b.example[192.0.2.1] said: 451 4.3.0 <a@b.example>: Temporary lookup failure "
                "(in reply to RCPT TO command))")
    inbound = ("Nov 28 00:16:06 mx1 postfix/smtpd[2263]: NOQUEUE: reject: RCPT from unknown[198.51.100.7]:"
               "23204: 451 4.3.0 <bob@ours.example>: Temporary lookup failure; from=<a@b.example> "
               "to=<bob@ours.example> proto=ESMTP helo=<x>")
    got = classify(parse_lines([outbound, inbound]).events, attribute_causes=False)
    assert got["direction"].tolist() == ["outbound", "inbound"]
    assert got["cause"].tolist() == ["server.error", "local.config"]


def test_multiline_reply_reads_across_its_line_prefixes():
    """A multi-line reply joined with its '550-5.7.1' prefixes is read as one sentence, and the
    code of a reply quoted after 'said:' is still read from the text."""
    joined = ("550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to "
              "550-5.7.1 send email directly to our servers. Please use the SMTP relay at your "
              "550 5.7.1 service provider instead.")
    assert cause_of(joined) == "reputation.ip_listed"
    wrapped = example_frame([{"text": "host mx.example[192.0.2.1] said: 550-5.7.1 first line "
                                      "550 5.7.1 second line", "direction": "outbound"}])
    row = classify(wrapped, attribute_causes=False).iloc[0]
    assert row["reply_class"] == "5xx"
