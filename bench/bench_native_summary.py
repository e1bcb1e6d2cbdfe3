#!/usr/bin/env python3
"""The summary's own cost, the general path against analyzer.fast_summary, on the same blocks.

    PYTHONPATH=$PWD python bench/bench_native_summary.py /work/benchdata/postfix-1000000-d0-s1.log [--blocks 12]
    PYTHONPATH=$PWD python bench/bench_native_summary.py LOG --producers   # the workers' side, whole file
    PYTHONPATH=$PWD python bench/bench_native_summary.py LOG --whole 3 [--before DIR]  # beside the peer

Parses the first ``--blocks`` blocks of a file once (not timed), then times, in this process and
alternately (best of ``--repeat``), what each path adds to the parse per block:

* general: the worker's classification keys (class_key), the Arrow IPC round trip of the
  projected table the worker sends, then in the main process StreamClassifier.classify_many over
  up to 160k rows and SummaryFold.add;
* fast: the worker's BlockSummariser, the IPC round trip of its table, then FastSummaryFold's
  classification of the groups and its fold.

CPU seconds (process time), so that a loaded machine inflates both alike; the two folds' results
are checked equal.

``--producers``: what a worker does per block on the summary's path, over the whole file, best of
``--repeat``: the general parse (parse_batch) plus the BlockSummariser, against fold_batch (the
Postfix fast-path rows grouped in Rust, native/src/fold.rs). ``--whole N``: ``maillens parse LOG``
(this checkout; with ``--before DIR`` that checkout too) and the peer (pflogsumm or eximstats),
alternately N times: wall, CPU of the process tree, and the peer's wall over ours (the issue's ratio).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analyzer.class_cache import class_key  # noqa: E402
from analyzer.classify import default_rules  # noqa: E402
from analyzer.classify_stream import StreamClassifier  # noqa: E402
from analyzer.fast_summary import FastSummaryFold  # noqa: E402
from analyzer.pipeline import CLASSIFY_ROWS, EventStream  # noqa: E402
from analyzer.sinks import SummaryFold  # noqa: E402
from analyzer.sources import expand_inputs  # noqa: E402


def _ipc(table: pa.Table) -> pa.Table:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return pa.ipc.open_stream(sink.getvalue()).read_all()


def general(tables: list[pa.Table], kb) -> tuple[SummaryFold, dict[str, float]]:
    t = {"worker": 0.0, "ipc": 0.0, "main": 0.0}
    clf, fold = StreamClassifier(kb), SummaryFold()
    columns = [c for c in tables[0].column_names if c in set(SummaryFold.READS) | set(clf.reads) | {"line_no"}]
    held, keys, size = [], [], 0

    def flush():
        t0 = time.process_time()
        for out in clf.classify_many(held, keys):
            fold.add(out)
        t["main"] += time.process_time() - t0
        held.clear()
        keys.clear()

    for table in tables:
        t0 = time.process_time()
        k = class_key(table)
        t1 = time.process_time()
        got = _ipc(table.select(columns))
        t2 = time.process_time()
        t["worker"] += t1 - t0
        t["ipc"] += t2 - t1
        held.append(got)
        keys.append(k)
        size += got.num_rows
        if size >= CLASSIFY_ROWS:
            flush()
            size = 0
    flush()
    return fold, t


def fast(tables: list[pa.Table], kb) -> tuple[SummaryFold, dict[str, float]]:
    t = {"worker": 0.0, "ipc": 0.0, "main": 0.0}
    fold = FastSummaryFold(StreamClassifier(kb))
    attribution = StreamClassifier(kb)
    held, size = [], 0
    for table in tables:
        t0 = time.process_time()
        out = fold.summariser(table)
        t1 = time.process_time()
        got = _ipc(out)
        t2 = time.process_time()
        opened, reps = fold._open(got)
        if reps is not None:
            held.append((opened, reps))
            size += reps.num_rows
            if size >= fold.GROUPS:
                fold._classified(held, attribution)
                held, size = [], 0
        t["worker"] += t1 - t0
        t["ipc"] += t2 - t1
        t["main"] += time.process_time() - t2
    t0 = time.process_time()
    fold._classified(held, attribution)
    t["main"] += time.process_time() - t0
    return fold, t


def producers(log: str, repeat: int) -> None:
    from analyzer.fast_summary import BlockSummariser, fold_batch
    from analyzer.parsers import FileContext, HeaderState, parse_batch
    from analyzer.parsers.syslog import Clock
    from analyzer.sources import iter_batches

    inp = expand_inputs([log])[0]
    batches = list(iter_batches(inp, print))
    summarise = BlockSummariser()

    def general_block(b, ctx):
        return summarise(parse_batch(b.lines, b.first_line, ctx)[0])

    def fold_block(b, ctx):
        return summarise(fold_batch(b.lines, b.first_line, ctx)[0])

    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, fn in (("general", general_block), ("fold", fold_block)):
            ctx = FileContext(inp.name, HeaderState(Clock(tz="UTC", year=2026)))
            t0 = time.process_time()
            rows = sum(fn(b, ctx).num_rows for b in batches)
            best[name] = min(best.get(name, 1e9), time.process_time() - t0)
    print(f"{Path(log).name}: {len(batches)} blocks, {rows:,} events; worker side (parse + summary), best of {repeat}:")
    for name, v in best.items():
        print(f"  {name:8s} {v:.3f} CPU-s")


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU of the process tree) of a command, output thrown away."""
    import os
    import subprocess

    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env})
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(f"{argv[:3]} exited {p.returncode}")
    return wall, ru.ru_utime + ru.ru_stime


