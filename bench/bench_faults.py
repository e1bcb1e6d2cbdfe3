"""Where a maillens command's minor page faults are taken: per native call and per thread.

    PYTHONPATH=$PWD python bench/bench_faults.py [--calls read_lines,fold_postfix] -- \\
        parse /work/benchdata/postfix-1000000-d0-s1.log -f json --tz UTC --year 2026

Runs the command in this process (its output to /dev/null) with each named function of
``analyzer._native`` wrapped: every call's minor faults and CPU seconds of the thread that made it
(``getrusage(RUSAGE_THREAD)`` around the call), summed by (function, thread name), and each
call's faults in order (``--each``: which blocks touch fresh memory and which reuse freed pages).
At the command's end (its ``os._exit`` too) the threads still alive are listed with their faults
(``/proc/self/task/*/stat``), and the process's total. A fault is a first write (or read) of a page
the process had not touched since it was mapped or handed back; a count that stays near zero
for a call repeated on same-sized input means the call reuses memory freed before it.
(bench/RESULTS.md, r36-pfault.)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

__all__ = ["Calls", "main", "thread_faults"]


class Calls:
    """The calls of wrapped functions: (function, thread name, minor faults, thread CPU-s)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, int, float]] = []
        self._lock = threading.Lock()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            f0, t0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt, time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                row = (name, threading.current_thread().name,
                       resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f0, time.thread_time() - t0)
                with self._lock:
                    self.log.append(row)

        return counted

    def by_thread(self) -> dict[tuple[str, str], list[float]]:
        """(function, thread name) -> [calls, faults, CPU-s]."""
        out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
        for name, thread, faults, cpu in self.log:
            row = out[(name, thread)]
            row[0] += 1
            row[1] += faults
            row[2] += cpu
        return dict(out)


def thread_faults() -> dict[str, int]:
    """Minor faults of this process's live threads so far, by thread name (or id)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, int] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[names.get(int(tid), f"tid {tid}")] = int(fields[7])  # minflt: the stat file's 10th field
    return out


def _report(calls: Calls, each: bool, out: Any) -> None:
    for (name, thread), (n, faults, cpu) in sorted(calls.by_thread().items()):
        print(f"{name:22s} {thread:24s} calls {int(n):4d}  faults {int(faults):7,d}  thread CPU-s {cpu:.3f}", file=out)
    if each:
        for name in sorted({c[0] for c in calls.log}):
            print(f"{name} each:", [c[2] for c in calls.log if c[0] == name], file=out)
    for thread, faults in sorted(thread_faults().items(), key=lambda kv: -kv[1]):
        print(f"live thread {thread:24s} faults {faults:7,d}", file=out)
    print(f"process faults {resource.getrusage(resource.RUSAGE_SELF).ru_minflt:,}", file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", default="read_lines,fold_postfix,fold_exim",
                    help="analyzer._native functions to count (comma-separated)")
    ap.add_argument("--each", action="store_true", help="also each call's faults, in order")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then maillens' arguments")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("no maillens command after --")
    import analyzer._native as core

    calls = Calls()
    for name in filter(None, args.calls.split(",")):
        setattr(core, name, calls.wrap(name, getattr(core, name)))
    done = threading.Event()

    def finish() -> None:
        if not done.is_set():
            done.set()
            _report(calls, args.each, sys.stderr)

    real_exit = os._exit

    def exit_reporting(code: int) -> None:  # the CLI ends `parse` by os._exit: report first
        finish()
        real_exit(code)

    os._exit = exit_reporting  # type: ignore[assignment]
    sys.argv = ["maillens", *command]
    from analyzer.cli import run

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        run()
    except SystemExit:
        pass
    finally:
        finish()
        os._exit = real_exit  # type: ignore[assignment]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
