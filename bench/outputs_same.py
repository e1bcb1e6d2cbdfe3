#!/usr/bin/env python3
"""Are a checkout's outputs the same as another's? The twelve files of both generated 1M days.

    python bench/outputs_same.py make CHECKOUT OUT [--data DIR]   # write the 12 files of CHECKOUT into OUT
    python bench/outputs_same.py compare BASE_OUT NEW_OUT          # same / DIFFERENT per file; exit 1 if any differ

For each MTA (Postfix, Exim): ``parse -f json`` (the summary), ``parse -o`` Parquet, CSV and JSON lines (the event
table) and ``report -f json`` and ``-f markdown`` at a fixed ``--now``, all with ``--tz UTC --year 2026``. The days are
``{mta}-1000000-d0-s1.log`` in ``--data`` (what ``bench_pipeline.py`` generates into its cache). Parquet files are
compared as tables (equal schema and rows), the rest byte for byte. The CSV and JSON-lines files take ~2 GB a
checkout: delete OUT once compared. What a change that must not alter any output is checked with before it lands.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
from pathlib import Path

MTAS = ("postfix", "exim")
COMMON = ("--tz", "UTC", "--year", "2026")
NOW = ("--now", "2026-11-24T06:00:00Z")


def names(mta: str) -> list[str]:
    """The six output files of one MTA's day."""
    return [f"{mta}-parse.json", f"{mta}.parquet", f"{mta}.csv", f"{mta}.jsonl",
            f"{mta}-report.json", f"{mta}-report.md"]


def _run(checkout: Path, args: list[str], stdout: Path | None, err: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    with open(err, "wb") as e:
        if stdout is None:
            return subprocess.run([sys.executable, "-m", "analyzer", *args], cwd=checkout, env=env,
                                  stdout=subprocess.DEVNULL, stderr=e).returncode
        with open(stdout, "wb") as o:
            return subprocess.run([sys.executable, "-m", "analyzer", *args], cwd=checkout, env=env,
                                  stdout=o, stderr=e).returncode


def make(checkout: Path, out: Path, data: Path) -> int:
    """Write the twelve files; the number of commands that failed."""
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for mta in MTAS:
        day = str(data / f"{mta}-1000000-d0-s1.log")
        runs: list[tuple[list[str], Path | None, str]] = [
            (["parse", day, *COMMON, "-f", "json"], out / f"{mta}-parse.json", "parse")]
        for ext in ("parquet", "csv", "jsonl"):
            (out / f"{mta}.{ext}").unlink(missing_ok=True)
            runs.append((["parse", day, *COMMON, "-o", str(out / f"{mta}.{ext}"), "-q"], None, ext))
        runs.append((["report", day, *COMMON, *NOW, "-f", "json"], out / f"{mta}-report.json", "report"))
        runs.append((["report", day, *COMMON, *NOW, "-f", "markdown"], out / f"{mta}-report.md", "reportmd"))
        for args, stdout, tag in runs:
            code = _run(checkout, args, stdout, out / f"{mta}-{tag}.err")
            if code not in (0, 1):  # 1: a report's finding reached --fail-on, an answer too
                print(f"{mta} {tag}: exit {code} (see {out / f'{mta}-{tag}.err'})", file=sys.stderr)
                failed += 1
    return failed


def same(a: Path, b: Path) -> bool:
    """Parquet as tables, anything else byte for byte."""
    if a.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(a).equals(pq.read_table(b))
    return filecmp.cmp(a, b, shallow=False)


def compare(base: Path, new: Path) -> int:
    """Print a line per file and the count; the number that are missing or differ."""
    bad = 0
    for mta in MTAS:
        for name in names(mta):
            a, b = base / name, new / name
            verdict = "MISSING" if not (a.exists() and b.exists()) else "same" if same(a, b) else "DIFFERENT"
            bad += verdict != "same"
            print(f"{name}: {verdict}")
    total = len(MTAS) * len(names(MTAS[0]))
    print(f"{total - bad}/{total} same")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    mk = sub.add_parser("make", help="write a checkout's twelve outputs")
    mk.add_argument("checkout", type=Path)
    mk.add_argument("out", type=Path)
    mk.add_argument("--data", type=Path, default=Path(os.environ.get("MAILLENS_BENCH_DATA", "/work/benchdata")))
    cp = sub.add_parser("compare", help="compare two output folders")
    cp.add_argument("base", type=Path)
    cp.add_argument("new", type=Path)
    a = ap.parse_args(argv)
    if a.what == "make":
        return 1 if make(a.checkout.resolve(), a.out, a.data) else 0
    return 1 if compare(a.base, a.new) else 0


if __name__ == "__main__":
    sys.exit(main())
