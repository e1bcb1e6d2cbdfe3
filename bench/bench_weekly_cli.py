#!/usr/bin/env python3
"""Where the real ``maillens weekly`` process peaks: its RSS/PSS sampled over time with stage marks.

    python bench/bench_weekly_cli.py STORE [--checkout DIR ...] [--pairs 2] [--week 2026-W48] [-f json]

Each run is a child ``python -m analyzer weekly --store STORE ...`` of a checkout (``--checkout``,
default this one; several alternate, first to last, ``--pairs`` times), started through this
file with ``MAILLENS_CLI_PROBE`` set: before the command runs, the child starts a sampler thread
(RSS from ``/proc/self/status`` every ``--every`` ms, its children's too; the tree's PSS from
``smaps_rollup`` where the RSS is at a high) and wraps the
weekly's steps (imports, settings, ``deferred_qids``, ``week_events``, each detector, the facts,
the renders, the write) so that every sample carries the step it was taken in. At each new high
the main thread's innermost analyzer frames are kept. Written to stderr when the command ends:
the high per step (RSS, PSS, anonymous) and the stack at the run's high. The product is not
changed: the marks are wrappers this file puts round module attributes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
PY = sys.executable
PROBE_ENV = "MAILLENS_CLI_PROBE"


def _status(pid: str = "self") -> dict[str, int]:
    """VmRSS, RssAnon of one process (KiB; cheap to read); {} when it is gone."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    out[key] = int(rest.split()[0])
    except OSError:
        return {}
    return out


def _pss(pid: str = "self") -> int:
    """Pss of one process (KiB; walks its pages: read at highs only); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _mappings() -> dict[str, list[int]]:
    """Per mapped file (or [heap], [anon], ...): [Rss, Pss] KiB, from /proc/self/smaps."""
    out: dict[str, list[int]] = {}
    name = "?"
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(None, 6)
            if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
                name = head[5].strip() if len(head) > 5 else "[anon]"
                out.setdefault(name, [0, 0])
            elif head[0] == "Rss:":
                out[name][0] += int(head[1])
            elif head[0] == "Pss:":
                out[name][1] += int(head[1])
    return out


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out + [g for c in out for g in _children(c)]


class Probe:
    """The sampler thread and the current step (a stack of names)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.steps: list[str] = ["start"]
        self.high: dict[str, dict[str, int]] = {}
        self.top: dict[str, Any] = {"Pss": 0, "Rss": 0}
        self.main = threading.main_thread().ident
        self.stop = threading.Event()
        self.samples = 0
        self.t0 = time.perf_counter()

    def step(self) -> str:
        return "/".join(self.steps)

    def sample(self) -> None:
        """RSS (this process plus its children) each time; PSS of the tree where RSS is at a step's high."""
        me = _status()
        kids = [_status(str(c)) | {"pid": c} for c in _children(os.getpid())]
        rss = me.get("VmRSS", 0) + sum(k.get("VmRSS", 0) for k in kids)
        row = {"Rss": rss, "Anon": me.get("RssAnon", 0), "kids": len(kids)}
        name = self.step()
        h = self.high.setdefault(name, {"Rss": 0, "Pss": 0, "Anon": 0, "kids": 0, "n": 0})
        h["n"] += 1
        if rss >= h["Rss"] or rss >= self.top.get("Rss", 0):
            row["Pss"] = _pss() + sum(_pss(str(k["pid"])) for k in kids)
            h["Pss"] = max(h["Pss"], row["Pss"])
            if row["Pss"] > self.top["Pss"]:
                frame = sys._current_frames().get(self.main)
                stack = []
                while frame is not None and len(stack) < 10:
                    code = frame.f_code
                    if any(k in code.co_filename for k in ("analyzer", "pandas", "pyarrow", "numpy")):
                        stack.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
                    frame = frame.f_back
                self.top = {**row, "step": name, "t": round(time.perf_counter() - self.t0, 2), "stack": stack}
        for k in ("Rss", "Anon", "kids"):
            h[k] = max(h[k], row[k])
        self.samples += 1

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()

    def mark(self, owner: Any, attr: str, name: str | None = None) -> None:
        """Wrap ``owner.attr`` so that its calls are the step ``name``."""
        fn = getattr(owner, attr)
        label = name or attr

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.steps.append(label)
            self.sample()
            try:
                return fn(*args, **kwargs)
            finally:
                self.sample()
                self.steps.pop()

        wrapped.__name__ = getattr(fn, "__name__", label)
        wrapped.__qualname__ = getattr(fn, "__qualname__", label)
        setattr(owner, attr, wrapped)

    def report(self) -> dict[str, Any]:
        return {"samples": self.samples, "top": self.top, "steps": self.high}


def _install(probe: Probe) -> None:
    """The marks: import the weekly's modules (a step of its own) and wrap their steps."""
    probe.steps = ["imports"]
    from analyzer.anomalies import detect
    from analyzer.cli import _common, store  # noqa: F401
    from analyzer.weekly import build, events, render  # noqa: F401

    probe.steps = ["cli"]
    weekly = sys.modules["analyzer.weekly"]
    probe.mark(weekly, "build_weekly")
    probe.mark(weekly, "render_weekly")
    probe.mark(build, "deferred_qids")
    probe.mark(build, "week_events")
    probe.mark(build, "day_facts")
    probe.mark(build, "_findings", "findings")
    import analyzer.classify

    probe.mark(sys.modules["analyzer.classify"], "default_rules")
    import analyzer.report.headline

    probe.mark(sys.modules["analyzer.report.headline"], "add_headline")
    probe.mark(sys.modules["analyzer.anomalies"], "detect_anomalies")
    detect.DETECTORS = list(detect.DETECTORS)
    for i, fn in enumerate(detect.DETECTORS):
        holder = type("H", (), {})()
        holder.fn = fn
        probe.mark(holder, "fn", fn.__name__)
        detect.DETECTORS[i] = holder.fn
    import analyzer.output  # noqa: F401

    probe.mark(sys.modules["analyzer.output"], "atomic_write_text", "write")
    probe.mark(_common.out, "print", "write")
    probe.mark(_common, "use_system_allocator")
    probe.mark(_common, "setup")


