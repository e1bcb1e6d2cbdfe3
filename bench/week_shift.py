#!/usr/bin/env python3
"""A 7-day store from a store of one ingested day: the day's parts copied six more times, their
``ts`` moved by whole days (and ``source`` named apart), streamed a row group at a time.

    python bench/week_shift.py STORE WEEK_STORE            # STORE holds one day (e.g. 2026-11-23)
    python bench/week_shift.py STORE WEEK_STORE --days 7

What ``weekly`` reads at 3M and 10M lines a day without generating and ingesting 21M or 70M
lines (~260 CPU-s per generated 10M day, ~100 more to ingest it): a week of that store is the
same rows ingesting the day's log again with its stamps moved by k days would give (parse and
classification do not read the date; ``event_key``, which only ingest reads, is kept as it is).
Day k's ``source`` is the day's file name with ``#+kd`` appended (k > 0), so its (host, source)
pairs are its own, as seven files' would be. The manifest lists each copy as its own run and
source. Memory: one row group.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DAY_US = 86_400 * 10**6


def shift_table(t: pa.Table, days: int) -> pa.Table:
    """``t`` with ``ts`` moved by ``days`` whole days and ``source`` marked with the shift."""
    if not days:
        return t
    ts = t.column("ts")
    moved = pc.add(ts.cast(pa.int64()), days * DAY_US).cast(ts.type)
    t = t.set_column(t.column_names.index("ts"), "ts", moved)
    src = pc.binary_join_element_wise(t.column("source"), pa.scalar(f"#+{days}d"), "")
    return t.set_column(t.column_names.index("source"), "source", src.cast(t.schema.field("source").type))


def shift_store(src: Path, dst: Path, ndays: int = 7) -> dict:
    """Write ``dst``: ``src``'s parts, each copied ``ndays`` times, day k shifted by k days."""
    m = json.loads((src / "_manifest.json").read_text())
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    parts: dict = {}
    runs: list = []
    sources: dict = {}
    for k in range(ndays):
        run_of: dict[str, str] = {}
        for rel, rec in sorted(m["parts"].items()):
            day = (dt.date.fromisoformat(rec["day"]) + dt.timedelta(days=k)).isoformat()
            run = run_of.setdefault(rec["run"], f"{rec['run'][:-6]}{(int(rec['run'][-6:], 16) + k) % (1 << 24):06x}")
            name = rel.split("/")[-1].replace(rec["run"], run)
            out = dst / f"day={day}" / name
            out.parent.mkdir(exist_ok=True)
            pf = pq.ParquetFile(src / rel)
            with pq.ParquetWriter(out, pf.schema_arrow, compression="zstd") as w:
                for i in range(pf.num_row_groups):
                    w.write_table(shift_table(pf.read_row_group(i), k))
            parts[f"day={day}/{name}"] = {**rec, "day": day, "run": run}
        for r in m["runs"]:
            runs.append({**r, "run": run_of.get(r["run"], r["run"]), "started": r.get("started", "")})
        for sha, s in m["sources"].items():
            sources[f"{sha[:-4]}{k:04d}" if k else sha] = {**s, "name": s["name"] + (f"#+{k}d" if k else ""),
                                                            "run": run_of.get(s["run"], s["run"])}
    out_m = {**m, "parts": parts, "runs": runs, "sources": sources}
    (dst / "_manifest.json").write_text(json.dumps(out_m, indent=1, sort_keys=True))
    return out_m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path, help="a store holding one ingested day")
    ap.add_argument("week", type=Path, help="the store to write (replaced if it exists)")
    ap.add_argument("--days", type=int, default=7)
    a = ap.parse_args(argv)
    m = shift_store(a.store, a.week, a.days)
    days = sorted({p["day"] for p in m["parts"].values()})
    rows = sum(p["rows"] for p in m["parts"].values())
    print(f"{a.week}: {len(m['parts'])} parts, {rows:,} rows, days {days[0]} … {days[-1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
