#!/usr/bin/env python3
"""Per-file overhead of parsing: many small rotated files against one file of the same lines.

    python bench/bench_many_files.py                       # 5,000 files of 4 lines = 20,000 lines
    python bench/bench_many_files.py --files 1000 --lines-per-file 20

A Postfix log from ``bench/generate_logs.py`` (seeded) is cut into FILES pieces written as a
rotated set (``mail.log.N``, oldest = highest N) in a temporary directory, and the same lines
as one file. Each case is parsed by ``analyzer.parse_logs`` in this process (best of
``--repeat``); the script prints wall time, lines/s and the time per file, and checks that
both cases produce the same number of events.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer import parse_logs
from bench.generate_logs import generate


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--lines-per-file", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    total = args.files * args.lines_per_file
    text = generate(mta="postfix", lines=total, seed=1, out=None)["text"]
    lines = text.splitlines(keepends=True)
    with tempfile.TemporaryDirectory(prefix="maillens-bench-") as tmp:
        many = Path(tmp, "many")
        many.mkdir()
        for i in range(args.files):
            n = args.files - i  # the first lines go to the oldest file
            chunk = lines[i * args.lines_per_file:(i + 1) * args.lines_per_file]
            Path(many, f"mail.log.{n}" if n > 1 else "mail.log").write_text("".join(chunk))
        one = Path(tmp, "one.log")
        one.write_text("".join(lines))
        t_many, r_many = _best(lambda: parse_logs([str(many)], tz="UTC", year=2026), args.repeat)
        t_one, r_one = _best(lambda: parse_logs([str(one)], tz="UTC", year=2026), args.repeat)
    print(f"{'case':<28} {'lines':>8} {'events':>8} {'seconds':>8} {'lines/s':>9} {'ms/file':>8}")
    for name, t, r, nfiles in ((f"{args.files} files", t_many, r_many, args.files), ("1 file", t_one, r_one, 1)):
        print(f"{name:<28} {r.counts.lines:>8,} {r.counts.events:>8,} {t:>8.2f} {r.counts.lines / t:>9,.0f} "
              f"{1000 * t / nfiles:>8.2f}")
    print(f"overhead of many files: {t_many / t_one:.1f}x the time of one file "
          f"({1000 * (t_many - t_one) / args.files:.2f} ms per extra file); cpus={os.cpu_count()}")
    if r_many.counts.events != r_one.counts.events:
        print(f"MISMATCH: {r_many.counts.events} events from the files, {r_one.counts.events} from one file")
        sys.exit(1)


if __name__ == "__main__":
    main()
