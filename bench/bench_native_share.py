#!/usr/bin/env python3
"""Which Postfix line kinds the native fast path leaves to the Python engine, by share of lines.

    PYTHONPATH=$PWD python bench/bench_native_share.py /work/benchdata/postfix-1000000-d0-s1.log [more files or dirs]

Per file: the lines the Rust readers take whole (native/src/postfix.rs), and of the others (the
lines with a syslog header that ``finish_batch`` parses in Python) the pattern of
``analyzer/parsers/postfix.py`` that takes them (by daemon), "unmatched" or "not postfix"; the
share of all lines each. Plain and .gz files; a directory stands for the files under it.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analyzer import native  # noqa: E402
from analyzer.parsers import postfix  # noqa: E402

BATCH = 100_000


def _files(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for a in args:
        p = Path(a)
        out.extend(sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p])
    return out


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        batch = []
        for line in fh:
            batch.append(line.rstrip("\n"))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def count(path: Path, tally: Counter) -> int:
    fp = native.fast_postfix()
    pats = postfix.PATTERNS
    m = native.matcher([p.regex for p in pats], [p.daemons for p in pats])
    prog_rx = re.compile(postfix.POSTFIX_PROGRAM)
    total = 0
    for batch in _lines(path):
        total += len(batch)
        arr = pa.array(batch, pa.string())
        offsets, data = native.string_buffers(arr)
        kind, _, _, _, _, _, (h_rows, h_cols), _ = fp.run(offsets, data, 1)
        kinds = np.frombuffer(kind, np.uint8)
        tally["native"] += int((kinds == 2).sum())
        tally["no header"] += int((kinds == 0).sum())
        cols = native.rows_columns(len(h_rows) // 8, h_cols)
        progs = cols["program"].to_pylist()
        msgs = cols["detail"]
        ok = np.array([p is not None and prog_rx.match(p) is not None for p in progs], bool)
        tally["not postfix"] += int((~ok).sum())
        idx = np.flatnonzero(ok)
        if not len(idx):
            continue
        sub = msgs.take(pa.array(idx))
        daemons = pa.array([progs[i].rsplit("/", 1)[-1] for i in idx], pa.string())
        rows, pat, _ = m.run(sub, daemons)
        rows = rows.to_numpy()
        pat = pat.to_numpy()
        hit = np.zeros(len(idx), bool)
        hit[rows] = True
        for r, p in zip(rows, pat, strict=True):
            tally[f"{pats[p].name} [{daemons[r].as_py()}]"] += 1
        tally["unmatched"] += int((~hit).sum())
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--each", action="store_true", help="a table per file (default: all files together)")
    a = ap.parse_args()
    files = _files(a.paths)
    groups = [[f] for f in files] if a.each else [files]
    for fs in groups:
        tally: Counter = Counter()
        total = sum(count(f, tally) for f in fs)
        name = str(fs[0]) if len(fs) == 1 else f"{len(fs)} files"
        print(f"== {name}: {total} lines, native {tally['native'] / max(total, 1):.2%}")
        for k, v in tally.most_common(a.top):
            if k != "native":
                print(f"  {v:9d} {v / max(total, 1):7.3%}  {k}")


if __name__ == "__main__":
    main()
