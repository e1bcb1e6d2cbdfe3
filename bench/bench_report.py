#!/usr/bin/env python3
"""What `report -f json` costs beside `parse` of the same file: wall, CPU, peak memory; and,
in-process, where the report's memory goes (the fold, the detectors and sections).

    python bench/bench_report.py                          # the generated 1M-line Postfix day
    python bench/bench_report.py --sizes 1M,3M,10M        # the acceptance run of issue 12 (slow)
    python bench/bench_report.py --sizes 200k --stages    # also the in-process stage figures

Days come from ``bench/generate_logs.py`` (seeded, cached under ``--cache``, default
``$MAILLENS_BENCH_DATA`` else ``/tmp/maillens-bench``), as in ``bench/bench_pipeline.py``, whose
measurement this reuses: each command in its own child process, CPU (user+system) of the child
and the workers it waited for, peak PSS of the process tree and peak RSS of its largest process.
``parse`` and ``report`` of one file run one after the other, so the ratio compares like with
like on a shared machine; quote CPU seconds and memory, wall seconds only on an idle machine.

``--stages`` runs the report in this process and prints the RSS after the fold (rows kept, lines
folded) and the peak of the report built from it.

Acceptance (issue 12): peak RSS <= 400 MiB at every size, growing <= 15% from the smallest to the
largest, and report wall <= 1.5x parse wall. The verdicts are printed under the table, on max RSS
(the largest process) and on the CPU ratio (user+system seconds: what a shared machine does not
distort; the wall ratio is printed beside it). ``--workers N`` sets ``MAILLENS_WORKERS`` for both
commands (1: one process, the figures the report's own costs are read from).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.bench_pipeline import day_log, label, maillens, measure, size  # noqa: E402

LIMIT_MIB = 400
GROWTH = 0.15
RATIO = 1.5


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def stages(log: Path) -> str:
    """The report in this process: RSS after the fold, peak after the report, rows and folded lines."""
    from analyzer.classify import default_rules
    from analyzer.reader import open_stream
    from analyzer.report.run import collect_report_events, make_report

    kb = default_rules()
    t0 = time.process_time()
    result = collect_report_events(open_stream([str(log)], year=2026, tz="UTC"), kb)
    folded_cpu = time.process_time() - t0
    after_fold = _status_mib("VmRSS"), _status_mib("VmHWM")
    make_report(result, kb=kb)
    report_cpu = time.process_time() - t0 - folded_cpu
    return (f"  in process: {len(result.events):,} rows kept, {len(result.bulk):,} lines folded "
            f"({len(result.bulk.table):,} per-second rows); after the fold RSS {after_fold[0]:.0f} MiB "
            f"(peak {after_fold[1]:.0f}); peak after the report {_status_mib('VmHWM'):.0f} MiB; "
            f"CPU fold {folded_cpu:.1f} s (this process only), report {report_cpu:.1f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1M", help="comma-separated line counts (200k, 1M, 3M, 10M)")
    ap.add_argument("--mta", default="postfix", choices=("postfix", "exim"))
    ap.add_argument("--cache", default=os.environ.get("MAILLENS_BENCH_DATA", "/tmp/maillens-bench"))
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--stages", action="store_true", help="also the in-process stage figures")
    ap.add_argument("--workers", type=int, default=0, help="MAILLENS_WORKERS for both commands (0: the default)")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    common = ["--tz", "UTC", "--year", "2026"]
    rows = []
    print(f"{'lines':>6} {'command':<8} {'wall s':>8} {'CPU s':>8} {'peak PSS MiB':>13} {'max RSS MiB':>12}")
    for n in (size(s) for s in args.sizes.split(",")):
        log = day_log(cache, args.mta, n)
        got = {}
        for name, cmd in (("parse", maillens("parse", str(log), *common)),
                          ("report", maillens("report", str(log), "-f", "json", "--now", "2026-11-24T06:00:00Z",
                                              *common))):
            wall, cpu, pss, code, tail, rss = measure(cmd, args.timeout, workers=args.workers)
            if code != 0:
                print(f"{label(n)} {name} exited {code}: {tail}", file=sys.stderr)
            got[name] = (wall, cpu, pss, rss)
            print(f"{label(n):>6} {name:<8} {wall:8.1f} {cpu:8.1f} {pss:13.0f} {rss:12.0f}", flush=True)
        (pw, pc, _, prss), (rw, rc, _, rrss) = got["parse"], got["report"]
        print(f"{'':>6} report/parse: CPU {rc / pc:.2f}x, wall {rw / pw:.2f}x, max RSS {rrss / prss:.2f}x "
              f"(+{rrss - prss:.0f} MiB)")
        rows.append((n, rrss, rc / pc, rw / pw))
        if args.stages:
            print(stages(log), flush=True)
    print()
    for n, rss, ratio, wall_ratio in rows:
        print(f"{label(n)}: report max RSS {rss:.0f} MiB {'<=' if rss <= LIMIT_MIB else '>'} {LIMIT_MIB} MiB "
              f"({'ok' if rss <= LIMIT_MIB else 'NOT MET'}); report CPU {ratio:.2f}x parse "
              f"({'ok' if ratio <= RATIO else 'NOT MET'}, limit {RATIO}x; wall {wall_ratio:.2f}x)")
    if len(rows) > 1:
        growth = rows[-1][1] / rows[0][1] - 1
        print(f"growth {label(rows[0][0])} -> {label(rows[-1][0])}: {growth:+.0%} "
              f"({'ok' if growth <= GROWTH else 'NOT MET'}, limit +{GROWTH:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
