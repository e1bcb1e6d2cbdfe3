"""The knowledge base: complete, valid, every rule's examples hit it, site files merge and fail well."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.classify import check_examples, classify, example_frame
from analyzer.rules import RulesError, load_rules

#: RFC 5321 §4.2.2/§4.2.3 reply codes, plus RFC 7504 (521, 556).
RFC_CODES = ["211", "214", "220", "221", "250", "251", "252", "354", "421", "450", "451", "452", "455", "500", "501", "502", "503", "504", "550", "551", "552", "553", "554", "555", "521", "556"]
#: The IANA SMTP enhanced status code registry (RFC 3463, 5248 and later registrations).
IANA_ENHANCED = (
    ["X.0.0"] + [f"X.1.{d}" for d in range(0, 11)] + [f"X.2.{d}" for d in range(0, 5)]
    + [f"X.3.{d}" for d in range(0, 7)] + [f"X.4.{d}" for d in range(0, 8)]
    + [f"X.5.{d}" for d in range(0, 7)] + [f"X.6.{d}" for d in range(0, 11)]
    + [f"X.7.{d}" for d in range(0, 31)])


@pytest.fixture(scope="module")
def kb():
    return load_rules()


def test_shipped_knowledge_base_loads(kb):
    """The shipped TOML files load and validate, with a sizeable set of causes and rules."""
    assert len(kb.causes) >= 40
    assert len(kb.rules) >= 250
    assert {"session.closed", "session.lost", "host.no_mail", "domain.no_mail",
            "mailbox.unknown", "auth.dmarc", "reputation.ip_listed", "unknown"} <= set(kb.causes)


def test_every_rule_example_hits_its_rule(kb):
    """Each example reply in the knowledge base is classified by the rule that carries it."""
    assert check_examples(kb) == []


def test_every_written_rule_has_examples(kb):
    """Every hand-written rule carries at least one example."""
    assert [r.id for r in kb.rules if not r.examples] == []


def test_every_cause_is_complete(kb):
    """Every cause has a title, meaning, when, concrete fix steps and references."""
    for ident, c in kb.causes.items():
        assert c["title"] and c["meaning"] and c["when"], ident
        assert c["fix"] and all(len(step) > 10 for step in c["fix"]), ident
        assert c["references"], ident


def test_every_cause_is_reachable(kb):
    """Every cause is the target of a rule, a direction variant or attribution (no dead entries)."""
    from analyzer.attribution import UNSEEN

    targets = {r.cause for r in kb.rules} | {"unknown", UNSEEN}
    targets |= {v for r in kb.rules for v in kb.variants(r.cause).values()}
    assert set(kb.causes) - targets == set()


@pytest.mark.parametrize("code", RFC_CODES)
def test_rfc_reply_codes_are_covered(kb, code):
    """Every RFC 5321 §4.2 and RFC 7504 reply code has an entry with a default cause."""
    assert code in kb.codes and kb.codes[code].get("cause")


def test_iana_enhanced_codes_are_covered(kb):
    """Every code of the IANA enhanced status code registry has an entry."""
    assert set(IANA_ENHANCED) - set(kb.enhanced) == set()


def test_code_defaults_match_rfc_meaning(kb):
    """Key defaults: 221 closes normally, 521 host takes no mail, 556 and X.1.10 are null MX."""
    assert kb.codes["221"]["cause"] == "session.closed"
    assert kb.codes["521"]["cause"] == "host.no_mail"
    assert kb.codes["556"]["cause"] == "domain.no_mail"
    assert kb.enhanced["X.1.10"]["cause"] == "domain.no_mail"
    assert kb.enhanced["X.7.26"]["cause"] == "auth.dmarc"


def _site(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "site.toml"
    p.write_text(text)
    return p


def test_site_file_adds_a_rule_that_wins(tmp_path):
    """A site rule is added, and wins a tie against shipped rules of the same specificity."""
    site = _site(tmp_path, '''
[causes."site.crm_bounce"]
title = "CRM address retired"
meaning = "The CRM retired this address."
when = "Replies mentioning our old CRM."
fix = ["Update the CRM export so retired addresses are dropped."]
references = ["Internal runbook CRM-12"]
severity = "info"
outcome = "permanent_failure"

[[rules]]
id = "site.crm"
cause = "site.crm_bounce"
text = 'retired by crm'
examples = ["550 5.1.1 address retired by CRM: user unknown"]
''')
    kb = load_rules([site])
    assert check_examples(kb, only_site=True) == []
    out = classify(example_frame([{"text": "550 5.1.1 address retired by CRM: user unknown"}]), kb)
    assert out["cause"].iloc[0] == "site.crm_bounce"


def test_site_file_overrides_a_rule_by_id(tmp_path):
    """A site rule with a shipped id replaces the shipped rule."""
    site = _site(tmp_path, '''
[[rules]]
id = "greylisted"
cause = "server.unavailable"
text = 'grey ?list'
priority = 40
''')
    kb = load_rules([site])
    assert kb.rule("greylisted").cause == "server.unavailable"
    out = classify(example_frame([{"text": "450 4.7.1 Greylisted, try later"}]), kb)
    assert out["cause"].iloc[0] == "server.unavailable"


@pytest.mark.parametrize("body, needle", [
    ('[[rules]]\nid = "x.bad_regex"\ncause = "mailbox.unknown"\ntext = "(unclosed"\n',
     "rule x.bad_regex: text regex does not compile"),
    ('[[rules]]\nid = "x.lookahead"\ncause = "mailbox.unknown"\ntext = "user(?=unknown)"\n',
     "rule x.lookahead: text regex"),
    ('[[rules]]\nid = "x.no_cause"\ncause = "no.such.cause"\ntext = "x"\n',
     "rule x.no_cause: cause 'no.such.cause' is not defined"),
    ('[[rules]]\nid = "x.typo"\ncause = "mailbox.unknown"\ntxet = "x"\n',
     "rule x.typo: unknown key(s) ['txet']"),
    ('[[rules]]\nid = "x.code"\ncause = "mailbox.unknown"\ncode = "5x5"\n',
     "rule x.code: code '5x5'"),
    ('[[rules]]\nid = "x.event"\ncause = "mailbox.unknown"\nevent = "bounce"\n',
     "rule x.event: event ['bounce'] not in the schema"),
    ('[[rules]]\nid = "x.empty"\ncause = "mailbox.unknown"\n', "rule x.empty: matches nothing"),
    ('[causes."x.half"]\ntitle = "Half"\n', "cause x.half: missing 'meaning'"),
    ('[[rules]\nid = 1', "not valid TOML"),
    ('[[rules]]\nid = "x.band"\ncause = "mailbox.unknown"\ntext = "x"\nband = "loud"\n',
     "rule x.band: 'band' must be one of"),
    ('[[rules]]\nid = "x.band_code"\ncause = "mailbox.unknown"\ncode = 550\nband = "verdict"\n',
     "rule x.band_code: 'band' applies to text rules only"),
])
def test_broken_site_file_is_a_one_line_error(tmp_path, body, needle):
    """A broken site file raises RulesError on one line naming the file, the entry and the fault."""
    site = _site(tmp_path, body)
    with pytest.raises(RulesError) as err:
        load_rules([site])
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(site))
    assert needle in msg


def test_missing_site_file_is_a_one_line_error(tmp_path):
    """A site file that does not exist is reported with its name, not a traceback."""
    with pytest.raises(RulesError, match="cannot read"):
        load_rules([tmp_path / "nope.toml"])


def test_site_rule_can_be_disabled(tmp_path):
    """`disable = true` removes a shipped rule by id."""
    site = _site(tmp_path, '[[rules]]\nid = "greylisted"\ncause = "greylisted"\ntext = "x"\n'
                           'disable = true\n')
    kb = load_rules([site])
    with pytest.raises(KeyError):
        kb.rule("greylisted")


def test_verdict_band_loses_to_any_reason_phrase_and_beats_codes(tmp_path):
    """A 'verdict' phrase ('Sender address rejected') loses to a reason phrase even when its own
    priority is far higher, and still beats a rule that matches the code alone."""
    site = _site(tmp_path, '''
[[rules]]
id = "site.verdict"
cause = "policy.rejected"
text = 'we refuse'
band = "verdict"
priority = 200

[[rules]]
id = "site.reason"
cause = "mailbox.full"
text = 'box overflowing'
priority = -50
''')
    kb = load_rules([site])
    assert kb.rule("site.verdict").score < kb.rule("site.reason").score
    both = classify(example_frame([{"text": "550 we refuse: box overflowing"}]), kb)
    assert both["cause"].iloc[0] == "mailbox.full"
    alone = classify(example_frame([{"text": "550 we refuse"}]), kb)
    assert alone["cause"].iloc[0] == "policy.rejected"  # above code.550's mailbox.unavailable
