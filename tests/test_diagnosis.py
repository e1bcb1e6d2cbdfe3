"""Diagnosis on real log lines: root cause through wrappers, direction, attribution, bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.classify import classify, default_rules, example_frame
from analyzer.explain import explain
from analyzer.reader import parse_lines, read_logs

ROOT = Path(__file__).resolve().parents[1]
PF = "Dec  1 10:00:{s:02d} mx postfix/{d}[124]: "
FAILED = {"transient_failure", "permanent_failure"}


def lines_of(*lines: str) -> pd.DataFrame:
    """Parse and classify lines as one run."""
    return classify(parse_lines(list(lines)).events, rule_ids=True)


def delivery(status: str, reason: str, d: str = "smtp", qid: str = "4ABC125", dsn: str = "4.4.1",
             rcpt: str = "a@b.example", s: int = 1) -> str:
    return (PF.format(s=s, d=d) + f"{qid}: to=<{rcpt}>, relay=none, delay=1, delays=1/0/0/0, "
            f"dsn={dsn}, status={status} ({reason})")


# ------------------------------------------------------------------------- wrappers


@pytest.mark.parametrize("d, reason, cause, action", [
    ("error", "delivery temporarily suspended: connect to mx.b.example[192.0.2.1]:25: Connection refused",
     "network.refused", "waiting_retry"),
    ("error", "delivery temporarily suspended: conversation with mx.b.example[192.0.2.1] timed out while "
     "receiving the initial server greeting", "remote.timeout", "waiting_retry"),
    ("error", "delivery temporarily suspended: host mx.b.example[192.0.2.1] refused to talk to me: 421 4.7.0 "
     "Too many connections, try again later", "rate.limited", "waiting_retry"),
    ("error", "delivery temporarily suspended: lost connection with mx.b.example[192.0.2.1] while receiving "
     "the initial server greeting", "remote.connection_lost", "waiting_retry"),
    ("smtp", "host mx.b.example[192.0.2.1] said: 550 5.1.1 <a@b.example>: Recipient address rejected: User "
     "unknown in virtual mailbox table (in reply to RCPT TO command)", "mailbox.unknown", "retrying"),
    ("smtp", "host mx.b.example[192.0.2.1] refused to talk to me: 554 5.7.1 Service unavailable; Client host "
     "[203.0.113.5] blocked using zen.spamhaus.org", "reputation.ip_listed", "retrying"),
    ("smtp", "host mx.b.example[192.0.2.1] refused to talk to me: 421 4.3.2 Service not available, closing "
     "transmission channel", "server.unavailable", "retrying"),
    ("smtp", "conversation with mx.b.example[192.0.2.1] timed out while sending end of data -- message may "
     "be sent more than once", "remote.timeout", "retrying"),
    ("smtp", "lost connection with mx.b.example[192.0.2.1] while sending RCPT TO", "remote.connection_lost",
     "retrying"),
    # the host's name is not a reason: 'spamfilter' in a host name is no spam verdict
    ("smtp", "host mx.spamfilter-suspended.example[192.0.2.1] said: 452 4.2.2 Mailbox full (in reply to RCPT "
     "TO command)", "mailbox.full", "retrying"),
])
def test_postfix_wrapper_is_classified_by_its_inner_reason(d, reason, cause, action):
    """Each Postfix wrapper phrase gets the cause of the reason inside it; the action says what happened."""
    r = lines_of(delivery("deferred", reason, d=d)).iloc[0]
    assert (r["cause"], r["action"], r["direction"]) == (cause, action, "outbound")
    assert r["cause"] != "mailbox.disabled"


def test_disabled_mailbox_still_found_but_not_from_bare_suspended():
    """'suspended' alone is a wrapper word; a suspended account is still a disabled mailbox."""
    got = classify(example_frame([
        {"text": "550 5.2.1 The email account that you tried to reach is disabled."},
        {"text": "550 5.2.1 This account has been suspended"},
        {"text": "delivery temporarily suspended: Network is unreachable", "event": "delivery",
         "status": "deferred"},
    ]))
    assert list(got["cause"]) == ["mailbox.disabled", "mailbox.disabled", "network.unreachable"]


def test_postfix_expired_takes_the_last_deferral_of_the_message():
    """status=expired says only that Postfix gave up: the cause is the message's last deferral."""
    ev = lines_of(
        delivery("deferred", "connect to mx.b.example[192.0.2.1]:25: Connection timed out", s=1),
        PF.format(s=2, d="qmgr") + "4ABC125: from=<x@y.example>, status=expired, returned to sender")
    r = ev.iloc[1]
    assert (r["cause"], r["action"], r["outcome"]) == ("network.timeout", "expired", "permanent_failure")
    assert r["cause_ref"] == "<lines>:1"


