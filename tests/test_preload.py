"""analyzer.lazy.preload_libraries: numpy's and pyarrow's shared libraries loaded on a thread
at `parse`'s start, without importing either package; the imports later work as always."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_loads_the_libraries_and_imports_nothing():
    out = _run(
        "import sys, analyzer.lazy as lazy\n"
        "lazy.preload_libraries(); lazy.join_preload()\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(sorted(n for n in ('_multiarray_umath', 'pyarrow/lib.', 'pyarrow/_compute.', 'libarrow.so') if n in maps))\n"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'ctypes') if m in sys.modules))\n"
        "import pyarrow as pa, pyarrow.compute as pc, numpy as np\n"
        "print(pc.sum(pa.array(np.arange(5))).as_py())\n")
    loaded, imported, total = out.splitlines()
    assert loaded == str(sorted(["_multiarray_umath", "pyarrow/lib.", "pyarrow/_compute.", "libarrow.so"]))
    assert imported == "[]"
    assert total == "10"


def test_once_and_not_after_the_packages_are_imported():
    out = _run(
        "import analyzer.lazy as lazy\n"
        "lazy.preload_libraries(); lazy.preload_libraries(); print(len(lazy._PRELOADING))\n"
        "lazy.join_preload()\n")
    assert out.split() == ["1"]
    out = _run("import numpy, analyzer.lazy as lazy\nlazy.preload_libraries(); print(len(lazy._PRELOADING))\n")
    assert out.split() == ["0"]


def test_files_not_found_start_no_thread(monkeypatch):
    from analyzer import lazy

    monkeypatch.setattr(lazy, "_PRELOADING", [])
    monkeypatch.setattr(lazy, "PRELOAD", (("no_such_package_here", "lib"), ("analyzer", "no_such_module")))
    lazy.preload_libraries()
    assert lazy._PRELOADING == []
    lazy.join_preload()  # nothing to wait for


def test_parse_starts_it_before_the_imports(tmp_path):
    """`maillens parse` (the plain-options path) loads the libraries on a thread of its own."""
    log = tmp_path / "mail.log"
    log.write_text("Nov 23 00:00:01 mx1 postfix/smtpd[1]: connect from a.example[192.0.2.1]\n")
    out = _run(
        "import sys, threading, analyzer.lazy as lazy\n"
        "started = []\n"
        "real = threading.Thread.start\n"
        "threading.Thread.start = lambda self: started.append(self.name) or real(self)\n"
        f"sys.argv = ['maillens', 'parse', {str(log)!r}, '--tz', 'UTC', '-f', 'json']\n"
        "from analyzer.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('NAMES', *started)\n")
    names = next(line for line in out.splitlines() if line.startswith("NAMES")).split()[1:]
    assert names and names[0] == "maillens-preload"
