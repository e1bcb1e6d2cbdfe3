"""Our own filters judging a client are read as ours, not as a remote refusing us (issue 9).

A sender refused by our access rules, a message refused by our content check and a message our
filter discarded were read with the advice for OUR mail being refused elsewhere ('ask the recipient
to remove you from their blocked senders', 'send the file another way', 'look the reference code
up on the provider's page'); the same replies from a remote server keep that advice.
"""

from __future__ import annotations

import pytest

from analyzer.classify import classify, default_rules
from analyzer.explain import explain
from analyzer.reader import parse_lines

PF = "Dec  1 10:00:01 mx postfix/{d}[124]: "
EX = "2026-12-01 10:00:01 "


def cause_of(line: str) -> str:
    return str(classify(parse_lines([line]).events).iloc[0]["cause"])


@pytest.mark.parametrize("line, cause", [
    (PF.format(d="smtpd") + "NOQUEUE: reject: RCPT from unknown[192.0.2.66]: 550 5.7.1 <spammer@blocked.example>: "
     "Sender address rejected: Sender blocked by local policy; from=<spammer@blocked.example> "
     "to=<bob@ours.example> proto=ESMTP helo=<x.example>", "client.sender_blocked"),
    (EX + "H=(x.example) [192.0.2.66]:59797 rejected MAIL <spammer@blocked.example>: 5.7.1 Sender blocked by "
     "local policy", "client.sender_blocked"),
    (EX + "1xYVEf-0006xD-1I H=(x.example) [192.0.2.66]:54599 F=<n@sender.example> rejected after DATA: 5.7.1 "
     "Message content rejected by local policy", "client.content_rejected"),
    # cleanup's lines carry no direction: a reply naming a local header check is ours
    (PF.format(d="cleanup") + "7BB1BBE096: reject: header Subject: BUY NOW from unknown[192.0.2.66]; "
     "from=<n@sender.example> to=<bob@ours.example> proto=ESMTP helo=<x.example>: 5.7.1 Message content "
     "rejected by local header check", "client.content_rejected"),
    (PF.format(d="smtpd") + "6CF1EF65006: milter-reject: END-OF-MESSAGE from x.example[192.0.2.88]: 5.7.1 Message "
     "rejected as spam; from=<u@x.example> to=<s@ours.example> proto=ESMTP helo=<x.example>", "client.spam_rejected"),
    (PF.format(d="cleanup") + "7D20EBE098: discard: header Subject: BULK from unknown[192.0.2.66]; "
     "from=<b@sender.example> to=<bob@ours.example> proto=ESMTP helo=<x.example>: discarded by local policy",
     "message.discarded"),
])
def test_our_filters_are_read_as_ours(line, cause):
    assert cause_of(line) == cause
    advice = " ".join(default_rules().causes[cause]["fix"]).lower()
    assert "ask the recipient" not in advice and "send the file another way" not in advice
    assert "check the message itself" not in advice


@pytest.mark.parametrize("line, cause", [
    (PF.format(d="smtp") + "4ABC125: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, delay=1, "
     "delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.b.example[192.0.2.1] said: 550 5.7.1 Sender blocked "
     "by local policy (in reply to RCPT TO command))", "policy.sender_blocked"),
    (PF.format(d="smtp") + "4ABC125: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, delay=1, "
     "delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.b.example[192.0.2.1] said: 554 5.7.1 Message "
     "rejected due to content restrictions (in reply to end of DATA command))", "content.policy"),
    (PF.format(d="smtp") + "4ABC125: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, delay=1, "
     "delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.b.example[192.0.2.1] said: 550 5.7.1 Message "
     "rejected as spam (in reply to end of DATA command))", "content.spam"),
])
def test_the_same_refusals_from_a_remote_keep_their_outbound_advice(line, cause):
    assert cause_of(line) == cause


def test_explain_gives_both_readings_of_a_bare_sender_block():
    e = explain("550 5.7.1 Sender blocked by local policy")
    assert {d: v["cause"] for d, v in e["by_direction"].items()} == {"inbound": "client.sender_blocked",
                                                                     "outbound": "policy.sender_blocked"}


@pytest.mark.parametrize("detail", [
    "warning: hostname mail.example does not resolve to address 192.0.2.5: Name or service not known",
    "warning: 192.0.2.5: hostname mail.example verification failed: Name or service not known",
])
def test_our_forward_check_of_a_client_ptr_is_its_reverse_dns(detail):
    """smtpd checking a client's PTR name: the client's reverse DNS (our check), not a domain we
    cannot route; a resolver's temporary failure stays a DNS failure."""
    assert cause_of(PF.format(d="smtpd") + detail) == "client.no_reverse_dns"
    assert cause_of(PF.format(d="smtpd") + "warning: 192.0.2.5: hostname mail.example verification failed: "
                    "Temporary failure in name resolution") == "dns.failure"


