"""bench/learned_nb.py and bench/cv_learned.py: the naive Bayes fallback measured out of group (not
shipped): what the model reads, that a left-out group's replies are scored by a model that never saw
the group, and that it only overrules weak decisions the table left alone."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import cv_grouped  # noqa: E402
import cv_learned  # noqa: E402
import learned_nb  # noqa: E402

sys.path.remove(str(ROOT / "bench"))

TRAIN = [
    ("550 5.1.1 frobnitz mailbox does not exist here", "mailbox.unknown"),
    ("550 no such frobnitz mailbox on this system", "mailbox.unknown"),
    ("552 frobnitz storage allotment used up for this account", "mailbox.full"),
    ("452 storage allotment of the frobnitz account used up", "mailbox.full"),
]


def toy() -> learned_nb.Learned:
    return learned_nb.fit([t for t, _ in TRAIN], [c for _, c in TRAIN])


def test_posterior_reads_the_wording_and_knows_nothing_of_unseen_tokens():
    m = toy()
    best, p = m.posterior(["550 storage allotment used up", "zzqx wobble", ""])
    assert m.causes[best[0]] == "mailbox.full" and 0.5 < p[0] <= 1.0
    assert list(best[1:]) == [-1, -1] and list(p[1:]) == [0.0, 0.0]
    got = m.posterior(["no such mailbox here", "storage used up"])
    assert [m.causes[b] for b in got[0]] == ["mailbox.unknown", "mailbox.full"]
    assert np.all((got[1] > 0) & (got[1] <= 1))


def test_fit_does_not_depend_on_the_order_of_the_replies():
    a, b = toy(), learned_nb.fit([t for t, _ in reversed(TRAIN)], [c for _, c in reversed(TRAIN)])
    assert a.causes == b.causes and a.tokens == b.tokens
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.cause_idx, b.cause_idx)
    q = ["no such mailbox", "allotment used up", "frobnitz"]
    assert np.allclose(a.posterior(q)[1], b.posterior(q)[1])


def test_overrules_only_weak_kinds_and_never_with_the_rules_own_cause():
    from analyzer.classify import default_rules

    kb = default_rules()
    assert learned_nb.overrules("code", "mailbox.unavailable", "mailbox.full", 1.0, kb, {"code": 0.9})
    assert not learned_nb.overrules("code", "mailbox.unavailable", "mailbox.full", 0.8, kb, {"code": 0.9})
    assert not learned_nb.overrules("phrase", "mailbox.unavailable", "mailbox.full", 1.0, kb, {"code": 0.9})
    assert not learned_nb.overrules("code", "mailbox.full", "mailbox.full", 1.0, kb, {"code": 0.9})
    assert not learned_nb.overrules("code", "mailbox.unavailable", "no.such_cause", 1.0, kb, {"code": 0.9})
    assert all(k not in learned_nb.THRESHOLDS for k in ("phrase", "provider", "context", "verdict", "enhanced"))


def _rec(ident: str, text: str, cause: str, source: str) -> dict:
    return {"id": ident, "text": text, "expected_cause": cause, "direction": "outbound", "provider": source,
            "source": source, "licence": "MIT"}


def _outcome(rec: dict, rule_cause: str, kind: str, known: str | None = None) -> cv_grouped.Outcome:
    return cv_grouped.Outcome(rec, rule_cause, None, False, rule_cause, kind, known or rule_cause, None,
                              (kind, rule_cause, rec["text"]))


def test_offers_leave_the_group_out_and_decide_only_weak_untouched_answers():
    recs = [_rec("a1", "552 frobnitz storage allotment used up", "mailbox.full", "page A"),
            _rec("a2", "552 frobnitz storage allotment used up again", "mailbox.full", "page A"),
            _rec("b1", "550 quuxly storage allotment used up", "mailbox.full", "page B"),
            _rec("c1", "550 no such mailbox on this system", "mailbox.unknown", "page C"),
            _rec("c2", "550 mailbox does not exist here", "mailbox.unknown", "page C")]
    outs = [_outcome(recs[0], "mailbox.unavailable", "code"),
            _outcome(recs[1], "mailbox.unavailable", "phrase"),
            _outcome(recs[2], "mailbox.unavailable", "code"),
            _outcome(recs[3], "mailbox.unavailable", "code", known="mailbox.unknown"),
            _outcome(recs[4], "mailbox.unknown", "phrase")]
    got = cv_learned.offers(outs, "source")
    # b1's group is alone: its model learnt 'storage allotment used up' from page A only
    assert got[2] is not None and got[2][0] == "mailbox.full"
    # a1 and a2 are scored without page A: 'frobnitz' is unknown to their model
    solo = learned_nb.fit([r["text"] for r in recs if r["source"] != "page A"],
                          [r["expected_cause"] for r in recs if r["source"] != "page A"])
    best, p = solo.posterior([recs[0]["text"]])
    assert got[0] == (solo.causes[best[0]], float(p[0]))
    cv_learned.decide(outs, got, {"code": 0.0})
    assert outs[2].learned == "mailbox.full"  # a code-only answer overruled
    assert outs[1].learned == outs[1].known  # a phrase kept
    assert outs[3].learned == "mailbox.unknown"  # the table had already decided
    cv_learned.decide(outs, got, {})
    assert [o.learned for o in outs] == [o.known for o in outs]
