"""explain(): every code and cause in the knowledge base, comparisons, rendering, unknown input."""

from __future__ import annotations

import json

import pytest

from analyzer.explain import UnknownQuery, explain, render_explain
from analyzer.rules import load_rules

KB = load_rules()
KEYS = {"query", "kind", "class", "title", "meaning", "when", "cause", "outcome", "severity",
        "fix", "references"}


@pytest.mark.parametrize("query", sorted(KB.codes) + sorted(KB.enhanced) + sorted(KB.causes))
def test_explain_every_entry_of_the_knowledge_base(query):
    """Every basic code, enhanced code and cause explains with meaning, fix and references."""
    e = explain(query)
    assert KEYS <= set(e)
    assert e["meaning"] and e["when"] and e["fix"] and e["references"]
    assert e["cause"] in KB.causes
    json.dumps(e)
    assert render_explain(e).startswith(query)


@pytest.mark.parametrize("query, cause, klass", [
    ("521", "host.no_mail", "5xx permanent negative completion"),
    ("221", "session.closed", "2xx positive completion"),
    ("556", "domain.no_mail", "5xx permanent negative completion"),
    ("5.1.1", "mailbox.unknown", "5xx permanent negative completion"),
    ("4.2.2", "mailbox.full", "4xx transient negative completion"),
    ("550 5.7.26", "auth.dmarc", "5xx permanent negative completion"),
    ("host.no_mail", "host.no_mail", None),
])
def test_explain_single_queries(query, cause, klass):
    """Codes, enhanced codes, replies and cause ids resolve to the right cause and class."""
    e = explain(query)
    assert (e["cause"], e["class"]) == (cause, klass)


def test_explain_full_reply_names_provider():
    """A whole reply is classified like a log line, provider included."""
    e = explain("550-5.7.26 Unauthenticated email from example.com is not accepted due to "
                "domain's DMARC policy - gsmtp")
    assert e["kind"] == "reply" and e["cause"] == "auth.dmarc" and e["provider"] == "gmail"


def test_explain_nonstandard_and_unregistered_codes():
    """Non-standard basic codes and unregistered enhanced codes explain by their class."""
    assert explain("422")["outcome"] == "transient_failure"
    assert explain("5.7.606")["title"].startswith("Unregistered")


def test_compare_221_521():
    """221 vs 521: class, outcome, cause, meaning, when and what to do all differ."""
    r = explain("221", "521")
    assert r["compare"] == ["221", "521"]
    aspects = {d["aspect"]: d["values"] for d in r["differences"]}
    assert {"class", "outcome", "cause", "meaning", "when you see it", "what to do"} <= set(aspects)
    assert aspects["class"] == {"221": "2xx positive completion",
                                "521": "5xx permanent negative completion"}
    assert aspects["outcome"] == {"221": "ok", "521": "permanent_failure"}
    assert set(r["applies"]) == {"221", "521"} and len(r["summary"]) == 2


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_render_formats(fmt):
    """Single entries and comparisons render in text, markdown and JSON."""
    for result in (explain("521"), explain("221", "521", "556")):
        out = render_explain(result, fmt)
        assert "521" in out
        if fmt == "json":
            assert json.loads(out) == result


def test_render_unknown_format():
    """An unknown format is a ValueError naming the choices."""
    with pytest.raises(ValueError, match="text, markdown or json"):
        render_explain(explain("521"), "html")


@pytest.mark.parametrize("query, hint", [("hostno_mail", "host.no_mail"), ("banana", "try"),
                                         ("", "empty"), ("9.9.9", "not")])
def test_unknown_query_is_helpful(query, hint):
    """Unknown input raises UnknownQuery with suggestions, never a traceback from elsewhere."""
    with pytest.raises(UnknownQuery) as err:
        explain(query)
    assert hint in str(err.value) and "\n" not in str(err.value)


def test_no_query():
    """explain() with nothing to explain raises UnknownQuery."""
    with pytest.raises(UnknownQuery):
        explain()
