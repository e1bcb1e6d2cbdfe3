"""What a close known reply needs to overrule a rule depends on how the rule decided
(analyzer.evidence): a phrase whose cause the rules also give as a bare verdict ('policy.rejected',
'server.unavailable' ...) gives way at THRESHOLDS['verdict'], a phrase naming a reason only to a
near-duplicate."""

from __future__ import annotations

from analyzer.classify import default_rules
from analyzer.evidence import rule_evidence, verdict_causes
from analyzer.rules._load import CODE_CLASS, CODE_EXACT, Rule, parse_status_pattern
from analyzer.similar import NEAR_DUPLICATE, THRESHOLDS, KnownReplies
from tests.test_classify_known import cause_of, row

#: A phrase rule reads this as 'server.unavailable' (a verdict: the server refused for now).
VERDICT = "451 4.3.0 Temporary failure, try again later"
#: A phrase rule reads this as an unknown user (a reason).
REASON = "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table"


def test_shipped_verdict_causes():
    """The shipped rules' bare verdicts: refusals that name no reason, not the reasons."""
    got = verdict_causes(default_rules().rules)
    assert {"policy.rejected", "server.unavailable", "mailbox.unavailable"} <= got
    assert not {"mailbox.unknown", "mailbox.full", "content.spam", "auth.dmarc", "relay.denied"} & got


def _rule(ident: str, cause: str, **kw) -> Rule:
    return Rule(id=ident, cause=cause, source="test", **kw)


def test_verdict_causes_come_from_the_rules_themselves():
    """Causes of the verdict band, of subject-only enhanced fallbacks and of class-only code
    rules; not of a registered enhanced detail, an exact code or a reason phrase."""
    rules = [
        _rule("v", "a.verdict", text="refused", band="verdict"),
        _rule("subj", "b.subject", enhanced=(parse_status_pattern("X.7.X"),)),
        _rule("cls", "c.class", codes=frozenset({550}), code_score=CODE_CLASS),
        _rule("det", "d.detail", enhanced=(parse_status_pattern("X.1.1"),)),
        _rule("code", "e.code", codes=frozenset({552}), code_score=CODE_EXACT),
        _rule("phr", "f.reason", text="user unknown"),
    ]
    assert verdict_causes(rules) == {"a.verdict", "b.subject", "c.class"}
    assert rule_evidence(rules[5], verdict_causes(rules)) == "phrase"
    assert rule_evidence(rules[0], verdict_causes(rules)) == "verdict"
    assert rule_evidence(rules[0]) == "phrase"  # no verdicts given: any text rule is a phrase
    assert [rule_evidence(r) for r in rules[1:5]] == ["enhanced", "class", "enhanced", "code"]


def test_a_verdict_phrase_gives_way_to_a_close_known_reply():
    near = KnownReplies([row("n", "451 4.3.0 Temporary failure of the message store backend, try again later",
                             "server.error")])
    sim = float(near.nearest([VERDICT]).similarity[0])
    assert THRESHOLDS["verdict"] <= sim < NEAR_DUPLICATE
    assert cause_of(VERDICT, known=False) == ("server.unavailable", "server.unavailable")
    assert cause_of(VERDICT, known=near) == ("server.error", "known_reply:n")


def test_a_reason_phrase_keeps_its_cause_at_the_same_similarity():
    near = KnownReplies([row("n", "550 5.1.1 <x@y.example>: Recipient address rejected: User unknown in "
                             "virtual mailbox table, account disabled by admin", "mailbox.disabled")])
    sim = float(near.nearest([REASON]).similarity[0])
    assert THRESHOLDS["verdict"] <= sim < NEAR_DUPLICATE
    assert cause_of(REASON, known=near) == ("mailbox.unknown", "mailbox.unknown")


def test_a_verdict_phrase_keeps_its_cause_below_the_verdict_threshold():
    """A known reply sharing only some words with a verdict phrase does not decide."""
    far = KnownReplies([row("f", "451 4.3.0 message store offline, come back tomorrow", "server.error")])
    sim = float(far.nearest([VERDICT]).similarity[0])
    assert 0 < sim < THRESHOLDS["verdict"]
    assert cause_of(VERDICT, known=far) == ("server.unavailable", "server.unavailable")
