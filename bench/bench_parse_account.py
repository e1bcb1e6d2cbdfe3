#!/usr/bin/env python3
"""Where `maillens parse FILE` (the summary) spends its CPU, by part, beside another checkout.

    python bench/bench_parse_account.py --pairs 3 /work/wt-x /tmp/base35 -- parse DAY -f json

Runs ``maillens ARGS`` in a child process of each checkout (``PYTHONPATH`` set to it), the
checkouts alternating, ``--pairs`` times, and prints each run's figures and the medians per
checkout. The child wraps a few functions of the summary's path and counts, in CPU seconds
(``time.thread_time`` of the thread that runs them, ``getrusage`` for the process):

* ``proc``: the whole process (every thread);
* ``main``: the main thread; ``start``: its CPU before the summary's fold starts (imports, the
  options, the rules loaded, the early fold started); ``calls``: the fold's classification calls
  (``FastSummaryFold._classified``, how many and their CPU), of which ``table`` is
  ``classify_table`` (new keys: ``walk`` the rules' native walk, ``near`` the known replies'
  nearest neighbours);
* ``blocks``: the stream's producer on its threads (``fold_batch``), of which ``native`` is the
  Rust fold called there (``fold_postfix``/``fold_exim``; the blocks folded ahead by
  ``analyzer.early_fold`` are counted on their own thread: ``early`` is that thread's CPU).

The modules with pyarrow are wrapped as they are imported (an import hook), not before the run:
imported first, they would leave the main thread nothing to import while the early fold runs,
and it would fold one block, not six.

Figures are per thread, so they hold under load better than the wall, though CPU seconds still grow
with it (caches shared with other processes): compare checkouts in the same run only, and
byte-compile both first. Nothing of the command's output is kept (stdout to /dev/null).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

#: the child's harness (run with ``python -c``; the command's arguments follow)
CHILD = r'''
import importlib, importlib.abc, json, os, resource, sys, threading, time
sys.argv = ["maillens"] + sys.argv[1:]
native = importlib.import_module("analyzer.native")  # (light: the start imports them anyway)
early_fold = importlib.import_module("analyzer.early_fold")
REC = {"calls": 0, "call_cpu": 0.0, "table": 0.0, "walk": 0.0, "near": 0.0, "blocks": 0.0, "native": 0.0}
LOCK = threading.Lock()

def add(key, dt):
    with LOCK:
        REC[key] += dt

def timed(owner, name, key, count=None):
    orig = getattr(owner, name)
    def wrapper(*a, **k):
        t = time.thread_time()
        try:
            return orig(*a, **k)
        finally:
            add(key, time.thread_time() - t)
            if count:
                add(count, 1)
    setattr(owner, name, wrapper)
    return orig

# the Rust folds where the block threads call them (one wrapper per fold: early_fold.taken
# holds a block folded ahead for the very fold object the stream's job asks with)
WRAPS = {}
def wrap_fold(owner, name):
    orig = getattr(owner, name)
    def get():
        f = orig()
        if f is None:
            return None
        if id(f) not in WRAPS:
            def g(*a, **k):
                if threading.current_thread().name == "maillens-early":
                    return f(*a, **k)
                t = time.thread_time()
                try:
                    return f(*a, **k)
                finally:
                    add("native", time.thread_time() - t)
            WRAPS[id(f)] = (f, g)
        return WRAPS[id(f)][1]
    setattr(owner, name, get)
wrap_fold(native, "fold_postfix")
# (the Exim fold ahead is the extension's own function, not the wrapper the stream asks with)
orig_taken = early_fold.taken
def taken(fold, *a):
    got = orig_taken(fold, *a)
    if got is None and id(fold) in {id(g) for _, g in WRAPS.values()}:
        got = orig_taken(next(f for f, g in WRAPS.values() if g is fold), *a)
    return got
early_fold.taken = taken
EARLY = {}
orig_ahead = early_fold._fold_ahead
def ahead(*a, **k):
    try:
        return orig_ahead(*a, **k)
    finally:
        EARLY["cpu"] = time.thread_time()
early_fold._fold_ahead = ahead

def patch_fast_summary(fs):
    orig_fold = fs.FastSummaryFold.fold
    def fold(self, stream):
        REC["start"] = time.thread_time()
        return orig_fold(self, stream)
    fs.FastSummaryFold.fold = fold
    timed(fs.FastSummaryFold, "_classified", "call_cpu", "calls")
    timed(fs, "fold_batch", "blocks")

# the heavy modules patched as they are imported (importing them here would move their imports
# before the early fold starts, and the fold ahead would find the main thread at the fold)
PATCH = {"analyzer.fast_summary": patch_fast_summary,
         "analyzer.fast_summary_exim": lambda m: wrap_fold(m, "fold_exim"),
         "analyzer.classify": lambda m: timed(m, "classify_table", "table"),
         "analyzer.rulematch": lambda m: timed(m, "_native_walk", "walk"),
         "analyzer.similar": lambda m: timed(m, "kept_nearest", "near")}

class Patcher(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in PATCH:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            PATCH[name](module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Patcher())
from analyzer import cli
out = sys.stdout
sys.stdout = open(os.devnull, "w")
try:
    cli.main()
except SystemExit as exc:
    REC["rc"] = exc.code
ru = resource.getrusage(resource.RUSAGE_SELF)
REC.update(main=time.thread_time(), proc=ru.ru_utime + ru.ru_stime, early=EARLY.get("cpu", 0.0))
print(json.dumps(REC), file=out)
'''

#: the figures printed, in this order
FIELDS = ("proc", "main", "start", "calls", "call_cpu", "table", "walk", "near", "blocks", "native", "early")


def run(checkout: str, args: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": checkout}
    got = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, cwd=checkout, capture_output=True,
                         text=True, check=False)
    lines = [x for x in got.stdout.splitlines() if x.startswith("{")]
    if got.returncode or not lines:
        raise SystemExit(f"{checkout}: rc {got.returncode}\n{got.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("checkouts", nargs="+", help="checkouts to run, alternating; then -- and maillens' arguments")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    ns, args = ap.parse_args(argv[:cut]), argv[cut + 1:]
    for c in ns.checkouts:  # byte-compiled as an install is (not counted)
        subprocess.run([sys.executable, "-m", "compileall", "-q", "analyzer"], cwd=c, check=False)
    seen: dict[str, list[dict[str, float]]] = {c: [] for c in ns.checkouts}
    print(f"{'checkout':<24}" + "".join(f"{f:>9}" for f in FIELDS), flush=True)
    for i in range(ns.pairs):
        order = ns.checkouts if i % 2 == 0 else ns.checkouts[::-1]
        for c in order:
            rec = run(c, args)
            seen[c].append(rec)
            print(f"{c[-24:]:<24}" + "".join(f"{rec.get(f, 0):9.3f}" for f in FIELDS), flush=True)
    print("medians (load: " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + ")")
    for c, recs in seen.items():
        print(f"{c[-24:]:<24}" + "".join(f"{statistics.median(r.get(f, 0) for r in recs):9.3f}" for f in FIELDS))


if __name__ == "__main__":
    main()