def whole(log: str, runs: int, before: str | None) -> None:
    from bench.bench_pipeline import PEERS

    mta = "exim" if "exim" in Path(log).name else "postfix"
    peer, tool = PEERS[mta]
    cmds = {"parse": ([sys.executable, "-m", "analyzer", "parse", log], {"PYTHONPATH": str(ROOT)})}
    if before:
        cmds["parse (before)"] = ([sys.executable, "-m", "analyzer", "parse", log], {"PYTHONPATH": before})
    if tool:
        cmds[peer] = ([tool, log], {})
    got: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, (argv, env) in cmds.items():
            got[name].append(_timed(argv, env))
    mean = {k: (sum(w for w, _ in v) / len(v), sum(c for _, c in v) / len(v)) for k, v in got.items()}
    print(f"{Path(log).name}: mean of {runs} runs, alternately")
    for name, (w, c) in mean.items():
        vs = f"  {peer} wall / this wall: {mean[peer][0] / w:.2f}x" if peer in mean and name != peer else ""
        print(f"  {name:16s} {w:6.2f} s wall {c:6.2f} CPU-s{vs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--producers", action="store_true", help="the workers' side: parse + summary per block")
    ap.add_argument("--whole", type=int, default=0, metavar="N", help="maillens parse LOG beside the peer, N runs")
    ap.add_argument("--before", help="another checkout, run in --whole too")
    args = ap.parse_args()
    if args.producers:
        producers(args.log, args.repeat)
        return
    if args.whole:
        whole(args.log, args.whole, args.before)
        return
    tables = []
    for b in EventStream(expand_inputs([args.log]), tz="UTC", workers=1):
        tables.append(b.table)
        if len(tables) >= args.blocks:
            break
    rows = sum(t.num_rows for t in tables)
    kb = default_rules()
    best: dict[str, dict[str, float]] = {}
    folds = {}
    for _ in range(args.repeat):
        for name, fn in (("general", general), ("fast", fast)):
            fold, t = fn(tables, kb)
            folds[name] = fold
            t["all"] = sum(t.values())
            best[name] = {k: min(v, best.get(name, {}).get(k, v)) for k, v in t.items()}
    g, f = folds["general"], folds["fast"]
    same = all(getattr(g, a) == getattr(f, a) for a in ("by_event", "by_code", "by_status", "by_cause"))
    print(f"{Path(args.log).name}: {len(tables)} blocks, {rows:,} events; folds equal: {same}")
    for name, t in best.items():
        print(f"  {name:8s} " + "  ".join(f"{k} {v:.3f}" for k, v in t.items()) + " CPU-s")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