def _inproc(argv: list[str]) -> None:
    """``weekly --store S --week W -f F --now N`` as ``build_weekly`` and ``render_weekly`` called
    here, without the CLI (no typer, no settings): the CLI's own share is the difference."""
    import datetime as dt

    import analyzer.weekly as weekly

    opts = dict(zip(argv[1::2], argv[2::2], strict=False))
    now = dt.datetime.fromisoformat(opts["--now"].replace("Z", "+00:00"))
    rep = weekly.build_weekly(opts["--store"], opts["--week"], now=now)
    sys.stdout.write(weekly.render_weekly(rep, opts["-f"]))


def child(argv: list[str]) -> None:
    """Inside the measured process: the sampler, the marks, then the CLI as ``python -m analyzer``."""
    every = float(os.environ[PROBE_ENV]) / 1000
    probe = Probe(every)
    thread = threading.Thread(target=probe.run, daemon=True)
    thread.start()
    # as analyzer.cli.main, before pyarrow loads (the marks import it)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _install(probe)
    if os.environ.get("MAILLENS_PROBE_DECAY_MS"):  # an experiment: Arrow's jemalloc decay from the fold on
        from analyzer import heap

        heap.ARROW_DECAY_MS = int(os.environ["MAILLENS_PROBE_DECAY_MS"])
    probe.steps = ["cli"]
    sys.argv = ["maillens", *argv]
    code: object = 0
    try:
        if os.environ.get("MAILLENS_PROBE_INPROC"):  # the library's calls alone, as an in-process probe makes them
            _inproc(argv)
        else:
            from analyzer.cli import main

            main()
    except SystemExit as exc:
        code = exc.code
    probe.stop.set()
    thread.join()
    probe.steps = ["end"]
    probe.sample()
    got = probe.report()
    maps = sorted(_mappings().items(), key=lambda kv: -kv[1][0])
    got["mappings"] = [[k, v[0], v[1]] for k, v in maps[:25]]
    print("PROBE " + json.dumps(got), file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(code if isinstance(code, int) else 1)


def run(checkout: Path, args: list[str], every_ms: float, inproc: bool = False) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(checkout), **{PROBE_ENV: str(every_ms)})
    if inproc:
        env["MAILLENS_PROBE_INPROC"] = "1"
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, str(HERE), "--child", *args], cwd=checkout, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    got = next((json.loads(line[6:]) for line in err.splitlines() if line.startswith("PROBE ")), None)
    if got is None:
        raise SystemExit(f"{checkout}: no probe report: {err[-2000:]}")
    got.update(code=os.waitstatus_to_exitcode(status), cpu=round(usage.ru_utime + usage.ru_stime, 1),
               maxrss=round(usage.ru_maxrss / 1024), wall=round(time.perf_counter() - t0, 1))
    return got


def show(name: str, got: dict[str, Any]) -> None:
    top = got["top"]
    print(f"== {name}: rc {got['code']}, wall {got['wall']} s, CPU {got['cpu']} s, max RSS {got['maxrss']} MiB, "
          f"high PSS {top['Pss'] >> 10} MiB (RSS {top['Rss'] >> 10}, anon {top['Anon'] >> 10}) at {top['t']} s in "
          f"{top['step']}; {got['samples']} samples")
    for frame in top.get("stack", []):
        print(f"     {frame}")
    for path, rss, pss in got.get("mappings", [])[:25]:
        print(f"   map {rss >> 10:4d} RSS {pss >> 10:4d} PSS  {path}")
    for step, h in got["steps"].items():
        print(f"   {step:60s} PSS {h['Pss'] >> 10:4d}  RSS {h['Rss'] >> 10:4d}  anon {h['Anon'] >> 10:4d}"
              f"  kids {h['kids']}  n {h['n']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--checkout", type=Path, action="append", help="checkouts to alternate (default: this one)")
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--week", default="2026-W48")
    ap.add_argument("-f", "--format", default="json")
    ap.add_argument("--now", default="2026-12-01T06:00:00Z")
    ap.add_argument("--every", type=float, default=5.0, help="ms between samples")
    ap.add_argument("--json", type=Path, help="append each run here")
    ap.add_argument("--inproc", action="store_true", help="also run build_weekly + render_weekly without the CLI "
                    "(after each CLI run of a checkout)")
    a = ap.parse_args(argv)
    checkouts = a.checkout or [HERE.parents[1]]
    args = ["weekly", "--store", str(a.store), "--week", a.week, "-f", a.format, "--now", a.now]
    for i in range(a.pairs):
        for c in checkouts:
            for inproc in (False, True) if a.inproc else (False,):
                got = run(c, args, a.every, inproc)
                name = f"{c} #{i + 1}" + (" in-process" if inproc else "")
                show(name, got)
                if a.json:
                    with a.json.open("a") as f:
                        f.write(json.dumps({"checkout": str(c), "pair": i + 1, "inproc": inproc, **got}) + "\n")
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
