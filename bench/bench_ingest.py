#!/usr/bin/env python3
"""Throughput and peak memory of ``maillens ingest`` for one 1M-line day.

    python bench/bench_ingest.py                      # 1M-line Postfix day, three runs
    python bench/bench_ingest.py --lines 200000 --mta exim
    python bench/bench_ingest.py --write-md bench/RESULTS.md

The log comes from ``bench/generate_logs.py`` and is cached under ``bench/out/`` (shared with
``bench_parse.py``). Each run is ``python -m analyzer ingest FILE --store STORE`` in its own child
process, measured like ``bench_parse.py`` does (wall time around the child; peak RSS from GNU time,
else the child's ``ru_maxrss``). Three runs on the same store:

* ``first``: an empty store; parse, classify, key, write the day partitions, commit;
* ``again``: the same file again; recognised by its content fingerprint, nothing parsed;
* ``grown``: the day with one more line, under another name (the file grew, then was rotated):
  recognised by its first 64 KiB and length, parsed only from where the first run ended;
* ``overlap``: the day behind one new line at the top (a copy whose beginning differs): parsed
  in full, every event's key looked up in the day's partitions, one event added (the worst case).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_parse import _git_rev, ensure_log, gnu_time, machine, run_measured  # noqa: E402

EXTRA = "Nov 28 23:59:59 {host} postfix/anvil[4242]: statistics: max connection rate 1/60s for (smtp:192.0.2.99) at Nov 28 23:59:59\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--mta", choices=("postfix", "exim"), default="postfix")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--write-md", type=Path, help="append the results as markdown to this file")
    args = ap.parse_args(argv)

    log = ensure_log(args.mta, args.lines, args.seed)
    use_time = gnu_time()
    rows = []
    with tempfile.TemporaryDirectory(prefix="maillens-bench-") as tmp:
        store = Path(tmp) / "store"
        grown = Path(tmp) / "mail.log.1"
        shutil.copyfile(log, grown)
        with open(grown, "a", encoding="utf-8") as fh:
            fh.write(EXTRA.format(host="mx1"))
        overlap = Path(tmp) / "other" / "mail.log"
        overlap.parent.mkdir()
        with open(overlap, "w", encoding="utf-8") as fh, open(log, encoding="utf-8") as src:
            fh.write(EXTRA.format(host="mx9"))
            shutil.copyfileobj(src, fh)
        for label, src in (("first", log), ("again", log), ("grown", grown), ("overlap", overlap)):
            cmd = [sys.executable, "-m", "analyzer", "ingest", str(src), "--store", str(store), "--tz", "UTC",
                   "--year", "2026", "-q"]
            wall, rss, code, tail = run_measured(cmd, ROOT, args.timeout, use_time)
            status = "ok" if code == 0 else f"FAILED (exit {code}): {tail.strip().splitlines()[-1:]}"
            rows.append((label, wall, rss, status))
        size = sum(p.stat().st_size for p in store.rglob("*.parquet"))
    head = f"{machine()}; {args.mta} log of {args.lines:,} lines ({log.stat().st_size / 2**20:.0f} MiB), " \
           f"seed {args.seed}; peak RSS from {'GNU time' if use_time else 'ru_maxrss'}; store {size / 2**20:.1f} MiB"
    table = ["| run | seconds | lines/s | peak RSS MiB | status |", "|---|---:|---:|---:|---|"]
    for label, wall, rss, status in rows:
        table.append(f"| {label} | {wall:.2f} | {args.lines / wall:,.0f} | {rss:.0f} | {status} |")
    print(head)
    print("\n".join(table))
    if args.write_md:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(args.write_md, "a", encoding="utf-8") as fh:
            fh.write(f"\n## ingest {now} — commit {_git_rev()}\n\n{head}.\n\n" + "\n".join(table) + "\n")
    return 0 if all(r[3] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
