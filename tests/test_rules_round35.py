"""Table tests for round 35 of issue 9's reply set (bench/replies/README.md, "Round 35"): replies that administrators
pasted in forum threads and a list archive, and hosters' and providers' help pages in German, Polish, Korean and
Chinese. Two wordings more than one server uses: RFC 3463's subject text for X.1.2, 'Bad destination system address',
a recipient domain that does not exist (the table read an unknown mailbox); and 'domain owner (DMARC) policy', the From
domain's published DMARC policy, not the receiver's own (a bare policy refusal before).
Each family row is a paraphrase no record words that way; the rule named must decide it with the rules alone, and the
cause must hold with the known table too; none of them is read so at 1d90eab (checked beside a copy of it). The
look-alikes keep the readings they had at 1d90eab.
"""

from __future__ import annotations

import pytest

from tests.test_classify_phrasings import cause_of
from tests.test_classify_round34 import _rules_winner


@pytest.mark.parametrize("text, cause, rule_id", [
    ('550 Bad destination system address', 'domain.not_found',
     'phr.domain.bad_destination_system_address'),
    ('554 5.1.2 Bad destination host address: example.invalid', 'domain.not_found',
     'phr.domain.bad_destination_system_address'),
    ('550 5.7.1 Message refused: bad destination domain address', 'domain.not_found',
     'phr.domain.bad_destination_system_address'),
    ('5.7.1 Mail from example.com rejected due to domain owner policy restrictions', 'auth.dmarc',
     'phr.auth.dmarc_domain_owner_policy'),
    ("451 4.7.1 Deferred: the sender domain owner's policy asks us to reject unauthenticated mail", 'auth.dmarc',
     'phr.auth.dmarc_domain_owner_policy'),
])
def test_round35_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _rules_winner(text) == (cause, rule_id)
    assert cause_of(text) == cause


LOOK_ALIKES = [
    ('550 Bad destination mailbox address', 'mailbox.unknown'),
    ('553 5.1.3 Bad destination mailbox address syntax', 'address.invalid'),
    ("553 5.1.8 Bad sender's system address", 'sender.invalid'),
    ('550 5.1.2 Host unknown (Name server: example.invalid: host not found)', 'domain.not_found'),
    ('550 <example@example.com>: Reject due to SPF policy. The originating IP of the message is not permitted by '
     'the domain owner', 'auth.spf'),
    ("550 5.7.1 Rejected by the domain owner's SPF policy", 'auth.spf'),
    ('550 5.7.1 Message rejected due to policy restrictions', 'policy.rejected'),
    ('554 5.7.1 Message rejected due to local policy restrictions', 'policy.rejected'),
    ("550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy", 'auth.dmarc'),
    ('550 5.7.1 Delivery not authorized, message refused', 'policy.rejected'),
]


@pytest.mark.parametrize("text, cause", LOOK_ALIKES)
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
