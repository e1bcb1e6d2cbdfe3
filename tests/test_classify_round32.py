"""Table tests for round 32 of issue 9's reply set (bench/replies/README.md, "Round 32"): the replies of Courier
filters, milters (smf-sav, sid-milter, ldap-acl-milter, snert's milters, milter-blockdomain), OpenSMTPD filters,
small SMTP servers (Twisted, Gumdrop, midi-smtp-server, smtprelay, chrj/smtpd), OpenBSD spamd and Haraka plugins.
A sender that could not be verified (call-back refused, incomplete, or the sender does not exist) an invalid
sender; the internal host a gateway asks not answering, busy or offering no SMTP an unavailable server; the
receiver's own forwarding or delivery command failing, a technical problem 'on our end', its relay-policy lookup
failing for now a server error; no next hop or command configured a misconfigured server; local senders that must
authenticate; a sender refused with no reason a local policy; a connection refused naming only the client, a sender
or its domain blacklisted with no list named a sender block; an envelope/header sender mismatch an invalid sender;
no Purported Responsible Address, lines not ended by CRLF, one header field too long a malformed message; a failed
Sender ID check the SPF family; a command that needs EHLO first a sequence error; a resend asked 'to prove' a real
MTA greylisting; a blacklisted attachment extension a content policy; a listing by 'one or more' registries a
listing; mail for a domain the server does not take a relay refusal; a mailbox not available now the mailbox; no
domain to be taken from an address an invalid address.
Each family row is a paraphrase no record words that way and names the rule that must decide it; the look-alikes
keep the readings they had at 8f4cb39 (checked beside /tmp/base31).
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ('451 Sender verification timed out, try later', 'sender.invalid',
     'phr.sender.verification_could_not_complete'),
    ('550 Sender address verification failed', 'sender.invalid',
     'phr.sender.verification_could_not_complete'),
    ('451 Error during sender verification, please retry', 'sender.invalid',
     'phr.sender.verification_could_not_complete'),
    ('553 The sender address does not exist', 'sender.invalid',
     'phr.sender.verification_could_not_complete'),
    ('451 mx2.example.org refused our MAIL FROM', 'sender.invalid',
     'phr.sender.mx_refused_callback_mail_from'),
    ('450 MX host mx1.example.org returned an unexpected response', 'sender.invalid',
     'phr.sender.mx_refused_callback_mail_from'),
    ('451 4.4.1 host store01.example.net is not responding', 'server.unavailable',
     'phr.server.internal_host_not_answering'),
    ('421 backend mailstore2 did not answer', 'server.unavailable',
     'phr.server.internal_host_not_answering'),
    ('451 Relaying failed', 'server.error',
     'phr.server.own_forwarding_failed'),
    ('451 4.3.0 Pipe command failed', 'server.error',
     'phr.server.own_forwarding_failed'),
    ('451 We have an internal problem on our side, please retry', 'server.error',
     'phr.server.own_forwarding_failed'),
    ('451 Temporary error when validating recipient policy', 'server.error',
     'phr.server.own_forwarding_failed'),
    ('451 4.3.5 No configured transport for this destination', 'server.misconfigured',
     'phr.server.no_route_or_command_configured'),
    ('554 No usable relay host', 'server.misconfigured',
     'phr.server.no_route_or_command_configured'),
    ('530 Internal senders must log in first', 'auth.required',
     'phr.auth.local_senders_must_authenticate'),
    ('550 5.7.1 This server requires local users to authenticate', 'auth.required',
     'phr.auth.local_senders_must_authenticate'),
    ('550 Sender is not acceptable', 'policy.rejected',
     'phr.policy.sender_not_acceptable'),
    ('550 Cannot receive mail from the specified sender', 'policy.rejected',
     'phr.policy.sender_not_acceptable'),
    ('554 host relay7.example.net [203.0.113.9] refused', 'policy.sender_blocked',
     'phr.policy.connection_blocked_by_site'),
    ('550 connection from smtp.example.org [198.51.100.23] is not allowed', 'policy.sender_blocked',
     'phr.policy.connection_blocked_by_site'),
    ('550 Mismatched header and envelope from', 'sender.invalid',
     'phr.sender.envelope_header_sender_mismatch'),
    ('553 MAIL FROM and header From do not match', 'sender.invalid',
     'phr.sender.envelope_header_sender_mismatch'),
    ('550 Unable to identify the PRA', 'message.invalid',
     'phr.message.pra_undeterminable'),
    ('554 No purported responsible address in headers', 'message.invalid',
     'phr.message.pra_undeterminable'),
    ('550 Message refused because of the SIDF check', 'auth.spf',
     'phr.auth.sender_id_policy_failed'),
    ('451 Sender-ID test failed, try later', 'auth.spf',
     'phr.auth.sender_id_policy_failed'),
    ('554 Lines must end with CR LF', 'message.invalid',
     'phr.message.lines_must_end_crlf'),
    ('550 5.6.0 Lines are not terminated by CRLF', 'message.invalid',
     'phr.message.lines_must_end_crlf'),
    ('554 Maximum header line length exceeded', 'message.invalid',
     'phr.message.single_header_too_long'),
    ('554 5.6.0 header field length exceeded', 'message.invalid',
     'phr.message.single_header_too_long'),
    ('503 BDAT requires EHLO', 'protocol.sequence',
     'phr.protocol.command_requires_ehlo'),
    ('503 5.5.1 MAIL command requires a previous HELO', 'protocol.sequence',
     'phr.protocol.command_requires_ehlo'),
    ('450 Deliver it again later to prove you are a real mail server', 'greylisted',
     'phr.greylisted.send_again_to_prove'),
    ('421 Resend the message to prove that you are not a bot', 'greylisted',
     'phr.greylisted.send_again_to_prove'),
    ('550 The type of the attachment is blocklisted', 'content.policy',
     'phr.content.attachment_extension_blacklisted'),
    ('554 Attached file extension is banned', 'content.policy',
     'phr.content.attachment_extension_blacklisted'),
    ('554 Address listed in several registries as a spam source', 'reputation.ip_listed',
     'phr.reputation.listed_by_registries'),
    ('550 Listed by an IP-based blocklist', 'reputation.ip_listed',
     'phr.reputation.listed_by_registries'),
    ('550 Cannot receive e-mail for the domain.', 'relay.denied',
     'phr.relay.cannot_take_mail_for_domain'),
    ('554 Unable to relay messages for this domain', 'relay.denied',
     'phr.relay.cannot_take_mail_for_domain'),
    ('452 Mailbox currently unavailable, please try again later', 'mailbox.unavailable',
     'phr.mailbox.not_available_now_retry'),
    ('450 4.2.1 Mailbox not available right now; retry later', 'mailbox.unavailable',
     'phr.mailbox.not_available_now_retry'),
    ('553 Cannot determine the domain of the sender', 'address.invalid',
     'phr.address.domain_not_identifiable'),
    ('550 could not find a domain in the recipient', 'address.invalid',
     'phr.address.domain_not_identifiable'),
    ('550 Address or domain has been deny-listed', 'policy.sender_blocked',
     'phr.policy.sender_or_domain_blacklisted_locally'),
    ('554 5.7.1 Sender address or domain is blocklisted locally', 'policy.sender_blocked',
     'phr.policy.sender_or_domain_blacklisted_locally'),
    ('550 Mail blocked by the user\'s privacy preferences', 'policy.rejected',
     'phr.policy.refused_by_privacy_settings'),
    ('554 Not permitted due to mailbox privacy options', 'policy.rejected',
     'phr.policy.refused_by_privacy_settings'),
    ('451 Your IP address is not in our whitelist', 'policy.sender_blocked',
     'phr.policy.client_ip_not_on_allow_list'),
    ('554 5.7.1 This IP is not on the permit list', 'policy.sender_blocked',
     'phr.policy.client_ip_not_on_allow_list'),
])
def test_round32_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


#: Replies next to the round's families that must keep the reading they had at 8f4cb39: recipient verification,
#: unknown users, call-back and sender refusals, busy servers, lookups, timeouts and routes, greylisting, AUTH and
#: send-as refusals, local policy, DNSBL and domain listings (an IP 'blacklisted' stays a listing), SPF, DMARC and
#: alignment, bare LF, header and message sizes, HELO, virus and attachment rules, relay refusals, full and busy
#: mailboxes, connection limits.
LOOK_ALIKES = [
    ('451 4.7.1 Temporary failure while checking SPF', 'auth.spf'),
    ('550 5.7.1 From header does not align with the envelope sender', 'message.invalid'),
    ('550 No route to host', 'network.unreachable'),
    ('450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]', 'auth.reverse_dns'),
    ('421 4.7.0 mx.example.com Error: too many connections from 192.0.2.1', 'rate.limited'),
    ('550 Message refused by local policy', 'policy.rejected'),
    ('451 4.3.0 Out of memory', 'server.unavailable'),
    ('554 Transaction failed: external scanner not responding', 'server.error'),
    ('550 5.7.1 Attachment blocked', 'content.policy'),
    ('550 5.1.1 <user@example.com>: Recipient address rejected: User unknown in virtual mailbox table', 'mailbox.unknown'),
    ('554 5.7.1 Sender ID (PRA) not permitted', 'policy.rejected'),
    ('550 Line too long', 'message.invalid'),
    ('550 Header too large', 'message.invalid'),
    ('421 Too many concurrent SMTP connections; please try again later.', 'rate.limited'),
    ('550 5.1.1 Recipient address verification failed', 'recipient.unverified'),
    ('450 4.1.1 Unable to verify recipient', 'recipient.unverified'),
    ('550 5.1.1 The email account that you tried to reach does not exist', 'mailbox.unknown'),
    ('550 5.1.1 User does not exist', 'mailbox.unknown'),
    ('550 5.7.1 Callback failure', 'sender.invalid'),
    ('550 5.1.0 Sender rejected', 'sender.invalid'),
    ('553 5.1.8 Sender address rejected: Domain not found', 'sender.invalid'),
    ('421 4.3.2 Service not available, closing transmission channel', 'server.unavailable'),
    ('421 4.7.0 Try again later, closing connection.', 'server.unavailable'),
    ('451 4.3.0 Temporary lookup failure', 'server.error'),
    ('451 4.4.1 No answer from host', 'network.timeout'),
    ('554 5.4.4 Unable to route: no route to host', 'network.unreachable'),
    ('550 5.4.6 Routing loop detected', 'routing.loop'),
    ('421 Service temporarily unavailable, try again later', 'server.unavailable'),
    ('451 Temporary failure, please try again later.', 'server.unavailable'),
    ('451 4.7.1 Greylisting in action, please come back later', 'greylisted'),
    ('530 5.7.0 Authentication required', 'auth.required'),
    ('550 5.7.1 Client does not have permissions to send as this sender', 'sender.invalid'),
    ('550 5.7.1 Message rejected due to local policy', 'policy.rejected'),
    ('554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org', 'reputation.ip_listed'),
    ('550 5.7.1 Client host rejected: Access denied', 'policy.sender_blocked'),
    ('550 5.7.1 Sender address rejected: Access denied', 'policy.sender_blocked'),
    ('554 5.7.1 Your IP address is blacklisted', 'reputation.ip_listed'),
    ('550 5.7.1 example.com has been blacklisted by dbl.spamhaus.org', 'reputation.domain_listed'),
    ('550 Domain listed at dbl.spamhaus.org', 'reputation.domain_listed'),
    ('554 5.7.1 Message rejected: SPF check failed', 'auth.spf'),
    ("550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy", 'auth.dmarc'),
    ('550 5.6.0 Message contains bare LF', 'message.invalid'),
    ('552 5.3.4 Message header size exceeds limit', 'message.too_big'),
    ('552 5.2.3 Message size exceeds fixed maximum message size', 'message.too_big'),
    ('503 5.5.1 Error: send HELO/EHLO first', 'protocol.sequence'),
    ('501 5.5.4 HELO requires domain address', 'helo.invalid'),
    ('504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname', 'helo.invalid'),
    ('554 5.7.1 Virus found in message', 'content.virus'),
    ('550 5.7.1 Attachment type not allowed', 'content.policy'),
    ('550 5.7.1 Relaying denied', 'relay.denied'),
    ('554 5.7.1 <user@example.com>: Relay access denied', 'relay.denied'),
    ('550 Mail for this domain is not accepted here', 'relay.denied'),
    ('452 4.2.2 Mailbox full', 'mailbox.full'),
    ('450 4.2.1 Mailbox busy, try again later', 'mailbox.unavailable'),
    ('550 5.2.1 Mailbox unavailable', 'mailbox.unknown'),
    ('451 4.7.1 Please try again later', 'server.unavailable'),
    ('550 5.7.1 Unable to deliver to this recipient', 'relay.denied'),
    ('421 4.4.2 Connection dropped due to timeout', 'remote.connection_lost'),
    ('554 5.7.1 Spam message rejected', 'content.spam'),
    ('550 5.7.1 Sender is not permitted to send to this recipient', 'policy.sender_blocked'),
    ('451 Could not complete sender verify', 'sender.invalid'),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
