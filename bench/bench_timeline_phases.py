#!/usr/bin/env python3
"""bench_timeline's "CPU with one core idle", split by phase and thread (r36-pwall).

    PYTHONPATH=. python bench/bench_timeline_phases.py [--own-session] [bench_timeline options] -- parse DAY -f json

Runs :mod:`bench_timeline` as it is and prints, before its report, one line: the CPU spent while
fewer than 1.5 of the run's threads wanted a core (its "one core idle" figure), summed over three
phases — ``start`` (until the first CPU of ``maillens-early``, the early fold's thread: the main
thread alone), ``between`` (to the end of the last block), ``after`` (after it: the run's end) —
each with the three threads that spent most of it.

``--own-session``: the run in a session of its own whose autogroup is at nice -20 (root only).
With ``kernel.sched_autogroup_enabled`` on, ``nice`` alone does nothing against other sessions'
load; so run, a 1M-line `parse` gets ~90% of two cores at load 15 and its figures read as the
idle ones (r36-pwall: 0.61-0.63 s estimate, 0.15-0.19 s one core idle, the lead's idle 0.61 and
0.17). Each such run takes its wall of the other sessions' CPU.
"""

from __future__ import annotations

import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_timeline as bt

_REPORT = bt.report


def phases(t0: float, series: dict, events: list[dict]) -> dict[str, dict[str, float]]:
    """The one-core-idle CPU by phase (see the module doc), then by thread name."""
    steps: dict[float, list[tuple[int, float, float]]] = {}
    names: dict[int, str] = {}
    early = None
    for (_, t), pts in series.items():
        names[t] = pts[-1][1]
        for (a, _, r0, w0), (b, _, r1, w1) in itertools.pairwise(pts):
            steps.setdefault(round(b, 4), []).append((t, (r1 - r0) / 1e9, min(1.0, (r1 - r0 + w1 - w0) / 1e9 / max(b - a, 1e-6))))
            if names[t].startswith("maillens-early") and r1 > r0 and (early is None or a < early):
                early = a
    blocks = [e["b"] for e in events if e["stage"] == "block"]
    last = max(blocks) if blocks else float("inf")
    out: dict[str, dict[str, float]] = {"start": {}, "between": {}, "after": {}}
    for b, parts in steps.items():
        if sum(c for _, _, c in parts) >= 1.5:
            continue
        phase = "start" if early is None or b <= early else ("after" if b > last else "between")
        for t, r, _ in parts:
            if r > 0:
                out[phase][names[t]] = out[phase].get(names[t], 0.0) + r
    return out


def report(t0: float, end: float, series: dict, events: list[dict], width: float, out: str | None = None) -> dict:
    parts = []
    for phase, by in phases(t0, series, events).items():
        top = sorted(by.items(), key=lambda kv: -kv[1])[:3]
        parts.append(f"{phase} {1000 * sum(by.values()):.0f} ms (" + ", ".join(f"{n} {1000 * v:.0f}" for n, v in top) + ")")
    print("one core idle by phase: " + "  ".join(parts))
    return _REPORT(t0, end, series, events, width, out)


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--own-session":
        script = os.path.abspath(__file__)
        os.execvp("setsid", ["setsid", "sh", "-c", 'echo -20 > /proc/self/autogroup && exec nice -n -20 "$@"', "sh",
                             sys.executable, script, *argv[1:]])
    bt.report = report
    bt.main()


if __name__ == "__main__":
    main()