def test_expired_with_no_earlier_error_says_so():
    """Nothing in view before the give-up: a named 'earlier error not in these logs' cause, no pointer."""
    ev = lines_of(PF.format(s=2, d="qmgr") + "4ABC125: from=<x@y.example>, status=expired, returned to sender")
    r = ev.iloc[0]
    assert (r["cause"], r["action"]) == ("queue.earlier_error_unseen", "expired")
    assert pd.isna(r["cause_ref"])


# ------------------------------------------------------------------------- Exim attribution

EXIM_521 = [  # real lines from sample_logs/exim/mainlog.1 (the greeting-521 scenario) ...
    "2026-11-29 15:55:28 1xXhFQ-0003ra-17 H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server "
    "after initial connection: 521 5.3.2 mx.nomail.example does not accept mail (RFC 7504)",
    "2026-11-29 15:55:28 1xXhFQ-0003ra-17 ** user@nomail.example F=<alice@maillens.test> R=sandbox_routes "
    "T=remote_smtp H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server after initial connection: "
    "521 5.3.2 mx.nomail.example does not accept mail (RFC 7504) DT=0s",
    # ... and what Exim logs for the next messages to that domain
    "2026-11-29 15:56:22 1xXhFR-0003t9-0m == other@nomail.example R=sandbox_routes T=remote_smtp defer (-54) "
    "DT=0s: retry time not reached for any host for 'nomail.example'",
    "2026-11-29 16:56:22 1xXhFR-0003t9-0m ** other@nomail.example: all hosts for 'nomail.example' have been "
    "failing for a long time (and retry time not reached)",
]


def test_exim_retry_wait_after_521_carries_host_no_mail_with_pointer():
    """Retry-wait and give-up lines after a 521 greeting carry host.no_mail and point at the 521 line."""
    ev = lines_of(*EXIM_521)
    wait, gave_up = ev.iloc[2], ev.iloc[3]
    assert (wait["cause"], wait["action"], wait["direction"]) == ("host.no_mail", "waiting_retry", "outbound")
    assert (gave_up["cause"], gave_up["action"]) == ("host.no_mail", "expired")
    assert wait["cause_ref"] == gave_up["cause_ref"] == "<lines>:2"
    assert wait["severity"] == ev.iloc[1]["severity"]


def test_exim_retry_wait_without_earlier_error():
    """A retry-wait line with no earlier error for its domain in view is not guessed."""
    r = lines_of(EXIM_521[2]).iloc[0]
    assert (r["cause"], r["fix_id"]) == ("queue.earlier_error_unseen", "queue.earlier_error_unseen")
    assert pd.isna(r["cause_ref"])


def test_exim_attribution_never_uses_another_domains_error():
    """The error of one domain does not explain the retry wait of another."""
    ev = lines_of(EXIM_521[1], EXIM_521[2].replace("nomail.example", "other.example"))
    assert ev.iloc[1]["cause"] == "queue.earlier_error_unseen"


