"""Table tests for round 25 of issue 9's reply set (bench/replies/README.md, "Round 25"): MTAs'
and filters' own replies and statuses (fail2ban's and grok patterns' test logs, MailCleaner's and
Ajenti V's Exim ACLs, Momentum's reply table, Postfix's and Exim's sources, advancedfiltering.net's
ACLs) and ESPs' and hosters' pages. A client that has not logged in refused a sending right is a
missing login; an MX host without an address a DNS failure; an MX that announces no SMTP service a
domain taking no mail; Exim's 'not yet authorized to deliver' a greylisting; Exim giving up once
all hosts failed beyond the retry cutoff an expired message; too frequent connects and recipients
per hour rate limits; remote destinations refused a relay denial; an IP in a named RBL a listing
(even where the list's URL says 'reputation'); a login that may not use the sender address a bad
sender; exhausted resources a busy server; no usable hosts an unreachable destination. Each family
row is a paraphrase no record words that way and names the rule that must decide it; the
look-alikes keep the readings they had at 1eed95b (checked beside that commit).
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of

ANON = "phr.auth.anonymous_client_not_permitted"
RATE_CONN = "rate.phrasings"
RATE_RCPT = "phr.rate.recipients_per_period"
RELAY = "phr.relay.remote_destinations_refused"


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 5.7.1 Anonymous senders are not allowed to use this server", "auth.required", ANON),
    ("Anonymous user has no permission to relay mail", "auth.required", ANON),
    ("No IP address found for the host mail.example.org", "dns.failure", "phr.dns.no_address_for_mx_host"),
    ("No address record found for MX host mx2.example.net", "dns.failure", "phr.dns.no_address_for_mx_host"),
    ("The MX record indicates no SMTP service for this domain", "domain.no_mail",
     "domain.no_mail_text"),
    ("550 DNS records indicate no mail service for example.com", "domain.no_mail",
     "domain.no_mail_text"),
    ("451 198.51.100.4 is not yet authorized to deliver e-mail to this server. Try again later", "greylisted",
     "greylisted"),
    ("451 Host is not yet permitted to deliver messages here, please retry", "greylisted",
     "greylisted"),
    ("all hosts for 'example.net' have been failing for too long (and retry time not reached)", "queue.expired",
     "phr.queue.hosts_failing_too_long"),
    ("421 Too frequent connections from 192.0.2.5, try again later", "rate.limited", RATE_CONN),
    ("450 You are connecting too often, please wait", "rate.limited", RATE_CONN),
    ("450 4.7.1 Too many recipients in the past hour, please try again later", "rate.limited", RATE_RCPT),
    ("452 Too many recipients sent this day", "rate.limited", RATE_RCPT),
    ("550 Sending to external domains is disabled for this account", "relay.denied", RELAY),
    ("554 Mail to non-local addresses is not permitted", "relay.denied", RELAY),
    ("550 Rejected: your IP is listed in SORBS RBL", "reputation.ip_listed", "phr.reputation.ip_in_named_list"),
    ("550 5.7.1 IP in Spamhaus ZEN blacklist, see https://www.spamhaus.org/reputation/", "reputation.ip_listed",
     "phr.reputation.ip_in_named_list"),
    ("553 User alice may not use sender address bob@example.com", "sender.invalid",
     "phr.sender.domain_not_match_auth"),
    ("421 4.3.0 System resources exhausted, try later", "server.unavailable", "phr.server.resources_exhausted"),
    ("451 Temporary resource shortage, please retry", "server.unavailable", "phr.server.resources_exhausted"),
    ("451 No usable mail servers for example.com", "network.unreachable", "phr.network.no_usable_hosts"),
    ("421 No reachable hosts for this destination", "network.unreachable", "phr.network.no_usable_hosts"),
])
def test_round25_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


#: Replies next to the round's families that must keep the reading they had at 1eed95b.
LOOK_ALIKES = [
    # a sending right refused without 'anonymous', and anonymous TLS
    ("Client does not have permissions to send as this sender", "sender.invalid"),
    ("550 5.7.1 Client does not have permissions to send as this sender", "sender.invalid"),
    ("530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM", "auth.required"),
    ("Anonymous TLS connection established from mail.example.com[192.0.2.1]: TLSv1.3 with cipher "
     "TLS_AES_256_GCM_SHA384", "tls.failed"),
    # domains that do not exist, null MX elsewhere, MX records of the sender
    ("Host or domain name not found. Name service error for name=example.com type=A: Host not found",
     "domain.not_found"),
    ("Host or domain name not found. Name service error for name=example.com type=MX: Host not found, try again",
     "dns.failure"),
    ("550 No such domain", "domain.not_found"),
    ("501 5.7.27 Domain in MAIL FROM has null MX record", "sender.invalid"),
    ("550 5.1.10 Recipient domain has a null MX", "domain.no_mail"),
    ("501 5.1.7 sender user@example.com contains a domain with no valid MX records", "sender.invalid"),
    # greylisting as it was read, and a sender not yet allowed to send (not read by the greylist family)
    ("450 4.2.0 Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html",
     "greylisted"),
    # expiry and retry waits
    ("retry timeout exceeded", "queue.expired"),
    ("all hosts for 'example.com' have been failing for a long time", "queue.expired"),
    ("retry time not reached for any host", "queue.retry_wait"),
    ("delivery temporarily suspended: connect to mx.example.com[192.0.2.1]:25: Connection refused",
     "network.refused"),
    # connections and recipients
    ("421 4.7.0 Too many connections from your IP", "rate.limited"),
    ("421 4.7.0 Connection attempts exceeded for your IP, try again later", "server.unavailable"),
    ("452 4.5.3 Too many recipients", "message.too_many_recipients"),
    ("550 5.5.3 Too many recipients for this message", "message.too_many_recipients"),
    # relaying
    ("554 5.7.1 Relay access denied", "relay.denied"),
    ("550 5.7.1 Unable to relay for user@example.com", "relay.denied"),
    ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "relay.denied"),
    ("550 Relaying for this recipient is not allowed", "relay.denied"),
    # lists: a receiver's own list, a named list, reputation
    ("550 Your IP is listed on our blocklist", "reputation.ip_listed"),
    ("554 Client host in the deny list of this server", "policy.sender_blocked"),
    ("550 Your host in blacklist on this server.", "policy.sender_blocked"),
    ("550 IP in blacklist on this server", "policy.sender_blocked"),
    ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user "
     "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "reputation.poor"),
    ("550 5.7.1 Your IP has a poor reputation, see https://www.barracudacentral.org/reputation", "reputation.poor"),
    # sender addresses
    ("553 5.7.1 Sender address rejected: not owned by user user@example.com", "sender.invalid"),
    ("550 5.7.1 Authenticated account is not authorized to send as this address", "sender.invalid"),
    # storage, size and a busy server
    ("552 5.3.4 Message size exceeds fixed maximum message size", "message.too_big"),
    ("452 4.3.1 Insufficient system storage", "server.unavailable"),
    ("452 4.3.1 Insufficient system resources", "server.unavailable"),
    ("421 4.3.2 System not accepting network messages", "server.unavailable"),
    # 'no valid' other than hosts
    ("550 5.1.1 No valid recipients", "protocol.sequence"),
    ("421 mx.example.com Service not available - no valid hosted domain", "server.unavailable"),
    ("451 4.4.1 No valid hosts: Connection refused", "network.refused"),
    ("connect to mx.example.com[192.0.2.1]:25: Connection timed out", "network.timeout"),
    ("conversation with mx.example.com[192.0.2.1] timed out while receiving the initial server greeting",
     "remote.timeout"),
    # Round 25 review, look-alikes given their 1eed95b reading back. Not here: 'Too many recipients in the
    # last hour: ... considered spam' and 'Mailbox full: too many recipients received this hour, mailbox over
    # quota' keep phr.rate.recipients_per_period's rate.limited: an hourly count is no one message's recipient
    # list (1eed95b's message.too_many_recipients), and the second is a full mailbox neither reading gives.
    # round 25 review: 'anonymous' beside another reason or a right other than sending
    ("550 Anonymous connections are not allowed from blacklisted IPs, see "
     "https://www.spamhaus.org", "reputation.ip_listed"),
    ("421 4.7.0 Anonymous sessions are not permitted from your network (listed in Spamhaus "
     "PBL)", "reputation.ip_listed"),
    ("550 5.7.1 Anonymous senders are not allowed to send to this distribution list", "policy.rejected"),
    ("550 5.7.1 Anonymous users are not allowed to post to this list; subscribe first", "policy.rejected"),
    ("554 5.7.1 Anonymous sender is not permitted: sender address must have a valid domain", "policy.sender_blocked"),
    ("550 5.7.1 Anonymous client does not have permission to send to this recipient (restricted "
     "by the recipient's delivery settings)", "policy.rejected"),
    ("550 5.7.1 Unauthenticated relaying denied; anonymous users are not allowed to relay", "relay.denied"),
    ("550 Anonymous users may not access this mailbox", "policy.rejected"),  # r32: code 550's fallback, was mailbox.unavailable
    # round 25 review: no address for a HELO name or a sender domain's mail server
    ("550 5.7.1 Helo command rejected: no IP address found for host mail.local", "helo.invalid"),
    ("501 5.1.8 Sender address rejected: no address records found for mail server of sender "
     "domain example.com", "sender.invalid"),
    ("553 5.1.8 Sender domain rejected: MX host mx.example.com has no IP address", "sender.invalid"),
    # round 25 review: a sender domain whose records announce no mail service
    ("553 5.7.27 Sender address rejected: DNS records indicate no mail service for example.com", "sender.invalid"),
    ("550 5.1.8 Sender address rejected: MX records show no email service for sender domain", "sender.invalid"),
    # round 25 review: an account, domain or sender not yet allowed, and a host failing SPF
    ("554 5.7.1 Your account is not yet authorized to deliver messages; verify your sending "
     "domain first", "policy.rejected"),
    ("550 5.7.1 Sender is not yet allowed to deliver mail to this list (awaiting moderator "
     "approval)", "policy.rejected"),
    ("550 5.7.1 Host 192.0.2.1 is not yet authorized to deliver mail: SPF check failed for example.com", "auth.spf"),
    ("451 4.7.1 Your domain is not yet permitted to deliver messages: DKIM signature required", "auth.dkim"),
    ("451 4.7.1 Sender address rejected: not yet authorized to deliver mail from unverified senders", "sender.invalid"),
    # round 25 review: one host past its cutoff (the address still waits; 'all hosts' is the give-up)
    ("host mx.example.com [192.0.2.1] has been failing for a long time (and retry time not "
     "reached)", "queue.retry_wait"),
    # round 25 review: remote destinations refused with the reason given after
    ("550 5.7.1 Delivery to external recipients is not permitted by your organization's policy", "policy.rejected"),
    ("554 5.7.1 Messages to remote recipients are not accepted from unauthenticated clients, "
     "please authenticate", "auth.required"),
    ("530 5.7.0 Relaying to this domain is denied: authentication required", "auth.required"),
    ("550 5.7.1 Sending to external domains is disabled for this account: account suspended for "
     "spam", "mailbox.disabled"),
    ("550 5.1.1 Relaying for this recipient is refused: user unknown", "mailbox.unknown"),
    ("550 5.7.1 Mail for remote recipients is refused: your IP is listed in Spamhaus", "reputation.ip_listed"),
    ("550 5.1.1 Mail for other domains is not accepted here: no such user", "mailbox.unknown"),
    # round 25 review: an account disabled, suspended or over a limit that cannot send
    ("550 5.7.1 User account is disabled and cannot send from this address", "mailbox.disabled"),
    ("550 5.7.1 User is over the daily limit and cannot send from this address until tomorrow", "rate.limited"),
    ("550 5.7.1 Account is suspended and may not use this sender address", "mailbox.disabled"),
    # round 25 review: a sender domain without valid mail servers, a busy server, a domain without MX
    ("501 5.1.8 Sender domain has no valid mail servers", "sender.invalid"),
    ("550 5.7.1 Sender rejected: no valid mail server for sender domain", "sender.invalid"),
    ("421 4.3.2 No available servers to accept your message, try again later", "server.unavailable"),
    ("554 5.4.4 No valid hosts: domain has no MX and no A record", "domain.not_found"),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", [
    ("550 5.7.1 Service unavailable; client [216.245.194.173] blocked using rbl.example.com",
     "reputation.ip_listed"),
    # the record's also-accepted reading (the source's check is recipient verification)
    ("550 5.1.1 <user1@example.com>: Recipient address rejected: undeliverable address: verification failed",
     "mailbox.unknown"),
    ("550 This message contains a virus (Sanesecurity.Junk.39934.UNOFFICIAL).", "content.virus"),
    ("550 Reverse DNS lookup failed for 192.0.2.1", "auth.reverse_dns"),
    ("550 Encryption is required from your domain", "tls.required"),
    ("451 4.7.5 [internal] TLS negotiation failed", "tls.failed"),
    ("554 5.4.5 [internal] Delivery not attempted (message expired)", "queue.expired"),
    ("4.7.1 Docking request denied, first time visit, you have been greylisted, try again later", "greylisted"),
])
def test_round25_replies_right_before_any_rule_stay_right(text: str, cause: str) -> None:
    assert cause_of(text) == cause
