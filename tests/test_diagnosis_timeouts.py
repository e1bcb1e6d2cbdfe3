"""Who timed out whom: a remote server closing OUR idle session is not "the remote stopped answering".

A server that gives up on a silent client says so in a 421 reply ('Timeout - closing connection',
Postfix smtpd's 'Error: timeout exceeded', Exim's 'SMTP command timeout - closing connection').
Logged on an outbound delivery, the silent client was our own: the cause, its explanation and its
fix point at our side. Our client giving up on a silent remote (Postfix 'conversation with ... timed
out', Exim 'SMTP timeout after ...') is remote.timeout: the remote took the connection and went silent.
"""

from __future__ import annotations

import pytest

from analyzer.classify import classify, default_rules
from analyzer.explain import explain
from analyzer.reader import parse_lines

PF = "Dec  1 10:00:01 mx postfix/{d}[124]: "
EX = "2026-12-01 10:00:01 "
BY_REMOTE = "session.timed_out_by_remote"


def row_of(line: str) -> dict:
    r = classify(parse_lines([line]).events, rule_ids=True).iloc[0]
    return {k: r[k] for k in ("cause", "fix_id", "direction", "outcome")}


def _status(reply: str, stage: str = "MAIL FROM") -> str:
    return (PF.format(d="smtp") + "4ABC125: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, delay=301, "
            f"delays=0/0/1/300, dsn=4.4.2, status=deferred (host mx.b.example[192.0.2.1] said: {reply} "
            f"(in reply to {stage} command))")


@pytest.mark.parametrize("line", [
    _status("421 4.4.2 mx.b.example Timeout - closing connection"),
    _status("421 4.4.2 mx.b.example Error: timeout exceeded", "RCPT TO"),
    _status("421 4.4.2 Idle timeout, closing connection", "end of DATA"),
    EX + "1xYVEd-0006vs-0i == a@b.example R=dnslookup T=remote_smtp defer (-46) H=mx.b.example [192.0.2.1]: "
         "SMTP error from remote mail server after MAIL FROM:<s@ours.example> SIZE=1234: 421 mx.b.example SMTP "
         "command timeout - closing connection",
    EX + "1xYVEd-0006vs-0i H=mx.b.example [192.0.2.1]: SMTP error from remote mail server after end of data: "
         "421 mx.b.example SMTP incoming data timeout - closing connection.",
])
def test_remote_closing_our_idle_session_blames_our_side(line):
    """The remote's 421 timeout on an outbound delivery: session.timed_out_by_remote, whose advice is
    about our server and our path, not about the remote being slow."""
    r = row_of(line)
    assert (r["cause"], r["fix_id"], r["direction"]) == (BY_REMOTE, BY_REMOTE, "outbound")
    kb = default_rules()
    fix = " ".join(kb.causes[BY_REMOTE]["fix"]).lower()
    assert "our side" in fix and "smtp_connection_cache_time_limit" in fix
    assert "tarpit" not in fix


@pytest.mark.parametrize("line, cause", [
    # our smtp client gave up on a silent remote: the remote's side
    (PF.format(d="smtp") + "4ABC125: conversation with mx.b.example[192.0.2.1] timed out while receiving the "
     "initial server greeting", "remote.timeout"),
    (_status("421 4.4.1 Connection timed out"), "network.timeout"),
    (EX + "1xYVEd-0006vs-0i H=mx.b.example [192.0.2.1]:25: SMTP timeout after initial connection: Connection "
     "timed out", "remote.timeout"),
    (_status("conversation with mx.b.example[192.0.2.1] timed out while sending end of data -- message may be "
             "sent more than once").replace("host mx.b.example[192.0.2.1] said: ", "").replace(
                 " (in reply to MAIL FROM command)", ""), "remote.timeout"),
    # a TCP connect that timed out: the path, not a silent remote
    (_status("connect to mx.b.example[192.0.2.1]:25: Connection timed out").replace(
        "host mx.b.example[192.0.2.1] said: ", "").replace(" (in reply to MAIL FROM command)", ""),
     "network.timeout"),
    # our smtpd gave up on a silent client: inbound
    (PF.format(d="smtpd") + "timeout after DATA (0 bytes) from unknown[192.0.2.9]", "session.timeout"),
    (EX + "SMTP command timeout on connection from (x.example) [192.0.2.9]:1234", "session.timeout"),
])
def test_other_timeouts_keep_their_direction(line, cause):
    assert row_of(line)["cause"] == cause


def test_explain_reads_the_timeout_reply_by_direction():
    """A pasted 421 timeout reply without a direction gives both readings; with the direction (or a
    pasted outbound log line), only ours-was-idle."""
    e = explain("421 4.4.2 mx.b.example Timeout - closing connection")
    assert e["cause"] == "session.timeout"
    assert {d: v["cause"] for d, v in e["by_direction"].items()} == {"inbound": "session.timeout",
                                                                     "outbound": BY_REMOTE}
    out = explain("421 4.4.2 mx.b.example Timeout - closing connection", direction="outbound")
    assert out["cause"] == BY_REMOTE and "by_direction" not in out
    assert "our" in out["cause_meaning"].lower()
    pasted = explain(_status("421 4.4.2 mx.b.example Timeout - closing connection"))
    assert (pasted["cause"], pasted["direction"]) == (BY_REMOTE, "outbound")


def test_the_knowledge_base_ties_the_two_readings():
    """Each reading names the other: an inbound timeout event is session.timeout, a remote's
    timeout reply outbound is session.timed_out_by_remote."""
    kb = default_rules()
    assert kb.cause_for("session.timeout", "outbound") == BY_REMOTE
    assert kb.cause_for("remote.timeout", "inbound") == "session.timeout"
    assert kb.causes[BY_REMOTE]["outcome"] == "transient_failure"


def test_a_remote_timing_out_our_session_is_trouble_on_our_side():
    """session.timed_out_by_remote blames our server or our path: it is among the [severity]
    our_side_causes, so a finding with it may stay critical and the headline names its failures
    even when no finding covers them; a remote's own silence (remote.timeout) is not."""
    from analyzer.anomalies import default_params
    from analyzer.report.headline import headline

    assert BY_REMOTE in default_params()["severity"]["our_side_causes"]
    assert "remote.timeout" not in default_params()["severity"]["our_side_causes"]
    r = {"window": {"first_event": "2026-11-28T00:00:00Z", "last_event": "2026-11-28T23:00:00Z"},
         "volumes": {}, "findings": [],
         "outcomes": {"by_cause": [{"cause": c, "title": c, "messages": 3, "outcome": "transient_failure"}
                                   for c in ("remote.timeout", BY_REMOTE)]}}
    assert [i["cause"] for i in headline(r)["items"]] == [BY_REMOTE]
