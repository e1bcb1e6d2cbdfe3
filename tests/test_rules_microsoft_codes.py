"""Microsoft's own enhanced codes read by the code alone (provider_codes.toml, "Microsoft's own
enhanced codes, without its signature"): a reply that carries one of Exchange Online's private
codes and words no phrase rule reads gets the code's documented meaning, not the subject's
"other or undefined" reading; a phrase still decides over the code; the registry's codes and
private codes Microsoft's reference does not list keep their older readings."""

from __future__ import annotations

import pytest

from analyzer.classify import classify, example_frame


def _winner(text: str) -> tuple[str, str]:
    """(cause, id of the deciding rule) for a remote server's reply, read outbound by the rules
    alone (the table of known replies may overrule an enhanced-only rule; that is its own test)."""
    row = classify(example_frame([{"text": text, "direction": "outbound"}]), rule_ids=True,
                   attribute_causes=False, known_replies=False).iloc[0]
    return str(row["cause"]), str(row["rule_id"])


@pytest.mark.parametrize("text, cause", [
    ("550 5.4.300 [Hostname=BN8P220MB0001]", "queue.expired"),
    ("550 5.4.310 [Hostname=BN8P220MB0001]", "domain.not_found"),
    ("451 4.4.316 [Hostname=BN8P220MB0001]", "network.refused"),
    ("550 5.7.322 [Hostname=BN8P220MB0001]", "tls.failed"),
    ("550 5.7.325 [Hostname=BN8P220MB0001]", "tls.failed"),
    ("550 5.7.324 [Hostname=BN8P220MB0001]", "dns.failure"),
    ("530 5.7.57 [Hostname=BN8P220MB0001]", "auth.required"),
    ("550 5.7.64 [Hostname=BN8P220MB0001]", "relay.denied"),
    ("535 5.7.139 [Hostname=BN8P220MB0001]", "auth.sasl_failed"),
    ("550 5.7.134 [Hostname=BN8P220MB0001]", "policy.rejected"),
    ("550 5.7.750 [Hostname=BN8P220MB0001]", "policy.rejected"),
    ("550 5.7.502 [Hostname=BN8P220MB0001]", "policy.sender_blocked"),
    ("550 5.7.513 [Hostname=BN8P220MB0001]", "policy.sender_blocked"),
    ("550 5.7.504 [Hostname=BN8P220MB0001]", "mailbox.unknown"),
    ("550 5.7.508 [Hostname=BN8P220MB0001]", "rate.limited"),
    ("550 5.1.90 [Hostname=BN8P220MB0001]", "rate.limited"),
    ("550 5.7.515 [Hostname=BN8P220MB0001]", "auth.dmarc"),
    ("550 5.7.511 [Hostname=BN8P220MB0001]", "reputation.ip_listed"),
    ("550 5.7.620 [Hostname=BN8P220MB0001]", "reputation.ip_listed"),
    ("550 5.7.512 [Hostname=BN8P220MB0001]", "message.invalid"),
    ("550 5.6.11 [Hostname=BN8P220MB0001]", "message.invalid"),
    ("550 5.7.520 [Hostname=BN8P220MB0001]", "content.spam"),
    ("451 4.7.612 [Hostname=BN8P220MB0001]", "reputation.poor"),
    ("550 5.7.712 [Hostname=BN8P220MB0001]", "reputation.poor"),
])
def test_private_code_alone_reads_its_documented_meaning(text: str, cause: str) -> None:
    got, rule = _winner(text)
    assert got == cause, (text, rule)
    assert rule.startswith("microsoft.code."), (text, rule)


@pytest.mark.parametrize("text, cause", [
    # a phrase that names a reason still decides over the private code
    ("550 5.7.324 Mailbox full", "mailbox.full"),
    ("550 5.7.508 User unknown", "mailbox.unknown"),
    # codes of the IANA registry keep the registry's reading (X.7.13: user account disabled)
    ("550 5.7.13 [Hostname=BN8P220MB0001]", "mailbox.disabled"),
    # a private code Microsoft's reference does not list: the subject's fallback, as before
    ("550 5.7.199 [Hostname=BN8P220MB0001]", "policy.rejected"),
    ("550 5.4.399 [Hostname=BN8P220MB0001]", "network.timeout"),
])
def test_phrases_and_registry_codes_keep_their_reading(text: str, cause: str) -> None:
    got, rule = _winner(text)
    assert got == cause, (text, rule)
    assert not rule.startswith("microsoft.code."), (text, rule)
