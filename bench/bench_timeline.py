#!/usr/bin/env python3
"""When each thread of a maillens run is busy, waiting for a core, or idle: a timeline.

    PYTHONPATH=. python bench/bench_timeline.py [--bin 0.1] [--json OUT] -- parse DAY --tz UTC -o /tmp/x.parquet -q

Runs ``maillens ARGS`` in a child process whose threads carry their names into the kernel
(``prctl``: ``main``, ``maillens-batches``, ``maillens-write``, ``maillens-free``, ``worker``
for the forked parse workers) and samples ``/proc/PID/task/TID/schedstat`` of it and its
children every few milliseconds: nanoseconds on a core and nanoseconds runnable but waiting
for one, per thread. Printed on stdout: per thread its CPU, its run-queue wait, when it was
first and last busy; then one line per thread, one character per ``--bin`` seconds, of how
busy it was (`` .:-=+*#%@`` for 0-100% of the bin on a core; ``w`` where it waited for a core
more than it ran); then the stages the workers and the writer logged (a block's read and
split, parse, keys, spool; a row group's encoding), as spans per process.

Also printed: an estimate of the run's wall on an idle machine with 2 cores (each sampling
interval's CPU over the number of the run's threads that wanted a core then, 1 to 2), and the
CPU spent while fewer than 1.5 of them did (one core idle: the critical path). On a loaded
machine the estimate stays near the idle wall (r17-pout: 2.3-2.6 s against 2.3 s measured idle
at stop 31) where the sampled wall is 3-7 times it. The run's modules are patched when it
imports them (``TIMELINE_LAZY=0``: before it starts, as up to round 26; see
:func:`_patch_when_imported`). ``TIMELINE_SET=module.NAME=int,...`` sets
module constants first (e.g. ``analyzer.pipeline.AHEAD=8``), ``TIMELINE_WORKER_NICE=n`` runs
the workers at that nice value: experiments on the schedule.

The run-queue wait is the machine's load (or the run's own threads competing for 2 cores):
a thread that is neither running nor waiting is blocked on something of the run (a queue,
a result, the GIL is not visible here: a thread waiting for the GIL sleeps on a futex).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time

SAMPLE = 0.004
SHADES = " .:-=+*#%@"


def _tasks(pid: int) -> list[tuple[int, int]]:
    """(pid, tid) of ``pid``'s threads and of its descendants' (children lists of every thread)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{p}/task")]
        except OSError:
            continue
        for t in tids:
            out.append((p, t))
            try:
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except OSError:
                pass
    return out


def _read(p: int, t: int) -> tuple[str, int, int] | None:
    try:
        with open(f"/proc/{p}/task/{t}/schedstat") as fh:
            run, wait, _ = fh.read().split()
        with open(f"/proc/{p}/task/{t}/comm") as fh:
            comm = fh.read().strip()
    except (OSError, ValueError):
        return None
    return comm, int(run), int(wait)


def sample(child: subprocess.Popen) -> tuple[float, dict[tuple[int, int], list[tuple[float, str, int, int]]]]:
    t0 = time.monotonic()
    series: dict[tuple[int, int], list[tuple[float, str, int, int]]] = {}
    while child.poll() is None:
        now = time.monotonic()
        for p, t in _tasks(child.pid):
            got = _read(p, t)
            if got is not None:
                series.setdefault((p, t), []).append((now, *got))
        time.sleep(SAMPLE)
    return t0, series


