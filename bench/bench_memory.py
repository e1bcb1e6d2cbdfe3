#!/usr/bin/env python3
"""Issue 12's memory matrix: every command × 1M/3M/10M-line day × MTA, peak PSS, wall, CPU, growth.

    python bench/bench_memory.py                                  # the whole matrix (slow: ~1 h)
    python bench/bench_memory.py --sizes 1M,3M --commands search-store,trace --mta postfix
    python bench/bench_memory.py --commands search-store --before /tmp/base   # before/after, same run
    python bench/bench_memory.py --table runs1.json runs2.json     # the table of saved runs only

The days are the generated ones in ``--data`` (``{mta}-{lines}-d0-s1.log``, never written). Each
command runs alone, sequentially, in a child process measured as ``bench/bench_pipeline.py``
measures it (``measure``: wall around the child, CPU from ``os.wait4``, peak of the summed PSS of
the child and its descendants sampled every 50 ms). Commands: ``parse``, ``parse -o`` Parquet /
CSV / JSON lines, ``report -f json``, ``ingest`` (into a fresh store), ``search --code 5xx`` on the
file, ``search --store --code 5xx`` on a store holding the day, ``trace`` of a queue id logged half
way through, and ``weekly`` over a 7-day store of that day size.

Stores: the day store for ``search-store`` is ``--stores``/day-{mta}-{lines} (default
/tmp/mem-stores; the first measured ``ingest`` of this checkout becomes it when it is missing).
The week store is ``--week-stores``/week-{mta}-{lines} when complete there (read only; default
/tmp/wk-stores, what bench/week_shift.py writes), else ``--stores``/week-{mta}-{lines}, built with
bench/week_shift.py from the day store.

Every run is appended to ``--json`` as it ends (a long run that stops keeps what it measured).
The table: per (MTA, command) the peak PSS at each size, wall / CPU at each size, the growth of the
peak from the smallest size to the largest and PASS/FAIL against issue 12 (≤ 400 MiB at every size,
growth ≤ +15%; a run that failed: FAIL; a size not run and nothing over: incomplete). ``--before DIR`` runs each command of another
checkout just before this one's, as ``COMMAND (before)``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.bench_pipeline import PY, byte_compile, label, maillens, measure, middle_queue_id, size  # noqa: E402

COMMANDS = ("parse", "parse-parquet", "parse-csv", "parse-jsonl", "report", "ingest", "search", "search-store",
            "trace", "weekly")
CAP_MIB, GROWTH = 400.0, 0.15
COMMON = ["--tz", "UTC", "--year", "2026"]


def command(name: str, log: Path, work: Path, store: Path | None, week: Path | None, qid: str) -> list[str] | None:
    """The command line of ``name`` on the day ``log`` (None: its store is missing)."""
    table = {
        "parse": lambda: maillens("parse", str(log), *COMMON),
        "parse-parquet": lambda: maillens("parse", str(log), "-o", str(work / "e.parquet"), "-q", *COMMON),
        "parse-csv": lambda: maillens("parse", str(log), "-o", str(work / "e.csv"), "-q", *COMMON),
        "parse-jsonl": lambda: maillens("parse", str(log), "-o", str(work / "e.jsonl"), "-q", *COMMON),
        "report": lambda: maillens("report", str(log), "-f", "json", "--now", "2026-11-24T06:00:00Z", *COMMON),
        "ingest": lambda: maillens("ingest", str(log), "--store", str(work / "store"), *COMMON),
        "search": lambda: maillens("search", str(log), "--code", "5xx", *COMMON),
        "search-store": lambda: None if store is None else maillens("search", "--store", str(store), "--code",
                                                                       "5xx"),
        "trace": lambda: maillens("trace", qid, str(log), *COMMON),
        "weekly": lambda: None if week is None else maillens("weekly", "--store", str(week), "--week", "2026-W48",
                                                             "-f", "json", "--now", "2026-12-01T06:00:00Z"),
    }
    return table[name]()


def complete(store: Path) -> bool:
    return (store / ".complete").exists()


def day_store(stores: Path, mta: str, n: int, log: Path, timeout: float) -> Path:
    """The store holding the day ``log`` (ingested, untimed, when missing)."""
    store = stores / f"day-{mta}-{n}"
    if not complete(store):
        shutil.rmtree(store, ignore_errors=True)
        print(f"ingesting {log.name} into {store} ...", file=sys.stderr, flush=True)
        _, _, _, code, tail, _ = measure(maillens("ingest", str(log), "--store", str(store), *COMMON), timeout)
        if code != 0:
            raise SystemExit(f"ingest into {store} failed: {tail}")
        (store / ".complete").write_text("")
    return store


def week_store(stores: Path, shared: Path, mta: str, n: int, log: Path, timeout: float) -> Path:
    """A complete 7-day store of ``n``-line days: the shared one when there, else built here."""
    for where in (shared, stores):
        if complete(where / f"week-{mta}-{n}"):
            return where / f"week-{mta}-{n}"
    week = stores / f"week-{mta}-{n}"
    shutil.rmtree(week, ignore_errors=True)
    day = day_store(stores, mta, n, log, timeout)
    print(f"building {week} from {day} ...", file=sys.stderr, flush=True)
    subprocess.run([PY, str(HERE / "week_shift.py"), str(day), str(week)], check=True, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
    (week / ".complete").write_text("")
    return week


def verdict(peaks: dict[int, float], sizes: list[int]) -> tuple[str, str]:
    """(growth text, PASS/FAIL) of one (MTA, command) row."""
    have = [peaks.get(n) for n in sizes]
    growth = ""
    if len(sizes) > 1 and have[0] and have[-1]:
        growth = f"{have[-1] / have[0] - 1:+.0%}"
    over = [label(n) for n, p in zip(sizes, have, strict=True) if p is not None and p > CAP_MIB]
    grew = len(sizes) > 1 and bool(growth) and have[-1] / have[0] - 1 > GROWTH  # type: ignore[operator]
    why = ([f">400 at {','.join(over)}"] if over else []) + (["growth"] if grew else [])
    if why:
        return growth, "FAIL (" + "; ".join(why) + ")"
    missing = [label(n) for n, p in zip(sizes, have, strict=True) if p is None]
    return growth, f"incomplete (no {','.join(missing)})" if missing else "PASS"


def render(runs: list[dict]) -> str:
    """The Markdown table: one row per (MTA, command)."""
    sizes = sorted({r["lines"] for r in runs})
    head = " | ".join(f"{label(n)} PSS MiB" for n in sizes)
    times = " | ".join(f"{label(n)} wall / CPU s" for n in sizes)
    rows = [f"| MTA | command | {head} | growth {label(sizes[0])}→{label(sizes[-1])} | verdict | {times} |",
            "|---|---|" + "---:|" * len(sizes) + "---:|---|" + "---:|" * len(sizes)]
    for mta, cmd in dict.fromkeys((r["mta"], r["command"]) for r in runs):
        peaks: dict[int, float] = {}
        cells, tcells = [], []
        for n in sizes:
            mine = [r for r in runs if (r["mta"], r["command"], r["lines"]) == (mta, cmd, n)]
            ok = [r for r in mine if r["status"] == "ok"]
            if ok:
                r = ok[-1]  # the latest run of that cell
                peaks[n] = r["pss_mib"]
                cells.append(f"{r['pss_mib']:.0f}")
                tcells.append(f"{r['wall']:.1f} / {r['cpu']:.1f}")
            else:
                cells.append("failed" if mine else "—")
                tcells.append("")
        growth, ok_text = verdict(peaks, sizes)
        if "failed" in cells:
            ok_text = f"FAIL (exit at {','.join(label(n) for n, c in zip(sizes, cells, strict=True) if c == 'failed')})"
        rows.append(f"| {mta} | {cmd} | {' | '.join(cells)} | {growth} | {ok_text} | {' | '.join(tcells)} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,3M,10M")
    ap.add_argument("--mta", default="postfix,exim")
    ap.add_argument("--commands", default=",".join(COMMANDS), help=f"subset of {','.join(COMMANDS)}")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("MAILLENS_BENCH_DATA", "/work/benchdata")),
                    help="where the generated days are (read only)")
    ap.add_argument("--stores", type=Path, default=Path("/tmp/mem-stores"), help="day (and week) stores built here")
    ap.add_argument("--week-stores", type=Path, default=Path("/tmp/wk-stores"),
                    help="complete week-{mta}-{lines} stores read from here when there")
    ap.add_argument("--before", type=Path, help="another checkout, run just before this one on each command")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", type=Path, help="append each run to this JSON-lines file as it ends")
    ap.add_argument("--resume", action="store_true", help="skip the runs --json already holds (ok ones)")
    ap.add_argument("--table", type=Path, nargs="*", help="print the table of these saved runs (JSON lines) only")
    a = ap.parse_args(argv)
    if a.table:
        runs = [json.loads(line) for p in a.table for line in p.read_text().splitlines() if line.strip()]
        print(render(runs))
        return 0
    wanted = a.commands.split(",")
    unknown = set(wanted) - set(COMMANDS)
    if unknown:
        ap.error(f"unknown commands {sorted(unknown)}")
    a.stores.mkdir(parents=True, exist_ok=True)
    byte_compile(ROOT, *([a.before] if a.before else []))
    runs: list[dict] = []
    done = set()
    if a.resume and a.json and a.json.exists():
        old = [json.loads(line) for line in a.json.read_text().splitlines() if line.strip()]
        runs = [r for r in old if r["status"] == "ok"]
        done = {(r["mta"], r["lines"], r["command"]) for r in runs}

    def run(mta: str, n: int, name: str, cmd: list[str], root: Path) -> bool:
        wall, cpu, pss, code, tail, rss = measure(cmd, a.timeout, root=root)
        r = {"mta": mta, "lines": n, "command": name, "wall": wall, "cpu": cpu, "pss_mib": pss, "max_rss_mib": rss,
             "status": "ok" if code == 0 else f"exit {code}: {tail.strip().splitlines()[-1:]}"}
        runs.append(r)
        if a.json:
            with open(a.json, "a") as fh:
                fh.write(json.dumps(r) + "\n")
        print(f"{mta} {label(n)} {name}: " + (f"{wall:.1f}s wall, {cpu:.1f}s CPU, {pss:.0f} MiB PSS"
                                              if code == 0 else r["status"]), file=sys.stderr, flush=True)
        return code == 0

    for mta in a.mta.split(","):
        for n in (size(s) for s in a.sizes.split(",")):
            log = a.data / f"{mta}-{n}-d0-s1.log"
            if not log.exists():
                raise SystemExit(f"{log}: no such generated day")
            qid = middle_queue_id(log) if "trace" in wanted else ""
            for name in wanted:  # the stores when first needed: a measured ingest may become the day store
                store = day_store(a.stores, mta, n, log, a.timeout) if name == "search-store" else None
                week = week_store(a.stores, a.week_stores, mta, n, log, a.timeout) if name == "weekly" else None
                checkouts = ([(f"{name} (before)", a.before.resolve())] if a.before else []) + [(name, ROOT)]
                for shown, root in checkouts:
                    if (mta, n, shown) in done:
                        continue
                    with tempfile.TemporaryDirectory(dir=a.stores, prefix="work-") as work:
                        cmd = command(name, log, Path(work), store, week, qid)
                        if cmd is None:
                            continue
                        ok = run(mta, n, shown, cmd, root)
                        kept = a.stores / f"day-{mta}-{n}"
                        if ok and name == "ingest" and root == ROOT and not complete(kept):
                            shutil.rmtree(kept, ignore_errors=True)
                            shutil.move(str(Path(work) / "store"), kept)
                            (kept / ".complete").write_text("")
    print(render(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
