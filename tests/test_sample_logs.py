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
    """Each sample file parses without an exception and ≥99.5% of its mail lines become events."""
    files = [p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".md", ".json", ".jsonl")]
    assert files
    for f in files:
        c = parse_logs([str(f)], tz="UTC").counts
        assert c.events >= 0.995 * (c.events + c.unrecognised), (f, c.unknown)
        assert not c.foreign, (f, c.foreign)  # Exim under a wrapper's name is Exim, not another program


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
    # a cleanup header_checks reject logs only the enhanced code; smtpd answered it with 550
    content = r[r["program"] == "postfix/cleanup"]
    assert list(content["enhanced_code"]) == ["5.7.1"]
    assert list(content["reply_code"]) == [550] and list(content["code_origin"]) == ["inferred"]


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


# ---- the generator's manifest: every message's final state and the code its peer received ----------

RUNS = ("postfix", "postfix-syslog", "exim")


def _manifest() -> list[dict]:
    import json
    path = SAMPLES / "expected" / "messages.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def message_tables() -> dict[str, pd.DataFrame]:
    from analyzer.messages import messages
    return {run: messages(parse_logs([str(SAMPLES / run)], tz="UTC").events) for run in RUNS
            if (SAMPLES / run).exists()}


def _row_of(table: pd.DataFrame, rec: dict) -> pd.Series:
    """The message-table row of a manifest record: by Message-ID and recipient; a message refused or
    discarded before its Message-ID was logged by envelope; an Exim discard (no recipient on its
    line) by Message-ID."""
    mid = rec["message_id"].strip("<>")
    by_mid = table[table["message_id"].fillna("") == mid]
    given = by_mid["orig_recipient"].fillna(by_mid["recipient"]).fillna("").str.lower()  # Exim "=> alice <alice@x>"
    hit = by_mid[given == rec["recipient"].lower()]
    if hit.empty and len(by_mid) == 1 and by_mid["recipient"].isna().all():
        hit = by_mid
    if hit.empty:
        hit = table[(table["sender"].fillna("") == rec["sender"]) & (table["recipient"].fillna("") == rec["recipient"])
                    & table["message_id"].isna()]
    if hit.empty:  # refused at MAIL FROM: the row has the sender only
        hit = table[(table["sender"].fillna("") == rec["sender"]) & table["recipient"].isna()
                    & (table["status"] == "rejected")]
    assert len(hit) >= 1, f"no message row for {rec['run']} {rec['scenario']} {rec['recipient']}"
    return hit.iloc[0]


def test_every_manifest_message_has_its_final_state(message_tables):
    """100% of the generated messages end in the state the generator observed (expired, force-expired,
    held, discarded, error-ignored included), which is also the state each scenario was designed for."""
    recs = [r for r in _manifest() if r["run"] in message_tables]
    assert len(recs) > 90
    wrong = []
    for rec in recs:
        row = _row_of(message_tables[rec["run"]], rec)
        if row["status"] != rec["outcome"] or rec["outcome"] != rec["expected_outcome"]:
            wrong.append((rec["run"], rec["scenario"], rec["recipient"], rec["expected_outcome"], row["status"]))
    assert not wrong
    states = {r["outcome"] for r in recs}
    assert {"sent", "deferred", "bounced", "rejected", "expired", "force-expired", "held", "discarded",
            "error-ignored"} <= states


def test_every_manifest_message_has_the_code_its_peer_received(message_tables):
    """The reply code on each message row is the one the other side got: the fake MX's final answer
    for outbound mail, our MTA's answer to the client for inbound rejects (Exim's inferred)."""
    checked = 0
    for rec in _manifest():
        if rec["run"] not in message_tables:
            continue
        row = _row_of(message_tables[rec["run"]], rec)
        if rec["outcome"] == "rejected" and rec.get("mta_reply") and rec["mta_reply"]["code"] >= 400:
            want = rec["mta_reply"]["code"]
        elif rec["outcome"] in ("sent", "bounced") and (rec.get("mx_answer") or {}).get("code"):
            want = rec["mx_answer"]["code"]
        else:
            continue
        got = None if pd.isna(row["reply_code"]) else int(row["reply_code"])
        assert got == want, (rec["run"], rec["scenario"], rec["recipient"], got, want)
        checked += 1
    assert checked > 40


def test_frozen_bounce_is_frozen_once(message_tables):
    """Exim froze the bounce it could not deliver: the notice's row is frozen, once, though every
    forced queue run logged it frozen again."""
    exim = message_tables.get("exim")
    if exim is None:
        pytest.skip("no Exim sample logs")
    recs = [r for r in _manifest() if r["run"] == "exim" and r.get("bounce_notice_outcome") == "frozen"]
    assert recs
    for rec in recs:
        rows = exim[exim["queue_id"] == rec["bounce_notice_queue_id"]]
        assert list(rows["status"]) == ["frozen"]


