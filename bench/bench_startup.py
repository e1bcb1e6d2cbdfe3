#!/usr/bin/env python3
"""How long `maillens` takes to answer before it does any work: --help, --version, version, explain.

    python bench/bench_startup.py                 # 20 runs of each, median / min / max in ms
    python bench/bench_startup.py --runs 50 --importtime

Each command runs in its own child process (``python -m analyzer ARGS``, output to /dev/null),
like hyperfine: one warm-up run, then N timed runs; the wall time around the child is what is
printed, Python's own start-up included (printed on its own line as the floor). ``--importtime``
adds, per command, the slowest top-level imports from ``python -X importtime`` and whether pandas or
pyarrow was imported (the target: neither, for --help, --version and version; issue 12 asks < 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
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
]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def time_runs(args: list[str], runs: int) -> list[float]:
    cmd = [sys.executable, *args]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=True)  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=True)
        out.append(time.perf_counter() - t)
    return out


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
    print(f"{'command':<26} {'median':>8} {'min':>8} {'max':>8}   (ms, {a.runs} runs, {os.cpu_count()} CPUs)")
    for label, args in COMMANDS:
        t = time_runs(args, a.runs)
        print(f"{label:<26} {statistics.median(t) * 1000:8.0f} {min(t) * 1000:8.0f} {max(t) * 1000:8.0f}")
        if a.importtime and args[0] == "-m":
            heavy, rows = import_profile(args)
            print(f"{'':<26} pandas/pyarrow imported: {'yes' if heavy else 'no'}; slowest: "
                  + ", ".join(f"{n} {ms:.0f} ms" for n, ms in rows))


if __name__ == "__main__":
    main()