_CLEANUP = [
    # our milter (rspamd, SpamAssassin) refusing a client's message: cleanup logs it without a daemon direction
    (PF.format(d="cleanup") + "6CF1EF65006: milter-reject: END-OF-MESSAGE from x.example[192.0.2.88]: 5.7.1 Spam "
     "message rejected; from=<u@x.example> to=<s@ours.example> proto=ESMTP helo=<x.example>", "client.spam_rejected"),
    (PF.format(d="cleanup") + "7BB1BBE096: reject: header Subject: BUY NOW from unknown[192.0.2.66]; "
     "from=<n@sender.example> to=<bob@ours.example> proto=ESMTP helo=<x.example>: 5.7.1 Spam not accepted",
     "client.spam_rejected"),
]


@pytest.mark.parametrize("engine", ["python", "native"])
@pytest.mark.parametrize("line, cause", _CLEANUP)
def test_cleanup_verdicts_on_a_client_are_inbound(line, cause, engine, monkeypatch):
    """cleanup's milter-reject (read by the native reject reader too) and header_checks REJECT of a
    client's message: inbound, our filter's cause and fix, in both engines."""
    from analyzer import native
    if engine == "native" and not native.available():
        pytest.skip("the native engine is not built")
    monkeypatch.setenv(native.ENV, engine)
    ev = parse_lines([line]).events
    assert ev.iloc[0]["direction"] == "inbound"
    row = classify(ev).iloc[0]
    assert (row["cause"], row["fix_id"]) == (cause, cause)


def test_cleanup_verdict_on_mail_submitted_here_is_local():
    line = (PF.format(d="cleanup") + "7BB1BBE096: reject: header From: x@y from local; from=<n@ours.example> "
            "to=<bob@ours.example>: 5.7.1 Spam not accepted")
    assert parse_lines([line]).events.iloc[0]["direction"] == "local"


_EXIM_OWN = [
    # a client's address without a domain: sender- and address-advice, not a protocol or content reading
    (EX + "unqualified sender rejected: <nodomain> H=(outside-client.sender.example) [127.0.0.66]:45173",
     "client.sender_invalid", "sender_unqualified_hosts"),
    (EX + "unqualified recipient rejected: <alice> H=(outside-client.sender.example) [127.0.0.66]:45173",
     "client.address_invalid", "recipient_unqualified_hosts"),
    (EX + "1xYVEf-0006xD-1I H=(foobar) [192.0.2.66] F=<userx@sender.example> rejected after DATA: unqualified "
     'address not permitted: failing address in "From:" header is: userx', "client.address_invalid", "header"),
    # an ACL deny that says no reason: our policy, not the recipient's mailbox
    (EX + "H=(test) [192.0.2.66] F=<x@sender.example> rejected RCPT <userx@ours.example>",
     "client.policy_rejected", "exim -bh"),
    # a broken ACL statement answering a client: our configuration, whatever words it holds
    (EX + 'H=(test) [192.0.2.66] F=<x@sender.example> temporarily rejected RCPT <userx@ours.example>: unknown '
     'ACL verb "dony" in "dony verify = junk"', "local.config", "warning or error the MTA logged"),
]


@pytest.mark.parametrize("line, cause, advice", _EXIM_OWN)
def test_exim_own_inbound_rejects_get_their_advice(line, cause, advice):
    row = classify(parse_lines([line]).events).iloc[0]
    assert (row["direction"], row["cause"], row["fix_id"]) == ("inbound", cause, cause)
    fix = " ".join(default_rules().causes[cause]["fix"])
    assert advice in fix
    assert "message itself" not in fix and "provider's postmaster page" not in fix


def test_the_unqualified_readings_keep_their_outbound_causes():
    kb = default_rules()
    assert {d: kb.cause_for("sender.invalid", d) for d in ("inbound", "outbound")} == {
        "inbound": "client.sender_invalid", "outbound": "sender.invalid"}
    assert kb.cause_for("address.invalid", "outbound") == "address.invalid"


@pytest.mark.parametrize("line, cause", _CLEANUP + [(line, cause) for line, cause, _ in _EXIM_OWN[:2]])
def test_explain_reads_pasted_own_rejects_inbound(line, cause):
    e = explain(line)
    assert (e["cause"], e["direction"]) == (cause, "inbound")
