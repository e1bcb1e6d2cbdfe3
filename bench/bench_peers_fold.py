#!/usr/bin/env python3
"""The peers' fold of the report alone, replayed from batches captured from a report run.

    PYTHONPATH=. python bench/bench_peers_fold.py capture DIR report DAY.log --tz UTC -f json
    PYTHONPATH=. python bench/bench_peers_fold.py capture-rows DIR report DAY.log --tz UTC -f json
    PYTHONPATH=. python bench/bench_peers_fold.py replay DIR [--out result.json] [--profile] [--repeat N]

``capture`` runs ``maillens report ...`` and pickles each batch that the report's
:class:`analyzer.report.peers.WindowPeersFold` is given (with its window and bulk mask) into DIR;
``capture-rows`` pickles what each stream batch hands the fold's thread where the native engine
runs (``_fold_rows``: the batch's table of the columns read, the rows kept, the codes the batch's
tests made), the path a report takes; ``replay`` folds them again in this process (either
capture) and prints the process CPU of the adds and of the result (``--out``: the result as
JSON, to compare two checkouts; ``--profile``: cProfile's top; ``--repeat``: the least CPU of N
folds).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from typing import Any


def capture(out: str, args: list[str]) -> None:
    from analyzer.report import peers

    os.makedirs(out, exist_ok=True)
    orig, n = peers.WindowPeersFold.add, [0]

    def add(self, batch, bulk=None):  # type: ignore[no-untyped-def]
        with open(os.path.join(out, f"{n[0]:05d}.pkl"), "wb") as fh:
            pickle.dump((self.window, batch, bulk), fh, protocol=5)
        n[0] += 1
        return orig(self, batch, bulk)

    peers.WindowPeersFold.add = add  # type: ignore[method-assign]
    sys.argv = ["maillens", *args]
    from analyzer.cli import main

    main()


class _Tests:
    """A batch's codes as :class:`analyzer.anomalies.batch_tests.BatchTests` hands them (those it made)."""

    def __init__(self, coded: dict[str, Any]) -> None:
        self.coded = coded

    def cached_codes(self, name: str) -> Any:
        return self.coded.get(name)


def capture_rows(out: str, args: list[str]) -> None:
    from analyzer.report import peers

    os.makedirs(out, exist_ok=True)
    orig, n = peers.WindowPeersFold._fold_rows, [0]

    def fold_rows(self, t, keep, tests):  # type: ignore[no-untyped-def]
        with open(os.path.join(out, f"{n[0]:05d}.pkl"), "wb") as fh:
            pickle.dump((self.window, t, keep, dict(tests._codes) if tests is not None else None), fh, protocol=5)
        n[0] += 1
        return orig(self, t, keep, tests)

    peers.WindowPeersFold._fold_rows = fold_rows  # type: ignore[method-assign]
    sys.argv = ["maillens", *args]
    from analyzer.cli import main

    main()


def _add(fold: Any, item: tuple[Any, ...]) -> None:
    """One captured batch to ``fold``: as ``add`` (capture) or ``_fold_rows`` (capture-rows)."""
    if len(item) == 3:
        fold.add(item[1], bulk=item[2])
    else:
        fold._fold_rows(item[1], item[2], _Tests(item[3]) if item[3] is not None else None)


def replay(src: str, out: str | None, profile: bool, repeat: int = 1) -> None:
    from analyzer.report.peers import WindowPeersFold

    batches = []
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as fh:
            batches.append(pickle.load(fh))
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    best: tuple[float, float] | None = None
    for _ in range(repeat):  # the least CPU of ``repeat`` folds (a loaded machine inflates the others)
        t0 = time.process_time()
        fold = WindowPeersFold(batches[0][0])
        for item in batches:
            _add(fold, item)
        for job in list(getattr(fold, "_jobs", ())):
            job.result()
        t1 = time.process_time()
        res = dict(fold.result())  # (made on the fold's thread: waited for here)
        t2 = time.process_time()
        if best is None or t2 - t0 < sum(best):
            best = (t1 - t0, t2 - t1)
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    rows = sum(len(item[1]) for item in batches)
    print(f"batches {len(batches)} rows {rows} ADD {best[0]:.2f} RESULT {best[1]:.2f} TOTAL {sum(best):.2f} CPU-s"
          f" (least of {repeat})")
    if out:
        with open(out, "w") as fh:
            json.dump(res, fh, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    cmd, where, *rest = sys.argv[1:]
    if cmd in ("capture", "capture-rows"):
        (capture if cmd == "capture" else capture_rows)(where, rest)
    else:
        replay(where, rest[rest.index("--out") + 1] if "--out" in rest else None, "--profile" in rest,
               int(rest[rest.index("--repeat") + 1]) if "--repeat" in rest else 1)
