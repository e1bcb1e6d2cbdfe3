#!/usr/bin/env python3
"""The native engine against the Python engine and the peers, on the same generated days, in one run.

    python bench/bench_native.py                         # 1M-line Postfix and Exim days
    python bench/bench_native.py --lines 200000          # the first 200k lines of each (quicker)
    python bench/bench_native.py --mta postfix --runs 3  # best of three
    python bench/bench_native.py --engines native --before /tmp/old   # an older checkout beside this one

The days are ``bench/generate_logs.py``'s (seed 1), generated once into ``--data`` (default
``/work/benchdata``, shared with other benchmarks, never in git) and reused. Each command runs in
its own child process; wall time is measured around it, CPU time (user+system) comes from
``os.wait4`` for that child alone (with its worker processes), and so does peak RSS (the largest
of them). ``native`` is the whole engine (Rust reads the most frequent Postfix kinds into finished
rows); ``native, matcher only`` turns the whole-row fast path off (``MAILLENS_FAST=0``: Rust only
matches, Python derives). It prints lines/s for ``maillens parse FILE`` (the summary
parse) on both engines, ``parse -o x.parquet`` on both, pflogsumm (Postfix) or eximstats (Exim),
and the ratios issue 13 asks for: parse ≥ 10× pflogsumm, ≥ 3× eximstats (wall), ≥ 1.5M lines/s
for the summary parse, ≥ 1M lines/s for ``parse -o parquet``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools.peers import EXIMSTATS, PFLOGSUMM  # noqa: E402  (the one place that finds the peers)

PEERS = {"postfix": ("pflogsumm", PFLOGSUMM), "exim": ("eximstats", EXIMSTATS)}
TARGET = {"postfix": 10.0, "exim": 3.0}  # parse wall vs the peer's


def day(data: Path, mta: str, lines: int) -> Path:
    """The generated 1M-line day (made once), cut to ``lines`` lines when fewer are asked for."""
    full = data / f"{mta}-1000000-d0-s1.log"
    if not full.exists():
        data.mkdir(parents=True, exist_ok=True)
        tmp = full.with_suffix(".tmp")
        subprocess.run([sys.executable, str(HERE / "generate_logs.py"), "--mta", mta, "--lines", "1000000",
                        "--seed", "1", "-q", "-o", str(tmp)], check=True)
        tmp.rename(full)
    if lines >= 1_000_000:
        return full
    cut = data / f"{mta}-{lines}-head-s1.log"
    if not cut.exists():
        with open(full, "rb") as src, open(cut.with_suffix(".tmp"), "wb") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
        cut.with_suffix(".tmp").rename(cut)
    return cut


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one child process, run in the checkout its PYTHONPATH
    names (``python -m analyzer`` imports the package of the working directory first)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=env.get("PYTHONPATH") or None)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    results = [timed(cmd, env) for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results), max(r[2] for r in results)


def whole_row_share(log: Path) -> tuple[int, int]:
    """(lines, lines read into whole rows by the native readers) of a log, read in-process block
    by block as the pipeline cuts it: the coverage the README quotes."""
    from analyzer.parsers import FileContext, split_batch
    from analyzer.parsers.syslog import Clock, HeaderState
    from analyzer.sources import Input, block_array, cut_blocks, iter_chunks

    ctx = FileContext(log.name, HeaderState(Clock(tz="UTC", year=2026)))
    lines = whole = 0
    for block in cut_blocks(iter_chunks(Input(str(log), log), print)):
        sp = split_batch(block_array(block), lines + 1, ctx)
        lines += len(sp.lines)
        whole += sp.fast.num_rows if sp.fast is not None else 0
    return lines, whole


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/benchdata"))
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--mta", choices=("postfix", "exim", "both"), default="both")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--engines", default="native,native-matcher,python",
                    help="which of native, native-matcher (MAILLENS_FAST=0), python to run")
    ap.add_argument("--before", type=Path, default=None,
                    help="an older checkout (its analyzer/_native.abi3.so built) run beside this one, native engine")
    args = ap.parse_args()
    engines = {"native": "native", "native-matcher": "native, matcher only", "python": "python"}
    chosen = [engines[e.strip()] for e in args.engines.split(",") if e.strip()]
    base = {**os.environ, "PYTHONPATH": str(ROOT)}
    from analyzer import native

    print(f"native engine: {'built' if native.available() else native.unavailable_reason()}; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'mta':8} {'command':44} {'wall s':>8} {'CPU s':>8} {'lines/s':>11} {'lines/CPU-s':>12} {'RSS MiB':>8}")
    for mta in (("postfix", "exim") if args.mta == "both" else (args.mta,)):
        log = day(args.data, mta, args.lines)
        n = args.lines
        rows: dict[str, tuple[float, float, float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            runs = [(eng, base) for eng in chosen]
            if args.before is not None:
                runs.append(("native, before", {**base, "PYTHONPATH": str(args.before.resolve())}))
            for eng, where in runs:
                if eng != "python" and not native.available():
                    continue
                env = {**where, "MAILLENS_ENGINE": eng.split(",")[0], "MAILLENS_FAST": "0" if "only" in eng else "1"}
                rows[f"parse ({eng})"] = best([sys.executable, "-m", "analyzer", "parse", str(log)], env, args.runs)
                # the parser alone: the summary without the knowledge base's causes
                rows[f"parse --no-classify ({eng})"] = best([sys.executable, "-m", "analyzer", "parse", "--no-classify",
                                                             str(log)], env, args.runs)
                out = str(Path(tmp) / "x.parquet")
                rows[f"parse -o parquet ({eng})"] = best([sys.executable, "-m", "analyzer", "parse", str(log),
                                                          "-o", out], env, args.runs)
            peer, path = PEERS[mta]
            if path is not None:
                rows[peer] = best([path, str(log)], base, args.runs)
        if native.available():
            total, whole = whole_row_share(log)
            print(f"{mta:8} whole rows read by the native readers: {whole:,} of {total:,} lines "
                  f"({100 * whole / max(total, 1):.2f}%)")
        for name, (wall, cpu, rss) in rows.items():
            print(f"{mta:8} {name:44} {wall:8.2f} {cpu:8.2f} {n / wall:11,.0f} {n / cpu:12,.0f} {rss:8.0f}")
        peer = PEERS[mta][0]
        for eng in ("native", "native, before", "native, matcher only", "python"):
            if f"parse ({eng})" in rows and peer in rows:
                ratio = rows[peer][0] / rows[f"parse ({eng})"][0]
                print(f"  {mta} parse ({eng}) vs {peer}: {ratio:.2f}x faster (wall; target {TARGET[mta]:.0f}x)")
        if "parse -o parquet (native)" in rows and peer in rows:
            print(f"  {mta} parse -o parquet (native) vs {peer}: "
                  f"{rows[peer][0] / rows['parse -o parquet (native)'][0]:.2f}x faster (wall)")
        if "parse (native)" in rows:
            print(f"  summary parse {n / rows['parse (native)'][0]:,.0f} lines/s (target 1.5M), "
                  f"{n / rows['parse --no-classify (native)'][0]:,.0f} without causes; "
                  f"parse -o parquet {n / rows['parse -o parquet (native)'][0]:,.0f} lines/s (target 1M)")


if __name__ == "__main__":
    main()
