"""Table tests for round 24 of issue 9's reply set (bench/replies/README.md, "Round 24"): bounce
mails from bounce-parsing libraries' test corpora (sisimai/set-of-emails, PHP-Bounce-Handler,
bounce_email, Mailman 2's tests/bounces) and universities' and providers' rejection pages. A
receiver's access list refusing the sender's IP, domain or address is a block of the sender; an
IP listed by an unnamed public block list a listing; an anti-spam gateway not accepting mail
from the client's network for now a poor reputation; a relay that gave up after its retries an
expired message; the receiver's scanner daemon unreachable or its delivery command crashing a
server error; a full mailbox reported in a delivery command's output or a domain out of storage
a full mailbox; an address followed by 'unknown host' a domain not found. Each family row is a
paraphrase no record words that way and names the rule that must decide it; the look-alikes
keep the readings they had at e2e79f7 (checked beside that commit when the families were written).
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 No access for your IP address", "policy.sender_blocked", "phr.policy.access_forbidden_to_client"),
    ("554 Access not allowed from this host", "policy.sender_blocked", "phr.policy.access_forbidden_to_client"),
    ("550 Sorry, no access from this sender", "policy.sender_blocked", "phr.policy.access_forbidden_to_client"),
    ("550 Host listed by one or more DNSBLs", "reputation.ip_listed", "phr.reputation.listed_in_many"),
    ("421 Rejected: your IP is listed in a public RBL", "reputation.ip_listed", "phr.reputation.listed_in_many"),
    ("451 We are not accepting mail from your server", "reputation.poor", "phr.reputation.not_accepting_from_your_network"),
    ("421 Access from this IP is temporarily restricted", "reputation.poor", "phr.reputation.not_accepting_from_your_network"),
    ("450 Not accepting messages from your network address", "reputation.poor", "phr.reputation.not_accepting_from_your_network"),
    ("Message has been in the queue for too long", "queue.expired", "phr.queue.gave_up_after_attempts"),
    ("421 Message has been in queue too long", "queue.expired", "phr.queue.gave_up_after_attempts"),
    ("Reached the maximum number of retries", "queue.expired", "phr.queue.gave_up_after_attempts"),
    ("Failed 3 attempts to deliver to the remote host", "queue.expired", "phr.queue.gave_up_after_attempts"),
    ("Delivery attempts exceeded", "queue.expired", "phr.queue.gave_up_after_attempts"),
    ("451 4.3.0 Unable to connect to spamd", "server.error", "phr.server.filter_daemon_unreachable"),
    ("451 Failed to connect to the milter", "server.error", "phr.server.filter_daemon_unreachable"),
    ('Command died with status 75: "/usr/lib/dovecot/deliver"', "server.error", "phr.server.processing_failure_family"),
    ("temporary failure. Command output: mail box full", "mailbox.full", "phr.mailbox.full_in_command_output"),
    ("Command output: Quota exceeded (mailbox for user is full)", "mailbox.full", "phr.mailbox.full_in_command_output"),
    ('Command died with status 1: "/usr/bin/maildrop". Command output: maildrop: maildir over quota.',
     "mailbox.full", "phr.mailbox.full_in_command_output"),
    ("552 Domain quota exceeded", "mailbox.full", "mailbox.full"),
    ("452 The domain has reached its storage limit", "mailbox.full", "phr.mailbox.size_exceeded_family"),
    ("joe@example.org... Unknown host", "domain.not_found", "phr.domain.address_unknown_host"),
    ("<bob@example.com>: unknown domain", "domain.not_found", "phr.domain.address_unknown_host"),
])
def test_round24_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


#: Replies next to the round's families that must keep the reading they had at e2e79f7.
LOOK_ALIKES = [
    ("550 5.7.1 Relay access denied", "relay.denied"),
    ("554 5.7.1 Access denied", "policy.rejected"),
    ("550 Access denied for your network", "policy.sender_blocked"),
    ("550 5.7.1 Client host rejected: Access denied", "policy.sender_blocked"),
    ("550 5.7.1 Unable to relay for user@example.com", "relay.denied"),
    ("550 Your IP is listed on our blocklist", "reputation.ip_listed"),
    ("554 Your IP is listed on an external blacklist", "reputation.ip_listed"),
    ("550 Your IP is listed in several blacklists", "reputation.ip_listed"),
    ("554 5.7.1 Your mail was rejected: listed by Spamhaus", "reputation.ip_listed"),
    ("550 Spam message rejected", "content.spam"),
    ("554 Message rejected: spam content blocked", "content.spam"),
    ("550 Not accepting mail from your IP: listed in Spamhaus ZEN", "reputation.ip_listed"),
    ("421 4.7.0 Too many connections from your IP", "rate.limited"),
    ("421 Too many messages from your IP, try later", "rate.limited"),
    ("451 4.7.1 Service unavailable - try again later", "server.unavailable"),
    ("451 4.7.1 Greylisted, please try again later", "greylisted"),
    ("connect to mx.example.com[192.0.2.1]:25: Connection refused", "network.refused"),
    ("status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection refused)", "network.refused"),
    ("permission denied. Command output: /usr/bin/procmail: not found", "local.config"),
    ("mail for example.com loops back to myself", "local.config"),
    ("554 5.7.1 Rejected: the content filter failed", "server.error"),
    ("554 5.4.7 Delivery expired (message too old)", "queue.expired"),
    ("552 5.3.4 Message size exceeds fixed limit", "message.too_big"),
    ("550 The message size limit has been exceeded", "message.too_big"),
    ("552 Message size exceeds the limit: too long", "message.too_big"),
    ("550 Line too long", "message.invalid"),
    ("550 Mailbox size limit exceeded", "mailbox.full"),
    ("550 5.1.1 <user@example.com>... User unknown", "mailbox.unknown"),
    ("550 No such user here", "mailbox.unknown"),
    ("550 Domain not found", "domain.not_found"),
    ("550 This domain does not accept mail", "domain.no_mail"),
    ("Host or domain name not found. Name service error for name=example.com type=A: Host not found",
     "domain.not_found"),
    ("550 Sender denied: sender domain is blocked", "reputation.domain_listed"),
    # the review of round 24: a reason beside the new families' phrases decides
    ("550 5.1.1 No access for this user: user unknown", "mailbox.unknown"),
    ("550 No access for this domain: domain not found", "domain.not_found"),
    ("421 No access from this IP: too many connections, try later", "rate.limited"),
    ("550 5.7.1 Access not permitted from this host: invalid HELO", "helo.invalid"),
    ("Access not allowed from this IP: your IP is not on our allow list", "policy.sender_blocked"),
    ("421 4.7.0 Connection attempts exceeded for your IP, try again later", "server.unavailable"),
    ("retry attempts exhausted: user unknown", "mailbox.unknown"),
    ("Failed 5 attempts to connect: Connection refused", "network.refused"),
    ("Message has been in the queue too long: Connection timed out", "network.timeout"),
    ("421 Not accepting connections from this host: server shutting down", "server.unavailable"),
    ("550 5.7.1 Not accepting mail from this address, recipient does not exist", "mailbox.unknown"),
    ("temporary failure. Command output: write error: No space left on device", "server.unavailable"),
    ("Command output: disk is full", "server.unavailable"),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", [
    ("552-5.7.0 Our system detected an illegal attachment on your message. Please 552-5.7.0 visit "
     "http://mail.google.com/support/bin/answer.py?answer=6590 to 552 5.7.0 review our attachment "
     "guidelines. 6si13920984ywc.41", "content.policy"),
    ("503 Start afresh from MAIL(#5.5.1)", "protocol.sequence"),
    ("553 Exceeded maximum inbound message size", "message.too_big"),
    ("MTA '62.6.150.133' gives error message 5.7.1 Unable to relay for pr(a)allen-heath.com", "relay.denied"),
    ("554 Message looping (received 6 times)", "routing.loop"),
    ("550-5.7.1 sender <From-address> via domain/host/IP address SPF result Fail; #702", "auth.spf"),
    ("550-5.7.0 HELO argument argument must be a FQDN or IP-domain literal #428", "helo.invalid"),
    ("550 Invalid SPF record. Please inspect your SPF settings, and try again. IB508", "auth.spf"),
])
def test_round24_replies_right_before_any_rule_stay_right(text: str, cause: str) -> None:
    assert cause_of(text) == cause