def test_sample_exim_logs_every_wait_line_points_at_a_line_with_its_cause():
    """On the real Exim sample logs every retry-wait/retry-timeout line names its cause and a line
    that has that cause."""
    ev = classify(read_logs([str(ROOT / "sample_logs" / "exim")]))
    waits = ev[ev["action"].isin(["waiting_retry", "expired"])]
    assert len(waits) > 10
    assert not waits["cause"].isin(["queue.retry_wait", "queue.expired"]).any()
    by_ref = {f"{s}:{n}": c for s, n, c in zip(ev["source"], ev["line_no"], ev["cause"], strict=False)}
    pointed = waits[waits["cause_ref"].notna()]
    assert len(pointed) >= len(waits) - 2  # the first lines of the oldest file may have no history
    for ref, cause in zip(pointed["cause_ref"], pointed["cause"], strict=False):
        assert by_ref[ref] == cause


# ------------------------------------------------------------------------- direction

INBOUND = "Dec  1 10:00:00 mx postfix/smtpd[202]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: {r}; " \
          "from=<a@example.net> to=<b@ours.example> proto=ESMTP helo=<x>"


def outbound(reply: str) -> str:
    return delivery("bounced", f"host mx.far.example[198.51.100.2] said: {reply} (in reply to RCPT TO command)",
                    dsn="5.0.0", rcpt="b@far.example")


@pytest.mark.parametrize("reply, out_cause, in_cause", [
    ("554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org",
     "reputation.ip_listed", "client.listed"),
    ("450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]",
     "auth.reverse_dns", "client.no_reverse_dns"),
    ("550 5.1.1 <b@ours.example>: Recipient address rejected: User unknown in local recipient table",
     "mailbox.unknown", "client.recipient_unknown"),
    ("554 5.7.1 <x@elsewhere.example>: Relay access denied", "relay.denied", "client.relay_denied"),
    ("552 5.3.4 Message size exceeds fixed limit", "message.too_big", "client.message_too_big"),
])
def test_same_text_means_different_things_inbound_and_outbound(reply, out_cause, in_cause):
    """The same reply is our protection working inbound and a problem of ours outbound."""
    ev = lines_of(INBOUND.format(r=reply), outbound(reply))
    inb, outb = ev.iloc[0], ev.iloc[1]
    assert (inb["direction"], outb["direction"]) == ("inbound", "outbound")
    assert (outb["cause"], inb["cause"]) == (out_cause, in_cause)
    assert inb["fix_id"] != outb["fix_id"]
    assert inb["severity"] == "info"


def test_dnsbl_on_a_client_is_info_on_us_critical():
    """postscreen/dnsblog hits on clients are info; a remote DNSBL reject of us is critical."""
    ev = lines_of(
        "Dec  1 10:00:00 mx postfix/dnsblog[200]: addr 192.0.2.9 listed by domain zen.spamhaus.org as 127.0.0.2",
        "Dec  1 10:00:00 mx postfix/postscreen[201]: DNSBL rank 3 for [192.0.2.9]:51234",
        outbound("554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org"))
    assert list(ev["direction"]) == ["inbound", "inbound", "outbound"]
    assert list(ev["severity"]) == ["info", "info", "critical"]
    assert list(ev["cause"]) == ["client.listed", "client.listed", "reputation.ip_listed"]


def test_unrouteable_inbound_is_not_a_typo_on_our_list():
    """Exim refusing a client's unrouteable recipient (for our domains: an unknown user) is not
    'check your list for typos'."""
    ev = lines_of(
        "2026-12-01 10:00:00 H=(x) [192.0.2.9]:4000 F=<a@example.net> rejected RCPT <u@nowhere.example>: "
        "Unrouteable address",
        "2026-12-01 10:00:01 1xXhFQ-0003ra-17 ** u@nowhere.example F=<alice@ours.example> R=dnslookup: "
        "Unrouteable address")
    assert list(ev["cause"]) == ["client.recipient_unknown", "domain.not_found"]


def test_outbound_lost_connection_gets_outbound_advice():
    """A lost connection while we deliver is not fixed with postscreen: its fix entry is the remote one."""
    ev = lines_of(delivery("deferred", "lost connection with mx.b.example[192.0.2.1] while sending RCPT TO"),
                  "Dec  1 10:00:00 mx postfix/smtpd[202]: lost connection after CONNECT from unknown[192.0.2.9]")
    assert list(ev["cause"]) == ["remote.connection_lost", "session.lost"]
    assert list(ev["fix_id"]) == ["remote.connection_lost", "session.lost"]


