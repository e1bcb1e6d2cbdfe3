#!/usr/bin/env python3
"""The native Exim readers against the Python engine and eximstats, on the same Exim day, in one run.

    python bench/bench_native_exim.py                  # the generated 1M-line Exim day
    python bench/bench_native_exim.py --lines 200000   # its first 200k lines (quicker)

Each command runs in its own child process: wall time around it, CPU time (user+system) and peak
RSS from ``os.wait4`` for that child alone. Rows:

* ``parse step``: lines to event tables only (``split_batch`` + ``finish_batch`` over 100k-line
  batches, one process, what the native Exim readers replace), per engine;
* ``maillens parse``: the whole command (start-up, pipeline, classification, summary), per engine;
* ``eximstats`` on the same file.

Then the ratio issue 13 asks for: ``maillens parse`` wall ≥ 3× faster than eximstats's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.bench_native import day  # noqa: E402  (the generated days, made once)
from tools.peers import EXIMSTATS  # noqa: E402

BATCH = 100_000


def step(path: Path) -> None:
    """Parse ``path`` in batches (the child of the 'parse step' rows)."""
    from analyzer.parsers import FileContext, finish_batch, split_batch
    from analyzer.parsers.syslog import Clock, HeaderState

    ctx = FileContext(str(path), HeaderState(Clock(tz="UTC")))
    rows = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        while True:
            lines = [ln.rstrip("\n") for _, ln in zip(range(BATCH), f, strict=False)]
            if not lines:
                break
            table, _ = finish_batch(split_batch(lines, rows + 1, ctx))
            rows += len(lines)
    print(rows)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS MiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/benchdata"))
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--step", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        step(args.step)
        return
    path = day(args.data, "exim", args.lines)
    n = sum(1 for _ in open(path, "rb"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows: list[tuple[str, float, float, int]] = []
    for engine in ("python", "native"):
        e = {**env, "MAILLENS_ENGINE": engine}
        rows.append((f"parse step, {engine}", *run([sys.executable, __file__, "--step", str(path)], e)))
        rows.append((f"maillens parse, {engine}", *run([sys.executable, "-m", "analyzer", "parse", str(path)], e)))
    if EXIMSTATS:
        rows.append(("eximstats", *run([EXIMSTATS, str(path)], env)))
    print(f"{path.name}: {n:,} lines, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'':26} {'wall s':>8} {'CPU s':>8} {'lines/s':>11} {'lines/CPU-s':>12} {'peak RSS':>9}")
    for name, wall, cpu, rss in rows:
        print(f"{name:26} {wall:8.2f} {cpu:8.2f} {n / wall:11,.0f} {n / cpu:12,.0f} {rss:6d} MiB")
    walls = {name: wall for name, wall, _, _ in rows}
    if "eximstats" in walls:
        for engine in ("python", "native"):
            ratio = walls["eximstats"] / walls[f"maillens parse, {engine}"]
            print(f"maillens parse ({engine}) vs eximstats, wall: {ratio:.2f}x faster (target 3x)")
    print(f"parse step, native vs python, wall: {walls['parse step, python'] / walls['parse step, native']:.1f}x")


if __name__ == "__main__":
    main()
