"""classify() and explain() with known replies: weak rule evidence gives way to a close known
reply, a phrase rule only to a near-duplicate, and never in the inbound direction."""

from __future__ import annotations

import json

import pytest

from analyzer.classify import classify, example_frame
from analyzer.explain import explain, render_explain
from analyzer.similar import NEAR_DUPLICATE, SIMILAR_ENOUGH, KnownReplies


def row(ident: str, text: str, cause: str, **more) -> dict:
    return {"id": ident, "text": text, "cause": cause, "also_accept": [], "provider": "Example Mail",
            "source": "https://example.org/codes", "licence": "MIT", **more}


#: 550 with no phrase the rules know: the rules read only the code (mailbox.unavailable).
CODE_ONLY = "550 frobnicated beyond repair by the gateway"
#: A phrase rule reads this as an unknown user.
PHRASE = "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table"
TABLE = KnownReplies([
    row("full1", "550 frobnicated beyond repair by the gateway, sorry", "mailbox.full"),
    # shares most words with PHRASE but is no near-duplicate of it
    row("quota", "550 5.1.1 <x@y.example>: Recipient address rejected: quota exceeded in virtual "
        "mailbox table", "mailbox.full"),
])


def cause_of(text: str, direction: str | None = "outbound", known=TABLE, **kw) -> tuple[str, str]:
    ev = example_frame([{"text": text, "code": int(text[:3]), "direction": direction,
                         "event": "delivery", "status": "bounced"}])
    got = classify(ev, rule_ids=True, attribute_causes=False, known_replies=known, **kw)
    return str(got["cause"].iloc[0]), str(got["rule_id"].iloc[0])


def test_code_only_rule_loses_to_a_close_known_reply():
    """A reply the rules read only by its code takes the close known reply's cause."""
    assert TABLE.nearest([CODE_ONLY]).similarity[0] >= SIMILAR_ENOUGH
    assert cause_of(CODE_ONLY, known=False) == ("policy.rejected", "code.550")
    assert cause_of(CODE_ONLY) == ("mailbox.full", "known_reply:full1")


def test_phrase_rule_wins_over_a_neighbour_that_is_no_near_duplicate():
    """A phrase rule keeps its cause against a similar (not near-duplicate) known reply ..."""
    sim = TABLE.nearest([PHRASE]).similarity[0]
    assert SIMILAR_ENOUGH <= sim < NEAR_DUPLICATE
    assert cause_of(PHRASE) == ("mailbox.unknown", "mailbox.unknown")


def test_near_duplicate_overrules_a_phrase_rule():
    """... and gives way to a near-duplicate that says otherwise."""
    dup = KnownReplies([row("dup", PHRASE.replace("a@b.example", "c@d.example"), "mailbox.disabled")])
    assert cause_of(PHRASE, known=dup) == ("mailbox.disabled", "known_reply:dup")


@pytest.mark.parametrize("direction", ["inbound", "local"])
def test_other_directions_never_use_the_table(direction):
    """Known replies are remote servers answering us: our own server's replies keep the rules'."""
    cause, rule_id = cause_of(CODE_ONLY, direction=direction)
    assert rule_id == "code.550" and not cause.startswith("mailbox.full")


def test_successes_and_unrelated_replies_keep_the_rule():
    """A 2xx reply is never looked up; a failure with no close known reply keeps the rule."""
    ev = example_frame([{"text": "250 2.0.0 frobnicated beyond repair by the gateway", "code": 250,
                         "direction": "outbound", "event": "delivery", "status": "sent"}])
    got = classify(ev, rule_ids=True, attribute_causes=False, known_replies=TABLE)
    assert not str(got["rule_id"].iloc[0]).startswith("known_reply")
    assert cause_of("550 totally different words entirely")[1] == "code.550"


def test_explain_names_the_known_reply_it_answered_from():
    """explain of a pasted reply says which known reply decided, with provider and source."""
    e = explain(CODE_ONLY, known_replies=TABLE)
    assert e["cause"] == "mailbox.full" and e["known_reply"]["id"] == "full1"
    text = render_explain(e)
    assert ("closest known reply: 550 frobnicated beyond repair by the gateway, sorry "
            "(Example Mail, https://example.org/codes)") in text
    assert json.loads(render_explain(e, "json"))["known_reply"]["provider"] == "Example Mail"
    assert "known_reply" not in explain(CODE_ONLY, known_replies=False)
    assert explain(CODE_ONLY, known_replies=TABLE, direction="inbound")["cause"] != "mailbox.full"


def test_explain_escapes_the_known_reply():
    """A known reply's text is log text: control characters and Markdown are escaped."""
    table = KnownReplies([row("esc", "550 frobnicated beyond repair by the gateway \x1b[31m*evil* "
                              "[link](http://x.example) `tick`", "mailbox.full",
                              provider="Evil\x1b]0;title\x07 <b>Corp</b>")])
    e = explain(CODE_ONLY, known_replies=table)
    assert e["known_reply"]["id"] == "esc"
    text = render_explain(e)
    assert "\x1b" not in text and "\x07" not in text
    md = render_explain(e, "markdown")
    line = next(x for x in md.splitlines() if "Closest known reply" in x)
    assert "\\*evil\\*" in line and "\\[link\\]" in line and "\\`tick\\`" in line
    assert "<b>" not in line and "\x1b" not in line


def test_cross_validation_folds_keep_a_source_together():
    """eval_classify --cv: the replies of one page (numbers folded) fall in one fold, so a
    near-duplicate never sits on both sides of a fold."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    try:
        import eval_classify as ev
    finally:
        sys.path.pop(0)
    recs = [{"source": f"sisimai/p5-sisimai set-of-emails/maildir/bsd/lhost-qmail-{i:02d}.eml "
                       f"(commit 21cfb932)", "provider": f"P{i}"} for i in range(1, 30)]
    recs += [{"source": f"https://example.org/page{i}", "provider": "Q"} for i in range(30)]
    by_source = ev.folds(recs, 5, "source")
    assert len(set(by_source[:29])) == 1
    assert len(set(by_source[29:])) == 1  # one page pattern: page#
    by_provider = ev.folds(recs, 5, "provider")
    assert len(set(by_provider[29:])) == 1 and len(set(by_provider[:29])) > 1