def test_every_exim_reject_has_a_code_and_its_origin(exim):
    """Exim logs no code for its own rejects: each reject row carries the one it sent, marked inferred
    unless the line held it."""
    rej = exim[exim["event"] == "reject"]
    assert len(rej) >= 5
    assert rej["reply_code"].notna().all()
    assert set(rej["code_origin"]) <= {"inferred", "logged"} and rej["code_origin"].notna().all()
    assert {501, 550} <= set(rej["reply_code"])
    assert (rej[rej["status"] == "tempfailed"]["reply_code"] == 451).all()


def _readme_figures(run: str) -> dict[str, int]:
    import re
    text = (SAMPLES / "README.md").read_text()
    m = re.search(rf"### `{re.escape(run)}/` \((pflogsumm|eximstats)\)\n\n\| total \| value \|\n\| --- \| ---: \|\n"
                  r"((?:\| `\w+` \| \d+ \|\n)+)", text)
    assert m, f"sample_logs/README.md states no figures for {run}/"
    return {k: int(v) for k, v in re.findall(r"\| `(\w+)` \| (\d+) \|", m.group(2))}


@pytest.mark.parametrize("run", RUNS)
def test_report_on_one_server_shows_the_readme_figures(run):
    """`maillens report sample_logs/<server>/` prints the totals sample_logs/README.md states for that night."""
    from analyzer.report import make_report, render
    if not (SAMPLES / run).exists():
        pytest.skip(f"no {run} sample logs")
    stated = _readme_figures(run)
    report = make_report(parse_logs([str(SAMPLES / run)], tz="UTC"))
    (peer,) = report["peer_totals"]
    shown = {x["key"]: x["value"] for x in peer["totals"]}
    if peer["tool"] == "eximstats":
        shown["rejects"] += shown.pop("remote_reject_mentions")
    else:  # pflogsumm prints values over 512k in k
        shown = {k: (v // 1024) * 1024 if v > 524288 else v for k, v in shown.items()}
    assert {k: shown[k] for k in stated} == stated
    text = render(report, "text")
    assert f"TOTALS AS {peer['tool'].upper()} COUNTS THEM" in text
    assert f"received {stated['received']:,}" in text


def test_readme_main_command_prints_the_stated_figures():
    """The README's main command, `maillens report sample_logs/postfix/`, prints every figure that
    sample_logs/README.md states for that night, in its pflogsumm-totals line."""
    import os
    import re

    from typer.testing import CliRunner

    from analyzer.cli import app
    readme = (SAMPLES.parent / "README.md").read_text()
    assert "maillens report sample_logs/postfix/" in readme
    stated = _readme_figures("postfix")
    cwd = os.getcwd()
    os.chdir(SAMPLES.parent)
    try:
        res = CliRunner().invoke(app, ["report", "sample_logs/postfix/", "--tz", "UTC"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    line = res.stdout.split("TOTALS AS PFLOGSUMM COUNTS THEM", 1)[1].splitlines()[1]
    shown = {k.replace(" ", "_"): int(v.replace(",", "")) for k, v in re.findall(r"([a-z][a-z ]*?) ([\d,]+)", line)}
    assert shown == stated


def test_every_cause_of_both_servers_report_cites_a_line():
    """Every failure cause the report on both sample servers lists shows an example line; Exim's
    'unqualified sender/recipient rejected' lines (no reply text logged) gave none before their own
    words were kept as the detail, and the recipient one was then read as an unknown mailbox."""
    from analyzer.report import make_report
    report = make_report(parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC"))
    causes = {c["cause"]: c for c in report["outcomes"]["by_cause"]}
    assert {"client.address_invalid", "client.sender_invalid"} <= set(causes)
    assert [c for c, e in causes.items() if e["example"] is None] == []
    assert causes["client.address_invalid"]["example"]["text"] == "unqualified recipient rejected"
    assert causes["client.sender_invalid"]["example"]["text"] == "unqualified sender rejected"


@pytest.mark.parametrize("line, cause", [
    ("2026-12-01 21:18:09 unqualified sender rejected: <nodomain> H=(c.example) [127.0.0.66]:45173",
     "client.sender_invalid"),
    ("2026-12-01 21:18:09 unqualified recipient rejected: <alice> H=(c.example) [127.0.0.66]:45173",
     "client.address_invalid"),
    ("2026-12-01 21:18:09 unqualified verify rejected: <bob> H=(c.example) [127.0.0.66]:45173",
     "client.address_invalid"),
])
def test_exim_unqualified_lines_keep_their_words(tmp_path, line, cause):
    """The line's own words are its detail, and the cause is a malformed address or sender (Exim
    answered '501 <x>: ... address must contain a domain'), never an unknown mailbox."""
    log = tmp_path / "mainlog"
    log.write_text(line + "\n")
    ev = classify(parse_logs([str(log)], tz="UTC").events)
    assert len(ev) == 1
    row = ev.iloc[0]
    assert row["detail"] == line.split(": <", 1)[0].split(" ", 2)[2]
    assert (row["cause"], row["reply_code"], row["direction"]) == (cause, 501, "inbound")
