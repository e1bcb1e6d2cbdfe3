"""Table tests for round 13 of issue 9's reply set (bench/replies/README.md, "Round 13"): the rules
written after scoring that round read replies worded as no record words them, each through the
rule written for it, and leave look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("451 4.3.0 Mail could not be saved, try again", "server.error", "phr.server.store_failed"),
    ("451 Unable to write the queue file", "server.error", "phr.server.store_failed"),
    ("554 Your server is listed on multiple RBLs", "reputation.ip_listed", "phr.reputation.listed_in_many"),
    ("550 Host listed in 4 blocklists", "reputation.ip_listed", "phr.reputation.listed_in_many"),
    ("554 Message appeared to be SPAM or forged", "reputation.poor", "phr.reputation.weighted_spam_or_forged"),
    ("550 EHLO hostname unknown", "helo.invalid", "phr.helo.name_not_found"),
    ("550 HELO name does not exist in DNS", "helo.invalid", "phr.helo.name_not_found"),
    ("553 Unresolvable envelope domain", "sender.invalid", "phr.sender.requires_valid_domain"),
    ("553 Sender refused by this server", "sender.invalid", "phr.sender.refused_verdict"),
    ("421 Too many clients at once, try later", "rate.limited", "rate.phrasings"),
    ("451 Try again later GL/GL", "greylisted", "bluehost.gl_markers"),
    ("550 Rejected GL/BL", "policy.sender_blocked", "bluehost.gl_bl"),
])
def test_round13_rule_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    # a local delivery agent's quota stays a full mailbox
    ("error writing message: File too large", "mailbox.full"),
    # a forged sender named as such stays spoofing
    ("550 Forged sender address", "auth.spoofed"),
    # a reason after the sender verdict still decides
    ("550 5.1.8 <x@example.com>: Sender address rejected: Domain not found", "sender.invalid"),
    ("554 5.7.1 <x@example.com>: Sender address rejected: Access denied", "policy.sender_blocked"),
    # a recipient domain that does not exist is not a HELO name
    ("550 5.1.2 Recipient domain does not exist", "domain.not_found"),
])
def test_round13_look_alikes_keep_their_cause(text, cause):
    assert cause_of(text) == cause
