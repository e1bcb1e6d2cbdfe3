"""Three readings r26-replyk found wrong (a message signature that cannot be verified, a HELO name
without an A record, too many messages containing spam) and their neighbours, which keep the reading
they had at 76dcb50: a DKIM or certificate signature, a HELO host not found, a sender or recipient
domain without records, too many messages alone or with viruses."""

from __future__ import annotations

import pytest

from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause", [
    ('550 Cannot verify the message signature', 'auth.dkim'),
    ('550 5.7.1 Unable to verify DKIM signature', 'auth.dkim'),
    ("554 Could not verify the sender's certificate signature", 'recipient.unverified'),
    ('550 Signature verification failed: your S/MIME certificate', 'message.invalid'),
    ('550 HELO name does not have a valid A record', 'helo.invalid'),
    ('504 Helo command rejected: Host not found', 'helo.invalid'),
    ('550 Sender domain does not have a valid A record', 'sender.invalid'),
    ('550 The domain example.com does not have a valid MX record', 'domain.not_found'),
    ('554 You have sent too many messages containing spam', 'reputation.poor'),
    ('554 Too many messages, slow down', 'rate.limited'),
    ('421 Too many messages in this connection', 'rate.limited'),
    ('550 You have sent too many messages containing spam to our users, your IP is blocked', 'reputation.poor'),
    ('550 Too many messages with viruses from your IP', 'content.virus'),
    ('550 Too many messages classified as spam from your IP', 'reputation.poor'),
    ('550 Too many messages from your IP', 'rate.limited'),
    ('550 HELO hostname has no A record', 'helo.invalid'),
    ('550 EHLO hostname has no A record', 'helo.invalid'),
])
def test_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
