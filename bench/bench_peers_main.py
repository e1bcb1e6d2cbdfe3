#!/usr/bin/env python3
"""The report's main-thread CPU in its parts: the peers' fold and result beside the other folds.

    PYTHONPATH=. python bench/bench_peers_main.py report /work/benchdata/postfix-1000000-d0-s1.log -f json \\
        --now 2026-11-24T06:00:00Z --tz UTC --year 2026 -o /tmp/r.json

Runs ``maillens ARGS`` in this process with ``time.thread_time()`` summed around each call, made on
the main thread, of ``WindowPeersFold.add``/``result``, ``ReportFold.add``/``result``, the detectors
and ``build_report``, and prints on stderr at exit one line ``PROBE part=CPU-s ... main=CPU-s`` (the
main thread's total), and ``fold.keep``: ``ReportFold._keep``, the folds that keep state, on the
fold's own thread (r14-rmain). Parts nest (``ReportFold.add`` holds ``WindowPeersFold.add``). On a shared
machine these steadier figures compare two checkouts run alternately (bench/RESULTS.md, r13-rwall).
"""

from __future__ import annotations

import atexit
import collections
import sys
import threading
import time
from typing import Any

CPU: collections.Counter = collections.Counter()


def _timed(owner: Any, name: str, label: str, any_thread: bool = False) -> None:
    call = getattr(owner, name, None)
    if call is None:  # (an older checkout)
        return

    def run(*args: Any, **kwargs: Any) -> Any:
        if not any_thread and threading.current_thread() is not threading.main_thread():
            return call(*args, **kwargs)
        t0 = time.thread_time()
        try:
            return call(*args, **kwargs)
        finally:
            CPU[label] += time.thread_time() - t0

    setattr(owner, name, run)


def _report() -> None:
    CPU["main"] = time.thread_time()
    print("PROBE " + " ".join(f"{k}={v:.3f}" for k, v in sorted(CPU.items())), file=sys.stderr)


if __name__ == "__main__":
    from analyzer.report import peers, run

    _timed(peers.WindowPeersFold, "add", "peers.add")
    _timed(peers.WindowPeersFold, "result", "peers.result")
    _timed(run.ReportFold, "add", "fold.add")
    _timed(run.ReportFold, "result", "fold.result")
    _timed(run.ReportFold, "_keep", "fold.keep", any_thread=True)  # on the fold's thread (r14-rmain)
    _timed(run, "detect_anomalies", "detect")
    _timed(run, "build_report", "build")
    atexit.register(_report)
    sys.argv = ["maillens", *sys.argv[1:]]
    from analyzer.cli import main

    main()
