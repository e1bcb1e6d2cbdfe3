#!/usr/bin/env python3
"""The report's cost beside the parse's, and where it goes: CPU seconds per detector and section.

    python bench/bench_detectors.py                      # a generated 1M-line Postfix day
    python bench/bench_detectors.py --lines 200k --mta exim
    python bench/bench_detectors.py --log /var/log/mail.log

On one generated day (``bench/generate_logs.py``, seeded, cached under ``--cache``) it measures,
in this process, the CPU time (user+system, ``time.process_time``) of reading and classifying the
events (the parse: what ``maillens parse`` does), then of each anomaly detector and of the report's
sections, and prints the ratio of report CPU (detectors + sections) to parse CPU. Issue 12 asks
for a report that costs little more than the parse: ``report`` wall ≤ 1.5× ``parse``, i.e. the
report part ≤ 0.5× the parse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _size(text: str) -> int:
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t.rstrip("km")) * mult)


def _day(cache: Path, mta: str, lines: int, seed: int) -> Path:
    path = cache / f"{mta}-{lines}-d0-s{seed}.log"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        subprocess.run([sys.executable, str(HERE / "generate_logs.py"), "--mta", mta, "--lines", str(lines),
                        "--seed", str(seed), "--start", "2026-11-23T00:00:00", "--hours", "24", "-o", str(tmp),
                        "-q"], check=True)
        os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", default="1M", help="lines of the generated day (default 1M)")
    ap.add_argument("--mta", default="postfix", choices=("postfix", "exim"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/maillens-bench"))
    ap.add_argument("--log", type=Path, help="measure this log instead of a generated day")
    args = ap.parse_args(argv)

    from analyzer.anomalies import detect as det
    from analyzer.anomalies import detect_anomalies
    from analyzer.classify import default_rules
    from analyzer.reader import open_stream
    from analyzer.report import build as rb

    log = args.log or _day(args.cache, args.mta, _size(args.lines), args.seed)
    kb = default_rules()
    t0 = time.process_time()
    stream = open_stream([str(log)], year=2026, tz="UTC", now=dt.datetime(2026, 11, 24, 6, tzinfo=dt.UTC))
    result = rb.collect_report_events(stream, kb)
    parse = time.process_time() - t0
    ev = result.events
    print(f"{log.name}: {len(ev):,} events; parse+classify CPU {parse:.2f} s")

    timings: list[tuple[str, float]] = []

    def timed(fn):
        def run(ctx):
            t = time.process_time()
            out = fn(ctx)
            timings.append((fn.__name__, time.process_time() - t))
            return out
        return run

    t0 = time.process_time()
    findings = detect_anomalies(ev, kb=kb, now="2026-11-24T06:00:00Z",
                                detectors=[timed(fn) for fn in det.DETECTORS])
    detect = time.process_time() - t0
    t0 = time.process_time()
    rb.build_report(ev, findings, kb=kb, counts=result.counts, files=result.files)
    build = time.process_time() - t0
    for name, secs in timings:
        print(f"  {name:<28} {secs:6.2f} s")
    print(f"  {'(detect: setup)':<28} {detect - sum(s for _, s in timings):6.2f} s")
    print(f"  {'build_report sections':<28} {build:6.2f} s")
    report = detect + build
    print(f"findings: {len(findings)}")
    print(f"report CPU {report:.2f} s / parse CPU {parse:.2f} s = {report / parse:.2f} "
          f"(report wall ≤ 1.5× parse needs ≤ 0.50: {'holds' if report / parse <= 0.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
