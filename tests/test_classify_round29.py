"""Table tests for round 29 of issue 9's reply set (bench/replies/README.md, "Round 29"): the replies of
the bms, spfmilter and dkim-milter milters, SubEthaSMTP, Cluebringer (policyd v2), ASSP-NG, qmail-ldap, vpopmail,
masqmail and E-MailRelay. An address that is not qualified, lacks a part or is too long is an invalid address; a
bounce to an address whose SRS/BATV signature fails, or of a message never sent, a forged sender; a subject,
charset, script or MIME type the site refuses a content policy; 'no soliciting' a spam verdict; a numeric or
invalid HELO an invalid HELO; a MIME or header parse error a malformed message; bounces denied a local policy; a
sender on the local blacklist a sender block; a sender that has been sending spam its reputation; a user not
authorised for the envelope sender, a failed call-back or a missing return MX an invalid sender; TLS already
active a sequence error; bad MAIL/RCPT parameters a syntax error; forwarding to remote hosts disabled a relay
refusal; the receiver's directory or database down, a maildir it cannot create or a quota race a server error;
a broken account entry or delivery instruction a misconfigured server; a corrupted maildir an unavailable
mailbox; a server too busy a temporary unavailability; a cancelled AUTH a failed authentication; a password
transition an authentication requirement. Each family row is a paraphrase no record words that way and names the
rule that must decide it; the look-alikes keep the readings they had at b120193 (checked beside /tmp/base28).
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 Sender address must be fully qualified", "address.invalid",
     "phr.address.unqualified_or_incomplete"),
    ("553 5.1.3 RCPT TO without domain part is not accepted", "address.invalid",
     "phr.address.unqualified_or_incomplete"),
    ("501 Recipient address is not qualified", "address.invalid",
     "phr.address.unqualified_or_incomplete"),
    ("550 Envelope address too long", "address.invalid",
     "phr.address.unqualified_or_incomplete"),
    ("550 5.7.1 Invalid BATV signature", "auth.spoofed",
     "phr.auth.bad_return_path_signature"),
    ("553 Return path not BATV-signed", "auth.spoofed",
     "phr.auth.bad_return_path_signature"),
    ("550 We never sent you this message; this bounce is backscatter", "auth.spoofed",
     "phr.auth.bad_return_path_signature"),
    ("554 Your subject line is not accepted here", "content.policy",
     "phr.content.subject_charset_script_or_mime_refused"),
    ("550 Sorry, we cannot read that character set", "content.policy",
     "phr.content.subject_charset_script_or_mime_refused"),
    ("554 Scripts are not permitted in HTML mail", "content.policy",
     "phr.content.subject_charset_script_or_mime_refused"),
    ("550 MIME type not allowed on this server", "content.policy",
     "phr.content.subject_charset_script_or_mime_refused"),
    ("554 No solicitations allowed at this address", "content.spam",
     "phr.content.no_soliciting"),
    ("550 5.7.1 EHLO name must not be a bare IP address", "helo.invalid",
     "phr.helo.numeric_ip_or_invalid"),
    ("501 Invalid EHLO syntax from your client", "helo.invalid",
     "phr.helo.numeric_ip_or_invalid"),
    ("554 5.6.0 Multipart parse error in the message", "message.invalid",
     "phr.message.parse_error_in_message"),
    ("550 DSNs are denied for this recipient", "policy.rejected",
     "phr.policy.bounces_denied"),
    ("554 Sender domain is locally blacklisted", "policy.sender_blocked",
     "phr.policy.sender_on_local_blacklist"),
    ("550 Your network has been sending too much spam", "reputation.poor",
     "phr.reputation.sending_mostly_spam"),
    ("553 Authenticated user bob is not allowed to send as alice@example.com", "sender.invalid",
     "phr.sender.user_not_authorised_for_sender"),
    ("550 5.7.1 Unauthorized envelope sender from this client", "sender.invalid",
     "phr.sender.user_not_authorised_for_sender"),
    ("451 Sender callback verification failed", "sender.invalid",
     "phr.sender.callback_or_return_mx_failed"),
    ("550 Sender domain MX record not found", "sender.invalid",
     "phr.sender.callback_or_return_mx_failed"),
    ("503 STARTTLS already negotiated on this connection", "protocol.sequence",
     "phr.protocol.tls_already_active"),
    ("501 5.5.4 Invalid MAIL FROM parameters", "protocol.syntax",
     "phr.protocol.invalid_command_parameter"),
    ("550 Relaying to non-local recipients is prohibited", "relay.denied",
     "phr.relay.forwarding_to_remote_disabled"),
    ("451 4.3.0 Could not connect to the directory server", "server.error",
     "phr.server.directory_lookup_failure"),
    ("451 Temporary failure: SQL server unavailable", "server.error",
     "phr.server.directory_lookup_failure"),
    ("Unable to create home directory for the user (#4.3.0)", "server.error",
     "phr.server.maildir_creation_or_quota_race"),
    ("554 Bad value in the delivery instructions", "server.misconfigured",
     "phr.server.account_entry_misconfigured"),
    ("550 Mail store for this user appears to be corrupted", "mailbox.unavailable",
     "phr.mailbox.maildir_corrupted"),
    ("452 Too busy delivering other mail, try later", "server.unavailable",
     "phr.server.too_busy_try_later"),
    ("535 5.7.0 Authentication was cancelled by the client", "auth.sasl_failed",
     "phr.auth.authentication_cancelled"),
    ("432 4.7.12 Password transition needed", "auth.required",
     "phr.auth.password_transition_needed"),
])
def test_round29_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


#: Replies next to the round's families that must keep the reading they had at b120193: unknown users and sender
#: domains, spam verdicts and listings, SPF and forged senders, sizes, encodings and syntax, TLS, relays, mailboxes,
#: lookups and timeouts, HELO names and DBL listings, credentials, bounces, greylisting, domain policies, sessions,
#: attachments and sender verification.
LOOK_ALIKES = [
    ("550 5.1.1 User unknown", "mailbox.unknown"),
    ("553 5.1.8 Sender address rejected: Domain not found", "sender.invalid"),
    ("550 5.7.1 Message rejected as spam", "content.spam"),
    ("554 5.7.1 Spam message rejected", "content.spam"),
    ("550 5.7.1 Your IP address has been blacklisted by zen.spamhaus.org", "reputation.ip_listed"),
    ("550 5.7.1 Rejected: forged sender", "auth.spoofed"),
    ("550 Invalid bounce (spoofed sender)", "auth.spoofed"),
    ("550 5.7.26 This message does not pass SPF", "auth.spf"),
    ("550 5.7.1 Host 192.0.2.1 is not authorized to send mail from domain example.com", "auth.spf"),
    ("550 5.7.1 Not authorized to send from this domain", "auth.spf"),
    ("554 5.7.1 Message content rejected", "content.spam"),
    ("552 5.3.4 Message size exceeds fixed limit", "message.too_big"),
    ("550 5.6.0 Message contains invalid base64 encoding", "message.invalid"),
    ("500 5.5.2 Line too long", "message.invalid"),
    ("501 5.5.2 Syntax error in parameters or arguments", "protocol.syntax"),
    ("503 5.5.1 Error: need MAIL command", "protocol.sequence"),
    ("454 4.7.0 TLS not available due to local problem", "tls.failed"),
    ("530 5.7.0 Must issue a STARTTLS command first", "tls.required"),
    ("550 5.7.1 Relaying denied", "relay.denied"),
    ("551 User not local; please try <user@example.org>", "mailbox.moved"),
    ("550 5.2.1 Mailbox disabled, not accepting messages", "mailbox.disabled"),
    ("552 5.2.2 Mailbox full", "mailbox.full"),
    ("452 4.2.2 Over quota", "mailbox.full"),
    ("451 4.3.0 Temporary lookup failure", "server.error"),
    ("451 4.4.3 Temporary DNS failure", "dns.failure"),
    ("421 4.4.2 Connection timed out", "network.timeout"),
    ("421 Too busy; please try again later", "server.unavailable"),
    ("450 4.7.1 Client host rejected: cannot find your hostname", "auth.reverse_dns"),
    ("550 5.7.1 Invalid HELO name (See RFC2821 4.1.1.1)", "helo.invalid"),
    ("554 5.7.1 Your HELO hostname is listed in the Spamhaus DBL", "reputation.domain_listed"),
    ("550 5.7.1 Sending domain is listed in the DBL", "reputation.domain_listed"),
    ("550 5.7.1 Sender address rejected: Access denied", "policy.sender_blocked"),
    ("550 5.7.1 Your access to this mail system has been rejected due to the sending MTA's poor reputation", "reputation.poor"),
    ("535 5.7.8 Authentication credentials invalid", "auth.sasl_failed"),
    ("530 5.7.0 Authentication required", "auth.required"),
    ("554 5.7.1 Bounces are not accepted here", "policy.rejected"),
    ("550 Unsolicited mail not accepted", "content.spam"),
    ("451 4.7.1 Greylisting in action, please come back later", "greylisted"),
    ("550 5.7.1 Message rejected by domain policy", "policy.rejected"),
    ("421 Too many concurrent SMTP sessions, please try again later", "rate.limited"),
    ("550 5.7.1 Attachment type not allowed", "content.policy"),
    ("550 5.7.1 Mailbox is locked", "mailbox.disabled"),
    ("450 4.2.1 Mailbox temporarily unavailable", "mailbox.unavailable"),
    ("451 Could not complete sender verify", "sender.invalid"),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
