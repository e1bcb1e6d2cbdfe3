"""`maillens report`'s own start and end: the heavy imports made without the cycle collector
walking them (analyzer.cli.report._heavy_imports), and a report written without rich."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTFIX = ROOT / "sample_logs" / "postfix"


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


_IMPORTS = """
import gc, sys
from analyzer.cli.report import _HEAVY, _heavy_imports
assert not any(m in sys.modules for m in _HEAVY if m != "analyzer.output"), "imported already"
if sys.argv[1] == "off":
    gc.disable()
seen = []
gc.callbacks.append(lambda phase, info: seen.append(info["generation"]) if phase == "start" else None)
frozen = gc.get_freeze_count()
_heavy_imports("json")
print(json.dumps({"collections": len(seen), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count() - frozen,
                  "pandas": "pandas" in sys.modules, "renderer": "analyzer.report.json" in sys.modules,
                  "heavy": [m for m in _HEAVY if m not in sys.modules]}))
""".replace("import gc, sys", "import gc, json, sys")


def test_heavy_imports_are_not_walked_by_the_collector():
    got = json.loads(_python(_IMPORTS, "on").stdout)
    assert got["pandas"] and got["renderer"]
    assert got["heavy"] == []  # every module _HEAVY names, imported there and not later on main
    assert got["collections"] == 0  # (without the pause: ~150 young collections while pandas is imported)
    assert got["enabled"]
    assert got["frozen"] == 0  # nothing frozen: other threads' objects of that moment stay collectable


def test_heavy_imports_leave_a_disabled_collector_as_it_was():
    got = json.loads(_python(_IMPORTS, "off").stdout)
    assert got["pandas"] and got["collections"] == 0
    assert not got["enabled"]
    assert got["frozen"] == 0


_REPORT = """
import sys
from analyzer.cli import main
sys.argv = ["maillens", "report", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
sys.stdout.flush()
print("\\nRICH", "rich" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_report_written_without_rich(tmp_path, fmt):
    args = [str(POSTFIX), "-f", fmt, "--tz", "UTC", "--year", "2026", "--now", "2026-11-24T00:00:00"]
    to_stdout = _python(_REPORT, *args)
    assert to_stdout.stderr.rstrip().endswith("RICH False")
    out = tmp_path / f"r.{fmt}"
    to_file = _python(_REPORT, *args, "-o", str(out))
    assert to_file.stderr.rstrip().endswith("RICH False")
    assert to_file.stdout == ""
    assert to_stdout.stdout == out.read_text(encoding="utf-8")  # the same report, whichever way written
    if fmt == "json":
        assert json.loads(to_stdout.stdout)["schema_version"]


_START = """
import gc, json, sys
import analyzer.cli._common as common
from analyzer.cli import main
seen, at_open = [], []
gc.callbacks.append(lambda phase, info: seen.append(info["generation"]) if phase == "start" else None)
opened, pause = common._run_stream, common.pause_gc


def pause_gc():
    at_open.append(len(seen))
    pause()


common.pause_gc = pause_gc


def run_stream(*args, **kwargs):
    at_open.append((len(seen), gc.isenabled()))
    return opened(*args, **kwargs)


common._run_stream = run_stream
sys.argv = ["maillens", "report", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "at_open": at_open, "enabled": gc.isenabled()}))
"""


def test_report_start_runs_without_collections():
    """From the command's start to the stream's opening (the imports of pyarrow, numpy and the
    parsers, the rules loaded) the collector is off, and on again once the stream has opened."""
    got = json.loads(_python(_START, str(POSTFIX), "-f", "json", "--tz", "UTC", "--year", "2026",
                             "--now", "2026-11-24T00:00:00").stdout.splitlines()[-1])
    assert got["code"] in (0, None)
    started, (opened, enabled) = got["at_open"]
    assert opened == started and not enabled  # (before: ~30 collections while the parsers were imported)
    assert got["enabled"]


def test_report_failing_before_its_stream_leaves_the_collector_on():
    got = json.loads(_python(_START, str(POSTFIX), "-f", "json", "--tz", "Nowhere/Atlantis").stdout.splitlines()[-1])
    assert got["code"] == 2 and len(got["at_open"]) == 1  # paused, then failed before the stream
    assert got["enabled"]
