#!/usr/bin/env python3
"""The peers' fold of the report alone, replayed from batches captured from a report run.

    PYTHONPATH=. python bench/bench_peers_fold.py capture DIR report DAY.log --tz UTC -f json
    PYTHONPATH=. python bench/bench_peers_fold.py replay DIR [--out result.json] [--profile] [--repeat N]

``capture`` runs ``maillens report ...`` and pickles each batch that the report's
:class:`analyzer.report.peers.WindowPeersFold` is given (with its window and bulk mask) into DIR;
``replay`` folds them again in this process and prints the CPU seconds of the adds and of the
result (``--out``: the result as JSON, to compare two checkouts; ``--profile``: cProfile's top;
``--repeat``: the least CPU of N folds).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time


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
        for _, batch, bulk in batches:
            fold.add(batch, bulk=bulk)
        t1 = time.process_time()
        res = dict(fold.result())  # (made on the fold's thread: waited for here)
        t2 = time.process_time()
        if best is None or t2 - t0 < sum(best):
            best = (t1 - t0, t2 - t1)
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    rows = sum(len(b) for _, b, _ in batches)
    print(f"batches {len(batches)} rows {rows} ADD {best[0]:.2f} RESULT {best[1]:.2f} TOTAL {sum(best):.2f} CPU-s"
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