def report(t0: float, end: float, series: dict, events: list[dict], width: float, out: str | None = None) -> dict:
    nbins = int((end - t0) / width) + 1
    rows = []
    # per sampling interval: every thread's CPU and its share of the interval it wanted a core
    # (on one or runnable): the run's concurrency, whatever the machine's load
    steps: dict[float, list[tuple[int, float, float]]] = {}
    for (p, t), pts in series.items():
        name = pts[-1][1]
        run = [0.0] * nbins
        want = [0.0] * nbins
        for (a, _, r0, w0), (b, _, r1, w1) in itertools.pairwise(pts):
            k = min(int((b - t0) / width), nbins - 1)
            run[k] += (r1 - r0) / 1e9
            want[k] += (r1 - r0 + w1 - w0) / 1e9
            steps.setdefault(round(b, 4), []).append((t, (r1 - r0) / 1e9, min(1.0, (r1 - r0 + w1 - w0) / 1e9 / max(b - a, 1e-6))))
        total, waited = (pts[-1][2] - pts[0][2]) / 1e9, (pts[-1][3] - pts[0][3]) / 1e9
        if total < 0.01:
            continue
        busy = [i for i, x in enumerate(want) if x > 0.001]
        rows.append({"pid": p, "tid": t, "name": name, "cpu": total, "runq": waited, "serial": 0.0,
                     "first": (busy[0] * width) if busy else None, "last": ((busy[-1] + 1) * width) if busy else None,
                     "run": run, "want": want})
    rows.sort(key=lambda r: (r["pid"], r["tid"]))
    by_tid = {r["tid"]: r for r in rows}
    # the wall on an idle machine with 2 cores, estimated: each interval's CPU over its concurrency
    # (1 to 2); "serial": CPU spent while fewer than 1.5 threads wanted a core (one core idle)
    idle_wall = serial = 0.0
    for parts in steps.values():
        work = sum(r for _, r, _ in parts)
        conc = sum(c for _, _, c in parts)
        idle_wall += work / min(2.0, max(1.0, conc))
        if conc < 1.5:
            serial += work
            for t, r, _ in parts:
                if t in by_tid:
                    by_tid[t]["serial"] += r
    cpu = sum(r["cpu"] for r in rows)
    data = {"t0": t0, "end": end, "bin": width, "threads": rows, "events": events,
            "idle_wall": idle_wall, "serial": serial}
    if out:  # before printing (a reader that stops early, `| head`, must not lose it)
        with open(out, "w") as fh:
            json.dump(data, fh)
    print(f"wall {end - t0:.2f} s (sampled, at this load), bin {width:.3f} s; CPU {cpu:.2f} s; "
          f"idle 2-core wall estimate {idle_wall:.2f} s; CPU with one core idle {serial:.2f} s")
    print(f"{'pid':>7} {'tid':>7} {'thread':16} {'cpu':>6} {'runq':>6} {'serial':>6} {'first':>6} {'last':>6}")
    for r in rows:
        print(f"{r['pid']:7} {r['tid']:7} {r['name'][:16]:16} {r['cpu']:6.2f} {r['runq']:6.2f} {r['serial']:6.2f} "
              f"{r['first'] or 0:6.2f} {r['last'] or 0:6.2f}")
    print("\n(share of each bin the thread wanted a core: on one or runnable)")
    for r in rows:
        line = "".join(SHADES[min(9, int(10 * x / width))] for x in r["want"])
        print(f"{r['name'][:10]:10}{r['tid'] % 1000:4} |{line}|")
    if events:
        print("\nstages (seconds from start: begin-end, per process)")
        by: dict[tuple[int, str], list[tuple[float, float]]] = {}
        cpu_of: dict[tuple[int, str], float] = {}
        for e in events:
            by.setdefault((e["pid"], e["stage"]), []).append((e["a"] - t0, e["b"] - t0))
            cpu_of[e["pid"], e["stage"]] = cpu_of.get((e["pid"], e["stage"]), 0.0) + e["cpu"]
        for (p, stage), spans in sorted(by.items()):
            tot = sum(b - a for a, b in spans)
            print(f"{p:7} {stage:14} n={len(spans):3} wall={tot:6.3f} cpu={cpu_of[p, stage]:6.3f} "
                  f"first={spans[0][0]:.2f} last={spans[-1][1]:.2f}"
                  + ("" if len(spans) > 12 else "  " + " ".join(f"{a:.2f}-{b:.2f}" for a, b in spans)))
        blocks = [e["b"] for e in events if e["stage"] == "block"]
        if blocks:  # the run's end after its blocks: the main process's last work, then its exit
            print(f"after the last block: {end - max(blocks):.3f} s (of {end - t0:.2f} s)")
    return data


