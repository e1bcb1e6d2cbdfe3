"""Table tests for round 19 of issue 9's reply set (bench/replies/README.md, "Round 19"): Postfix's
reject_rbl_client wording with the client's name in the brackets and 'blocked by' for 'blocked
using' is an IP listing, while the same words followed by the receiver's own list (Microsoft's
5.7.513), the masked-IP form and the '(x:blocked)' tail alone keep their older readings."""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text", [
    "Service unavailable; Client host [mail.example.com] blocked by bl.spamcop.net; 192.0.2.1 (mail.example.com:blocked)",
    "554 Client host [mx1.example.org] blocked by zen.spamhaus.org",
    "550 5.7.1 Client host [out.example.net] rejected using b.barracudacentral.org; see the list's page",
    "554 Service unavailable; Client host [relay.example.com] is blocked by dnsbl.sorbs.net (listed)",
])
def test_named_client_blocked_by_a_list(text: str) -> None:
    assert _winner(text) == ("reputation.ip_listed", "phr.reputation.client_host_blocked_by_list")


@pytest.mark.parametrize("text, cause", [
    # the receiver's own block list named after the zone-like domain (Microsoft's 5.7.513)
    ("550 5.7.513 Service unavailable, Client host [mail.example.com] blocked by contoso.com using "
     "Customer Block list (AS16012607)", "policy.sender_blocked"),
    # the masked-IP form: reputation.ip_listed's own 'Client host [~] blocked'
    ("554 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "reputation.ip_listed"),
    # the '(x:blocked)' tail without a list: a block of the sender
    ("550 permanent failure for one or more recipients (user@example.com:blocked)", "policy.sender_blocked"),
])
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause
