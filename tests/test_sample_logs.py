"""The shipped sample logs, written by real Postfix and Exim daemons on loopback against a
scripted fake MX: every file parses, and the replies the fake MX gave come out as the right
reply codes, stages and causes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.classify import classify
from analyzer.reader import parse_logs

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
pytestmark = pytest.mark.skipif(not (SAMPLES / "postfix").exists(), reason="sample_logs/ not generated")


@pytest.fixture(scope="module")
def postfix() -> pd.DataFrame:
    return classify(parse_logs([str(SAMPLES / "postfix")], tz="UTC").events)


def test_every_sample_file_parses_99_percent():
    """Each sample file parses without an exception and ≥99% of its mail lines become events."""
    files = [p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".md", ".json", ".jsonl")]
    assert files
    for f in files:
        c = parse_logs([str(f)], tz="UTC").counts
        assert c.events >= 0.99 * (c.events + c.unrecognised), (f, c.unknown)


def test_rotated_set_read_oldest_first():
    """mail.log.2.gz, mail.log.1, mail.log come out in time order."""
    res = parse_logs([str(SAMPLES / "postfix")], tz="UTC")
    assert [Path(f.name).name for f in res.files] == ["mail.log.2.gz", "mail.log.1", "mail.log"]
    assert res.events["ts"].is_monotonic_increasing


def _delivery(df: pd.DataFrame, **where) -> pd.DataFrame:
    d = df[df["event"] == "delivery"]
    for k, v in where.items():
        d = d[d[k] == v]
    return d


def test_521_greeting_deferred_and_bounced_both_host_no_mail(postfix):
    """521 greetings: deferred with dsn 4.3.2 (smtp_skip_5xx_greeting) and bounced, both 521/greeting/host.no_mail."""
    d = _delivery(postfix, reply_code=521)
    assert set(d["status"]) == {"deferred", "bounced"}
    assert set(d[d["status"] == "deferred"]["dsn"]) == {"4.3.2"}
    assert set(d["smtp_stage"]) == {"greeting"}
    assert set(d["cause"]) == {"host.no_mail"}


@pytest.mark.parametrize("code,enhanced,stage,cause", [
    (550, "5.1.1", "RCPT TO", "mailbox.unknown"),
    (450, "4.2.0", "RCPT TO", "greylisted"),
    (552, "5.3.4", "end of DATA", "message.too_big"),
    (556, "5.1.10", "RCPT TO", "domain.no_mail"),
    (550, "5.7.606", "RCPT TO", "reputation.ip_listed"),
    (550, "5.7.26", "end of DATA", "auth.dmarc"),
])
def test_fake_mx_replies_classified(postfix, code, enhanced, stage, cause):
    """What the fake MX answered is the reply code, enhanced code, stage and cause of the delivery."""
    d = _delivery(postfix, reply_code=code, enhanced_code=enhanced)
    assert len(d) >= 1
    assert set(d["smtp_stage"]) == {stage}
    assert set(d["cause"]) == {cause}


def test_sessions_end_with_221_or_are_lost(postfix):
    """smtpd sessions that sent QUIT are 221 session.closed; the dropped one is session.lost."""
    ends = postfix[postfix["event"].isin(["disconnect", "lost_connection"]) & (postfix["program"] == "postfix/smtpd")]
    closed = ends[ends["quit"] == True]  # noqa: E712 - nullable boolean
    assert len(closed) > 10
    assert set(closed["reply_code"]) == {221} and set(closed["cause"]) == {"session.closed"}
    lost = ends[ends["event"] == "lost_connection"]
    assert len(lost) >= 1 and set(lost["cause"]) == {"session.lost"}


def test_inbound_rejects(postfix):
    """Our own rejects: unknown user, relay denied and a policy reject, with their codes."""
    r = postfix[postfix["event"] == "reject"]
    assert {"client.recipient_unknown", "client.relay_denied"} <= set(r["cause"])  # read inbound
    assert set(r["reply_code"].dropna()) <= {550, 554}
    # a cleanup header_checks reject logs only the enhanced code it answered with
    content = r[r["program"] == "postfix/cleanup"]
    assert list(content["enhanced_code"]) == ["5.7.1"] and content["reply_code"].isna().all()


@pytest.fixture(scope="module")
def exim() -> pd.DataFrame:
    if not (SAMPLES / "exim").exists():
        pytest.skip("no Exim sample logs")
    return classify(parse_logs([str(SAMPLES / "exim")], tz="UTC").events)


@pytest.mark.parametrize("code,enhanced,stage,cause", [
    (521, "5.3.2", "greeting", "host.no_mail"),
    (550, "5.1.1", "RCPT TO", "mailbox.unknown"),
    (556, "5.1.10", "RCPT TO", "domain.no_mail"),
    (552, "5.3.4", "end of DATA", "message.too_big"),
    (550, "5.7.26", "end of DATA", "auth.dmarc"),
])
def test_exim_fake_mx_replies_classified(exim, code, enhanced, stage, cause):
    """Exim's 'SMTP error from remote mail server after …' gives the code, stage and cause."""
    d = _delivery(exim, reply_code=code, enhanced_code=enhanced)
    assert len(d) >= 1
    assert set(d["smtp_stage"]) == {stage}
    assert set(d["cause"]) == {cause}


def test_exim_session_ends_and_dropped_connections(exim):
    """'closed by QUIT' is a 221 close; a remote that hung up is remote.connection_lost (the outbound
    reading of session.lost) at the stage it died."""
    closed = exim[(exim["event"] == "disconnect") & (exim["quit"] == True)]  # noqa: E712
    assert len(closed) >= 1 and set(closed["reply_code"]) == {221}
    dropped = _delivery(exim, status="deferred")
    dropped = dropped[dropped["reply_text"].str.startswith("Remote host closed connection").fillna(False)]
    assert len(dropped) >= 1
    assert set(dropped["cause"]) == {"remote.connection_lost"}
    assert {"RCPT TO", "end of DATA"} <= set(dropped["smtp_stage"])


def test_exim_paniclog_and_rejectlog(exim):
    """The paniclog entry is a panic event; rejectlog entries already in the mainlog are not doubled."""
    assert (exim["event"] == "panic").sum() == 1
    res = parse_logs([str(SAMPLES / "exim")], tz="UTC")
    assert res.counts.duplicates >= 1
    rej = res.events[res.events["event"] == "reject"]
    assert not rej.duplicated(subset=["ts", "client_ip", "recipient", "reply_text"]).any()