@pytest.mark.parametrize("daemon, direction", [
    ("smtpd", "inbound"), ("postscreen", "inbound"), ("smtp", "outbound"), ("lmtp", "outbound"),
    ("error", "outbound"), ("local", "local"), ("virtual", "local"), ("pipe", "local"),
])
def test_postfix_daemon_directions(daemon, direction):
    """Each Postfix daemon's lines carry the direction of who judged whom."""
    line = delivery("deferred", "Connection refused", d=daemon) if daemon not in ("smtpd", "postscreen") else \
        PF.format(s=1, d=daemon) + "connect from unknown[192.0.2.9]:4000" if daemon == "smtpd" else \
        PF.format(s=1, d=daemon) + "CONNECT from [192.0.2.9]:4000 to [198.51.100.1]:25"
    assert lines_of(line).iloc[0]["direction"] == direction


# ------------------------------------------------------------------------- bookkeeping


@pytest.mark.parametrize("line", [
    "2026-03-02 09:44:33 10HmaX-000000005vi-0000 Message is frozen",
    "2026-03-02 09:44:33 10HmaX-000000005vi-0000 Frozen",
    "2026-03-02 09:44:33 10HmaX-000000005vi-0000 Unfrozen by errmsg timer",
    "2026-03-02 09:44:33 10HmbA-000000005vi-0000 b@known.ex: error ignored",
    'Dec  1 10:00:00 mx postfix/bounce[123]: warning: please reduce time unit "days" of '
    '"maximal_queue_lifetime_days" to at most 3 days',
])
def test_bookkeeping_lines_are_not_failures(line):
    """Frozen/unfrozen/error-ignored queue-run lines and bounce(8) config warnings are not failures."""
    r = lines_of(line).iloc[0]
    assert r["outcome"] not in FAILED
    assert r["cause"] != "queue.expired"
    assert pd.isna(r["action"]) or r["action"] == "frozen"


def test_bounce_config_warning_is_a_config_warning():
    """Postfix bounce(8)'s maximal_queue_lifetime warning is a system/config warning."""
    r = lines_of('Dec  1 10:00:00 mx postfix/bounce[123]: warning: please reduce time unit "days" of '
                 '"maximal_queue_lifetime_days" to at most 3 days').iloc[0]
    assert (r["cause"], r["severity"], r["outcome"]) == ("system.config_warning", "warning", "info")


# ------------------------------------------------------------------------- precedence


@pytest.mark.parametrize("text, cause", [
    ("521 5.7.1 mx.example.com blocked using dnsbl.example", "reputation.ip_listed"),
    ("550 5.5.0 Your account is blocked", "policy.sender_blocked"),
    ("552 message is too long", "message.too_big"),
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     "mailbox.unknown"),
    ("554 5.1.10", "domain.no_mail"),
    ("550 5.7.1 Invalid credentials for relay [203.0.113.5]", "relay.denied"),
    ("535 5.7.8 Error: authentication failed: authentication failure", "auth.sasl_failed"),
    ("421 4.7.0 Too many concurrent connections from this IP", "rate.limited"),
    ("452 4.3.1 Insufficient system storage", "server.unavailable"),
    ("550 5.7.1 Message rejected due to local policy", "policy.rejected"),
    ("421 4.7.0 [TSS04] Messages from ~ temporarily deferred due to unexpected volume or user complaints",
     "reputation.poor"),
    # languages
    ("550 5.1.1 Utilisateur inconnu", "mailbox.unknown"), ("552 Postfach voll", "mailbox.full"),
    ("554 Retransmisión denegada", "relay.denied"), ("421 Zbyt wiele połączeń", "rate.limited"),
    ("552 Zpráva je příliš velká", "message.too_big"), ("550 用户不存在", "mailbox.unknown"),
    ("535 认证失败", "auth.sasl_failed"), ("554 IP在黑名单中", "reputation.ip_listed"),
])
def test_specific_phrase_beats_code_and_provider_meanings(text, cause):
    """A phrase rule beats a code-only rule; provider meanings beat the RFC default."""
    assert classify(example_frame([{"text": text}]))["cause"].iloc[0] == cause


