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
"""

from __future__ import annotations

import atexit
import collections
import resource
import sys
import threading
import time

T0 = time.perf_counter()
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
    print(f"MAINCPU {own.ru_utime + own.ru_stime:.2f} WORKERCPU {kids.ru_utime + kids.ru_stime:.2f} "
          f"WALL {time.perf_counter() - T0:.2f} PANDAS {'pandas' in sys.modules} | {threads}", file=sys.stderr)


if __name__ == "__main__":
    threading.Thread.run = _timed_run  # type: ignore[method-assign]
    atexit.register(_report)
    sys.argv = ["maillens", *sys.argv[1:]]
    from analyzer.cli import main

    main()
