#!/usr/bin/env python3
"""The native masker alone (``analyzer._native.mask_texts``, the fold's ``Masker``: classify's
MASK and OPAQUE passes, maskhand.rs by hand where it can) over a day's distinct texts, for
checkouts side by side.

    PYTHONPATH=. python bench/bench_mask_texts.py /tmp/base35-out/postfix.parquet . /tmp/base35 --pairs 3

Each checkout runs in its own process (its own extension), in turn, ``--pairs`` times: the
distinct non-null values of ``--column`` (default ``reply_text``) of a ``parse -o`` Parquet file,
masked ``--repeat`` times; printed: the best thread CPU of one pass over them, and the masked
bytes' md5 (the checkouts must agree). The fold masks each new raw group's texts once, and a
Postfix day's reply texts carry per-message ids, so this is the masker's share of the fold
(bench/RESULTS.md, r35-pfold). Thread CPU, not wall: on a loaded machine it is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r"""
import hashlib, sys, time
import numpy as np
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
from analyzer import _native, native
path, column, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
masker = native.masker()
if masker is None:
    sys.exit("no native masker in this checkout")
texts = pc.unique(pq.read_table(path, columns=[column]).column(column).combine_chunks()).drop_null()
texts = texts.cast(pa.large_string()).cast(pa.string())
buffers = texts.buffers()
offsets = np.frombuffer(buffers[1], dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1].tobytes()
data = buffers[2].to_pybytes() if buffers[2] is not None else b""
best = float("inf")
for _ in range(repeat):
    t0 = time.thread_time()
    _, masked = _native.mask_texts(masker, offsets, data)
    best = min(best, time.thread_time() - t0)
print(f"{len(texts)} texts, {len(data)} bytes: best {best:.4f} CPU-s, md5 {hashlib.md5(bytes(masked)).hexdigest()}")
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("parquet", help="a `maillens parse -o X.parquet` output")
    ap.add_argument("checkouts", nargs="+", help="checkouts (each with its built analyzer/_native.abi3.so)")
    ap.add_argument("--column", default="reply_text")
    ap.add_argument("--repeat", type=int, default=5, help="passes a run (the best is printed)")
    ap.add_argument("--pairs", type=int, default=2, help="runs of each checkout, in turn")
    a = ap.parse_args()
    for i in range(a.pairs):
        for c in a.checkouts:
            env = {**os.environ, "PYTHONPATH": os.path.abspath(c)}
            got = subprocess.run([sys.executable, "-c", CHILD, a.parquet, a.column, str(a.repeat)], env=env,
                                 capture_output=True, text=True, check=False)
            print(f"run {i + 1} {c}: {(got.stdout or got.stderr).strip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
