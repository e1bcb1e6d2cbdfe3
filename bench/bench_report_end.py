#!/usr/bin/env python3
"""The report's end on a timeline: :mod:`bench_timeline` with stage marks in the report's own code.

    PYTHONPATH=. python bench/bench_report_end.py [--bin 0.1] [--json OUT] -- report DAY --tz UTC -f json -o /tmp/r.json
    python bench/bench_report_end.py --pairs 3 --before /tmp/base -- report DAY --tz UTC -f json -o /tmp/r.json

As ``bench_timeline.py`` (the same sampling, the same lines printed), with these stages logged
besides the workers' and the classifier's: the fold's end (``fold_result`` and its parts), the
report's window and baseline (``make_report`` less the rest), the detectors (``detect``), the top
tables (``top``), the sections of :func:`analyzer.report.build.build_report` one by one, the
headline, the rendering (``render``) and the write. Each stage's CPU is its thread's
(``time.thread_time``), so a stage that waits for another thread's work shows a wall above its CPU.
The modules are patched as they are imported (not before: the run's schedule is the run's own).
Ends with each stage's span measured from the last parsed block, and the figures of the part after
it (its wall, CPU, idle 2-core estimate and CPU with one core idle: :func:`after`). With ``--pairs N
--before DIR``: N runs of DIR's checkout and of this one, alternating, their figures and means.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_timeline

#: module -> (attribute path, stage): patched right after the module is executed.
STAGES: dict[str, list[tuple[str, str]]] = {
    "analyzer.report.fold": [("fold_stream", "fold_stream"), ("RowsFold.result", "rows_result")],
    "analyzer.anomalies.aggregates": [("BulkFold.result", "bulk_result")],
    "analyzer.report.sent_fold": [("SentFold.result", "sent_result")],
    "analyzer.report.peers": [("WindowPeersFold.result", "peers_result")],
    "analyzer.report.build": [("_volumes", "s_volumes"), ("_outcomes", "s_outcomes"),
                              ("_session_ends", "s_session_ends"), ("cap", "s_cap"), ("_top", "top"),
                              ("build_report", "build_report")],
    "analyzer.report.servers": [("by_server", "s_servers"), ("attach_finding_servers", "s_attach"),
                                ("server_codes", "s_server_codes")],
    "analyzer.report.headline": [("add_headline", "s_headline"), ("expected_volumes", "expected")],
    "analyzer.report.run": [("ReportFold.result", "fold_result"), ("detect_anomalies", "detect"),
                            ("make_report", "make_report"), ("collect_report_events", "collect")],
    "analyzer.report": [("render", "render")],
    "analyzer.output": [("atomic_write_text", "write")],
}
#: analyzer.heap's calls (imported before the pipeline: patched when bench_timeline patches its own;
#: their callers look them up as ``heap.NAME``, and give_back's own calls are logged too)
HEAP = [("give_back", "heap_give_back"), ("trim", "heap_trim"), ("release_arrow", "heap_release"), ("shed", "heap_shed")]


def _install() -> None:
    """The stages of :data:`STAGES` logged by bench_timeline's own wrapper (``logged``, which its
    child hands to ``_patch`` once analyzer.pipeline is imported): each module patched as it is
    executed after that (the report's modules are: its warm-up imports them once the workers run)."""
    logged_by: list = []
    patch = bench_timeline._patch

    def patch_and_keep(name_me, logged) -> None:
        logged_by.append(logged)
        patch(name_me, logged)
        from analyzer import heap

        for attr, stage in HEAP:
            setattr(heap, attr, logged(stage, getattr(heap, attr)))

    bench_timeline._patch = patch_and_keep

    class Hook:
        def find_spec(self, name, path=None, target=None):
            if name not in STAGES:
                return None
            sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(name)
            finally:
                sys.meta_path.insert(0, self)
            exec_module = spec.loader.exec_module

            def exec_and_patch(module) -> None:
                exec_module(module)
                if not logged_by:  # (imported before the pipeline: not logged)
                    return
                for attr, stage in STAGES[name]:
                    owner = module
                    *heads, last = attr.split(".")
                    try:
                        for h in heads:
                            owner = getattr(owner, h)
                        setattr(owner, last, logged_by[0](stage, getattr(owner, last)))
                    except AttributeError:  # (another checkout's code: not there)
                        continue

            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, Hook())


def _tail(events: list[dict], end: float) -> None:
    blocks = [e["b"] for e in events if e["stage"] == "block"]
    if not blocks:
        return
    last = max(blocks)
    print(f"\nthe end, seconds after the last block ({last:.3f}; run ended +{end - last:.3f}), per stage call:")
    for e in sorted(events, key=lambda e: e["a"]):
        if e["b"] < last - 0.05 or e["stage"] in ("block", "parse", "keys", "spool", "split", "map"):
            continue
        print(f"  {e['stage']:16} {e['pid']:8} {e['a'] - last:+7.3f} .. {e['b'] - last:+7.3f}"
              f"  wall {e['b'] - e['a']:6.3f} cpu {e['cpu']:6.3f}")


