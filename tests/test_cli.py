"""The command line: exit codes, outputs, stdin, help with examples."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app

from .conftest import dead_pid

runner = CliRunner()
LINES = [
    "Nov 29 10:00:00 mx postfix/smtpd[1]: connect from a.test[192.0.2.1]",
    "Nov 29 10:00:01 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from a.test[192.0.2.1]: 550 5.1.1 <x@ours.test>: "
    "Recipient address rejected: User unknown; from=<s@a.test> to=<x@ours.test> proto=ESMTP helo=<a.test>",
    "Nov 29 10:00:02 mx postfix/smtpd[1]: disconnect from a.test[192.0.2.1] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
    "Nov 29 10:00:03 mx dovecot: imap-login: Login",
    "Nov 29 10:00:04 mx postfix/smtpd[1]: a line nobody has seen",
]


@pytest.fixture
def log(tmp_path):
    p = tmp_path / "mail.log"
    p.write_text("\n".join(LINES) + "\n")
    return p


def test_summary_lists_events_codes_and_unknown(log):
    """Without -o, the summary shows counts, reply codes and the unrecognised kind with file:line."""
    r = runner.invoke(app, ["parse", str(log), "--tz", "UTC", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert "3 events" in r.output and "1 not recognised" in r.output
    assert "550" in r.output and "221" in r.output
    assert "mail.log:5" in r.output
    assert "dovecot 1" in r.output


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_output_formats_round_trip(log, tmp_path, suffix):
    """-o writes the event table (with causes) in the format its name says."""
    out = tmp_path / f"events{suffix}"
    r = runner.invoke(app, ["parse", str(log), "--tz", "UTC", "--year", "2026", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert r.output == ""  # quiet success
    df = {".parquet": pd.read_parquet, ".csv": pd.read_csv,
          ".jsonl": lambda p: pd.read_json(p, lines=True)}[suffix](out)
    assert list(df["event"]) == ["connect", "reject", "disconnect"]
    assert list(df["line_no"]) == [1, 2, 3]
    assert df["cause"].iloc[1] == "client.recipient_unknown"  # our smtpd rejected a client
    assert not list(tmp_path.glob(".events*"))  # no temporary file left behind


def test_killed_runs_temporary_outputs_are_swept(log, tmp_path):
    """A temporary output a killed run left beside -o's file (its process gone) is removed by the
    next run writing that file; a live process's, and other names, are left alone."""
    pid = dead_pid()
    dead = tmp_path / f".events.parquet.{pid}-0a1b2c3d.tmp"
    live = tmp_path / f".events.parquet.{os.getpid()}-0a1b2c3d.tmp"
    other = [tmp_path / ".events.parquet.0a1b2c3d.tmp", tmp_path / f".other.parquet.{pid}-0a1b2c3d.tmp"]
    for f in (dead, live, *other):
        f.write_bytes(b"PAR1 half-written")
    out = tmp_path / "events.parquet"
    r = runner.invoke(app, ["parse", str(log), "--tz", "UTC", "--year", "2026", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(out)) == 3
    assert not dead.exists() and live.exists() and all(f.exists() for f in other)


def test_stdin_and_compressed(tmp_path):
    """'-' reads stdin; a gzip piped in is recognised by content."""
    blob = gzip.compress(("\n".join(LINES) + "\n").encode())
    r = subprocess.run([sys.executable, "-m", "analyzer", "parse", "-", "--tz", "UTC", "--year", "2026",
                        "-o", "-", "--no-classify"], input=blob, capture_output=True, check=False)
    assert r.returncode == 0, r.stderr
    rows = pd.read_json(pd.io.common.StringIO(r.stdout.decode()), lines=True)
    assert list(rows["event"]) == ["connect", "reject", "disconnect"]
    assert set(rows["source"]) == {"-"}


@pytest.mark.parametrize("args,code,needle", [
    (["parse", "/nonexistent/mail.log"], 3, "no such file"),
    (["parse", "{log}", "--tz", "Mars/Olympus"], 2, "unknown time zone"),
    (["parse", "{log}", "--format", "xml"], 2, "unknown format"),
    (["parse", "{log}", "--strict", "--tz", "UTC"], 4, "mail.log:5"),
    (["parse", "{log}", "-o", "/nonexistent-dir/x.parquet", "--tz", "UTC"], 5, "cannot write"),
    (["parse", "{log}", "-o", "{tmp}/x.xlsx", "--tz", "UTC"], 5, "unknown output type"),
    (["explain", "no.such.thing"], 2, "Error:"),
])
def test_errors_are_one_line_with_exit_codes(log, tmp_path, args, code, needle):
    """Bad input, options and outputs give 'Error: …' / 'Try: …' and a meaningful exit code."""
    args = [a.format(log=log, tmp=tmp_path) for a in args]
    r = subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, check=False)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert needle in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0].startswith("Error: ")


@pytest.mark.parametrize("name", ["summary.json", "x.xlsx", "noext"])
def test_unknown_output_type_hints_at_the_summary_not_the_directory(log, tmp_path, name):
    """``-o summary.json`` is a wrong suffix, not an unwritable directory: the hint says where the
    summary goes (stdout, ``-f json``) instead of asking to check the directory."""
    r = subprocess.run([sys.executable, "-m", "analyzer", "parse", log, "--tz", "UTC", "-o", str(tmp_path / name)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 5, r.stderr
    hint = [line for line in r.stderr.splitlines() if line.startswith("Try: ")]
    assert hint and "-f json" in hint[0] and "directory" not in hint[0], r.stderr
    assert not (tmp_path / name).exists()

def test_every_command_has_help_with_an_example():
    """Each command's --help teaches with an example and the README names the command."""
    with open(os.path.join(os.path.dirname(__file__), "..", "README.md")) as fh:
        readme = fh.read()
    for name, _cmd in ((c.name or c.callback.__name__, c) for c in app.registered_commands):
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0
        if name == "version":
            continue
        assert "maillens " + name in r.output, f"{name} --help has no example"
        assert f"maillens {name}" in readme, f"README does not mention maillens {name}"
