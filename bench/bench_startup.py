#!/usr/bin/env python3
"""How long `maillens` takes to answer before it does any work: --help, --version, version, explain,
and the fixed cost of `parse` and `parse -o x.parquet` (a 10-line log).

    python bench/bench_startup.py                 # 20 runs of each, median / min / max in ms
    python bench/bench_startup.py --runs 50 --importtime

Each command runs in its own child process (``python -m analyzer ARGS``, output to /dev/null),
like hyperfine: one warm-up run, then N timed runs; the wall time around the child is what is
printed, Python's own start-up included (printed on its own line as the floor), and the child's
CPU time (user+system, from ``os.wait4``: on a shared machine the steadier figure). ``--importtime``
adds, per command, the slowest top-level imports from ``python -X importtime`` and whether pandas or
pyarrow was imported (the target: neither, for --help, --version and version; issue 12 asks < 0.3 s).

An installed maillens has its bytecode compiled (pip does it); a checkout run with
``PYTHONDONTWRITEBYTECODE`` set would compile every module of the package on every run (0.15-0.2
CPU-s): the package's bytecode is compiled first (``compileall``), so the figures are an install's.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    ("python itself", ["-c", "pass"]),
    ("maillens --help", ["-m", "analyzer", "--help"]),
    ("maillens --version", ["-m", "analyzer", "--version"]),
    ("maillens version", ["-m", "analyzer", "version"]),
    ("maillens report --help", ["-m", "analyzer", "report", "--help"]),
    ("maillens explain 521", ["-m", "analyzer", "explain", "521"]),
    ("maillens explain 5.7.26", ["-m", "analyzer", "explain", "5.7.26"]),
    ("maillens parse (10 lines)", ["-m", "analyzer", "parse", "--tz", "UTC", "{log}"]),
    ("maillens parse -o (10 l.)", ["-m", "analyzer", "parse", "--tz", "UTC", "{log}", "-o", "{out}"]),
]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def time_runs(args: list[str], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each timed run."""
    cmd = [sys.executable, *args]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=True)  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(child.pid, 0)
        out.append((time.perf_counter() - t, usage.ru_utime + usage.ru_stime))
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(args)} failed")
    return out


def ten_line_log(where: Path) -> Path:
    """The first 10 lines of the Postfix sample log."""
    lines = (ROOT / "sample_logs" / "postfix" / "mail.log").read_text().splitlines(keepends=True)[:10]
    path = where / "mail.log"
    path.write_text("".join(lines))
    return path


def import_profile(args: list[str], top: int = 4) -> tuple[bool, list[tuple[str, float]]]:
    """(pandas or pyarrow imported?, the slowest top-level imports in ms)."""
    r = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=ENV,
                       check=True)
    rows = []
    heavy = False
    for line in r.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _self_us, cumulative, raw_name = line[len("import time:"):].split("|", 2)
        name = raw_name.strip()
        if name.split(".")[0] in ("pandas", "pyarrow"):
            heavy = True
        nested = raw_name[1:].startswith(" ")  # one space after '|', more for nested imports
        if not nested and cumulative.strip().isdigit():
            rows.append((name, int(cumulative) / 1000))
    rows.sort(key=lambda r: -r[1])
    return heavy, rows[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--importtime", action="store_true", help="also show the slowest imports per command")
    a = ap.parse_args()
    compileall.compile_dir(ROOT / "analyzer", quiet=1)  # as installed (see the module doc)
    tmp = Path(tempfile.mkdtemp(prefix="maillens-startup-"))
    try:
        log, out = ten_line_log(tmp), tmp / "x.parquet"
        print(f"{'command':<26} {'median':>8} {'min':>8} {'max':>8} {'CPU med':>8}   (ms, {a.runs} runs, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
        for label, template in COMMANDS:
            args = [x.format(log=log, out=out) for x in template]
            runs = time_runs(args, a.runs)
            wall = [w for w, _ in runs]
            cpu = statistics.median(c for _, c in runs)
            print(f"{label:<26} {statistics.median(wall) * 1000:8.0f} {min(wall) * 1000:8.0f} "
                  f"{max(wall) * 1000:8.0f} {cpu * 1000:8.0f}")
            if a.importtime and args[0] == "-m":
                heavy, rows = import_profile(args)
                print(f"{'':<26} pandas/pyarrow imported: {'yes' if heavy else 'no'}; slowest: "
                      + ", ".join(f"{n} {ms:.0f} ms" for n, ms in rows))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