def after(series: dict, events: list[dict]) -> dict[str, float]:
    """Of the run's intervals after its last parsed block, and of each phase of that part (the
    stream's last batches folded: ``tail``, to ``fold_stream``'s end; the fold's results:
    ``result``, to ``collect``'s; the report made: ``make``, to ``make_report``'s; the rest:
    ``exit``): the wall, the CPU (every thread of the run's processes, a forked child's too),
    bench_timeline's idle 2-core estimate (each sampling interval's CPU over how many threads
    wanted a core then, 1 to 2) and the CPU spent while fewer than 1.5 did (one core idle).
    Keys ``wall``, ``cpu``, ``idle``, ``serial`` for the whole part, ``idle_tail`` ... for the phases."""
    blocks = [e["b"] for e in events if e["stage"] == "block"]
    if not blocks:
        return {}
    last = max(blocks)
    ends = {e["stage"]: e["b"] for e in events if e["stage"] in ("fold_stream", "collect", "make_report")}
    cuts = [("tail", ends.get("fold_stream")), ("result", ends.get("collect")), ("make", ends.get("make_report")),
            ("exit", float("inf"))]
    steps: dict[float, list[tuple[float, float]]] = {}
    end = last
    for pts in series.values():
        for (a, _, r0, w0), (b, _, r1, w1) in itertools.pairwise(pts):
            end = max(end, b)
            if b <= last:
                continue
            share = 1.0 if a >= last else (b - last) / max(b - a, 1e-6)  # (the interval astride: its part after)
            steps.setdefault(round(b, 4), []).append(((r1 - r0) / 1e9 * share,
                                                     min(1.0, (r1 - r0 + w1 - w0) / 1e9 / max(b - a, 1e-6))))
    out = dict.fromkeys(("wall", "cpu", "idle", "serial"), 0.0)
    for name, _ in cuts:
        out.update(dict.fromkeys((f"idle_{name}", f"cpu_{name}"), 0.0))
    for at, parts in steps.items():
        work = sum(r for r, _ in parts)
        conc = sum(c for _, c in parts)
        idle = work / min(2.0, max(1.0, conc))
        out["cpu"] += work
        out["idle"] += idle
        out["serial"] += work if conc < 1.5 else 0.0
        phase = next(name for name, cut in cuts if cut is None or at <= cut)
        out[f"idle_{phase}"] += idle
        out[f"cpu_{phase}"] += work
    out["wall"] = end - last
    return out


def run_once(args: list[str], pythonpath: str, width: float, out: str | None, show: bool,
             rt: bool = False) -> dict[str, float]:
    """One run of ``maillens ARGS`` with the analyzer of ``pythonpath``, sampled; its figures
    (``rt``: the run at real-time round-robin priority, ``chrt -r 10``, its walls those of a machine
    where nothing else runs; the sampler is not)."""
    log = f"/tmp/timeline-end-{os.getpid()}.jsonl"
    with open(log, "w"):
        pass
    env = {**os.environ, "PYTHONPATH": pythonpath}
    load = os.getloadavg()[0]
    child = subprocess.Popen([*(["chrt", "-r", "10"] if rt else []), sys.executable, os.path.abspath(__file__),
                              "--child", log, *args], env=env, cwd=pythonpath)
    t0, series = bench_timeline.sample(child)
    end = time.monotonic()
    with open(log) as fh:
        events = [json.loads(x) for x in fh if x.strip()]
    os.unlink(log)
    if show:
        data = bench_timeline.report(t0, end, series, events, width, out)
        _tail(events, end)
    else:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            data = bench_timeline.report(t0, end, series, events, width, out)
    if child.returncode:
        raise SystemExit(f"the run failed: rc {child.returncode}")
    cpu = sum(r["cpu"] for r in data["threads"])
    walls = {f"wall_{e['stage']}": e["b"] - e["a"] for e in events if e["stage"] in ("make_report", "fold_result")}
    return {"load": load, **walls, "wall_all": end - t0, "cpu_all": cpu, "idle_all": data["idle_wall"],
            "serial_all": data["serial"], **{f"{k}_end": v for k, v in after(series, events).items()}}


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--child":
        _install()
        bench_timeline.child_main(argv[2:], argv[1])
        return
    import argparse

    ap = argparse.ArgumentParser(description="bench_timeline with the report's end marked; -- then maillens' arguments")
    ap.add_argument("--bin", type=float, default=0.1)
    ap.add_argument("--json", dest="out")
    ap.add_argument("--pairs", type=int, default=0, help="N runs of --before's checkout and of this one, alternating")
    ap.add_argument("--before", type=os.path.abspath)
    ap.add_argument("--rt", action="store_true", help="the runs at real-time round-robin priority (chrt -r 10)")
    split = argv.index("--") if "--" in argv else len(argv)
    opts, args = ap.parse_args(argv[:split]), argv[split + 1:]
    width, out, pairs, before, rt = opts.bin, opts.out, opts.pairs, opts.before, opts.rt
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not pairs:
        from bench_main_cpu import _compile_bytecode

        _compile_bytecode()
        figures = run_once(args, os.environ.get("PYTHONPATH", here), width, out, show=True, rt=rt)
        print("\n" + " ".join(f"{k}={v:.3f}" for k, v in figures.items()))
        return
    if before is None:
        raise SystemExit("--pairs needs --before DIR")
    for path in (before, here):
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(path, "analyzer")], check=False,
                       stdout=subprocess.DEVNULL)
    got: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    keys = ("load", "wall_all", "cpu_all", "idle_all", "wall_end", "cpu_end", "idle_end", "serial_end",
            "idle_tail_end", "idle_result_end", "idle_make_end", "cpu_make_end", "wall_make_report")
    print(f"{'side':7} " + " ".join(f"{k.removesuffix('_end').removeprefix('wall_make_'):>8}" for k in keys))
    for _ in range(pairs):
        for side, path in (("before", before), ("after", here)):
            f = run_once(args, path, width, None, show=False, rt=rt)
            got[side].append(f)
            print(f"{side:7} " + " ".join(f"{f.get(k, float('nan')):8.3f}" for k in keys), flush=True)
    for side in got:
        print(f"{side + ' mean':12} " + " ".join(f"{k}={sum(f.get(k, 0) for f in got[side]) / len(got[side]):.3f}"
                                          for k in keys))


if __name__ == "__main__":
    main()
