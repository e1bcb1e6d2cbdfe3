"""What /var/log really holds, item 11: input with no mail lines is an error, not "all clear"."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analyzer.intake import NoMailLines, check_intake
from analyzer.reader import parse_logs

from ._input_run import SAMPLES, maillens

SSHD = ("Nov 29 10:00:00 vm sshd[101]: Accepted publickey for root from 192.0.2.1 port 5000 ssh2\n"
        "Nov 29 10:00:01 vm sshd[101]: pam_unix(sshd:session): session opened for user root\n")


def _cases(tmp: Path) -> dict[str, list[str]]:
    (tmp / "emptydir").mkdir()
    (tmp / "empty.log").write_bytes(b"")
    (tmp / "random.bin").write_bytes(os.urandom(8192))
    (tmp / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    (tmp / "auth.log").write_text(SSHD * 20)
    return {
        "empty directory": [str(tmp / "emptydir")],
        "empty file": [str(tmp / "empty.log")],
        "random bytes": [str(tmp / "random.bin")],
        "passwd": [str(tmp / "passwd")],
        "sshd only": [str(tmp / "auth.log")],
        "postfix read as exim": [str(SAMPLES / "postfix"), "--log-format", "exim"],
    }


@pytest.mark.parametrize("case", ["empty directory", "empty file", "random bytes", "passwd", "sshd only",
                                  "postfix read as exim"])
@pytest.mark.parametrize("command", ["report", "parse"])
def test_no_mail_lines_exits_66(tmp_path: Path, case: str, command: str) -> None:
    """Input without one Postfix/Exim line exits 66 with an 'Error: no mail lines read' line, not 'Nothing abnormal'."""
    args = _cases(tmp_path)[case]
    r = maillens(command, *args, "--tz", "UTC", timeout=120)
    assert r.returncode == 66, (case, r.returncode, r.stdout[-300:], r.stderr)
    assert r.stderr.startswith("Error: no mail lines read"), r.stderr
    assert "Try: " in r.stderr
    assert "Nothing abnormal" not in r.stdout and "every line recognised" not in r.stdout
    if case == "postfix read as exim":
        assert "read as --log-format exim" in r.stderr


def test_search_and_ingest_no_mail_lines_exit_66(tmp_path: Path) -> None:
    """`search` and `ingest` of an sshd-only log exit 66 too."""
    (tmp_path / "auth.log").write_text(SSHD * 20)
    r = maillens("search", str(tmp_path / "auth.log"), "--tz", "UTC")
    assert r.returncode == 66, r.stderr
    r = maillens("ingest", str(tmp_path / "auth.log"), "--store", str(tmp_path / "store"), "--tz", "UTC")
    assert r.returncode == 66, r.stderr
    assert "no mail lines read" in r.stderr


def test_mostly_not_mail_file_is_named_in_a_warning(tmp_path: Path) -> None:
    """A file where most lines are not mail lines gets a warning naming it; a clean mail log does not."""
    shutil.copy(SAMPLES / "postfix" / "mail.log", tmp_path / "mail.log")
    mixed = tmp_path / "syslog"
    mixed.write_text((SAMPLES / "postfix" / "mail.log").read_text().splitlines(keepends=True)[0] + SSHD * 10)
    result = parse_logs([str(tmp_path)], tz="UTC")
    check_intake(result)
    warned = [w for w in result.warnings if "not Postfix or Exim lines" in w]
    assert len(warned) == 1 and warned[0].startswith(f"{mixed}: 20 of 21 lines"), result.warnings


def test_check_intake_raises_on_no_mail_lines(tmp_path: Path) -> None:
    """The library check raises NoMailLines (a SourceError) naming the files and their line count."""
    (tmp_path / "auth.log").write_text(SSHD)
    result = parse_logs([str(tmp_path / "auth.log")], tz="UTC")
    with pytest.raises(NoMailLines, match=r"auth\.log; 2 lines"):
        check_intake(result)


def test_exim_under_a_wrapper_name_is_mail_when_files_are_read_together() -> None:
    """Exim lines logged through syslog under another program name are mail lines: no 'not mail'
    warning for them, whether the file is read alone or batched with other small files."""
    wrapped = SAMPLES / "formats" / "exim-syslog" / "mail.log"
    for inputs in ([str(wrapped)], [str(wrapped), str(SAMPLES / "postfix")]):
        res = parse_logs(inputs, tz="UTC")
        summary = next(f for f in res.files if f.name.endswith("exim-syslog/mail.log"))
        assert summary.events > 0 and summary.not_mail == 0, (inputs, summary)
        assert not [w for w in res.warnings if "not Postfix or Exim lines" in w]
