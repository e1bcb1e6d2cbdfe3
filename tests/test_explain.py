"""explain(): every code and cause in the knowledge base, comparisons, rendering, unknown input."""

from __future__ import annotations

import json

import pytest

from analyzer.explain import UnknownQuery, explain, render_explain, reply_in_line
from analyzer.rules import load_rules

KB = load_rules()
KEYS = {"query", "kind", "class", "title", "meaning", "when", "cause", "outcome", "severity",
        "fix", "references"}


@pytest.mark.parametrize("query", sorted(KB.codes) + sorted(KB.enhanced) + sorted(KB.causes))
def test_explain_every_entry_of_the_knowledge_base(query):
    """Every basic code, enhanced code and cause explains with meaning, fix and references."""
    e = explain(query)
    assert set(e) >= KEYS
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


# ------------------------------------------------------------------------- pasted log lines

PASTED = [
    # (line, code, enhanced, cause, direction)
    ("connect to mx.example[192.0.2.10]:25: Connection refused", None, None, "network.refused", "outbound"),
    ("Dec  1 10:25:30 mx postfix/smtp[124]: 4ABC125: to=<a@b.example>, relay=none, delay=252, "
     "delays=0.1/0/250/0, dsn=4.4.1, status=deferred (connect to mx.b.example[192.0.2.25]:25: Connection "
     "refused)", None, None, "network.refused", "outbound"),
    ("Dec  1 10:25:30 mx postfix/smtp[124]: 4ABC125: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, "
     "delay=1, delays=1/0/0/0, dsn=5.1.1, status=bounced (host mx.b.example[192.0.2.1] said: 550 5.1.1 "
     "<a@b.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))",
     "550", "5.1.1", "mailbox.unknown", "outbound"),
    ("Dec  1 10:00:00 mx postfix/smtpd[202]: NOQUEUE: reject: RCPT from unknown[203.0.113.250]:25250: 554 5.7.1 "
     "Service unavailable; Client host [203.0.113.250] blocked using zen.spamhaus.org; from=<a@spam.example> "
     "to=<b@ours.example> proto=ESMTP helo=<x>", "554", "5.7.1", "client.listed", "inbound"),
    ("2026-11-29 15:55:28 1xXhFQ-0003ra-17 ** user@nomail.example F=<alice@maillens.test> R=sandbox_routes "
     "T=remote_smtp H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server after initial "
     "connection: 521 5.3.2 mx.nomail.example does not accept mail (RFC 7504) DT=0s",
     "521", "5.3.2", "host.no_mail", "outbound"),
    ("2026-11-29 15:55:31 1xXhFT-0003uC-0m == user@refused.example R=sandbox_routes T=remote_smtp defer (111): "
     "Connection refused DT=0s", None, None, "network.refused", "outbound"),
    ("conversation with mx.b.example[192.0.2.1] timed out while receiving the initial server greeting",
     None, None, "remote.timeout", "outbound"),
    # a bounce's Diagnostic-Code value, with its RFC 3464 type in front
    ("Diagnostic-Code: smtp; 552 5.2.2 <user@b.example>... Mailbox full", "552", "5.2.2", "mailbox.full", None),
]


@pytest.mark.parametrize("line, code, enhanced, cause, direction", PASTED)
def test_explain_pasted_line_finds_the_reply(line, code, enhanced, cause, direction):
    """The reply is found inside a pasted log line; IPs, ports and times are never read as codes."""
    e = explain(line)
    assert (e["code"], e["enhanced"], e["cause"], e["direction"]) == (code, enhanced, cause, direction)
    if code is None:
        assert e["class"] is None and e["outcome"] != "ok"


#: (pasted bounce-report text, the reply inside it, code, enhanced code)
BOUNCE_WRAPPED = [
    ("Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
     "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", "550", "5.1.1"),
    ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
     "550", "5.1.1"),
    # the report's own #5.0.0 is not the reply's enhanced code, and 451 is no 5xx
    ("Remote Server returned '< #5.0.0 smtp; 451 Sorry, try again later>'", "451 Sorry, try again later", "451", None),
    ("#< #5.1.1 smtp;550 5.1.1 <a@b.example>... User unknown> #SMTP#", "550 5.1.1 <a@b.example>... User unknown",
     "550", "5.1.1"),
    ("<<< 554 invalid hostname", "554 invalid hostname", "554", None),
    # look-alikes left as they are
    ("<user@example.com>", "<user@example.com>", None, None),
    ("#5.1.1 mailbox unknown", "#5.1.1 mailbox unknown", None, "5.1.1"),
    ("Remote Server returned ''", "Remote Server returned ''", None, None),
    ("#" + " " * 40 + "##", "#" + " " * 40 + "##", None, None),
]