@pytest.mark.parametrize("line, action", [
    (delivery("sent", "250 2.0.0 Ok: queued as 4XYZ", dsn="2.0.0"), "delivered"),
    (delivery("deferred", "host mx.b.example[192.0.2.1] said: 451 4.3.0 Try again later"), "retrying"),
    (delivery("bounced", "host mx.b.example[192.0.2.1] said: 550 5.1.1 No such user", dsn="5.1.1"), "bounced"),
    (INBOUND.format(r="450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]"),
     "rejected"),
    ("Dec  1 10:00:00 mx postfix/smtpd[202]: connect from unknown[192.0.2.9]", None),
])
def test_action_says_what_happened_to_the_mail(line, action):
    """The action column is the MTA's handling of the mail, apart from the cause."""
    got = lines_of(line).iloc[0]["action"]
    assert (None if pd.isna(got) else got) == action


# ------------------------------------------------------------------------- explain and trace


@pytest.mark.parametrize("line, code, enhanced, cause", [
    # a port that looks like a reply code, an IP that holds an enhanced code, times and delays
    ("Dec  1 10:25:30 mx postfix/smtp[124]: 4ABC125: to=<a@b.example>, relay=none, delay=30, delays=0/0/30/0, "
     "dsn=4.4.1, status=deferred (connect to mx.b.example[10.5.1.1]:550: Connection timed out)",
     None, None, "network.timeout"),
    ("Dec  1 10:25:30 mx postfix/smtp[124]: 4ABC125: to=<a@b.example>, relay=mx.b.example[192.0.2.10]:25, "
     "delay=4.2, delays=0.1/0/0.1/4, dsn=4.0.0, status=deferred (host mx.b.example[192.0.2.10] said: "
     "421 4.7.0 Try again later, closing connection. (in reply to end of DATA command))",
     "421", "4.7.0", None),
    ("2026-12-01 21:18:02 H=(outside-client.sender.example) [127.0.0.66]:43589 rejected MAIL <t@p.example>",
     None, None, None),
    ("2026-12-01 21:17:59 1xYVEd-0006vz-1a H=127.0.0.28 [127.0.0.28]:25: Remote host closed connection in "
     "response to pipelined RCPT TO:<user@dropped.example>", None, None, "remote.connection_lost"),
])
def test_explain_pasted_lines_with_ips_ports_and_times(line, code, enhanced, cause):
    """A pasted line is read as the report reads it; digits of IPs, ports, times and delays are never a code."""
    e = explain(line)
    assert (e["code"], e["enhanced"]) == (code, enhanced)
    if cause:
        assert e["cause"] == cause
    if code is None:
        assert e["class"] is None and e["outcome"] != "ok"


def test_explain_agrees_with_the_report_on_context():
    """A pasted line with its time stamp gets the cause the report gives the same line (event, stage and
    direction read by the parser), not only what its words say."""
    lines = [
        "2026-12-01 21:18:00 H=(outside-client.sender.example) [127.0.0.66]:36639 F=<stranger@sender.example> "
        "rejected RCPT <nosuchuser@maillens.test>: Unrouteable address",
        INBOUND.format(r="554 5.7.1 <x@elsewhere.example>: Relay access denied"),
        outbound("550 5.1.1 <b@far.example>: Recipient address rejected: User unknown"),
    ]
    ev = lines_of(*lines)
    for line, (cause, direction) in zip(lines, zip(ev["cause"], ev["direction"], strict=True), strict=True):
        e = explain(line)
        assert (e["cause"], e["direction"]) == (cause, direction)


def _trace_one(lines: list[str], query: str) -> dict:
    from analyzer.messages import link
    from analyzer.trace import trace

    (story,) = trace(link(lines_of(*lines)), query)
    (r,) = story["recipients"]
    return r


