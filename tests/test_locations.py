"""Default log locations: without log arguments maillens reads this machine's usual mail logs."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from analyzer.locations import JOURNAL_NAME, NoLogsFound, find_logs
from analyzer.reader import parse_logs
from tests.faults._input_run import SAMPLES, maillens

RFC3339 = SAMPLES / "formats" / "postfix-syslog-rfc3339" / "mail.log"  # what the fake journal prints


def _fake_journalctl(bindir: Path, source: Path | None, record: Path) -> None:
    """A `journalctl` that records its arguments and prints SOURCE (nothing when None)."""
    bindir.mkdir(exist_ok=True)
    exe = bindir / "journalctl"
    body = f"cat {source}\n" if source else ""
    exe.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n{body}')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def _env(root: Path, bindir: Path) -> dict[str, str]:
    return {"MAILLENS_ROOT": str(root), "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "var" / "log").mkdir(parents=True)
    return r


def test_usual_files_are_found_oldest_first(root: Path) -> None:
    """/var/log/mail.log* and /var/log/exim4/mainlog* are found, each rotated set oldest first."""
    for name in ("mail.log", "mail.log.1", "mail.log.2.gz"):
        shutil.copy(SAMPLES / "postfix" / name, root / "var/log" / name)
    (root / "var/log/exim4").mkdir()
    shutil.copy(SAMPLES / "exim" / "mainlog", root / "var/log/exim4/mainlog")
    shutil.copy(SAMPLES / "exim" / "mainlog.1", root / "var/log/exim4/mainlog.1")
    (root / "var/log/syslog").write_text("not read\n")
    found = find_logs(root)
    log = root / "var/log"
    assert found.inputs == [str(log / "mail.log.2.gz"), str(log / "mail.log.1"), str(log / "mail.log"),
                            str(log / "exim4/mainlog.1"), str(log / "exim4/mainlog")]
    assert found.message.startswith("Reading 5 file(s) found in the usual places: ")


def test_report_without_arguments_names_the_files_on_the_first_stderr_line(root: Path, tmp_path: Path) -> None:
    """`maillens report` with no logs reads the usual files and says which on stderr's first line."""
    shutil.copy(SAMPLES / "postfix" / "mail.log", root / "var/log" / "maillog")
    _fake_journalctl(tmp_path / "bin", SAMPLES / "postfix" / "mail.log.1", tmp_path / "args")
    r = maillens("report", "--tz", "UTC", env=_env(root, tmp_path / "bin"))
    assert r.returncode == 0, r.stderr
    first = r.stderr.splitlines()[0]
    assert first == f"Reading 1 file(s) found in the usual places: {root / 'var/log/maillog'}"
    assert not (tmp_path / "args").exists()  # files found: the journal is not read
    n = len((SAMPLES / "postfix" / "mail.log").read_text().splitlines())
    assert f"Read {n} lines from 1 file(s)" in r.stdout


def test_journal_is_read_when_it_is_the_only_source(root: Path, tmp_path: Path) -> None:
    """With no mail log files, `journalctl -u postfix -u exim4 -o short-iso` output is read, and the first line says so."""
    _fake_journalctl(tmp_path / "bin", RFC3339, tmp_path / "args")
    r = maillens("parse", env=_env(root, tmp_path / "bin"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[0].startswith(f"Reading the systemd journal ({JOURNAL_NAME} -o short-iso)")
    args = (tmp_path / "args").read_text().split("\n")
    assert args[args.index("-o"):args.index("-o") + 2] == ["-o", "short-iso"]
    assert "postfix" in args and "exim4" in args and f"--root={root}" in args
    want = parse_logs([str(RFC3339)], tz="UTC").counts
    assert f"{want.lines:,} lines read: {want.events:,} events" in r.stdout
    assert JOURNAL_NAME in r.stdout  # the file table names the journal, not a temporary file


def test_journal_copy_is_removed_and_events_name_the_journal(root: Path, tmp_path: Path) -> None:
    """The library reads the journal through a temporary copy that cleanup() removes."""
    _fake_journalctl(tmp_path / "bin", RFC3339, tmp_path / "args")
    found = find_logs(root, journalctl=str(tmp_path / "bin" / "journalctl"))
    copy = found.journal_file
    assert copy is not None and copy.exists()
    events = parse_logs(found.inputs, tz="UTC").events
    assert set(events["source"]) == {JOURNAL_NAME}
    assert len(events) == len(parse_logs([str(RFC3339)], tz="UTC").events) > 0
    found.cleanup()
    assert not copy.exists()


@pytest.mark.parametrize("command", ["report", "parse", "search", "ingest"])
def test_nothing_found_says_where_it_looked_and_exits_66(root: Path, tmp_path: Path, command: str) -> None:
    """No file and an empty journal: an error naming every place looked at, exit 66."""
    _fake_journalctl(tmp_path / "bin", None, tmp_path / "args")
    extra = ["--store", str(tmp_path / "store")] if command == "ingest" else []
    r = maillens(command, *extra, env=_env(root, tmp_path / "bin"))
    assert r.returncode == 66, (r.returncode, r.stderr)
    err = r.stderr.splitlines()
    assert err[0].startswith("Error: no mail logs found: looked in ")
    for place in ("var/log/mail.log*", "var/log/maillog*", "var/log/exim4/mainlog*", "var/log/exim/main.log*"):
        assert str(root / place) in err[0]
    assert "systemd journal" in err[0]
    assert err[1].startswith("Try: ")


def test_find_logs_raises_without_journalctl(root: Path) -> None:
    """No files and no journalctl at all: NoLogsFound."""
    with pytest.raises(NoLogsFound, match="no mail logs found"):
        find_logs(root, journalctl=str(root / "no-such-journalctl"))
