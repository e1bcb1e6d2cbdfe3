"""bench/cv_known.py: a fold's table is built from the other records only and decides as the
classifier does."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import cv_known  # noqa: E402

sys.path.remove(str(ROOT / "bench"))


def rec(ident: str, text: str, cause: str) -> dict:
    return {"id": ident, "text": text, "expected_cause": cause, "direction": "outbound", "provider": "p",
            "source": "s", "licence": "MIT"}


def test_decide_uses_only_the_training_records():
    """A code-only answer is overruled by a close training reply, a phrase answer is not; with an
    empty training part the rules' answers stand."""
    from analyzer.similar import KnownReplies

    train = [rec("t1", "550 5.7.1 frobnicator says your sender domain smells of herring", "policy.sender_blocked"),
             rec("t2", "552 mailbox storage allotment used up for this account", "mailbox.full")]
    answers = [
        cv_known.Answer(rec("q1", "550 frobnicator says your sender domain smells of herring", "policy.sender_blocked"),
                        "mailbox.unavailable", ("code", "mailbox.unavailable",
                                                "550 frobnicator says your sender domain smells of herring")),
        cv_known.Answer(rec("q2", "552 mailbox storage allotment nearly used up", "mailbox.full"),
                        "message.too_big", ("phrase", "message.too_big", "552 mailbox storage allotment nearly used up")),
        cv_known.Answer(rec("q3", "250 ok", "mailbox.full"), "unknown", None),
    ]
    got = cv_known.decide(answers, train, KnownReplies, None)
    assert got == ["policy.sender_blocked", "message.too_big", "unknown"]
    assert cv_known.decide(answers, [], KnownReplies, None) == [a.rules for a in answers]
    assert [r["id"] for r in cv_known.table_rows(list(reversed(train)))] == ["t1", "t2"]


def test_grouped_support_names_only_rules_right_for_one_group():
    """bench/cv_grouped.py: a rule's support is the groups of the records it decides rightly; a
    wrong answer gives no support; the same rule right in two groups is supported by both."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import cv_grouped
    finally:
        sys.path.remove(str(ROOT / "bench"))
    recs = [dict(rec("a", "550 x", "mailbox.unknown"), source="page one"),
            dict(rec("b", "550 y", "mailbox.unknown"), source="page two"),
            dict(rec("c", "550 z", "mailbox.full"), source="page two"),
            dict(rec("d", "550 w", "mailbox.full"), source="page three")]
    wins = [("mailbox.unknown", "r.shared"), ("mailbox.unknown", "r.shared"),
            ("mailbox.full", "r.own"), ("mailbox.unknown", "r.wrong")]
    sup = cv_grouped.support(recs, wins, "source")
    assert sup["r.shared"] == {"page one", "page two"}
    assert sup["r.own"] == {"page two"}
    assert "r.wrong" not in sup


def test_grouped_decide_follows_the_thresholds():
    """An offer the table makes overrules the rules' answer only at or above its kind's threshold."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import cv_grouped
    finally:
        sys.path.remove(str(ROOT / "bench"))
    row = {"id": "k", "cause": "mailbox.full", "also_accept": []}
    o = cv_grouped.Outcome(rec("q", "552 z", "mailbox.full"), "mailbox.unavailable", "code.552", False,
                           "mailbox.unavailable", "code", "mailbox.unavailable",
                           ("code", "mailbox.unavailable", row, 0.2))
    cv_grouped.decide([o], {"code": 0.3})
    assert o.known == "mailbox.unavailable"
    cv_grouped.decide([o], {"code": 0.15})
    assert o.known == "mailbox.full"
