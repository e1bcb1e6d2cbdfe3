"""Table tests for round 33 of issue 9's reply set (bench/replies/README.md, "Round 33"): providers', hosters' and
gateways' replies pasted in issue threads and pastes, and a few vendor and university pages. A command sent in the
wrong session state a sequence error (HELO after EHLO); a forbidden file extension, type or name, also as a filter's
map name, an attachment rule; a domain's users sending without authorization authentication required; Postfix's
recipient refusal naming only the mailbox quota a full mailbox; an address 'not available here' an unknown
recipient; the recipient having exceeded its own message rate the recipient's rate limit.
Each family row is a paraphrase no record words that way and names the rule that must decide it (none is decided so
at 6168403); the look-alikes keep the readings they had at 6168403 (checked beside a copy of it).
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ('503 wrong state for MAIL command', 'protocol.sequence',
     'phr.protocol.wrong_state_for_command'),
    ('503 5.5.1 Bad state for RCPT', 'protocol.sequence',
     'phr.protocol.wrong_state_for_command'),
    ('503 Invalid session state for DATA command', 'protocol.sequence',
     'phr.protocol.wrong_state_for_command'),
    ('503 5.5.1 STARTTLS not allowed in this state', 'protocol.sequence',
     'phr.protocol.wrong_state_for_command'),
    ('503 EHLO command unexpected in the current state', 'protocol.sequence',
     'phr.protocol.wrong_state_for_command'),
    ('554 5.7.1 Matched map: FORBIDDEN_ATTACHMENT_EXTENSION', 'content.policy',
     'phr.content.forbidden_file_type'),
    ('550 Forbidden file extension in message', 'content.policy',
     'phr.content.forbidden_file_type'),
    ('554 Message contains a forbidden filename', 'content.policy',
     'phr.content.forbidden_file_type'),
    ('552 5.7.0 forbidden-file-type detected', 'content.policy',
     'phr.content.forbidden_file_type'),
    ('550 Users of this domain are not allowed to send mail without authentication', 'auth.required',
     'phr.auth.send_without_authorization'),
    ('553 You are not permitted to submit messages without logging in', 'auth.required',
     'phr.auth.send_without_authorization'),
    ('550 Administrative prohibition: authorization required for users of example.com', 'auth.required',
     'phr.auth.send_without_authorization'),
    ('554 5.7.1 <u@example.net>: Recipient address rejected: Quota exceeded.', 'mailbox.full',
     'phr.mailbox.recipient_rejected_quota_exceeded'),
    ('452 4.2.2 <u@example.net>: Recipient address rejected: Storage quota full', 'mailbox.full',
     'phr.mailbox.recipient_rejected_quota_exceeded'),
    ('550 5.7.1 Recipient address rejected: Disk quota reached', 'mailbox.full',
     'phr.mailbox.recipient_rejected_quota_exceeded'),
    ('550 The address you sent to is not available here', 'mailbox.unknown',
     'phr.mailbox.address_not_available_here'),
    ('553 Recipient jane@example.org is not available here', 'mailbox.unknown',
     'phr.mailbox.address_not_available_here'),
    ('551 User - bob - is not available here, closing', 'mailbox.unknown',
     'phr.mailbox.address_not_available_here'),
    ('450 The addressee has exceeded the inbound mail rate, try again later', 'mailbox.rate_limited',
     'phr.mailbox.recipient_exceeded_rate_limit'),
    ('451 4.2.1 User <u@example.com> has exceeded their delivery rate limit', 'mailbox.rate_limited',
     'phr.mailbox.recipient_exceeded_rate_limit'),
    ('550 Mailbox has exceeded its receiving rate', 'mailbox.rate_limited',
     'phr.mailbox.recipient_exceeded_rate_limit'),
])
def test_round33_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


LOOK_ALIKES = [
    ('550 Recipient domain is not hosted here', 'relay.denied'),
    ('503 5.5.1 Error: nested MAIL command', 'protocol.sequence'),
    ('503 Bad sequence of commands', 'protocol.sequence'),
    ('501 5.5.4 Invalid HELO state', 'helo.invalid'),
    ('550 5.7.1 Attachment type not allowed', 'content.policy'),
    ('554 5.7.1 Forbidden attachment extension', 'content.policy'),
    ('550 This message contains a forbidden word', 'content.policy'),
    ('554 5.7.1 This file type is not accepted', 'content.policy'),
    ('530 5.7.0 Authentication required', 'auth.required'),
    ('550 5.7.1 Relaying denied. Proper authentication required', 'relay.denied'),
    ('553 5.7.1 Sender address rejected: not owned by user', 'sender.invalid'),
    ('550 Administrative prohibition', 'policy.rejected'),
    ('503 5.5.1 Error: authentication not enabled', 'protocol.unsupported'),
    ('552 5.2.2 <u@example.com>: Recipient address rejected: Quota exceeded (mailbox for user is full)', 'mailbox.full'),
    ('550 5.7.1 Email quota exceeded.', 'rate.limited'),
    ('554 5.7.0 Daily quota reached for this account', 'rate.limited'),
    ('550 User is not known here', 'mailbox.unknown'),
    ('450 4.2.1 Mailbox is not available now, try again later', 'mailbox.unavailable'),
    ('550 Service is not available here', 'server.unavailable'),
    ('421 Service not available, closing transmission channel', 'server.unavailable'),
    ('421 4.7.0 Too many messages, rate limit exceeded', 'rate.limited'),
    ('451 4.7.1 You have exceeded your sending rate limit', 'rate.limited'),
    ('450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered', 'mailbox.rate_limited'),
    ('452 4.2.2 The email account that you tried to reach is over quota', 'mailbox.full'),
    ('550 5.7.1 Sender has exceeded their message rate', 'policy.rejected'),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
