"""Table tests for r19-devmiss (issue 9): the wordings the development part's in-sample misses
showed (bench/RESULTS.md "r19-devmiss"), each read by its rule in phrasings other than the rule's
own examples, and the look-alikes that keep their older readings."""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule", [
    ("550 5.1.1 <bob@example.org>: unrouteable address", "mailbox.unknown", "phr.mailbox.unknown_unroutable_x11"),
    ("550 5.5.0 The mailbox is currently unavailable", "mailbox.unknown", "phr.mailbox.unknown_unavailable_x50"),
    ("553 mail.example.net does not exist", "domain.not_found", "phr.domain.named_host_does_not_exist"),
    ("554 EHLO name not allowed here", "helo.invalid", "phr.helo.not_allowed_to_connect"),
    ("550 Host name mail.example.org mismatches your IP address", "auth.reverse_dns",
     "phr.auth.reverse_dns_name_mismatches_ip"),
    ("550 Recipient <x@example.org> is on our deny list", "policy.rejected", "phr.policy.recipient_blacklisted"),
    ("550 Domain example.com is not permitted in the header From", "auth.spoofed",
     "phr.auth.spoofed_from_domain_not_allowed"),
    ("550 Message rejected: credential exposure", "content.policy", "phr.content.credential_leak"),
    ("452 4.2.2 Folder item limit exceeded for this recipient", "mailbox.full", "phr.mailbox.full_folder_item_limit"),
    ("450 Temporarily rejected, please retry later", "greylisted", "greylisted"),
    ("451 Internal storage failure", "server.error", "server.error"),
    ("452 No space left on device", "server.unavailable", "phr.server.out_of_disk_space"),
    ("550 Sender address is not permitted", "policy.sender_blocked", "phr.policy.sender_address_not_allowed"),
    ("550 Mail content denied", "content.spam", "phr.content.qq_mail_content_denied"),
    ("550 <bob@example.org>: invalid address (#5.5.0)", "mailbox.unknown", "phr.mailbox.unknown_bare_invalid_address"),
    ("550 Rejected due to spam behaviour of the sending host", "reputation.poor", "phr.reputation.sending_behaviour"),
    ("421 This IP address has been temporarily blocked due to abuse", "reputation.poor",
     "phr.reputation.ip_temporarily_blocked"),
])
def test_devmiss_wordings(text: str, cause: str, rule: str) -> None:
    assert _winner(text) == (cause, rule)


@pytest.mark.parametrize("text, cause", [
    # 'Unrouteable address' without X.1.1 keeps its older readings
    ("550 Unrouteable address", "mailbox.unknown"),
    ("550-Verification failed for <user@example.com> 550-Unrouteable address 550 Sender verify failed",
     "sender.invalid"),
    # 'mailbox unavailable' with another enhanced code
    ("550 5.2.1 mailbox unavailable", "mailbox.unknown"),
    # a HELO name that does not exist, a user that does not exist
    ("517 HELO mail.example.com does not exist.", "helo.invalid"),
    ("550 User does not exist", "mailbox.unknown"),
    # the sending host's own block, and a HELO that does not match the client IP
    ("554 5.7.1 You are not allowed to connect.", "policy.sender_blocked"),
    ("550 HELO host does not match client IP", "helo.invalid"),
    # 'Recipient address rejected:' wrapping an IP listing
    ("550 5.7.1 Recipient address rejected: your IP is blacklisted", "reputation.ip_listed"),
    ("550 Only one From header allowed. See RFC 5322, Section 3.6", "message.invalid"),
    # a temporary rejection naming its reason keeps the reason
    ("451 4.4.3 Temporarily rejected: Problem on SPF lookup", "auth.spf"),
    ("421 Temporarily rejected. Reverse DNS for this IP failed. IB108", "auth.reverse_dns"),
    ("554 You talk too soon", "protocol.sequence"),
    # the recipient's quota, not the server's disk
    ("The recipient mailbox has exceeded its disk space limit.", "mailbox.full"),
    ("Requested action not taken: NULL sender is not allowed", "policy.rejected"),
    ("550 Content denied by attachment policy", "content.policy"),
    # an address syntax code, or no code at all, keeps the syntax reading
    ("501 5.1.3 Invalid address [outlook.com]", "address.invalid"),
    ("553 5.1.3 invalid address (#5.1.3)", "address.invalid"),
    ("553 5.1.3 <bob@example.org>... invalid address", "address.invalid"),
    # a list named beside the behaviour or the temporary block keeps the listing
    ("554 Reject by behaviour spam at DATA State(Connection IP address:*)ANTISPAM_BAT[]:list on rbl sites",
     "reputation.ip_listed"),
    ("550 Your IP 192.0.2.1 is temporarily blocked, listed in zen.spamhaus.org", "reputation.ip_listed"),
    ("550 Message looks like spam", "content.spam"),
])
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
