"""`maillens` as a command (analyzer.cli.run): a finished `parse` (its summary, or its events
written with -o) ends the process without the interpreter's teardown, its output whole;
anything else exits as main() does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _maillens(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300, check=False)


def _in_process(*args: str) -> str:
    """The same command's stdout through analyzer.cli.main (the interpreter's teardown as usual)."""
    code = ("import sys\nfrom analyzer.cli import main\n"
            f"sys.argv = ['maillens', *{list(args)!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "sys.stdout.write('\\nDONE\\n')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=300, check=True)
    assert r.stdout.endswith("\nDONE\n")  # main() returned: the caller goes on
    return r.stdout[: -len("\nDONE\n")]


def test_parse_summary_is_whole_when_the_process_ends_early():
    for args in (["parse", "sample_logs/postfix", "--tz", "UTC", "-f", "json"],
                 ["parse", "sample_logs/exim/mainlog", "--tz", "UTC"]):
        r = _maillens(*args)
        assert r.returncode == 0, r.stderr
        assert r.stdout == _in_process(*args)
        if "json" in args:
            assert json.loads(r.stdout)["events"] > 0


def test_failures_keep_their_exit_codes(tmp_path):
    r = _maillens("parse", str(tmp_path / "missing.log"))
    assert r.returncode == 3 and "missing.log" in r.stderr  # EXIT_INPUT
    r = _maillens("parse", "sample_logs/postfix", "-f", "yaml")
    assert r.returncode == 2  # EXIT_USAGE
    empty = tmp_path / "empty.log"
    empty.write_text("")
    r = _maillens("parse", str(empty))
    assert r.returncode == 66  # EXIT_NOINPUT


def test_parse_to_a_file_is_whole_when_the_process_ends_early(tmp_path):
    """`parse -o` ends without the teardown too (serial work after its last row group): the file
    and stdout hold what a run through main() writes."""
    import pyarrow.parquet as pq

    for name in ("e.jsonl", "e.parquet", "e.csv"):
        early, usual = tmp_path / ("early-" + name), tmp_path / ("usual-" + name)
        r = _maillens("parse", "sample_logs/postfix", "--tz", "UTC", "-o", str(early), "-q")
        assert r.returncode == 0, r.stderr
        assert _in_process("parse", "sample_logs/postfix", "--tz", "UTC", "-o", str(usual), "-q") == ""
        if name.endswith(".parquet"):
            got, want = pq.read_table(early), pq.read_table(usual)
            assert got.num_rows > 0 and got.equals(want) and got.schema.equals(want.schema, check_metadata=True)
        else:
            assert early.read_bytes() == usual.read_bytes() and early.stat().st_size > 0
        if name.endswith(".jsonl"):
            assert all(json.loads(x) for x in early.read_text().splitlines())
    r = _maillens("parse", "sample_logs/postfix", "--tz", "UTC", "-o", "-", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout == _in_process("parse", "sample_logs/postfix", "--tz", "UTC", "-o", "-", "-q") and r.stdout
