"""Issue 11, items 2-3: `-o` writes devices, FIFOs and fd links through; modes follow the umask or stay.

Never /dev/null: the devices here are our own nodes and pipes in tmp_path, so a regression replaces
a file of the test, not one of the machine's.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.output import OutputError, atomic_write_text, open_output

runner = CliRunner()
LOG = """\
Nov 28 10:00:01 mx1 postfix/qmgr[102]: 4A1B2C3D4E: from=<alice@ours.test>, size=100, nrcpt=1 (queue active)
Nov 28 10:00:02 mx1 postfix/smtp[103]: 4A1B2C3D4E: to=<bob@dest.example>, relay=mx.dest.example[203.0.113.5]:25, \
delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.dest.example[203.0.113.5] said: 550 5.1.1 \
<bob@dest.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Nov 28 10:00:02 mx1 postfix/qmgr[102]: 4A1B2C3D4E: removed
"""
FIXED = ["--tz", "UTC", "--year", "2026"]
COMMANDS = {
    "report": lambda log, out: ["report", log, *FIXED, "-f", "json", "-o", out],
    "search": lambda log, out: ["search", log, *FIXED, "-f", "jsonl", "-o", out],
    "parse": lambda log, out: ["parse", log, *FIXED, "-o", out],
}


@pytest.fixture
def log(tmp_path: Path) -> str:
    p = tmp_path / "mail.log"
    p.write_text(LOG)
    return str(p)


def _reader(fd_or_path, sink: list[bytes]) -> threading.Thread:
    def run() -> None:
        # open(path) blocks until the writer opens the FIFO; the handle is closed by the with below
        fh = os.fdopen(fd_or_path, "rb") if isinstance(fd_or_path, int) else open(fd_or_path, "rb")  # noqa: SIM115
        with fh:
            sink.append(fh.read())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _check_content(cmd: str, data: bytes) -> None:
    text = data.decode()
    if cmd == "report":
        assert json.loads(text)["lines"]["events"] == 3
    else:
        rows = [json.loads(line) for line in text.splitlines()]
        assert rows and any("bob@dest.example" in json.dumps(r) for r in rows)


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_fifo_is_written_through(tmp_path, log, cmd):
    """-o onto a FIFO writes into the FIFO (a reader gets the output) and leaves the FIFO a FIFO."""
    fifo = tmp_path / ("out.jsonl" if cmd == "parse" else "out.fifo")
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _reader(str(fifo), got)
    res = runner.invoke(app, COMMANDS[cmd](log, str(fifo)))
    t.join(timeout=60)
    assert res.exit_code == 0, res.output
    assert not t.is_alive(), "the reader never saw the writer: the FIFO was not written through"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    _check_content(cmd, got[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["mail.log", fifo.name])  # no temp debris


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_proc_fd_link_of_a_pipe_is_written_through(log, cmd):
    """-o /proc/self/fd/N (a pipe) writes into the pipe, like a shell's > /dev/stdout."""
    r, w = os.pipe()
    got: list[bytes] = []
    t = _reader(r, got)
    try:
        res = runner.invoke(app, COMMANDS[cmd](log, f"/proc/self/fd/{w}"))
    finally:
        os.close(w)
    t.join(timeout=60)
    assert res.exit_code == 0, res.output
    assert not t.is_alive()
    _check_content(cmd, got[0])


def test_character_device_is_written_through_not_replaced(tmp_path, log):
    """-o onto a character device (our own null node in tmp_path) writes to it; it stays a device."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here ({exc})")
    for cmd in sorted(COMMANDS):
        res = runner.invoke(app, COMMANDS[cmd](log, str(node)))  # parse: JSON lines, the device has no suffix
        assert res.exit_code == 0, res.output
        st = os.lstat(node)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3), cmd
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mail.log", "null"]


def test_symlink_to_a_file_is_followed_and_stays_a_link(tmp_path, log):
    """-o LINK replaces the file LINK points to (atomically, keeping its mode); LINK stays a symlink."""
    real = tmp_path / "reports" / "mail.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o644)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    res = runner.invoke(app, ["report", log, *FIXED, "-f", "json", "-o", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["lines"]["events"] == 3
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o644
    assert sorted(p.name for p in real.parent.iterdir()) == ["mail.json"]


def test_dangling_symlink_is_refused(tmp_path, log):
    """-o onto a dangling symlink exits 5 naming it, and creates nothing where it points."""
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    res = runner.invoke(app, ["report", log, *FIXED, "-f", "json", "-o", str(link)])
    assert res.exit_code == 5
    assert "dangling" in res.output and str(link) in res.output
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_directory_is_refused(tmp_path, log):
    """-o onto a directory exits 5 with a one-line error, the directory untouched."""
    res = runner.invoke(app, ["report", log, *FIXED, "-o", str(tmp_path)])
    assert res.exit_code == 5 and "is a directory" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mail.log"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, log, umask, mode):
    """A new output file gets 0666 & ~umask, like a shell redirection, for every command."""
    old = os.umask(umask)
    try:
        for cmd, name in (("report", "r.json"), ("search", "s.jsonl"), ("parse", "p.csv")):
            res = runner.invoke(app, COMMANDS[cmd](log, str(tmp_path / name)))
            assert res.exit_code == 0, res.output
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, (cmd, oct(umask))
    finally:
        os.umask(old)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_replaced_file_keeps_its_mode(tmp_path, log, mode):
    """Replacing an existing report keeps its mode whatever the umask (a web server can still read it)."""
    target = tmp_path / "report.html"
    target.write_text("old")
    os.chmod(target, mode)
    old = os.umask(0o077)
    try:
        res = runner.invoke(app, ["report", log, *FIXED, "-f", "html", "-o", str(target)])
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    assert target.read_text().startswith("<!")
    assert stat.S_IMODE(os.stat(target).st_mode) == mode


def test_replaced_file_keeps_its_owner_when_root(tmp_path):
    """As root, a replaced file keeps its owner and group (the web server's), not root's."""
    if os.geteuid() != 0:
        pytest.skip("only root may give a file to another owner")
    target = tmp_path / "report.md"
    target.write_text("old")
    os.chown(target, 65534, 65534)
    atomic_write_text(target, "new")
    st = os.stat(target)
    assert (st.st_uid, st.st_gid) == (65534, 65534) and target.read_text() == "new"


def test_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    """An error while writing leaves the old file as it was and no temporary file beside it."""
    target = tmp_path / "events.csv"
    target.write_text("old content")
    with pytest.raises(RuntimeError), open_output(target, "w") as fh:
        fh.write("half a")
        raise RuntimeError("disk went away")
    assert target.read_text() == "old content"
    assert [p.name for p in tmp_path.iterdir()] == ["events.csv"]


def test_unwritable_targets_are_output_errors(tmp_path):
    """A missing directory, a looping symlink and a write-through target that cannot be opened raise
    OutputError (exit 5 in the CLI), never a bare OSError."""
    with pytest.raises(OutputError, match="cannot write here"), open_output(tmp_path / "nodir" / "x.csv"):
        pass
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OutputError, match=r"symbolic links|dangling"), open_output(loop):
        pass
    with pytest.raises(OutputError), open_output("/proc/self/fd/999999"):
        pass
