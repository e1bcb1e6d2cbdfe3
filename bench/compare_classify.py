#!/usr/bin/env python3
"""The event table of two checkouts, row for row: proof that a change left every answer alone.

    python bench/compare_classify.py --before /tmp/base INPUT...     # this checkout against /tmp/base
    python bench/compare_classify.py --before /tmp/base --reuse /work/benchdata/postfix-1000000-d0-s1.log

Each INPUT (a log file or a directory of logs) is parsed by both checkouts, each in a child
process (``python -m analyzer parse INPUT -o OUT.parquet`` with the checkout on ``PYTHONPATH``,
the same ``--tz`` and ``--year``), and the two Parquet files are compared column by column with
pandas (nulls equal to nulls): the classification columns (``analyzer.schema.CLASS_COLUMNS``:
reply_class, outcome, cause, provider, severity, fix_id, action, cause_ref) and every other
column. It prints, per input, the rows, the differing rows per column and a few examples, and
exits 1 if anything differs. ``--reuse`` keeps Parquet files already written in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def parse(checkout: Path, source: str, out: Path, reuse: bool) -> float:
    """Write ``source``'s event table with ``checkout``'s code to ``out``; seconds taken."""
    if reuse and out.exists():
        return 0.0
    env = dict(os.environ, PYTHONPATH=str(checkout))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analyzer", "parse", source, "-o", str(out), "-q", "--tz", "UTC",
                    "--year", "2026"], env=env, cwd=checkout, check=True)
    return time.perf_counter() - t


def compare(before: Path, after: Path, examples: int = 3) -> dict[str, int]:
    """Differing rows per column (all columns of either table; a missing column differs wholly)."""
    a, b = pd.read_parquet(before), pd.read_parquet(after)
    if len(a) != len(b):
        return {"<rows>": abs(len(a) - len(b))}
    diff: dict[str, int] = {}
    for name in sorted(set(a.columns) | set(b.columns)):
        if name not in a.columns or name not in b.columns:
            diff[name] = len(a)
            continue
        x, y = a[name].astype(object), b[name].astype(object)
        same = (x == y).fillna(False).to_numpy(dtype=bool) | (x.isna() & y.isna()).to_numpy()
        bad = int((~same).sum())
        if bad:
            diff[name] = bad
            for i in (~same).nonzero()[0][:examples]:
                text = a["reply_text"].iloc[i] if "reply_text" in a.columns else None
                print(f"    {name} row {i}: {x.iloc[i]!r} -> {y.iloc[i]!r}  (reply {text!r})")
    return diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="log files or directories")
    ap.add_argument("--before", required=True, type=Path, help="the other checkout (e.g. a git worktree)")
    ap.add_argument("--after", default=ROOT, type=Path, help="this checkout (default: the one holding this script)")
    ap.add_argument("--out", default=Path("/tmp/compare-classify"), type=Path, help="where the Parquet files go")
    ap.add_argument("--reuse", action="store_true", help="keep Parquet files already in --out")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.after))
    from analyzer.schema import CLASS_COLUMNS

    class_names = {c.name for c in CLASS_COLUMNS}
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    for source in args.inputs:
        name = Path(source).name or "input"
        files = {side: args.out / f"{name}.{side}.parquet" for side in ("before", "after")}
        took = {side: parse(co, source, files[side], args.reuse)
                for side, co in (("before", args.before), ("after", args.after))}
        rows = len(pd.read_parquet(files["after"], columns=["event"]))
        print(f"{source}: {rows:,} rows (parsed in {took['before']:.1f} s before, {took['after']:.1f} s after)")
        diff = compare(files["before"], files["after"])
        cls = {k: v for k, v in diff.items() if k in class_names}
        other = {k: v for k, v in diff.items() if k not in class_names}
        print(f"  classification columns ({', '.join(sorted(class_names))}): "
              f"{cls or 'identical'}")
        print(f"  other columns: {other or 'identical'}")
        failed |= bool(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
