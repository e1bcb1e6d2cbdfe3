#!/usr/bin/env python3
"""Every streaming command beside pflogsumm and eximstats: wall time, CPU time, peak RSS.

    python bench/bench_pipeline.py                       # 1M- and 3M-line Postfix and Exim days
    python bench/bench_pipeline.py --sizes 1M,3M,10M     # the full acceptance run (slow)
    python bench/bench_pipeline.py --sizes 200k --mta postfix --commands parse,report
    python bench/bench_pipeline.py --workers 1,2 --commands parse-parquet,peer   # one core against two
    python bench/bench_pipeline.py --sizes 1M --before /tmp/old   # an older checkout beside this one

On generated days (``bench/generate_logs.py``, seeded; cached under ``--cache``, default
``$MAILLENS_BENCH_DATA`` else ``/tmp/maillens-bench``, never in git; generated once, reused)
it runs, each in its own child process:
``parse``, ``parse -o`` (Parquet, CSV, JSON lines), ``report -f json``, ``ingest`` (into a fresh
store), ``search --code 5xx`` on the file (``search``) and on a store holding the day
(``search-store``; ingested once beforehand, untimed, cached), ``trace`` of a queue id logged half
way through the file, ``weekly`` over a 7-day store (seven generated days of SIZE/7
lines each, ingested beforehand, not timed), and ``pflogsumm`` (Postfix) / ``eximstats`` (Exim)
on the same file in the same run. Wall time is measured around the child; CPU time (user+system)
comes from ``os.wait4`` (the child and the worker processes it waited for). Memory is the peak of
the sum of the proportional set sizes (PSS, shared pages divided among their sharers) of the
child and all its descendants, sampled every 50 ms from ``/proc`` — with parse workers, the
peak RSS of one process would understate it and the sum of RSS overstate it.
``--workers`` (a list) sets ``MAILLENS_WORKERS`` for the children; each value is its own run.

It prints one table row per run, then issue 12's table (per command: each size's wall, CPU and
peak memory, the wall ratio to the peer, the memory growth from the smallest to the largest size),
then the acceptance ratios of issue 12: peak RSS ≤ 400 MiB and its
growth from the smallest to the largest size, ``report`` wall ≤ 1.5× ``parse``, and
``parse -o parquet`` against pflogsumm (≥ 3×) and eximstats (≥ 1×).
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
START = dt.datetime(2026, 11, 23)  # a Monday: the 7-day store is ISO week 2026-W48
COMMANDS = ("parse", "parse-parquet", "parse-csv", "parse-jsonl", "report", "ingest", "search", "search-store", "trace",
            "weekly", "peer")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools.peers import EXIMSTATS, PFLOGSUMM  # noqa: E402  (the one place that finds the peers)

PEERS = {"postfix": ("pflogsumm", PFLOGSUMM), "exim": ("eximstats", EXIMSTATS)}


@dataclass
class Run:
    mta: str
    lines: int
    command: str
    wall: float | None = None
    cpu: float | None = None
    rss_mib: float | None = None  # peak PSS of the process tree (see the module doc)
    status: str = "ok"
    workers: int = 0  # MAILLENS_WORKERS of the run (0: the default, the cores)
    max_rss_mib: float | None = None  # peak RSS of the largest single process (os.wait4)
    out_bytes: int | None = None  # the size of what ``-o`` wrote (parse -o: the encodings' trade)


def size(text: str) -> int:
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t.rstrip("km")) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def day_log(cache: Path, mta: str, lines: int, day: int = 0, seed: int = 1) -> Path:
    """A generated day (cached): ``lines`` lines of ``mta``, starting ``day`` days after START."""
    path = cache / f"{mta}-{lines}-d{day}-s{seed}.log"
    if not path.exists():
        start = (START + dt.timedelta(days=day)).isoformat()
        tmp = path.with_suffix(".tmp")
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        subprocess.run([PY, str(HERE / "generate_logs.py"), "--mta", mta, "--lines", str(lines), "--seed",
                        str(seed + day), "--start", start, "--hours", "24", "-o", str(tmp), "-q"], check=True)
        os.replace(tmp, path)
    return path


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc/PID/task/TID/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory(threading.Thread):
    """Samples the summed PSS of a process tree until stopped; ``peak`` in KiB."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, sum(_pss_kib(p) for p in _tree(self.pid)))
            self.stopped.wait(self.every)


