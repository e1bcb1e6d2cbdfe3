#!/usr/bin/env python3
"""What the weekly holds under its peak, in-process: RSS after each step of its findings phase,
the week's held tables column by column, and each detector's own peak above what is held.

    PYTHONPATH=$PWD python bench/bench_weekly_held.py STORE [--week 2026-W48]

Steps: the deferred messages' read (:func:`analyzer.weekly.events.deferred_qids`), the week's
fold (:func:`~analyzer.weekly.events.week_events`: kept rows and folded seconds), then the
detectors one at a time (``detect_anomalies(detectors=...)``, their own order), the process's
high-water mark reset before each (``/proc/self/clear_refs``, Linux). MiB; ``arrow`` is
``pyarrow.total_allocated_bytes()``. The environment is the CLI's (jemalloc as Arrow's pool).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")  # as analyzer.cli.main, before pyarrow loads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile (MiB) and Arrow's allocated bytes (MiB)."""
    import pyarrow as pa

    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) // 1024
    out["arrow"] = pa.total_allocated_bytes() >> 20
    return out


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def columns(name: str, df: Any, top: int = 12) -> str:
    mib = df.memory_usage(deep=False).drop("Index", errors="ignore").sort_values(ascending=False) / 2**20
    return (f"  {name}: {len(df):,} rows, {mib.sum():.1f} MiB: "
            + ", ".join(f"{c} {v:.1f}" for c, v in mib.head(top).items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--week", default="2026-W48")
    a = ap.parse_args(argv)
    import datetime as dt

    import pandas as pd

    from analyzer.anomalies import detect
    from analyzer.classify import default_rules
    from analyzer.weekly import events, parse_week

    kb = default_rules()
    print("imported", status(), flush=True)
    monday = parse_week(a.week)
    until = monday + dt.timedelta(days=7)
    cpu = time.process_time()
    reset_peak()
    deferred = events.deferred_qids(a.store, monday, until)
    print(f"deferred_qids: {len(deferred):,}", status(), flush=True)
    reset_peak()
    ev, bulk = events.week_events(a.store, monday, until, deferred)
    print("week_events", status(), f"CPU {time.process_time() - cpu:.1f} s", flush=True)
    print(columns("kept rows", ev))
    print(columns("folded seconds", bulk.table))
    for name in ("qids", "sent", "ends", "end_examples", "logins", "failures", "failure_examples"):
        part = getattr(bulk, name, None)
        if isinstance(part, pd.DataFrame) and len(part):
            print(f"  bulk.{name}: {len(part):,} rows, {part.memory_usage(deep=False).sum() / 2**20:.1f} MiB")

    def measured(fn: Any) -> Any:
        def run(ctx: Any) -> Any:
            before = status()
            reset_peak()
            found = fn(ctx)
            after = status()
            print(f"  {fn.__name__}: RSS {before['VmRSS']} -> peak {after['VmHWM']} "
                  f"(+{after['VmHWM'] - before['VmRSS']}) -> {after['VmRSS']}", flush=True)
            return found
        return run

    found = detect.detect_anomalies(ev, now=pd.Timestamp(until, tz="UTC"), kb=kb, bulk=bulk,
                                    detectors=[measured(fn) for fn in detect.DETECTORS])
    print(f"detectors: {len(found)} findings", status(), f"CPU {time.process_time() - cpu:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
