#!/usr/bin/env python3
"""What the peers' sections cost: parse time against the time of the pflogsumm/eximstats tables.

    python bench/bench_peers.py                    # 1M-line Postfix and Exim days
    python bench/bench_peers.py --lines 200000

Each log comes from ``bench/generate_logs.py`` (seeded; cached under ``bench/out/``). The script
parses it once (``analyzer.reader.parse_logs``), then times :func:`analyzer.report.peers.peer_sections`
(the report's ``peers``) and :func:`analyzer.totals.peer_section` (``peer_totals``) on the same
events and prints each as a share of the parse time. The report's budget for everything it adds
to a parse is half the parse time (a report in at most 1.5x the parse).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _log(mta: str, lines: int) -> Path:
    out = HERE / "out" / f"peers.{mta}.{lines}.log"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "generate_logs.py"), "--mta", mta, "--lines", str(lines),
                        "--seed", "3", "-o", str(out), "-q"], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()

    from analyzer.reader import parse_logs
    from analyzer.report.peers import peer_sections
    from analyzer.totals import peer_section

    print(f"{'log':<22} {'events':>9} {'parse s':>8} {'peers s':>8} {'totals s':>9} {'(peers+totals)/parse':>21}")
    for mta, fmt in (("postfix", "auto"), ("exim", "exim")):
        log = _log(mta, args.lines)
        t0 = time.perf_counter()
        ev = parse_logs([str(log)], tz="UTC", year=2026, fmt=fmt).events
        t1 = time.perf_counter()
        peer_sections(ev)
        t2 = time.perf_counter()
        peer_section(ev)
        t3 = time.perf_counter()
        parse, peers, totals = t1 - t0, t2 - t1, t3 - t2
        print(f"{mta + ' ' + str(args.lines):<22} {len(ev):>9,} {parse:>8.1f} {peers:>8.2f} {totals:>9.2f} "
              f"{(peers + totals) / parse:>21.2f}")


if __name__ == "__main__":
    main()
