"""Issue 11, items 9 and 12: no control byte from log text or a file name reaches the terminal; the
search table prints rows that have no sender."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.textsafe import printable

runner = CliRunner()
ESC = "\x1b"
HELO = "evil\x1b]0;owned\x07\x1b[2J"
LOG = f"""\
Nov 28 10:05:00 mx1 postfix/smtpd[104]: connect from unknown[198.51.100.9]
Nov 28 10:05:01 mx1 postfix/smtpd[104]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 \
<x@ours.test>: Relay access denied \x1b[31mred\x1b[0m; from=<s\x1b[1m@spam.example> to=<x@ours.test> \
proto=ESMTP helo=<{HELO}>
Nov 28 10:05:02 mx1 postfix/smtpd[104]: NOQUEUE: reject: VRFY from unknown[198.51.100.9]: 550 5.1.1 <frank>: \
Recipient address rejected: User unknown in local recipient table; to=<frank> proto=SMTP
Nov 28 10:05:03 mx1 postfix/smtpd[104]: frobnicated the queue \x1b[5mblink\x1b[0m \x9b31m badly
Nov 28 10:06:00 mx1 postfix/qmgr[102]: 6C3D4E5F6A: from=<a\x1b[7m@ours.test>, size=100, nrcpt=1 (queue active)
Nov 28 10:06:02 mx1 postfix/smtp[303]: 6C3D4E5F6A: to=<bob@dest.example>, relay=mx.dest.example[203.0.113.5]:25, \
delay=2, delays=0/0/1/1, dsn=5.1.1, status=bounced (host mx.dest.example[203.0.113.5] said: 550 5.1.1 \
\x1b[31mUser unknown\x1b[0m (in reply to RCPT TO command))
"""
FIXED = ["--tz", "UTC", "--year", "2026"]


@pytest.fixture
def log(tmp_path: Path) -> str:
    d = tmp_path / "logs\x1b[31m"  # a file name with an escape sequence, too
    d.mkdir()
    p = d / "mail\x1b]0;x\x07.log"
    p.write_text(LOG)
    return str(p)


def _invoke(*args: str):
    from analyzer.cli import app

    return runner.invoke(app, list(args))


def _clean(res) -> None:
    for stream in (res.stdout, res.stderr):
        assert ESC not in stream and "\x07" not in stream and "\x9b" not in stream, stream


@pytest.mark.parametrize("args", [
    ["parse"],
    ["search"],
    ["search", "-f", "csv"],
    ["search", "-f", "jsonl"],
    ["search", "--raw"],
    ["search", "--code", "5xx"],
    ["trace", "6C3D4E5F6A"],
    ["trace", "6C3D4E5F6A", "-f", "json"],
    ["report"],
    ["report", "-f", "markdown"],
    ["report", "-f", "json"],
    ["report", "-f", "html"],
])
def test_no_escape_reaches_the_terminal(log, args):
    """Every text and table output shows log text and file names with control characters as '?'."""
    cmd, rest = args[0], args[1:]
    res = _invoke(cmd, *(rest[:1] if cmd == "trace" else []), log, *FIXED,
                  *(rest[1:] if cmd == "trace" else rest))
    assert res.exit_code == 0, res.output
    assert res.stdout.strip()
    _clean(res)


def test_parse_summary_shows_unrecognised_samples_printably(log):
    """The parse summary's unrecognised-line samples are there, with '?' for the escapes."""
    res = _invoke("parse", log, *FIXED)
    assert res.exit_code == 0, res.output
    assert "frobnicated the queue ?[5mblink" in res.stdout.replace("\n", " ") or "frobnicated" in res.stdout
    _clean(res)


def test_error_with_a_file_name_is_printable(tmp_path):
    """An error naming a file whose name holds an escape sequence prints it with '?' (exit 3)."""
    res = _invoke("parse", str(tmp_path / "no\x1b[31msuch.log"))
    assert res.exit_code == 3
    assert "Error:" in res.stderr and "no?[31msuch.log" in res.stderr
    _clean(res)


def test_output_path_in_messages_is_printable(tmp_path, log):
    """The 'written to FILE' line and an output error show the file name printably."""
    res = _invoke("search", log, *FIXED, "-f", "csv", "-o", str(tmp_path / "rows\x1b[1m.csv"))
    assert res.exit_code == 0, res.output
    assert "rows?[1m.csv" in res.stderr
    res = _invoke("report", log, *FIXED, "-o", str(tmp_path / "missing\x1b[1m" / "r.txt"))
    assert res.exit_code == 5
    _clean(res)


def test_search_table_prints_rows_without_a_sender(log):
    """search --code 5xx over a VRFY reject (no sender) prints its table instead of a TypeError."""
    res = _invoke("search", log, *FIXED, "--code", "5xx")
    assert res.exit_code == 0, res.output
    assert "frank" in res.stdout and "matching (message, recipient) rows" in res.stdout
    vrfy = next(line for line in res.stdout.splitlines() if "rejected" in line and "frank" in line)
    assert "from <" not in vrfy


@pytest.mark.parametrize("text, expected", [
    ("a\x1b[31mb", "a?[31mb"), ("x\ny", "x?y"), ("tab\tok", "tab\tok"), ("\u202egnp.exe", "?gnp.exe"),
    ("\x9b1m", "?1m"), (None, ""), (42, "42"),
])
def test_printable(text, expected):
    """printable() turns C0 (but tab), DEL, C1 and bidi overrides into '?'; newlines only if asked."""
    assert printable(text) == expected
    assert printable("x\ny", newlines=True) == "x\ny"