def child_main(args: list[str], log: str) -> None:
    import ctypes
    import functools
    import threading

    libc = ctypes.CDLL(None)

    def name_me(name: str) -> None:
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME

    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def logged(stage: str, fn):
        @functools.wraps(fn)  # (its name: the pool pickles run_block by name)
        def wrapper(*a, **k):
            t, c = time.monotonic(), time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                os.write(fd, (json.dumps({"pid": os.getpid(), "stage": stage, "a": t, "b": time.monotonic(),
                                          "cpu": time.thread_time() - c}) + "\n").encode())
        return wrapper

    run = threading.Thread.run

    def named_run(self: threading.Thread) -> None:
        name_me(self.name)
        run(self)

    threading.Thread.run = named_run  # type: ignore[method-assign]
    name_me("main")
    if os.environ.get("TIMELINE_LAZY", "1") != "0":  # the modules patched when the run imports them, not before
        _patch_when_imported(lambda: _patch(name_me, logged))
    else:  # TIMELINE_LAZY=0: imported here first (the run's start then has none of its imports)
        _patch(name_me, logged)
    import analyzer.cli as cli
    cli.main = logged("cli_main", cli.main)
    for setting in filter(None, os.environ.get("TIMELINE_SET", "").split(",")):  # module.NAME=int
        import importlib

        target, value = setting.split("=")
        mod, _, attr = target.rpartition(".")
        setattr(importlib.import_module(mod), attr, int(value))
    sys.argv = ["maillens", *args]
    cli.run()  # as `python -m analyzer` (its end without the interpreter's teardown where it applies)


def _patch_when_imported(patch) -> None:
    """``patch()`` run once analyzer.pipeline has been imported (the default; ``TIMELINE_LAZY=0``
    patches before the run starts): the run's start imports pyarrow and the parsers when it
    would without the timeline. Imported by the harness first, they were ~0.2-0.3 s on the main
    thread alone before ``cli_main`` (the rules' compile thread, which a run starts before
    them, had nothing to run beside), and numpy started OpenBLAS's thread before ``cli.main``
    limits it: the start and the CPU of no real run."""
    import importlib.util

    class Hook:
        def find_spec(self, name, path=None, target=None):
            if name != "analyzer.pipeline":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            exec_module = spec.loader.exec_module

            def exec_and_patch(module) -> None:
                exec_module(module)
                patch()

            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, Hook())


def _patch(name_me, logged) -> None:
    from analyzer import parallel, sinks, sources

    init = parallel._init_worker

    def init_worker(no_pandas: bool) -> None:
        name_me("worker")
        os.nice(int(os.environ.get("TIMELINE_WORKER_NICE", "0")))
        init(no_pandas)

    parallel._init_worker = init_worker
    parallel.run_block = logged("block", parallel.run_block)
    sources.block_array = logged("split", sources.block_array)
    parallel._send = logged("spool", parallel._send)
    parallel._keys = logged("keys", parallel._keys)
    parallel.parse_batch = logged("parse", parallel.parse_batch)
    parallel.BlockResult.table = logged("map", parallel.BlockResult.table)
    sinks.EventWriter._write_group = logged("row_group", sinks.EventWriter._write_group)
    sinks.EventWriter.close_ok = logged("close_ok", sinks.EventWriter.close_ok)
    from analyzer import classify_stream, fast_summary

    classify_stream.StreamClassifier.classify_many = logged("classify", classify_stream.StreamClassifier.classify_many)
    # `parse`'s summary: its classification calls on the main thread (what is left of them when
    # the last block is parsed is the run's end on one core)
    fast_summary.FastSummaryFold._classified = logged("summary_call", fast_summary.FastSummaryFold._classified)


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        child_main(argv[2:], argv[1])
        return
    width, out = 0.1, None
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--bin":
            width = float(argv.pop(0))
        elif opt == "--json":
            out = argv.pop(0)
    args = argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_main_cpu import _compile_bytecode

    _compile_bytecode()
    log = f"/tmp/timeline-{os.getpid()}.jsonl"
    with open(log, "w"):
        pass
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", log, *args])
    t0, series = sample(child)
    end = time.monotonic()
    with open(log) as fh:
        events = [json.loads(x) for x in fh if x.strip()]
    os.unlink(log)
    report(t0, end, series, events, width, out)
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
