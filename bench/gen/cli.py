"""The command line: ``python bench/generate_logs.py --mta postfix --lines N ...``."""

from __future__ import annotations

import argparse
import sys
import time

from bench.gen.api import generate
from bench.gen.incidents import DEFAULT_START, parse_incident, parse_time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Write a realistic synthetic Postfix or Exim log of exactly N lines.",
        epilog="Incident kinds: 521_burst:DOMAIN, microsoft_block, sasl_bruteforce:IP, silence, "
               "deferral_buildup[:DOMAIN]. START is an offset from --start (6h, 90m) or an "
               "ISO time; DURATION like 30m or 1h30m.")
    p.add_argument("--mta", choices=("postfix", "exim"), default="postfix")
    p.add_argument("--lines", type=int, default=100_000, help="exact number of lines (default 100000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", default="-", help="output file, '-' for stdout (default)")
    p.add_argument("--start", default=DEFAULT_START,
                   help=f"first moment of the log, ISO, UTC unless a zone is given (default {DEFAULT_START})")
    p.add_argument("--hours", type=float, default=24.0, help="length of the log window (default 24)")
    p.add_argument("--host", default="mx1", help="syslog host name (default mx1)")
    p.add_argument("--style", choices=("syslog", "rfc3339"), default="syslog",
                   help="Postfix timestamp style (Exim always writes its own)")
    p.add_argument("--incident", action="append", default=[], metavar="KIND@START+DURATION",
                   help="inject an incident (repeatable)")
    p.add_argument("--record", metavar="FILE.jsonl", help="write the injected incidents here")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    try:
        st = parse_time(a.start)
        incs = [parse_incident(s, st) for s in a.incident]
    except ValueError as e:
        p.error(str(e))
    t0 = time.perf_counter()
    out = sys.stdout if a.output == "-" else a.output
    try:
        res = generate(a.mta, a.lines, a.seed, out, st, a.hours, a.host, a.style, incs, a.record)
    except ValueError as e:
        p.error(str(e))
    if not a.quiet and a.output != "-":
        print(f"wrote {res['lines']} {a.mta} lines to {a.output} in "
              f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
        for rec in res["incidents"]:
            print(f"  incident {rec['kind']} {rec['entity'] or ''} {rec['start']} .. {rec['end']}"
                  f" ({rec['lines']} lines)", file=sys.stderr)
    return 0