@pytest.mark.parametrize("text, reply, code, enhanced", BOUNCE_WRAPPED)
def test_reply_inside_a_bounce_reports_wrapper(text, reply, code, enhanced):
    """Exchange's and sendmail's words around a reply in a pasted bounce are peeled off, so the
    reply's own code is read (rules anchored at its start then see it there)."""
    from analyzer.explain import codes_of

    assert reply_in_line(text) == reply
    assert codes_of(reply_in_line(text)) == (code, enhanced)


@pytest.mark.parametrize("line, reply", [
    ("host mx.example[192.0.2.1] said: 554 Unwelcome connection rejected (3)", "554 Unwelcome connection rejected (3)"),
    ("status=deferred (host mx.example[192.0.2.1] said: 450 try (later))", "450 try (later)"),
    ("status=bounced (host mx.example[192.0.2.1] said: 554 x (BL) (in reply to end of DATA command))", "554 x (BL)"),
    ("status=deferred (host mx.example[192.0.2.1] said: 450 busy)", "450 busy"),
    ("status=deferred (host mx.example[192.0.2.1] refused to talk to me: 421 busy (G5))", "421 busy (G5)"),
])
def test_a_replys_own_closing_paren_is_kept(line, reply):
    """The ')' that closes a status line's '(...)' is dropped; one that closes the reply's own
    '(...)' (a provider's '(BL)', '(3)' at its end, where its signature anchors) is kept."""
    assert reply_in_line(line) == reply


def test_a_wrapped_reply_reads_as_the_reply_alone():
    """A reply anchored at its code reads the same inside Exchange's and sendmail's wrappers."""
    alone = explain("554 invalid hostname")
    for wrapped in ("Remote Server returned '554 invalid hostname'", "#554 invalid hostname ##",
                    "<<< 554 invalid hostname"):
        e = explain(wrapped)
        assert (e["code"], e["cause"]) == (alone["code"], alone["cause"]) == ("554", "helo.invalid")


def test_reply_with_base64_padding_is_not_an_exim_line():
    """A reply quoting a base64 token ('...Q== IP: ...') is read whole, not cut at Exim's '==' marker."""
    reply = ('550 The "From" header is missing or invalid. Please follow RFC5322. '
             '[MEwgNYCUUqQdt1qml2jQ== IP: 192.0.2.189]. https://service.mail.example/detail/124/995.')
    assert reply_in_line(reply) == reply
    e = explain(reply)
    assert (e["code"], e["cause"]) == ("550", "message.invalid")


def test_explain_ip_is_not_a_code():
    """'192.0.2.10' holds '2.0.2' but is no enhanced code: no 2xx answer for a refused connection."""
    e = explain("connect to mx.example[192.0.2.10]:25: Connection refused")
    assert "2xx" not in render_explain(e) and e["outcome"] == "transient_failure"


def test_explain_direction_picks_the_advice():
    """--direction shows only the advice that applies; without it both readings are labelled."""
    reply = "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org"
    inb, outb, both = explain(reply, direction="inbound"), explain(reply, direction="outbound"), explain(reply)
    assert (inb["cause"], inb["severity"]) == ("client.listed", "info")
    assert (outb["cause"], outb["severity"]) == ("reputation.ip_listed", "critical")
    assert any("allow-list" in s for s in inb["fix"]) and not any("delist" in s.lower() or
                                                                  "removal" in s for s in inb["fix"])
    assert not any("allow-list" in s for s in outb["fix"])
    assert set(both["by_direction"]) == {"inbound", "outbound"}
    text = render_explain(both)
    assert "(inbound: " in text and "(outbound: " in text
    assert "by_direction" not in inb and "(inbound: " not in render_explain(inb)


def test_explain_bad_direction():
    """An unknown direction is refused with a helpful error."""
    with pytest.raises(UnknownQuery):
        explain("550 5.1.1 user unknown", direction="sideways")
