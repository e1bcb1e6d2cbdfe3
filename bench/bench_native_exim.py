#!/usr/bin/env python3
"""The native Exim readers against the Python engine and eximstats, on the same Exim day, in one run.

    python bench/bench_native_exim.py                  # the generated 1M-line Exim day
    python bench/bench_native_exim.py --lines 200000   # its first 200k lines (quicker)

Each command runs in its own child process: wall time around it, CPU time (user+system) and peak
RSS from ``os.wait4`` for that child alone. Rows:

* ``parse step``: lines to event tables only (``split_batch`` + ``finish_batch`` over 100k-line
  batches, one process, what the native Exim readers replace), per engine;
* ``parse --no-classify``: the command without the causes (start-up, pipeline, summary);
* ``maillens parse``: the whole command (start-up, pipeline, classification, summary), per engine;
* ``eximstats`` on the same file.

Then the ratio issue 13 asks for: ``maillens parse`` wall ≥ 3× faster than eximstats's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.bench_native import day, timed  # noqa: E402  (the generated days, made once; one child timed)
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
            finish_batch(split_batch(lines, rows + 1, ctx))
            rows += len(lines)
    print(rows)


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
    with open(path, "rb") as f:
        n = sum(1 for _ in f)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows: list[tuple[str, float, float, float]] = []
    for engine in ("python", "native"):
        e = {**env, "MAILLENS_ENGINE": engine}
        rows.append((f"parse step, {engine}", *timed([sys.executable, __file__, "--step", str(path)], e)))
        cmd = [sys.executable, "-m", "analyzer", "parse"]
        rows.append((f"parse --no-classify, {engine}", *timed([*cmd, "--no-classify", str(path)], e)))
        rows.append((f"maillens parse, {engine}", *timed([*cmd, str(path)], e)))
    if EXIMSTATS:
        rows.append(("eximstats", *timed([EXIMSTATS, str(path)], env)))
    print(f"{path.name}: {n:,} lines, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'':26} {'wall s':>8} {'CPU s':>8} {'lines/s':>11} {'lines/CPU-s':>12} {'peak RSS':>9}")
    for name, wall, cpu, rss in rows:
        print(f"{name:26} {wall:8.2f} {cpu:8.2f} {n / wall:11,.0f} {n / cpu:12,.0f} {rss:6.0f} MiB")
    walls = {name: wall for name, wall, _, _ in rows}
    if "eximstats" in walls:
        for engine in ("python", "native"):
            for what in ("maillens parse", "parse --no-classify"):
                ratio = walls["eximstats"] / walls[f"{what}, {engine}"]
                print(f"{what} ({engine}) vs eximstats, wall: {ratio:.2f}x faster (target for maillens parse: 3x)")
    print(f"parse step, native vs python, wall: {walls['parse step, python'] / walls['parse step, native']:.1f}x")


if __name__ == "__main__":
    main()