def byte_compile(*roots: Path) -> list[Path]:
    """Compile each checkout's ``analyzer`` package to bytecode before it is measured, and return the
    packages compiled. With ``PYTHONDONTWRITEBYTECODE`` set (as in the project's shells) a fresh checkout
    never keeps its bytecode, so every run of it compiled the package again (+0.1-0.3 CPU-s at 1M lines)
    while an older checkout beside it had its ``__pycache__``: the pair was not measured alike. An
    installed copy is compiled by pip, so compiled is what users run."""
    done = []
    for root in roots:
        pkg = Path(root) / "analyzer"
        if pkg.is_dir() and compileall.compile_dir(str(pkg), quiet=2):
            done.append(pkg)
    return done


def measure(cmd: list[str], timeout: float, workers: int = 0,
            root: Path = ROOT) -> tuple[float, float, float, int, str, float]:
    """Run ``cmd`` in a child (maillens from the checkout ``root``): (wall s, CPU s, peak PSS MiB of
    its tree, exit code, stderr tail, peak RSS MiB of its largest process)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    if workers:
        env["MAILLENS_WORKERS"] = str(workers)
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
        mem = TreeMemory(proc.pid)
        mem.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            mem.stopped.set()
        wall = time.perf_counter() - t0
        mem.join()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    rss = usage.ru_maxrss / 1024
    return wall, usage.ru_utime + usage.ru_stime, (mem.peak / 1024) or rss, code, tail, rss


def maillens(*args: str) -> list[str]:
    return [PY, "-m", "analyzer", *args]


def middle_queue_id(log: Path) -> str:
    """A queue id logged half way through ``log`` (what ``trace`` looks for)."""
    import re

    pat = re.compile(r"(?:postfix/qmgr\[\d+\]: ([0-9A-F]{6,14}): from=)|(?:\] ([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-"
                     r"[0-9A-Za-z]{2,4}) <= )")
    with open(log, "rb") as fh:
        fh.seek(log.stat().st_size // 2)
        for raw in fh:
            m = pat.search(raw.decode("utf-8", "replace"))
            if m:
                return m.group(1) or m.group(2)
    raise SystemExit(f"{log}: no queue id in its second half")


def commands(mta: str, log: Path, work: Path, week_store: Path | None,
             store: Path | None = None) -> dict[str, list[str]]:
    common = ["--tz", "UTC", "--year", "2026"]
    out = {
        "parse": maillens("parse", str(log), *common),
        "parse-parquet": maillens("parse", str(log), "-o", str(work / "e.parquet"), "-q", *common),
        "parse-csv": maillens("parse", str(log), "-o", str(work / "e.csv"), "-q", *common),
        "parse-jsonl": maillens("parse", str(log), "-o", str(work / "e.jsonl"), "-q", *common),
        "report": maillens("report", str(log), "-f", "json", "--now", "2026-11-24T06:00:00Z", *common),
        "ingest": maillens("ingest", str(log), "--store", str(work / "store"), *common),
        "search": maillens("search", str(log), "--code", "5xx", *common),
        "trace": maillens("trace", middle_queue_id(log), str(log), *common),
    }
    if store is not None:  # the day ingested whole, kept in the cache
        out["search-store"] = maillens("search", "--store", str(store), "--code", "5xx")
    if week_store is not None:
        out["weekly"] = maillens("weekly", "--store", str(week_store), "--week", "2026-W48", "-f", "json",
                                 "--now", "2026-12-01T06:00:00Z")
    name, exe = PEERS[mta]
    if exe is not None:
        out[name] = [exe, str(log)]
    return out


def _ingested(store: Path, logs: list[Path], timeout: float) -> Path:
    """``store`` holding ``logs`` (ingested one by one, untimed, once: kept in the cache)."""
    if (store / ".complete").exists():
        return store
    shutil.rmtree(store, ignore_errors=True)
    for log in logs:
        _, _, _, code, tail, _ = measure(maillens("ingest", str(log), "--store", str(store), "--tz", "UTC",
                                               "--year", "2026"), timeout)
        if code != 0:
            raise SystemExit(f"ingest into {store} failed: {tail}")
    (store / ".complete").write_text("")
    return store


def build_week(cache: Path, mta: str, lines: int, timeout: float) -> Path:
    """A store holding seven generated days of ``lines // 7`` lines each (ISO week 2026-W48)."""
    return _ingested(cache / f"week-{mta}-{lines}", [day_log(cache, mta, lines // 7, d) for d in range(7)], timeout)


def build_store(cache: Path, mta: str, lines: int, log: Path, timeout: float) -> Path:
    """A store holding the generated day ``log`` (for ``search --store``)."""
    return _ingested(cache / f"store-{mta}-{lines}", [log], timeout)


def _peer(runs: list[Run], r: Run) -> Run | None:
    """The peer measured on the same file in the same run (the mean of its runs before and after)."""
    name = PEERS[r.mta][0]
    mine = [p for p in runs if (p.mta, p.lines, p.command) == (r.mta, r.lines, name) and p.wall is not None]
    if not mine:
        return None
    return Run(r.mta, r.lines, name, sum(p.wall for p in mine) / len(mine),  # type: ignore[misc]
               sum(p.cpu for p in mine) / len(mine), max(p.rss_mib for p in mine))  # type: ignore[misc]


def table(runs: list[Run]) -> str:
    """The Markdown table: one row per run, with lines/s and the speed against the peer."""
    rows = ["| MTA | lines | command | workers | wall s | CPU s | lines/s | peak MiB (PSS, all processes) "
            "| × peer wall | × peer CPU |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        w = r.workers or "cores"
        if r.wall is None:
            rows.append(f"| {r.mta} | {label(r.lines)} | {r.command} | {w} | {r.status} | | | | | |")
            continue
        peer = _peer(runs, r)
        is_peer = r.command in ("pflogsumm", "eximstats")
        speed = "" if is_peer or r.command == "weekly" else f"{r.lines / r.wall:,.0f}"
        vs_w = vs_c = ""
        if peer is not None and not is_peer and r.command != "weekly":
            vs_w, vs_c = f"{peer.wall / r.wall:.2f}", f"{peer.cpu / r.cpu:.2f}"  # type: ignore[operator]
        rows.append(f"| {r.mta} | {label(r.lines)} | {r.command} | {'' if is_peer else w} | {r.wall:.1f} | "
                    f"{r.cpu:.1f} | {speed} | {r.rss_mib:.0f} | {vs_w} | {vs_c} |")
    return "\n".join(rows)


def acceptance(runs: list[Run]) -> str:
    """Issue 12's table: one row per (MTA, command, workers), per size wall s / CPU s / peak MiB, the
    wall-time ratio to the peer on the same file (peer wall / ours: above 1, faster than the peer) and
    the growth of peak memory from the smallest to the largest size."""
    sizes = sorted({r.lines for r in runs})
    head = " | ".join(f"{label(n)} wall s / CPU s / peak MiB | {label(n)} × peer" for n in sizes)
    rows = [f"| MTA | command | workers | {head} | peak growth {label(sizes[0])}→{label(sizes[-1])} |",
            "|---|---|---|" + "---:|---:|" * len(sizes) + "---:|"]
    keys = list(dict.fromkeys((r.mta, r.command, r.workers) for r in runs))
    for mta, cmd, workers in keys:
        is_peer = cmd in ("pflogsumm", "eximstats")
        if is_peer and workers:
            continue
        cells, peaks = [], []
        for n in sizes:
            mine = [r for r in runs if (r.mta, r.command, r.lines) == (mta, cmd, n)
                    and (is_peer or r.workers == workers)]
            ok = [r for r in mine if r.wall is not None]
            if not ok:
                cells.append((mine[0].status if mine else "") + " | ")
                continue
            r = ok[0] if not is_peer else Run(mta, n, cmd, sum(x.wall for x in ok) / len(ok),  # type: ignore[misc]
                                                sum(x.cpu for x in ok) / len(ok), max(x.rss_mib for x in ok))  # type: ignore[misc]
            peer = None if is_peer or cmd == "weekly" else _peer(runs, r)
            vs = f"{peer.wall / r.wall:.2f}" if peer is not None else ""  # type: ignore[operator]
            cells.append(f"{r.wall:.1f} / {r.cpu:.1f} / {r.rss_mib:.0f} | {vs}")
            peaks.append(r.rss_mib)
        growth = f"{peaks[-1] / peaks[0] - 1:+.0%}" if len(peaks) == len(sizes) and len(sizes) > 1 else ""
        rows.append(f"| {mta} | {cmd} | {'' if is_peer else workers or 'cores'} | {' | '.join(cells)} | {growth} |")
    return "\n".join(rows)


def memory_verdicts(runs: list[Run], workers: int = 0) -> list[str]:
    """Issue 12's memory lines, one per (MTA, command) run with ``workers``: the peak at every size
    asked for (every size any run has, for both MTAs: a size that failed or was not run is named,
    and the command cannot be said to hold), ≤ 400 MiB at each, and the growth from the smallest
    size to the largest (≤ +15%)."""
    peers = ("pflogsumm", "eximstats")
    mine = [r for r in runs if r.workers == workers and r.command not in peers and not r.command.endswith("(before)")]
    sizes = sorted({r.lines for r in runs if r.command not in peers})
    out = []
    for mta, cmd in dict.fromkeys((r.mta, r.command) for r in mine):
        peaks: dict[int, float] = {}
        missing = []
        for n in sizes:
            ok = [r for r in mine if (r.mta, r.command, r.lines) == (mta, cmd, n) and r.wall is not None]
            if ok:
                peaks[n] = max(r.rss_mib for r in ok)  # type: ignore[type-var]
            else:
                failed = [r.status for r in mine if (r.mta, r.command, r.lines) == (mta, cmd, n)]
                missing.append(f"{label(n)} {'failed' if failed else 'not run'}")
        cells = " / ".join(f"{label(n)} {peaks[n]:.0f}" for n in sizes if n in peaks)
        over = [label(n) for n, p in peaks.items() if p > 400]
        cap = ("NOT met at " + ", ".join(over)) if over else ("not shown (" + "; ".join(missing) + ")") \
            if missing else "holds"
        line = f"{mta} {cmd}: peak MiB {cells or '—'} — ≤ 400 at every size: {cap}"
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            if lo in peaks and hi in peaks:
                g = peaks[hi] / peaks[lo] - 1
                line += f"; growth {label(lo)}→{label(hi)} {g:+.0%} ({'holds' if g <= 0.15 else 'NOT met'}, ≤ +15%)"
            else:
                line += f"; growth {label(lo)}→{label(hi)}: not measured"
        out.append(line)
    return out


def verdicts(runs: list[Run]) -> list[str]:
    """Issue 12's acceptance checks on the runs (per workers setting)."""
    out = []
    for workers in sorted({r.workers for r in runs if r.command not in ("pflogsumm", "eximstats")}):
        tag = f"[workers={workers or 'cores'}] "
        by = {(r.mta, r.lines, r.command): r for r in runs if r.wall is not None
              and (r.workers == workers or r.command in ("pflogsumm", "eximstats"))}
        ours = [r for r in by.values() if r.command not in ("pflogsumm", "eximstats")
                and not r.command.endswith("(before)")]
        if ours:
            worst = max(ours, key=lambda r: r.rss_mib)
            out.append(f"{tag}peak memory, worst command: {worst.rss_mib:.0f} MiB ({worst.mta} {label(worst.lines)} "
                       f"{worst.command}) — target ≤ 400: {'holds' if worst.rss_mib <= 400 else 'NOT met'}")
        out.extend(tag + line for line in memory_verdicts(runs, workers))
        for (mta, n, cmd), r in sorted(by.items()):
            b = by.get((mta, n, f"{cmd} (before)"))
            if b is not None:
                out.append(f"{tag}{mta} {label(n)} {cmd} before → now: CPU {b.cpu:.1f} → {r.cpu:.1f} s "  # type: ignore[operator]
                           f"({b.cpu / r.cpu:.2f}× less), wall {b.wall:.1f} → {r.wall:.1f} s, "  # type: ignore[operator]
                           f"peak {b.rss_mib:.0f} → {r.rss_mib:.0f} MiB")
            if cmd == "report" and (mta, n, "parse") in by:
                q = r.wall / by[(mta, n, "parse")].wall
                out.append(f"{tag}report/parse wall {mta} {label(n)}: {q:.2f}× "
                           f"({'holds' if q <= 1.5 else 'NOT met'}, target ≤ 1.5×)")
            if cmd == "parse-parquet":
                peer = _peer(runs, r)
                if peer is not None:
                    q = peer.wall / r.wall  # type: ignore[operator]
                    want = 3.0 if peer.command == "pflogsumm" else 1.0
                    out.append(f"{tag}parse -o parquet speed vs {peer.command} {mta} {label(n)}: {q:.2f}× its "
                               f"speed ({'holds' if q >= want else 'NOT met'}, target ≥ {want:g}×); CPU "
                               f"{peer.cpu / r.cpu:.2f}×")  # type: ignore[operator]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,3M", help="day sizes in lines, e.g. 1M,3M,10M")
    ap.add_argument("--mta", default="postfix,exim")
    ap.add_argument("--commands", default=",".join(COMMANDS), help=f"subset of {','.join(COMMANDS)}")
    ap.add_argument("--cache", default=os.environ.get("MAILLENS_BENCH_DATA", "/tmp/maillens-bench"),
                    help="where generated days and stores are kept (generated once, reused)")
    ap.add_argument("--workers", default="0", help="MAILLENS_WORKERS values to run, e.g. 1,2 (0: the default)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", help="also write the runs as JSON to this file")
    ap.add_argument("--before", type=Path, help="another checkout of maillens (e.g. `git worktree add /tmp/old "
                    "COMMIT`): its commands run too, in the same run, as 'COMMAND (before)'")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    wanted = set(args.commands.split(","))
    worker_counts = [int(w) for w in args.workers.split(",")]
    runs: list[Run] = []
    byte_compile(ROOT, *([args.before] if args.before is not None else []))

    def run(mta: str, n: int, name: str, cmd: list[str], workers: int, root: Path = ROOT) -> None:
        wall, cpu, mem, code, tail, rss = measure(cmd, args.timeout, workers, root)
        r = Run(mta, n, name, wall, cpu, mem, workers=workers, max_rss_mib=rss, out_bytes=_written(cmd))
        if code != 0:
            r = Run(mta, n, name, status=f"FAILED (exit {code}): {tail.strip().splitlines()[-1:]}", workers=workers)
        runs.append(r)
        print(f"{mta} {label(n)} {name} [workers={workers or 'cores'}]: "
              + (f"{wall:.1f}s wall, {cpu:.1f}s CPU, {mem:.0f} MiB PSS, {rss:.0f} MiB max RSS"
                 if r.wall is not None else r.status)
              + (f", output {r.out_bytes / 1e6:.2f} MB" if r.out_bytes is not None and r.wall is not None else ""),
              file=sys.stderr, flush=True)

    for mta in args.mta.split(","):
        for n in (size(s) for s in args.sizes.split(",")):
            log = day_log(cache, mta, n)
            week = build_week(cache, mta, n, args.timeout) if "weekly" in wanted else None
            store = build_store(cache, mta, n, log, args.timeout) if "search-store" in wanted else None
            with tempfile.TemporaryDirectory(dir=cache) as work:
                cmds = commands(mta, log, Path(work), week, store)
                peer = PEERS[mta][0]
                if "peer" in wanted and peer in cmds:  # before and after ours: the load may change
                    run(mta, n, peer, cmds[peer], 0)
                for workers in worker_counts:
                    for name, cmd in cmds.items():
                        if name != peer and name in wanted:
                            if args.before is not None and name != "weekly":  # its own outputs and store
                                (Path(work) / "before").mkdir(exist_ok=True)
                                run(mta, n, f"{name} (before)", commands(mta, log, Path(work) / "before", week,
                                                                         store)[name],
                                    workers, args.before.resolve())
                            run(mta, n, name, cmd, workers)
                if "peer" in wanted and peer in cmds:
                    run(mta, n, peer, cmds[peer], 0)
    print(table(runs))
    print()
    print(acceptance(runs))
    print()
    for line in verdicts(runs):
        print("- " + line)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in runs], indent=1) + "\n")
    return 0


def _written(cmd: list[str]) -> int | None:
    """The size of the file a command wrote with ``-o`` (None: it has none)."""
    if "-o" not in cmd:
        return None
    out = Path(cmd[cmd.index("-o") + 1])
    return out.stat().st_size if out.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
