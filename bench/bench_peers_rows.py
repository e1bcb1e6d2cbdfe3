#!/usr/bin/env python3
"""The peers' fold of the report as the native engine runs it (stream batches handed as Arrow
tables, :meth:`analyzer.report.peers.WindowPeersFold._fold_rows`), replayed from a report run.

    PYTHONPATH=. python bench/bench_peers_rows.py capture DIR report DAY.log --tz UTC -f json -o x.json
    PYTHONPATH=. python bench/bench_peers_rows.py replay DIR [--out result.json] [--profile] [--repeat N]

``capture`` pickles what each stream batch hands the peers' thread (its table of the columns
read, the rows kept and the codes the batch's tests made); ``replay`` folds them again in this process
and prints the process CPU of the adds and of the result (``--out``: the result as JSON, to
compare two checkouts; ``--profile``: cProfile's top, the fold's thread included; ``--repeat``:
the least CPU of N folds). ``bench_peers_fold.py`` replays pandas batches (the flush path).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from typing import Any


class _Tests:
    """A batch's codes as :class:`analyzer.anomalies.batch_tests.BatchTests` hands them (those it made)."""

    def __init__(self, coded: dict[str, Any]) -> None:
        self.coded = coded

    def cached_codes(self, name: str) -> Any:
        return self.coded.get(name)


def capture(out: str, args: list[str]) -> None:
    from analyzer.report import peers

    os.makedirs(out, exist_ok=True)
    orig, n = peers.WindowPeersFold._fold_rows, [0]

    def fold_rows(self, t, keep, tests):  # type: ignore[no-untyped-def]
        coded = dict(tests._codes) if tests is not None else None
        with open(os.path.join(out, f"{n[0]:05d}.pkl"), "wb") as fh:
            pickle.dump((self.window, t, keep, coded), fh, protocol=5)
        n[0] += 1
        return orig(self, t, keep, tests)

    peers.WindowPeersFold._fold_rows = fold_rows  # type: ignore[method-assign]
    sys.argv = ["maillens", *args]
    from analyzer.cli import main

    main()


def replay(src: str, out: str | None, profile: bool, repeat: int = 1) -> None:
    from analyzer.report.peers import WindowPeersFold

    batches = []
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as fh:
            batches.append(pickle.load(fh))
    prof = None
    if profile:
        import cProfile
        import threading

        prof = cProfile.Profile()
        threading.setprofile(lambda *a: prof.enable())  # (the fold's thread too)
        prof.enable()
    best: tuple[float, float] | None = None
    res: Any = None
    for _ in range(repeat):
        t0 = time.process_time()
        fold = WindowPeersFold(batches[0][0])
        for _, t, keep, coded in batches:
            fold._fold_rows(t, keep, _Tests(coded) if coded is not None else None)
        for job in list(fold._jobs):
            job.result()
        t1 = time.process_time()
        res = dict(fold.result())
        t2 = time.process_time()
        if best is None or t2 - t0 < sum(best):
            best = (t1 - t0, t2 - t1)
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(40)
    assert best is not None
    rows = sum(len(t) for _, t, _, _ in batches)
    print(f"batches {len(batches)} rows {rows} ADD {best[0]:.3f} RESULT {best[1]:.3f} TOTAL {sum(best):.3f} CPU-s"
          f" (least of {repeat})")
    if out:
        with open(out, "w") as fh:
            json.dump(res, fh, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    cmd, where, *rest = sys.argv[1:]
    if cmd == "capture":
        capture(where, rest)
    else:
        replay(where, rest[rest.index("--out") + 1] if "--out" in rest else None, "--profile" in rest,
               int(rest[rest.index("--repeat") + 1]) if "--repeat" in rest else 1)
