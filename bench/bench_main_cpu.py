#!/usr/bin/env python3
"""Where a maillens command's main process spends its CPU: per thread, beside its workers'.

    PYTHONPATH=. python bench/bench_main_cpu.py parse /work/benchdata/postfix-1000000-d0-s1.log --tz UTC -o /tmp/x.parquet -q

Runs ``maillens ARGS`` in this process and prints on stderr, at exit: the main process's CPU
(user+system), the parse workers' (the children it waited for), the wall time, whether pandas
was imported, and the CPU of each of the main process's threads by name (``maillens-batches``:
taking the workers' results, classifying, attributing; ``maillens-write``: the Parquet/CSV
encoder; ``maillens-warm``: the classifier's one-time loads; ``main``: start-up and the
consumer). On a shared machine CPU seconds are the steadier figure; compare two checkouts by
running it from each, interleaved (bench/RESULTS.md, r9-classify).

An installed maillens has its bytecode compiled (pip does it); a checkout run with
``PYTHONDONTWRITEBYTECODE`` set (as on the project's machines) compiles every module of the
package on every run, ~0.1-0.15 CPU-s of the main process before its workers fork. The package's
bytecode is compiled first (``compileall``, in a child process: not counted), so the figures are an
install's; ``MAILLENS_BENCH_SOURCE=1`` skips that and measures the checkout as it runs.
"""

from __future__ import annotations

import atexit
import collections
import os
import resource
import subprocess
import sys
import threading
import time

T0 = time.perf_counter()
KIDS0 = 0.0  # the children's CPU before maillens ran (compileall's)
CPU: collections.Counter = collections.Counter()
_run = threading.Thread.run


def _timed_run(self: threading.Thread) -> None:
    try:
        _run(self)
    finally:
        CPU[self.name.split("_")[0].rstrip("0123456789-")] += time.thread_time()


def _report() -> None:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["main"] += time.thread_time()
    threads = " ".join(f"{k}={v:.2f}" for k, v in CPU.most_common())
    print(f"MAINCPU {own.ru_utime + own.ru_stime:.2f} WORKERCPU {kids.ru_utime + kids.ru_stime - KIDS0:.2f} "
          f"WALL {time.perf_counter() - T0:.2f} PANDAS {'pandas' in sys.modules} | {threads}", file=sys.stderr)


def _compile_bytecode() -> None:
    """The bytecode of the analyzer package this run imports (``PYTHONPATH``) written into its
    __pycache__ (as pip installs it), where missing."""
    import importlib.util

    spec = importlib.util.find_spec("analyzer")
    if spec is None or not spec.submodule_search_locations:
        return
    subprocess.run([sys.executable, "-m", "compileall", "-q", *spec.submodule_search_locations],
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                   check=False, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    if not os.environ.get("MAILLENS_BENCH_SOURCE"):
        _compile_bytecode()
        T0 = time.perf_counter()
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        KIDS0 = done.ru_utime + done.ru_stime
    threading.Thread.run = _timed_run  # type: ignore[method-assign]
    atexit.register(_report)
    sys.argv = ["maillens", *sys.argv[1:]]
    from analyzer.cli import main

    main()
