"""analyzer.learned: the learned fallback for the rules' weak decisions, its data file and its
place in the classifier (weak evidence only, outbound only, after the known replies)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from analyzer import learned
from analyzer.classify import classify, default_rules, example_frame

TRAIN = [
    ("550 5.1.1 frobnitz mailbox does not exist here", "mailbox.unknown"),
    ("550 no such frobnitz mailbox on this system", "mailbox.unknown"),
    ("552 frobnitz storage allotment used up for this account", "mailbox.full"),
    ("452 storage allotment of the frobnitz account used up", "mailbox.full"),
]


def toy() -> learned.Learned:
    return learned.fit([t for t, _ in TRAIN], [c for _, c in TRAIN])


def test_posterior_reads_the_wording_and_knows_nothing_of_unseen_tokens():
    m = toy()
    best, p = m.posterior(["550 storage allotment used up", "zzqx wobble", ""])
    assert m.causes[best[0]] == "mailbox.full" and 0.5 < p[0] <= 1.0
    assert list(best[1:]) == [-1, -1] and list(p[1:]) == [0.0, 0.0]
    got = m.posterior(["no such mailbox here", "storage used up"])
    assert [m.causes[b] for b in got[0]] == ["mailbox.unknown", "mailbox.full"]
    assert np.all((got[1] > 0) & (got[1] <= 1))


def test_model_file_round_trips_and_is_deterministic(tmp_path):
    m = toy()
    text = learned.model_text(m)
    assert text == learned.model_text(learned.fit([t for t, _ in reversed(TRAIN)], [c for _, c in reversed(TRAIN)]))
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    back = learned.read_model(path)
    assert back is not None and back.causes == m.causes
    q = ["no such mailbox", "allotment used up", "frobnitz"]
    assert np.array_equal(back.posterior(q)[0], m.posterior(q)[0])
    assert np.allclose(back.posterior(q)[1], m.posterior(q)[1])
    path.write_text(json.dumps({"version": -1}), encoding="utf-8")
    assert learned.read_model(path) is None
    assert learned.read_model(tmp_path / "missing.json") is None


def test_overrules_only_weak_kinds_and_never_with_the_rules_own_cause():
    kb = default_rules()
    assert learned.overrules("code", "mailbox.unavailable", "mailbox.full", 1.0, kb, {"code": 0.9})
    assert not learned.overrules("code", "mailbox.unavailable", "mailbox.full", 0.8, kb, {"code": 0.9})
    assert not learned.overrules("phrase", "mailbox.unavailable", "mailbox.full", 1.0, kb, {"code": 0.9})
    assert not learned.overrules("code", "mailbox.full", "mailbox.full", 1.0, kb, {"code": 0.9})
    assert not learned.overrules("code", "mailbox.unavailable", "no.such_cause", 1.0, kb, {"code": 0.9})
    assert all(k not in learned.THRESHOLDS for k in ("phrase", "provider", "context"))


def test_fallback_asks_one_posterior_per_text_and_only_weak_asked_combinations():
    kb = default_rules()
    m = toy()
    code_rule = next(i for i, r in enumerate(kb.rules) if r.cause == "mailbox.unavailable")
    texts = pa.array(["552 frobnitz storage allotment used up", "zzqx wobble"])
    evidence = ["code", "phrase", "code", "code"]
    best = np.array([code_rule, code_rule, code_rule, -1])
    asked = np.array([True, True, False, True])
    got = learned.fallback(kb, evidence, best, asked, np.array([1, 1, 1, 2]), texts, m)
    assert set(got) == {0}  # the phrase is kept, the third was not asked, the fourth's text is unknown
    cause, p, n = got[0]
    assert cause == "mailbox.full" and p >= learned.THRESHOLDS["code"] and n == 2
    assert learned.explanation(cause, p, n).startswith("learned:mailbox.full (posterior")
    assert learned.fallback(kb, [], np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64), texts, m) == {}


def _reply(text: str, direction: str) -> dict:
    return {"text": text, "event": "delivery", "status": "bounced", "direction": direction}


def _classified(rows: list[dict], **kw) -> list[tuple[str, str]]:
    got = classify(example_frame(rows), rule_ids=True, attribute_causes=False, **kw)
    return list(zip(got["cause"].tolist(), got["rule_id"].tolist(), strict=True))


def _empty() -> object:
    from analyzer.similar import KnownReplies

    return KnownReplies([])  # no known reply overrules: the learned step is asked


@pytest.fixture()
def decided() -> tuple[str, str, str]:
    """Development replies the shipped rules read by a basic code alone and the shipped model
    reads otherwise (the first that does; with the shipped table a known reply answers them)."""
    texts = ["450 Temporarily undeliverable: sticky home directory", "550 You are not who you say you are"]
    for t in texts:
        rules = _classified([_reply(t, "outbound")], known_replies=False)
        with_learned = _classified([_reply(t, "outbound")], known_replies=_empty())
        if with_learned[0][1].startswith("learned:"):
            return t, rules[0][0], with_learned[0][0]
    pytest.skip("no test wording is read by a weak rule and a confident model")


def test_classifier_uses_it_outbound_only_and_explains_it(decided):
    text, rules_cause, learned_cause = decided
    assert learned_cause != rules_cause
    both = [_reply(text, "outbound"), _reply(text, "inbound")]
    (out_cause, out_id), (in_cause, in_id) = _classified(both, known_replies=_empty())
    assert out_cause == learned_cause and out_id.startswith("learned:") and "known replies" in out_id
    assert not in_id.startswith("learned:")  # inbound readings stay the rules'
    with learned.off():
        got = _classified(both, known_replies=_empty())
        assert [c for c, _ in got] == [rules_cause, in_cause]
    assert _classified([_reply(text, "outbound")], known_replies=False)[0][0] == rules_cause


def test_phrase_decisions_are_never_touched():
    rows = [_reply("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
                   "outbound")]
    assert not _classified(rows)[0][1].startswith("learned:")


def test_shipped_model_is_what_the_development_part_gives():
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "tools"))
    try:
        import build_learned
    finally:
        sys.path.remove(str(root / "tools"))
    assert build_learned.main(["--check"]) == 0
    assert learned.default_model() is not None
