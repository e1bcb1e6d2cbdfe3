"""`maillens report` as a command (analyzer.cli.run): a finished report (on stdout, or written
with -o) ends the process without the interpreter's teardown, its output whole; a report that
reaches --fail-on keeps its exit code (1) and goes the usual way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parent.parent
ARGS = ("report", "sample_logs/postfix", "--tz", "UTC", "--now", "2026-11-24T00:00")
#: the command run through analyzer.cli.run with an atexit hook that says whether the
#: interpreter's teardown ran (os._exit skips it)
_RUN = ("import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('TEARDOWN\\n'))\n"
        "from analyzer.cli import run\n"
        "sys.argv = ['maillens', *sys.argv[1:]]\n"
        "run()\n")


def _run(*args: str, how: str = _RUN) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-c", how, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300, check=False)


def _in_process(*args: str) -> str:
    """The same command's stdout through analyzer.cli.main (the interpreter's teardown as usual)."""
    how = ("import sys\nfrom analyzer.cli import main\n"
           "sys.argv = ['maillens', *sys.argv[1:]]\n"
           "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
           "sys.stdout.write('\\nDONE\\n')\n")
    r = _run(*args, how=how)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("\nDONE\n")  # main() returned: the caller goes on
    return r.stdout[: -len("\nDONE\n")]


def test_report_on_stdout_is_whole_when_the_process_ends_early():
    for fmt in ("json", "markdown", "text"):
        r = _run(*ARGS, "-f", fmt)
        assert r.returncode == 0, r.stderr
        assert "TEARDOWN" not in r.stderr  # ended by os._exit
        assert r.stdout == _in_process(*ARGS, "-f", fmt) and r.stdout
        if fmt == "json":
            assert json.loads(r.stdout)["schema_version"]


def test_report_to_a_file_is_whole_when_the_process_ends_early(tmp_path):
    early, usual = tmp_path / "early.json", tmp_path / "usual.json"
    r = _run(*ARGS, "-f", "json", "-o", str(early))
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert "TEARDOWN" not in r.stderr
    assert _in_process(*ARGS, "-f", "json", "-o", str(usual)) == ""
    assert early.read_bytes() == usual.read_bytes() and early.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["early.json", "usual.json"]  # no temporary left


def test_report_that_fails_on_findings_exits_as_usual(tmp_path):
    """--fail-on reached: exit 1 and the report written, through the interpreter's usual exit;
    not reached: exit 0, early; a usage error keeps its code."""
    log, out = tmp_path / "mail.log", tmp_path / "r.json"
    generate(mta="postfix", lines=4000, seed=7, out=log, incidents=["deferral_buildup@18h+3h"])  # a warning
    args = ("report", str(log), "--tz", "UTC", "--year", "2026", "--now", "2026-11-24T00:00", "-f", "json", "-o", str(out))
    r = _run(*args, "--fail-on", "warning")
    assert r.returncode == 1 and "TEARDOWN" in r.stderr, r.stderr
    assert json.loads(out.read_text())["summary"]["warning"] >= 1
    r = _run(*args, "--fail-on", "critical")
    assert r.returncode == 0 and "TEARDOWN" not in r.stderr, r.stderr
    r = _run(*ARGS, "-f", "yaml")
    assert r.returncode == 2 and "TEARDOWN" in r.stderr  # EXIT_USAGE
