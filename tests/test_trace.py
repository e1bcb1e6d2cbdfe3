"""trace(): the story of a message; acceptance against the sample generator's own record of every message."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.messages import MessageIndex, link
from analyzer.reader import parse_lines, parse_logs
from analyzer.trace import render_text, trace

from .conftest import corpus_path

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
EXPECTED = SAMPLES / "expected" / "messages.jsonl"
SCEN = ("lightmeter-controlcenter", "test_files", "postfix_logs", "individual_files")
runner = CliRunner()

#: Records the parser cannot reproduce yet, with the reason (none left).
KNOWN_PARSER_GAPS: dict[tuple[str, str], str] = {}


def _records() -> list[dict]:
    if not EXPECTED.exists():
        return []
    return [json.loads(line) for line in EXPECTED.read_text().splitlines() if line.strip()]


@cache
def _index(run_dir: str, pattern: str) -> MessageIndex:
    files = sorted(str(p) for p in (SAMPLES / run_dir).glob(pattern))
    return link(parse_logs(files, tz="UTC").events)


#: Other formats of a run's lines, kept apart in sample_logs/formats/ (same messages, other stamps)
FORMAT_COPIES = {"postfix-syslog": "formats/postfix-syslog-rfc3339", "exim": "formats/exim-syslog"}


def _inputs(rec: dict) -> list[tuple[str, str]]:
    """(directory, glob) of the log set a record's run wrote: the rotated set, and the copy of the
    same run in another format (RFC 3339 stamps; Exim through syslog under a wrapper's name)."""
    run_dir, base = rec["log"].split("/", 1)
    sets = [(run_dir, f"{base}*")]
    copy = FORMAT_COPIES.get(run_dir)
    if copy and (SAMPLES / copy / "mail.log").exists():
        sets.append((copy, "mail.log"))
    return sets


def traced_outcome(ix: MessageIndex, rec: dict) -> str | None:
    """What trace says about one (message, recipient): by Message-ID; for mail refused before it had
    one (NOQUEUE, cleanup reject), by the recipient and sender; where the log never names the recipient (refused at MAIL FROM), by the sender."""
    want = rec["recipient"].lower()
    for s in trace(ix, rec["message_id"], limit=0):
        for r in s["recipients"]:
            if want in ((r["recipient"] or "").lower(), (r["orig_recipient"] or "").lower()):
                return r["status"]
    for s in trace(ix, rec["recipient"], limit=0):
        if s["message"]["sender"] == rec["sender"] and not s["message"]["message_id"]:
            for r in s["recipients"]:
                if want in ((r["recipient"] or "").lower(), (r["orig_recipient"] or "").lower()):
                    return r["status"]
    for s in trace(ix, rec["sender"], limit=0):
        for r in s["recipients"]:
            if r["recipient"] is None and r["orig_recipient"] is None:
                return r["status"]
    return None


@pytest.mark.skipif(not EXPECTED.exists(), reason="sample_logs/expected/messages.jsonl not generated yet")
def test_trace_reproduces_every_generated_outcome():
    """Over sample_logs/, trace gives the outcome the generator recorded for every (message, recipient)."""
    records = _records()
    assert records, "messages.jsonl is empty"
    wrong, checked = [], 0
    for rec in records:
        for run_dir, pattern in _inputs(rec):
            if not (SAMPLES / run_dir).exists():
                pytest.skip(f"sample_logs/{run_dir} is missing (being regenerated?)")
            got = traced_outcome(_index(run_dir, pattern), rec)
            checked += 1
            if got != rec["expected_outcome"] and (rec["mta"], rec["scenario"]) not in KNOWN_PARSER_GAPS:
                wrong.append(f"{run_dir}/{pattern} {rec['scenario']} {rec['recipient']}: expected "
                             f"{rec['expected_outcome']}, trace says {got}")
    assert not wrong, "\n".join(wrong)
    assert checked >= len(records)
    outcomes = {r["expected_outcome"] for r in records}
    assert {"sent", "deferred", "bounced", "rejected", "expired", "force-expired", "held", "discarded",
            "error-ignored"} <= outcomes


@pytest.mark.skipif(not EXPECTED.exists(), reason="sample_logs/expected/messages.jsonl not generated yet")
def test_trace_names_the_bounce_notice_the_generator_saw():
    """Where the generator saw a non-delivery notice, trace links the message to that notice's queue id."""
    seen = 0
    for rec in _records():
        notice = rec.get("bounce_notice_queue_id")
        if not notice or not rec.get("queue_id") or rec["mta"] != "postfix":
            continue
        run_dir, base = rec["log"].split("/", 1)
        if not (SAMPLES / run_dir).exists():
            pytest.skip(f"sample_logs/{run_dir} is missing")
        stories = trace(_index(run_dir, f"{base}*"), rec["queue_id"], limit=0)
        assert stories and stories[-1]["message"]["bounce_id"] == notice, rec["scenario"]
        seen += 1
    assert seen > 0


def test_content_filter_story_has_both_hops_and_explanation():
    """Corpus 2: the trace of the inner queue id tells the whole message, both hops, with why and fix."""
    ix = link(parse_logs([str(corpus_path(*SCEN, "2_multiple_recipients_some_bounces.log"))], year=2026,
                         tz="UTC").events)
    (story,) = trace(ix, "1310930001DB")
    assert story["message"]["queue_ids"] == ["BA8F630001DA", "1310930001DB"]
    assert {t["queue_id"] for t in story["timeline"]} == {"BA8F630001DA", "1310930001DB"}
    by = {r["recipient"]: r for r in story["recipients"]}
    assert by["recipient1@dst3.example.com"]["status"] == "bounced"
    assert by["recipient1@dst3.example.com"]["explanation"]["title"] == "No such mailbox"
    assert by["recipient1@dst1.example.com"]["explanation"] is None
    assert story["notice"]["queue_id"] == "C7B4530001DA"
    text = render_text([story])
    assert "BA8F630001DA → 1310930001DB" in text and "Why: No such mailbox" in text


def test_trace_by_message_id_with_or_without_brackets():
    """A Message-ID matches with or without <>, and an address matches sender or recipient."""
    lines = [
        "Nov 29 10:00:00 mx postfix/smtpd[1]: 4B2C31A0F2: client=a.test[192.0.2.1]",
        "Nov 29 10:00:00 mx postfix/cleanup[2]: 4B2C31A0F2: message-id=<one@a.test>",
        "Nov 29 10:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: from=<alice@a.test>, size=100, nrcpt=1 (queue active)",
        "Nov 29 10:00:01 mx postfix/smtp[4]: 4B2C31A0F2: to=<x@b.test>, relay=mx.b.test[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    ]
    ix = link(parse_lines(lines).events)
    for q in ("<one@a.test>", "one@a.test", "ALICE@a.test", "x@b.test", "4B2C31A0F2"):
        (s,) = trace(ix, q)
        assert s["recipients"][0]["status"] == "sent", q
    assert trace(ix, "nobody@b.test") == []


def test_cli_trace_json_and_text(tmp_path):
    """maillens trace prints a timeline with file:line, and --format json parses."""
    log = tmp_path / "mail.log"
    log.write_text(corpus_path(*SCEN, "1_bounce_simple.log").read_text())
    r = runner.invoke(app, ["trace", "4AA091855DA0", str(log), "--tz", "UTC", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert "BOUNCED" in r.output and "mail.log:19" in r.output and "Fix:" in r.output
    r = runner.invoke(app, ["trace", "776E41855DB2", str(log), "--tz", "UTC", "--year", "2026", "-f", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data[0]["message"]["queue_ids"] == ["4AA091855DA0", "776E41855DB2"]
    assert data[0]["recipients"][0]["cause"] == "mailbox.unknown"


def test_cli_trace_escapes_markup_and_control_characters(tmp_path):
    """Log text with rich markup and escape sequences is printed literally, controls neutralised."""
    log = tmp_path / "mail.log"
    log.write_text("Nov 29 10:00:01 mx postfix/smtp[4]: 4B2C31A0F2: to=<x@b.test>, relay=mx.b.test[198.51.100.1]:25, "
                   "delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (host mx.b.test[198.51.100.1] said: "
                   "550 [bold red]owned[/] \x1b[31mred (in reply to RCPT TO command))\n")
    r = runner.invoke(app, ["trace", "4B2C31A0F2", str(log), "--tz", "UTC", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert "[bold red]owned[/]" in r.output and "\x1b" not in r.output


def test_cli_trace_usage_errors(tmp_path, monkeypatch):
    """No logs given or found is "no input" (66); an unknown id is a note, not a failure; --since needs --store."""
    monkeypatch.setenv("MAILLENS_ROOT", str(tmp_path))  # an empty tree: no usual logs, no journal
    monkeypatch.setenv("PATH", str(tmp_path))
    r = runner.invoke(app, ["trace", "ABC"])
    assert r.exit_code == 66 and "no mail logs found" in r.output
    log = tmp_path / "mail.log"
    log.write_text("Nov 29 10:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: removed\n")
    r = runner.invoke(app, ["trace", "NOPE", str(log), "--tz", "UTC"])
    assert r.exit_code == 0 and "No message" in r.output
    r = runner.invoke(app, ["trace", "NOPE", str(log), "--since", "2h"])
    assert r.exit_code == 2


def test_reused_queue_id_traces_as_two_stories():
    """A queue id reused later in the day gives two separate stories, each with its own outcome."""
    lines = [
        "Nov 29 10:00:00 mx postfix/smtpd[1]: 4B2C31A0F2: client=a.test[192.0.2.1]",
        "Nov 29 10:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: from=<alice@a.test>, size=100, nrcpt=1 (queue active)",
        "Nov 29 10:00:01 mx postfix/smtp[4]: 4B2C31A0F2: to=<x@b.test>, relay=mx.b.test[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Nov 29 10:00:01 mx postfix/qmgr[3]: 4B2C31A0F2: removed",
        "Nov 29 15:00:00 mx postfix/pickup[5]: 4B2C31A0F2: uid=0 from=<root>",
        "Nov 29 15:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: from=<root@mx.test>, size=200, nrcpt=1 (queue active)",
        "Nov 29 15:00:02 mx postfix/smtp[4]: 4B2C31A0F2: to=<y@d.test>, relay=none, delay=2, delays=0/0/2/0, "
        "dsn=4.4.1, status=deferred (connect to d.test[198.51.100.2]:25: Connection refused)",
    ]
    stories = trace(link(parse_lines(lines).events), "4B2C31A0F2")
    assert [s["message"]["sender"] for s in stories] == ["alice@a.test", "root@mx.test"]
    assert [s["recipients"][0]["status"] for s in stories] == ["sent", "deferred"]
    assert [len(s["timeline"]) for s in stories] == [4, 3]
