#!/usr/bin/env python3
"""How long an on-call engineer waits for ``maillens search`` and ``maillens trace`` on a 1M-line log.

    python bench/bench_search.py                    # 1M-line Postfix log, the usual questions
    python bench/bench_search.py --mta exim --lines 200000 --repeat 3
    python bench/bench_search.py --store            # also search --store on the ingested log

The log comes from ``bench/generate_logs.py`` through ``bench_parse.ensure_log`` (seeded, cached
under ``bench/out/``). Each query runs the real command line in its own child process
(``python -m analyzer search LOG …``), output to /dev/null, and the wall time around the child
is what is printed, with the child's CPU time and peak RSS (``wait4``): reading and parsing the log, linking 1M events into messages, filtering and
printing, all included. With ``--repeat K`` the best of K runs is shown. A second table splits
one run into its stages, in-process. The ``lines`` column (rows printed) lets a reader check that
LOG and ``--store`` answer the same.

Measured 2026-11-29 on the shared 4-core build VM (other jobs running, so ±30%), 1M-line Postfix
log (145 MB, 944,685 events, 126,656 (message, recipient) rows):

* ``maillens search LOG …``: 8–11 s wall per question (parse 6.6 s, link 3.7 s, filter 0.3 s);
* ``maillens search --store DIR …`` on the same log ingested: 4–6 s;
* ``maillens trace ADDRESS LOG``: 8 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_parse import ensure_log  # noqa: E402

QUERIES = {
    "postfix": [
        ("why did mail to this domain bounce since 10:00?",
         ["--domain", "*.example", "--code", "5xx", "--since", "2026-11-28 10:00", "-f", "jsonl"]),
        ("which of our mail got 521 today?", ["--code", "521", "--since", "2026-11-28", "-f", "jsonl"]),
        ("blocklisted anywhere? (RE2 text)", ["--text", "(?i)spamhaus|blocked|blacklist", "-f", "jsonl"]),
        ("reputation causes (classifier)", ["--cause", "reputation.*", "-f", "jsonl"]),
        ("one client network, as a table", ["--client-ip", "198.51.100.0/24", "--limit", "50"]),
    ],
    "exim": [
        ("why did mail to this domain bounce since 10:00?",
         ["--domain", "*.example", "--code", "5xx", "--since", "2026-11-28 10:00", "-f", "jsonl"]),
        ("blocklisted anywhere? (RE2 text)", ["--text", "(?i)spamhaus|blocked|blacklist", "-f", "jsonl"]),
        ("one client network, as a table", ["--client-ip", "198.51.100.0/24", "--limit", "50"]),
    ],
}


#: CPU seconds and peak RSS (MiB) of the last command run (from wait4).
LAST = {"cpu": 0.0, "rss": 0.0}


def run(args: list[str]) -> tuple[float, int]:
    """Wall seconds of one command, and how many lines it printed (rows for -f jsonl); its CPU
    time and peak RSS go to :data:`LAST`."""
    import os
    import tempfile

    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([sys.executable, "-m", "analyzer", *args], cwd=ROOT, stdout=out,
                             stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: maillens {' '.join(args)}")
        out.seek(0)
        n = out.read().count(b"\n")
    LAST.update(cpu=usage.ru_utime + usage.ru_stime, rss=usage.ru_maxrss / 1024)
    return wall, n


def best_of(args: list[str], repeat: int) -> tuple[float, int]:
    runs = [run(args) for _ in range(repeat)]
    return min(r[0] for r in runs), runs[0][1]


def _usage() -> str:
    return f"{LAST['cpu']:7.1f} {LAST['rss']:7.0f}"


def stages(log: Path) -> list[tuple[str, float]]:
    """One search split into parse, link and filter (in-process)."""
    from analyzer.messages import link
    from analyzer.reader import parse_logs
    from analyzer.search import Filters, search

    t0 = time.perf_counter()
    events = parse_logs([str(log)], tz="UTC").events
    t1 = time.perf_counter()
    ix = link(events)
    t2 = time.perf_counter()
    search(ix, Filters(code=["5xx"], domain=["*.example"]))
    t3 = time.perf_counter()
    return [("parse (reader)", t1 - t0), (f"link {len(events):,} events into {len(ix.messages):,} rows", t2 - t1),
            ("filter (--code 5xx --domain)", t3 - t2)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mta", choices=("postfix", "exim"), default="postfix")
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-stages", action="store_true", help="skip the in-process breakdown")
    p.add_argument("--store", action="store_true", help="also time search --store on the log ingested into "
                   "bench/out/store-<log>/ (ingested once, then reused)")
    a = p.parse_args(argv)
    log = ensure_log(a.mta, a.lines, a.seed)
    print(f"{a.mta} log of {a.lines:,} lines: {log} ({log.stat().st_size / 1e6:.0f} MB)")
    print(f"{'seconds':>8} {'CPU s':>7} {'RSS MiB':>7} {'lines':>6}  question (maillens search LOG …)")
    for question, args in QUERIES[a.mta]:
        best, n = best_of(["search", str(log), "--tz", "UTC", "--year", "2026", *args], a.repeat)
        print(f"{best:8.1f} {_usage()} {n:6}  {question}: {' '.join(args)}")
    best, n = best_of(["trace", "carol.silva@ourdomain.test", str(log), "--tz", "UTC", "--year", "2026", "-f",
                       "json"], a.repeat)
    print(f"{best:8.1f} {_usage()} {n:6}  maillens trace ADDRESS LOG -f json (20 most recent messages)")
    if a.store:
        import hashlib

        # a store written by another version of the store code (analyzer/store/) is not reused
        h = hashlib.sha1()
        for f in sorted((ROOT / "analyzer" / "store").glob("*.py")):
            h.update(f.read_bytes())
        tag = h.hexdigest()[:8]
        store = log.parent / f"store-{log.stem}-{tag}"
        if not store.exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "analyzer", "ingest", str(log), "--store", str(store), "--tz", "UTC",
                            "--year", "2026", "-q"], cwd=ROOT, check=True)
            print(f"(ingested into {store} in {time.perf_counter() - t:.0f}s, once)")
        for question, args in QUERIES[a.mta][:2]:
            best, n = best_of(["search", "--store", str(store), "--tz", "UTC", *args], a.repeat)
            print(f"{best:8.1f} {_usage()} {n:6}  --store: {question}: {' '.join(args)}")
    if not a.no_stages:
        print("\none search, by stage (in-process):")
        for name, sec in stages(log):
            print(f"{sec:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
