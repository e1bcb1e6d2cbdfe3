"""Table tests for round 34 of issue 9's reply set (bench/replies/README.md, "Round 34"): replies taken from providers'
and vendors' own documentation of their SMTP replies (sending services, relays, gateways, hosters). A sending service
refusing its own customer's account, user, API key or IP the sender blocked; a sending domain not set up on the account
an invalid sender; a mailbox that cannot be accessed an unavailable mailbox; a server being reconfigured or maintained
a temporarily unavailable server; 'your account / sender address has been temporarily ...' the sender blocked, not the
recipient's mailbox; 'the sender's address was not allowed' the sender blocked; Sophos Central Email's XGEMAIL_00nn
codes what Sophos's code list says; the Cyrillic A of 'Аccount is full' (a damaged text) still a full mailbox.
Each family row is a paraphrase no record words that way; the rule named must decide it with the rules alone, and the
cause must hold with the known table too; none of them is read so at bcbd5a2 (checked beside a copy of it). The
look-alikes keep the readings they had at bcbd5a2.
"""

from __future__ import annotations

import pytest

from analyzer.classify import classify, example_frame
from tests.test_classify_phrasings import cause_of


def _rules_winner(text: str) -> tuple[str, str]:
    """(cause, id of the deciding rule) for a remote server's reply, rules only (no known table)."""
    row = classify(example_frame([{"text": text, "direction": "outbound"}]), rule_ids=True,
                   attribute_causes=False, known_replies=False).iloc[0]
    return str(row["cause"]), str(row["rule_id"])


@pytest.mark.parametrize("text, cause, rule_id", [
    ('554 Your API key is not authorized to send', 'policy.sender_blocked',
     'phr.policy.sender_account_not_allowed_to_send'),
    ('550 The SMTP user account is not allowed to send email', 'policy.sender_blocked',
     'phr.policy.sender_account_not_allowed_to_send'),
    ('550 Sending IP address is not allowed to send.', 'policy.sender_blocked',
     'phr.policy.sender_account_not_allowed_to_send'),
    ('550 Sending domain has not been verified', 'sender.invalid',
     'phr.sender.sending_domain_not_set_up'),
    ('554 5.7.1 Unregistered sending domain example.net', 'sender.invalid',
     'phr.sender.sending_domain_not_set_up'),
    ('550 The sending domain is not authorized for this account', 'sender.invalid',
     'phr.sender.sending_domain_not_set_up'),
    ('450 4.2.0 Mailbox read error, try again', 'mailbox.unavailable',
     'phr.mailbox.access_error'),
    ('451 Mailbox open failure', 'mailbox.unavailable',
     'phr.mailbox.access_error'),
    ('452 Mailbox locking problem', 'mailbox.unavailable',
     'phr.mailbox.access_error'),
    ('421 4.3.0 Configuration in progress', 'server.unavailable',
     'phr.server.reconfiguration_in_progress'),
    ('550 Your account has been temporarily disabled', 'policy.sender_blocked',
     'sender.blocked_access'),
    ('550 5.7.1 Your account is currently locked', 'policy.sender_blocked',
     'sender.blocked_access'),
    ('550 Your sender address has been temporarily disabled', 'policy.sender_blocked',
     'sender.blocked_access'),
    ("550 The sender's domain was not allowed", 'policy.sender_blocked',
     'phr.policy.sender_address_not_allowed'),
    ('550 5.7.1 XGEMAIL_0002 Command rejected', 'auth.spf',
     'sophos.xgemail_spf'),
    ('550 5.7.1 XGEMAIL_0004 Command rejected', 'reputation.ip_listed',
     'sophos.xgemail_rbl'),
    ('450 4.7.1 XGEMAIL_0015 Command rejected', 'mailbox.rate_limited',
     'sophos.xgemail_recipient_rate'),
    ('550 5.7.1 XGEMAIL_0010 Command rejected', 'relay.denied',
     'sophos.xgemail_not_protected_domain'),
    ('452 4.2.2 Аccount is full, try again later', 'mailbox.full',
     'phr.mailbox.full'),
])
def test_round34_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _rules_winner(text) == (cause, rule_id)
    assert cause_of(text) == cause


LOOK_ALIKES = [
    ('550 5.7.0 [SPF] host 192.0.2.1 is not allowed to send mail from domain', 'auth.spf'),
    ("550 5.1.0 192.0.2.1 is not allowed to send from <example.jp> per it's SPF Record", 'auth.spf'),
    ('501 5.5.4 You are not allowed to send from this address.', 'sender.invalid'),
    ('550 Authenticated users are not allowed to send bounce emails', 'policy.rejected'),
    ('cannot access mailbox /var/spool/mail/x for user y. error writing message: File too large', 'mailbox.full'),
    ('503 Error: Mail transaction in progress', 'protocol.sequence'),
    ('421 Service in maintenance mode', 'server.unavailable'),
    ('550 5.7.1 Sender address not allowed.', 'policy.sender_blocked'),
    ('553 5.7.1 Sender address rejected: not owned by user', 'sender.invalid'),
    ('550 Account has been suspended', 'mailbox.disabled'),
    ('550 Your account has been temporarily blocked', 'reputation.poor'),
    ('452 4.2.2 Mailbox full', 'mailbox.full'),
    ('552 Account is full', 'mailbox.full'),
    ('421 4.7.0 Too many connections from your host', 'rate.limited'),
    ('550 5.7.1 Relaying denied. Sending domain not local', 'relay.denied'),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
