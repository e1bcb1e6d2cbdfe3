#!/usr/bin/env python3
"""The Parquet writer of `parse -o x.parquet` alone: each column's chunks, and what other settings would cost.

    PYTHONPATH=. python bench/bench_parquet_columns.py capture DIR -- parse DAY -o /tmp/x.parquet -q
    PYTHONPATH=. python bench/bench_parquet_columns.py replay DIR [--repeat 3] [--variants]

``capture`` runs ``maillens ARGS`` in this process with :class:`analyzer.sink_parquet.GroupFiles`
wrapped: each row group's table is saved to DIR as Arrow IPC (``gNN.arrow``), with the writer's
schema, options and metadata (``writer.pkl``); the run's output is written as usual.

``replay`` encodes those row groups again on one thread, in the checkout on ``PYTHONPATH``:
per column the thread CPU of :func:`analyzer.parquet_dict.chunk` over the day's row groups (the
least of ``--repeat`` passes) and the bytes of its chunks; then the whole ``GroupFiles`` (every
column, the page headers, the footers, the join) with the file's size. ``--variants`` adds what
a few of the writer's settings would cost on the same row groups (the text columns' zstd level,
no compression, bigger pages, no statistics), by the same clock.

The encoders run beside the parse in a real run; their CPU is the same there (two threads, each a
row group), so the replay is the writer's part of the run's CPU, without the load's noise of a
whole run. Compare checkouts on the same captured DIR, alternating.
"""

from __future__ import annotations

import argparse
import glob
import pickle
import sys
import time
from typing import Any


def capture(out: str, args: list[str]) -> None:
    import pyarrow as pa

    from analyzer import sink_parquet

    init, add = sink_parquet.GroupFiles.__init__, sink_parquet.GroupFiles.add
    count = [0]

    def wrapped_init(self: Any, sink: Any, schema: Any, options: Any, metadata: Any = None, threads: int = 2) -> None:
        init(self, sink, schema, options, metadata, threads)
        with open(f"{out}/writer.pkl", "wb") as fh:
            pickle.dump((schema, options, metadata), fh)

    def wrapped_add(self: Any, table: Any, done: Any = None, last: bool = False) -> None:
        with pa.OSFile(f"{out}/g{count[0]:02d}.arrow", "wb") as f, pa.ipc.new_file(f, table.schema) as w:
            w.write_table(table)
        count[0] += 1
        add(self, table, done, last)

    sink_parquet.GroupFiles.__init__ = wrapped_init  # type: ignore[method-assign]
    sink_parquet.GroupFiles.add = wrapped_add  # type: ignore[method-assign]
    from analyzer.cli import main

    sys.argv = ["maillens", *args]
    try:
        main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    print(f"{count[0]} row groups saved in {out}")


def _load(d: str) -> tuple[Any, list, Any]:
    import pyarrow as pa

    from analyzer import sink_parquet

    schema, options, metadata = pickle.load(open(f"{d}/writer.pkl", "rb"))  # noqa: SIM115 (our own capture)
    tables = [pa.ipc.open_file(pa.memory_map(p)).read_all() for p in sorted(glob.glob(f"{d}/g*.arrow"))]
    return sink_parquet.GroupFiles(pa.BufferOutputStream(), schema, options, metadata, threads=1), tables, (schema, options, metadata)


def _cost(writer: Any, tables: list, cols: list[str], change: dict, repeat: int) -> tuple[float, int]:
    from analyzer import parquet_dict

    best, size = float("inf"), 0
    for _ in range(repeat):
        t0, size = time.thread_time(), 0
        for t in tables:
            for c in cols:
                got = parquet_dict.chunk(c, t.column(c), writer._native[c]._replace(**change), writer._mod)
                size += got.length if got is not None else 0
        best = min(best, time.thread_time() - t0)
    return best, size


def replay(d: str, repeat: int, variants: bool) -> None:
    import pyarrow as pa

    from analyzer import sink_parquet

    writer, tables, (schema, options, metadata) = _load(d)
    if not writer._native:
        print("no native columns (MAILLENS_ENGINE=python, or no native core): Arrow writes every column")
    per: dict[str, tuple[float, int]] = {name: _cost(writer, tables, [name], {}, repeat) for name in writer._native}
    for name, (cpu, size) in sorted(per.items(), key=lambda kv: -kv[1][0]):
        print(f"{name:16s} {cpu * 1000:7.2f} ms {size / 1e6:7.3f} MB  {writer._native[name]}")
    whole, nbytes = float("inf"), 0
    for _ in range(repeat):
        t0 = time.thread_time()
        out = pa.BufferOutputStream()
        g = sink_parquet.GroupFiles(out, schema, options, metadata, threads=1)
        for t in tables:
            g.add(t)
        g.close()
        whole, nbytes = min(whole, time.thread_time() - t0), len(out.getvalue())
    print(f"columns {sum(c for c, _ in per.values()) * 1000:.1f} ms; the whole writer on one thread {whole * 1000:.1f} ms; "
          f"file {nbytes} bytes; {len(tables)} row groups; Arrow's columns: {[n for n in schema.names if n not in writer._native]}")
    if not variants:
        return
    ways = writer._native
    plain = [n for n, w in ways.items() if not w.dictionary and w.level is not None and not w.kind]
    coded = [n for n, w in ways.items() if w.dictionary and w.level is not None and not w.kind]
    stats = [n for n, w in ways.items() if w.kind and w.stats]
    rows: list[tuple[str, list[str], dict]] = [("plain zstd text, as now", plain, {})]
    rows += [(f"  zstd level {lv}", plain, {"level": lv}) for lv in (-1, -3, -7)]
    rows += [("  uncompressed", plain, {"level": None}),
             ("  pages of 100k rows / 8 MiB", plain, {"page_rows": 100_000, "page_bytes": 8 << 20}),
             ("dictionary zstd text, as now", coded, {}), ("  uncompressed", coded, {"level": None}),
             ("numbers with min/max, as now", stats, {}), ("  no statistics", stats, {"stats": False})]
    for label, cols, change in rows:
        if cols:
            cpu, size = _cost(writer, tables, cols, change, repeat)
            print(f"{label:30s} {cpu * 1000:7.1f} ms {size / 1e6:7.2f} MB  ({len(cols)} columns)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("capture", "replay"))
    ap.add_argument("dir")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--variants", action="store_true")
    ap.add_argument("args", nargs="*", help="(capture) -- and maillens' arguments")
    a = ap.parse_args()
    if a.what == "capture":
        import os

        os.makedirs(a.dir, exist_ok=True)
        capture(a.dir, a.args)
    else:
        replay(a.dir, a.repeat, a.variants)


if __name__ == "__main__":
    main()
