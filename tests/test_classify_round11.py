"""Table tests for rounds 11 and 12 of issue 9's reply set (bench/replies/README.md, "Round 11"):
the rules written after scoring those rounds read replies worded as no record words them, each
through the rule written for it, and leave look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("452 4.5.3 Outbound quota exceeded for this account", "rate.limited", "phr.rate.sending_quota"),
    ("550 Your message count quota has been used up", "rate.limited", "phr.rate.sending_quota"),
    ("554 Send quota of this account is used up", "rate.limited", "phr.rate.sending_quota"),
    ("450 Only 20 messages per 10 minutes accepted from you", "rate.limited", "kw.rate.count_per_period"),
    ("421 100 connections per hour from your network", "rate.limited", "kw.rate.count_per_period"),
    ("451 4.7.1 Gray - come back in five minutes", "greylisted", "kw.greylisted.grey"),
    ("550 Rejected: known spammer, see psbl.surriel.com", "reputation.ip_listed", "phr.reputation.dnsbl_zone_named"),
    ("554 Spam source refused: bl.mailspike.net", "reputation.ip_listed", "phr.reputation.dnsbl_zone_named"),
    ("554 Spam source detected: 192.0.2.1 in cbl.abuseat.org", "reputation.ip_listed", "phr.reputation.dnsbl_zone_named"),
    ("554 Connection rejected by policy [7.1] 1234, please visit the support site",
     "reputation.ip_listed", "symantec.connection_rejected_by_policy"),
    ("550 5.7.1 Refused by local policy. No SPAM please! (B-ATTACH, B-URL)", "content.policy", "strato.b_attach"),
])
def test_round11_rule_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    # a mailbox's own quota stays a full mailbox
    ("Sorry the recipient quota limit is exceeded.", "mailbox.full"),
    ("552 5.2.2 Mailbox quota exceeded", "mailbox.full"),
    ("550 User quota exceeded", "mailbox.full"),
    # a domain list named in the reply stays a domain listing, an open resolver a misconfiguration
    ("554 5.7.1 Message rejected: URL listed at dbl.spamhaus.org", "reputation.domain_listed"),
    ("554 5.7.1 Service unavailable; Client host [192.0.2.5] blocked using zen.spamhaus.org; "
     "Error: open resolver; https://www.spamhaus.org/returnc/pub/192.0.2.5", "server.misconfigured"),
    # a spam verdict without a list's zone stays a spam verdict; STRATO's other markers too
    ("554 Message refused: spam source detected", "content.spam"),
    ("550 5.7.1 Refused by local policy. No SPAM please! (B-URL)", "content.spam"),
    # Symantec's words without its [7.x] code stay a bare policy refusal
    ("554 Connection rejected by policy", "policy.rejected"),
    # a count per message is no rate; greylisting's usual words keep their rule
    ("452 Too many recipients, please reduce to less than 50", "message.too_many_recipients"),
    ("450 4.2.0 Recipient address rejected: Greylisted, please try again", "greylisted"),
])
def test_round11_rules_leave_lookalikes_alone(text, cause):
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause, rule_id", [
    ("554 Ihre IP steht auf einer Sperrliste", "reputation.ip_listed", "kw.reputation.ip_listed"),
    ("550 Absender steht auf der Sperrliste des Empfängers", "policy.sender_blocked",
     "phr.policy.sender_on_block_list_languages"),
    ("550 L'expéditeur figure sur la liste noire du destinataire", "policy.sender_blocked",
     "phr.policy.sender_on_block_list_languages"),
    ("550 Remitente en la lista negra del destinatario", "policy.sender_blocked",
     "phr.policy.sender_on_block_list_languages"),
])
def test_block_list_words_in_other_languages(text, cause, rule_id):
    """A block list named in German, French, Spanish, Polish ... is a listing of the IP, and of the
    sender where the reply names the sender."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    ("554 IP en lista negra", "reputation.ip_listed"),
    ("554 Adresse IP bloquee", "reputation.ip_listed"),
])
def test_ip_on_a_list_in_other_languages_stays_a_listing(text, cause):
    assert cause_of(text) == cause