def test_trace_shows_only_the_advice_of_the_events_direction():
    """trace explains an inbound unknown recipient with the inbound advice and an outbound one with the
    outbound advice; neither carries the other's fix."""
    kb = default_rules()
    inb = _trace_one([INBOUND.format(r="550 5.1.1 <b@ours.example>: Recipient address rejected: User unknown "
                                       "in local recipient table")], "b@ours.example")
    outb = _trace_one([outbound("550 5.1.1 <b@far.example>: Recipient address rejected: User unknown")],
                      "b@far.example")
    assert (inb["direction"], inb["explanation"]["cause"]) == ("inbound", "client.recipient_unknown")
    assert (outb["direction"], outb["explanation"]["cause"]) == ("outbound", "mailbox.unknown")
    assert inb["explanation"]["fix"] == kb.causes["client.recipient_unknown"]["fix"]
    assert outb["explanation"]["fix"] == kb.causes["mailbox.unknown"]["fix"]
    assert not set(inb["explanation"]["fix"]) & set(outb["explanation"]["fix"])


def test_trace_of_a_retry_wait_points_at_the_error_behind_it():
    """A message whose last line is an Exim retry wait is explained by the 521 before it, with the pointer."""
    r = _trace_one(EXIM_521, "other@nomail.example")
    assert (r["status"], r["cause"], r["cause_ref"]) == ("expired", "host.no_mail", "<lines>:2")
    assert r["explanation"]["cause"] == "host.no_mail"


def test_exim_client_losing_the_connection_is_inbound():
    """Exim's 'H=(helo) [ip] incomplete transaction (connection lost)' is a client of ours going away
    (inbound, a session end), not a remote server dropping our delivery."""
    ev = lines_of(
        "2026-12-01 21:18:02 H=(outside-client.sender.example) [127.0.0.66]:43745 incomplete transaction "
        "(connection lost) from <quitter@sender.example> for alice@maillens.test",
        "2026-12-01 21:17:59 1xYVEd-0006vz-1a H=127.0.0.28 [127.0.0.28]:25: Remote host closed connection in "
        "response to pipelined RCPT TO:<user@dropped.example>")
    assert list(ev["direction"]) == ["inbound", "outbound"]
    assert list(ev["client_ip"].astype(object).fillna("")) == ["127.0.0.66", ""]
    assert list(ev["cause"]) == ["session.lost", "remote.connection_lost"]
    assert ev.iloc[0]["outcome"] not in FAILED


EXIM_REFUSED = ("2026-11-29 15:55:31 1xXhFT-0003uC-0m == user@refused.example R=sandbox_routes T=remote_smtp "
                "H=127.0.0.25 [127.0.0.25]:25 defer (111): Connection refused DT=0s")


@pytest.mark.parametrize("wrapper, action", [
    ("2026-11-29 16:55:31 1xXhFT-0003uC-0m == user@refused.example R=sandbox_routes T=remote_smtp defer (-54) "
     "DT=0s: retry time not reached for any host for 'refused.example'", "waiting_retry"),
    ("2026-11-29 16:55:31 1xXhFT-0003uC-0m == user@refused.example routing defer (-52) DT=0s: retry time not "
     "reached", "waiting_retry"),
    ("2026-11-29 16:55:31 1xXhFT-0003uC-0m ** user@refused.example: retry timeout exceeded", "expired"),
    ("2026-11-29 16:55:31 1xXhFT-0003uC-0m ** user@refused.example R=sandbox_routes T=remote_smtp: all hosts "
     "for 'refused.example' have been failing for a long time (and retry time not reached)", "expired"),
])
def test_exim_wrapper_is_classified_by_the_error_behind_it(wrapper, action):
    """Each Exim wrapper (retry time not reached, retry timeout exceeded, all hosts failing) carries the cause
    of the refused connection before it, its advice and a pointer; the action keeps what Exim did."""
    r = lines_of(EXIM_REFUSED, wrapper).iloc[1]
    assert (r["cause"], r["action"], r["fix_id"], r["cause_ref"]) == (
        "network.refused", action, "network.refused", "<lines>:1")
