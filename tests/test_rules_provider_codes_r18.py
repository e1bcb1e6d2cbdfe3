"""Providers' own codes read without their signature (provider_codes.toml, "r18-codes: more
providers' own codes"): a reply that carries Comcast's RL or older BL codes, a Trend Micro ERS
list, a Trellix ETP code, a Rackspace (Gnn) code or a T-Online tag, and words no phrase rule
reads, gets the code's documented meaning instead of the reply code's fallback; tokens that only
look alike keep their old readings."""

from __future__ import annotations

import pytest

from tests.test_rules_microsoft_codes import _winner  # (cause, deciding rule), rules only


@pytest.mark.parametrize("text, cause, rule", [
    ("451 4.2.0 See https://postmaster.comcast.net/smtp-error-codes.php#RL000001", "rate.limited", "comcast.rl_rate"),
    ("421 RL001", "rate.limited", "comcast.rl_rate"),
    ("554 Mail rejected - code BL007", "reputation.ip_listed", "comcast.bl_old"),
    ("554 BL0004", "reputation.ip_listed", "comcast.bl_old"),
    ("550 5.7.1 <a@example.com>: Recipient address rejected: ERS-QIL.", "reputation.ip_listed", "trendmicro.ers"),
    ("550 5.1.1 ETP101", "mailbox.unknown", "trellix.etp_recipient"),
    ("550 5.7.1 ETP100", "relay.denied", "trellix.etp_domain"),
    ("554 ETP104", "routing.loop", "trellix.etp_loop"),
    ("550 5.7.1 Sorry (G28)", "rate.limited", "rackspace.g_rate"),
    ("550 5.7.1 Sorry (G9)", "mailbox.unknown", "rackspace.g_unknown"),
    ("550 5.7.1 Sorry (G4)", "content.virus", "rackspace.g_virus"),
    ("554 IP=192.0.2.1 - (DIAL)", "reputation.ip_listed", "tonline.listed"),
    ("554 IP=192.0.2.1 - please contact us. (NOWL)", "reputation.poor", "tonline.nowl"),
])
def test_provider_code_alone_reads_its_documented_meaning(text: str, cause: str, rule: str) -> None:
    assert _winner(text) == (cause, rule)


@pytest.mark.parametrize("text, not_rule", [
    # a word that merely holds the letters is no code
    ("550 5.7.1 CURL0000 error", "comcast.rl_rate"),
    ("550 Relay access denied (RTR:BL)", "tonline.listed"),       # AOL's tag, not T-Online's
    ("550 5.7.1 ERS-RBLX", "trendmicro.ers"),
    ("550 5.1.1 ETP1020", "trellix.etp_recipient"),
    ("550 5.7.1 G28 blocked", "rackspace.g_rate"),                 # no parentheses: not Rackspace's code
    ("554 IP=192.0.2.1 (BL) - please contact us", "tonline.listed"),  # the tag ends T-Online's reply
])
def test_lookalike_tokens_are_not_read_as_codes(text: str, not_rule: str) -> None:
    assert _winner(text)[1] != not_rule


def test_phrase_still_decides_over_a_provider_code() -> None:
    """A phrase naming a reason of the same reply keeps its rule when it agrees; the provider's
    code decides only where the words say nothing more specific."""
    cause, _ = _winner("450 4.2.1 <a@example.com>: Mailbox received too much email in a short period of time (G30)")
    assert cause == "mailbox.rate_limited"
