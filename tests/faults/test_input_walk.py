"""What /var/log really holds, item 10: links, FIFOs, unreadable places, looping globs, crashes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analyzer.sources import SourceError, expand_inputs

from ._input_run import SAMPLES, maillens


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    """A log directory with one real mail log and every kind of trap beside it."""
    d = tmp_path / "log"
    d.mkdir()
    shutil.copy(SAMPLES / "postfix" / "mail.log", d / "mail.log")
    (d / "dangling").symlink_to(tmp_path / "nowhere")
    (d / "loop").symlink_to(d / "loop")
    (d / "up").symlink_to(d)  # a symlinked directory that loops back
    os.mkfifo(d / "fifo")
    return d


def test_directory_with_dangling_and_looping_links_and_fifo(logdir: Path) -> None:
    """A directory holding dangling/looping links, a self-link and a FIFO is read without hanging: each trap is a warning."""
    r = maillens("parse", str(logdir), "--tz", "UTC", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    for name, why in (("dangling", "dangling symlink"), ("loop", "symbolic links"), ("fifo", "not a regular file"),
                      ("up", "not followed")):
        assert any(name in line and why in line for line in r.stderr.splitlines()), (name, r.stderr)
    assert "76 lines read" in r.stdout  # mail.log once: the looping 'up' link was not followed


def test_ingest_does_not_hang_on_a_fifo(logdir: Path, tmp_path: Path) -> None:
    """`ingest` of a directory with a FIFO finishes (the FIFO is skipped with a warning)."""
    r = maillens("ingest", str(logdir), "--store", str(tmp_path / "store"), "--tz", "UTC", timeout=180)
    assert r.returncode == 0, r.stderr
    assert "fifo: not a regular file" in r.stderr
    assert "76 events added" in r.stderr


def test_report_over_only_broken_entries_exits_3(tmp_path: Path) -> None:
    """A directory where nothing at all can be read exits 3 with one line naming the problem."""
    d = tmp_path / "log"
    d.mkdir()
    (d / "mail.log").symlink_to(tmp_path / "gone")
    r = maillens("report", str(d), timeout=60)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "Error: nothing could be read" in r.stderr and "dangling symlink" in r.stderr
    assert "Traceback" not in r.stderr


def test_glob_star_star_does_not_loop_through_symlinked_directories(tmp_path: Path) -> None:
    """`**` does not descend into symlinked directories, so a link back up cannot loop."""
    d = tmp_path / "a" / "b"
    d.mkdir(parents=True)
    shutil.copy(SAMPLES / "postfix" / "mail.log", d / "mail.log")
    (d / "back").symlink_to(tmp_path / "a")
    found = expand_inputs([str(tmp_path / "**" / "mail.log")], lambda _m: None)
    assert [i.name for i in found] == [str(d / "mail.log")]


def test_unreadable_subdirectory_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A subdirectory that cannot be listed is named in a warning; the rest is read."""
    (tmp_path / "ok").mkdir()
    shutil.copy(SAMPLES / "postfix" / "mail.log", tmp_path / "ok" / "mail.log")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path=".", *a, **k):  # root may read anything: simulate EACCES for this one directory
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path, *a, **k)

    monkeypatch.setattr(os, "scandir", scandir)
    warnings: list[str] = []
    found = expand_inputs([str(tmp_path)], warnings.append)
    assert [i.name for i in found] == [str(tmp_path / "ok" / "mail.log")]
    assert any(str(locked) in w and "cannot list" in w for w in warnings), warnings


def test_unreadable_file_beside_readable_ones_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that cannot be opened is a warning when others can be read, an error when none can."""
    good, bad = tmp_path / "mail.log", tmp_path / "mail.log.1"
    shutil.copy(SAMPLES / "postfix" / "mail.log", good)
    shutil.copy(SAMPLES / "postfix" / "mail.log", bad)
    real_open = os.open

    def fake_open(path, flags, *a, **k):
        if os.fspath(path) == str(bad):
            raise PermissionError(13, "Permission denied", str(bad))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", fake_open)
    warnings: list[str] = []
    assert [i.name for i in expand_inputs([str(tmp_path)], warnings.append)] == [str(good)]
    assert warnings == [f"{bad}: Permission denied; skipped"]
    with pytest.raises(SourceError, match="nothing could be read"):
        expand_inputs([str(bad)], lambda _m: None)


def test_fifo_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    """A FIFO named explicitly (as from `<(zcat …)`) is read, not skipped."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import subprocess
    import sys

    writer = subprocess.Popen([sys.executable, "-c", f"import shutil; shutil.copyfileobj(open({str(SAMPLES / 'postfix' / 'mail.log')!r}, 'rb'), open({str(fifo)!r}, 'wb'))"])
    try:
        r = maillens("parse", str(fifo), "--tz", "UTC", timeout=60)
    finally:
        writer.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    assert "76 lines read" in r.stdout


def test_an_unexpected_crash_exits_70_not_1(tmp_path: Path) -> None:
    """A bug (an exception maillens did not expect) exits 70 with one 'Error:' line, never 1 (--fail-on's code)."""
    boom = tmp_path / "sitecustomize.py"
    boom.write_text("import analyzer.reader as r\n"
                    "def parse_logs(*a, **k):\n    raise RuntimeError('simulated bug')\n"
                    "r.parse_logs = parse_logs\nr.open_stream = parse_logs\nimport analyzer.cli._app as app\n"
                    "app.parse_logs = parse_logs\napp.open_stream = parse_logs\n")
    r = maillens("report", str(SAMPLES / "postfix"), env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{SAMPLES.parent}"},
                 timeout=60)
    assert r.returncode == 70, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "Error: maillens crashed: RuntimeError: simulated bug"
    assert lines[1].startswith("Try: ") and "report" in lines[1]
    assert "Traceback" not in r.stderr


def test_read_error_midway_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An I/O error after some bytes were read ends that file with a warning; its lines read so far count."""
    import errno
    import io

    from analyzer import sources

    log = tmp_path / "mail.log"
    shutil.copy(SAMPLES / "postfix" / "mail.log", log)

    class Failing(io.BytesIO):
        calls = 0

        def read(self, n: int = -1) -> bytes:
            Failing.calls += 1
            if Failing.calls > 1:
                raise OSError(errno.EIO, "Input/output error")
            return super().read(n)

    monkeypatch.setattr(sources, "_open_bytes", lambda inp: Failing(log.read_bytes()))
    monkeypatch.setattr(sources, "CHUNK", 4096)
    warnings: list[str] = []
    batches = list(sources.iter_batches(sources.Input(str(log), log), warnings.append))
    assert warnings == [f"{log}: read error (Input/output error); read up to it"]
    assert 0 < sum(len(b.lines) for b in batches) < 76
