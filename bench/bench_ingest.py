#!/usr/bin/env python3
"""Wall time, CPU time and peak memory of the store commands beside the peer, on generated days.

    python bench/bench_ingest.py                                # 1M- and 3M-line Postfix days
    python bench/bench_ingest.py --sizes 1000000 --mta exim
    python bench/bench_ingest.py --sizes 10000000 --only ingest,search-store
    python bench/bench_ingest.py --write-md bench/RESULTS.md

For each size, each command runs in its own child process (``python -m analyzer …``) and is
measured from outside: wall time around the child, CPU time (user + system) and peak RSS of its
largest process from ``wait4``'s resource usage, and the peak summed PSS of its process tree
(parse workers included; ``bench.bench_pipeline.measure``). The commands:

* ``ingest``: the day into an empty store (streamed batch by batch into the day's parts);
* ``ingest-again``: the same day again (recognised by its fingerprint: nothing parsed);
* ``ingest-overlap``: the day behind one new line (a copy whose beginning differs: parsed in
  full, every key looked up in the day's stored keys, one event added: the worst case);
* ``search-store``: ``search --store STORE --code 5xx -f jsonl`` (two passes over the store,
  holding only the matching messages);
* ``weekly``: ``weekly -f json`` over a store of seven generated days of SIZE/7 lines each
  (ISO week 2026-W48; built once per size and reused);
* the peer (pflogsumm for Postfix, eximstats for Exim; found by ``tools/peers.py``) on the
  same day file, in the same run.

Days and week stores are cached under ``--cache`` (shared with ``bench/bench_pipeline.py``: the
same file names). The issue's target: peak RSS at most 400 MiB for every command at every
size, growing at most 15% from 1M to 10M lines; the last lines say which runs meet it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import PEERS, build_week, day_log, label, maillens, measure  # noqa: E402

LIMIT_MIB = 400
EXTRA = "Nov 23 23:59:59 {host} postfix/anvil[4242]: statistics: max connection rate 1/60s for (smtp:192.0.2.99) at Nov 23 23:59:59\n"
COMMANDS = ("ingest", "ingest-again", "ingest-overlap", "search-store", "weekly", "peer")


@dataclass
class Run:
    size: int
    command: str
    wall: float
    cpu: float
    rss: float  # peak RSS of the largest process of the command
    pss: float  # peak summed PSS of its process tree (workers included)
    status: str

    @property
    def peak(self) -> float:
        """What the limit is checked against: the larger of the two."""
        return max(self.rss, self.pss)


def _rev() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def run_size(mta: str, lines: int, cache: Path, only: set[str], timeout: float) -> list[Run]:
    log = day_log(cache, mta, lines, 0)
    common = ["--tz", "UTC", "--year", "2026", "-q"]
    runs: list[Run] = []

    def go(name: str, cmd: list[str]) -> None:
        if name not in only:
            return
        wall, cpu, pss, code, tail, rss = measure(cmd, timeout)
        status = "ok" if code == 0 else f"exit {code}: {tail.strip().splitlines()[-1:]}"
        runs.append(Run(lines, name, wall, cpu, rss, pss, status))
        print(f"  {label(lines)} {name}: {wall:.1f}s wall, {cpu:.1f}s CPU, {rss:.0f} MiB RSS, {pss:.0f} MiB PSS "
              f"({status})", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="maillens-bench-store-", dir=cache) as tmp:
        store = Path(tmp) / "store"
        overlap = Path(tmp) / "other" / "mail.log"
        overlap.parent.mkdir()
        with open(overlap, "w", encoding="utf-8") as fh, open(log, encoding="utf-8") as src:
            fh.write(EXTRA.format(host="mx9"))
            shutil.copyfileobj(src, fh)
        go("ingest", maillens("ingest", str(log), "--store", str(store), *common))
        go("ingest-again", maillens("ingest", str(log), "--store", str(store), *common))
        go("ingest-overlap", maillens("ingest", str(overlap), "--store", str(store), *common))
        if "search-store" in only and not store.exists():  # search needs the store
            measure(maillens("ingest", str(log), "--store", str(store), *common), timeout)
        go("search-store", maillens("search", "--store", str(store), "--tz", "UTC", "--code", "5xx", "-f", "jsonl"))
    if "weekly" in only:
        week = build_week(cache, mta, lines, timeout)
        go("weekly", maillens("weekly", "--store", str(week), "--week", "2026-W48", "-f", "json"))
    name, exe = PEERS[mta]
    if exe is not None:
        go("peer", [exe, str(log)])
        if runs and runs[-1].command == "peer":
            runs[-1].command = name
    return runs


def table(runs: list[Run]) -> str:
    out = ["| lines | command | wall s | CPU s | peak RSS MiB | peak PSS MiB (tree) | status |",
           "|---:|---|---:|---:|---:|---:|---|"]
    for r in runs:
        out.append(f"| {label(r.size)} | {r.command} | {r.wall:.1f} | {r.cpu:.1f} | {r.rss:.0f} | {r.pss:.0f} "
                   f"| {r.status} |")
    return "\n".join(out)


def verdicts(runs: list[Run]) -> list[str]:
    """Which maillens runs stay under the limit, and how each command's peak grows with the size."""
    ours = [r for r in runs if r.command in COMMANDS and r.command != "peer"]
    over = [f"{r.command} at {label(r.size)} ({r.peak:.0f} MiB)" for r in ours if r.peak > LIMIT_MIB]
    lines = [f"peak RSS <= {LIMIT_MIB} MiB: " + ("all runs" if not over else "NOT " + ", ".join(over))]
    for cmd in dict.fromkeys(r.command for r in ours):
        by = sorted((r.size, r.peak) for r in ours if r.command == cmd)
        if len(by) > 1:
            (n0, m0), (n1, m1) = by[0], by[-1]
            lines.append(f"{cmd}: {m0:.0f} MiB at {label(n0)} -> {m1:.0f} MiB at {label(n1)} "
                         f"({(m1 - m0) / m0:+.0%})")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000,3000000", help="comma-separated line counts")
    ap.add_argument("--mta", choices=("postfix", "exim"), default="postfix")
    ap.add_argument("--only", default=",".join(COMMANDS), help=f"comma-separated subset of {','.join(COMMANDS)}")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/maillens-bench"),
                    help="where generated days and week stores are kept")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--write-md", type=Path, help="append the results as markdown to this file")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    only = {c.strip() for c in args.only.split(",") if c.strip()}
    runs: list[Run] = []
    for n in (int(s) for s in args.sizes.split(",")):
        runs += run_size(args.mta, n, args.cache, only, args.timeout)
    head = (f"{args.mta}, generated days; commit {_rev()}; CPU = user + system of the child; "
            "peak RSS of its largest process (wait4), peak PSS summed over its tree; the limit checks the larger")
    text = table(runs) + "\n\n" + "\n".join(verdicts(runs))
    print(head)
    print(text)
    if args.write_md:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(args.write_md, "a", encoding="utf-8") as fh:
            fh.write(f"\n## store commands {now}\n\n{head}.\n\n{text}\n")
    return 0 if all(r.status == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
