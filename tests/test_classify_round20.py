"""Table tests for round 20 of issue 9's reply set (bench/replies/README.md, "Round 20"): a step
of the SMTP exchange that timed out ('rcpt handle timeout', a Chinese hoster's bounce hint) is a
network timeout, not an unknown recipient; words that only share 'timeout' or 'rcpt' keep their
older readings; and the round's other replies, right before any rule, stay right."""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text", [
    "rcpt handle timeout",
    "451 4.4.2 mail handle timeout, try again later",
    "421 connection processing timed out",
])
def test_smtp_step_timed_out(text: str) -> None:
    assert _winner(text) == ("network.timeout", "network.timeout_phrasings")


@pytest.mark.parametrize("text, cause", [
    # a server that gave up waiting for our data: its own session timeout, read outbound
    ("421 4.4.2 Timeout waiting for data from client", "session.timed_out_by_remote"),
    # an unknown recipient named with 'rcpt' keeps its reading
    ("550 5.1.1 rcpt user unknown", "mailbox.unknown"),
])
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", [
    ("451 4.2.0 Throttled - https://postmaster.comcast.net/smtp-error-codes.php#RL000010", "rate.limited"),
    ("550 5.7.1 <rec@atrix.com.au>: Recipient address rejected: ERS-RBL.", "reputation.ip_listed"),
    ("Content reject/Spam denied", "content.spam"),
    ("The recipient has exceeded their mailbox limit", "mailbox.full"),
    ("Host or domain name not found / Type=A: Host not found", "domain.not_found"),
])
def test_round20_replies_right_before_any_rule_stay_right(text: str, cause: str) -> None:
    assert cause_of(text) == cause


@pytest.mark.parametrize("text", [
    "The recipient has exceeded their mailbox limit",
    "552 5.2.2 This user has exceeded the mailbox quota",
])
def test_exceeded_the_mailbox_limit_is_a_full_mailbox(text: str) -> None:
    assert cause_of(text) == "mailbox.full"
