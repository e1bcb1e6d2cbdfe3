#!/usr/bin/env python3
"""Wall, CPU and peak PSS (summed over the process tree) of ``maillens weekly -f json`` over
7-day stores, this checkout beside another (``--before DIR``), and whether their reports agree.

    python bench/bench_weekly.py /tmp/wk-week-postfix-1000000 [STORE ...] [--before /tmp/base]

A store is what ``bench/week_shift.py`` writes (ISO week 2026-W48). Each store is run with this
checkout and, with ``--before``, with the other one, in the same run; the JSON reports are then
compared apart from ``generated_at`` (which ``--now`` fixes anyway).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import maillens, measure  # noqa: E402


def run(store: Path, out: Path, root: Path, timeout: float) -> tuple[float, float, float]:
    cmd = maillens("weekly", "--store", str(store), "--week", "2026-W48", "-f", "json", "--now",
                   "2026-12-01T06:00:00Z", "-o", str(out))
    wall, cpu, pss, code, tail, _ = measure(cmd, timeout, root=root)
    if code != 0:
        raise SystemExit(f"weekly over {store} ({root}) failed: {tail}")
    return wall, cpu, pss


def _report(path: Path) -> dict:
    r = json.loads(path.read_text())
    r.pop("generated_at", None)
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--before", type=Path, help="another checkout to measure beside this one")
    ap.add_argument("--timeout", type=float, default=3600)
    a = ap.parse_args(argv)
    print("| store | checkout | wall s | CPU s | peak MiB (PSS) | report |")
    print("|---|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for store in a.stores:
            roots = [("after", ROOT)] + ([("before", a.before)] if a.before is not None else [])
            outs = {}
            for name, root in roots:
                outs[name] = Path(tmp) / f"{store.name}-{name}.json"
                wall, cpu, pss = run(store, outs[name], root, a.timeout)
                same = ""
                if name == "before":
                    same = "same" if _report(outs["before"]) == _report(outs["after"]) else "DIFFERS"
                print(f"| {store.name} | {name} | {wall:.1f} | {cpu:.1f} | {pss:.0f} | {same} |", flush=True)
            if a.before is not None and _report(outs["before"]) != _report(outs["after"]):
                keep = Path(tempfile.gettempdir()) / f"wk-diff-{store.name}"
                keep.mkdir(exist_ok=True)
                for name in outs:
                    (keep / f"{name}.json").write_text(outs[name].read_text())
                print(f"  (reports kept in {keep})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
