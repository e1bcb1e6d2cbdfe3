#!/usr/bin/env python3
"""Throughput and peak memory of ``maillens parse`` (and of pflogsumm / eximstats, if installed).

    python bench/bench_parse.py                      # 1M-line Postfix and Exim logs
    python bench/bench_parse.py --lines 200000 --repeat 3
    python bench/bench_parse.py --write-md bench/RESULTS.md

The logs come from ``bench/generate_logs.py`` (seeded, so every run parses the same bytes)
and are cached under ``bench/out/`` (git-ignored); a cached file is reused only when the
generator source, seed and line count are unchanged.

Each tool runs in its own child process. Wall time is measured around the child. Peak RSS
comes from GNU time (``/usr/bin/time -f %M``) when it is installed, else from the child's own
``ru_maxrss`` as returned by ``os.wait4`` for that child, so every run is measured separately
(``getrusage(RUSAGE_CHILDREN)`` only ever reports the largest child so far). Linux charges a
child with its parent's resident size up to ``exec``, so the logs are generated in a separate
process and this script stays small. With ``--repeat K`` the best (lowest) time of K runs is
shown, with the peak RSS of that run.

The tools:

* ``maillens``: ``python -m analyzer parse FILE -o OUT.parquet --no-classify`` (the parse alone) and
  without ``--no-classify`` (parse + classification), so the classification's share shows (this checkout);
* ``pflogsumm``: ``pflogsumm FILE`` on the Postfix log (Debian package ``pflogsumm``);
* ``eximstats``: ``eximstats FILE`` on the Exim log (Debian package ``exim4-base``).

The script never installs anything: a missing tool is reported as "not installed". A tool
that fails (e.g. ``maillens`` before the parser exists) is reported with its exit status
and the end of its stderr, and the other tools are still measured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = HERE / "out"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GNU_TIME = "/usr/bin/time"


@dataclass
class Result:
    tool: str
    file: str
    lines: int
    seconds: float | None = None
    peak_rss_mib: float | None = None
    status: str = "ok"
    error: str = ""

    @property
    def rate(self) -> float | None:
        if self.seconds is None or self.seconds <= 0:
            return None
        return self.lines / self.seconds


# --------------------------------------------------------------------------------------
# input files


def _generator_digest() -> str:
    """A digest of the generator's code (entry point and bench/gen/), to know when a cache is stale."""
    h = hashlib.sha1()
    for f in [HERE / "generate_logs.py", *sorted((HERE / "gen").glob("*.py"))]:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def ensure_log(mta: str, lines: int, seed: int, regen: bool = False, quiet: bool = False) -> Path:
    """Return the cached log for (mta, lines, seed), generating it when missing or stale."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{mta}-{lines}-s{seed}.log"
    stamp = path.with_suffix(".json")
    want = {"mta": mta, "lines": lines, "seed": seed, "generator": _generator_digest()}
    if not regen and path.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == want:
                return path
        except ValueError:
            pass
    if not quiet:
        print(f"generating {path.relative_to(ROOT)} ({lines:,} lines) ...", file=sys.stderr,
              flush=True)
    t0 = time.perf_counter()
    tmp = path.with_suffix(".log.tmp")
    # in a child process: generating 1M lines takes ~350 MB, which would otherwise be
    # charged to every tool this process starts afterwards
    subprocess.run([sys.executable, str(HERE / "generate_logs.py"), "--mta", mta, "--lines",
                    str(lines), "--seed", str(seed), "-o", str(tmp), "-q"], check=True)
    os.replace(tmp, path)
    stamp.write_text(json.dumps(want) + "\n")
    if not quiet:
        print(f"  done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    return path


# --------------------------------------------------------------------------------------
# measuring one child process


def gnu_time() -> str | None:
    """/usr/bin/time if it is GNU time (supports -f/-o), else None."""
    if not os.access(GNU_TIME, os.X_OK):
        return None
    try:
        r = subprocess.run([GNU_TIME, "-f", "%M", "-o", os.devnull, "true"],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return GNU_TIME if r.returncode == 0 else None


def run_measured(cmd: list[str], cwd: Path, timeout: float,
                 use_time: str | None = None) -> tuple[float, float, int, str]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB of that child, exit code, stderr tail)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as tf:
        if use_time:
            cmd = [use_time, "-f", "%M", "-o", tf.name, *cmd]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        killed = []

        def kill():
            killed.append(True)
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped by wait4 already
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
        # ru_maxrss is in KiB on Linux, bytes on macOS
        rss = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
        if use_time:
            # GNU time writes "Command exited with non-zero status N" before the figure
            figures = [x for x in tf.read().split() if x.isdigit()]
            if figures:
                rss = int(figures[-1]) / 1024
    if killed:
        tail = f"killed after the {timeout:.0f}s timeout\n" + tail
    return wall, rss, code, tail


def bench_tool(tool: str, cmd: list[str], log: Path, lines: int, repeat: int,
               timeout: float, use_time: str | None = None) -> Result:
    res = Result(tool, str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log), lines)
    best = None
    for _ in range(repeat):
        wall, rss, code, tail = run_measured(cmd, ROOT, timeout, use_time)
        if code != 0:
            res.status = f"FAILED (exit {code})"
            res.error = tail.strip()
            return res
        if best is None or wall < best[0]:
            best = (wall, rss)
    res.seconds, res.peak_rss_mib = best
    return res


def classify_share(results: list[Result]) -> list[str]:
    """'classification adds N% to the parse time' per file, from the two maillens runs."""
    out = []
    by = {(r.tool, r.file): r for r in results if r.seconds}
    for (tool, file), r in by.items():
        if tool == "maillens parse" and ("maillens parse+classify", file) in by:
            both = by[("maillens parse+classify", file)]
            out.append(f"classification adds {100 * (both.seconds - r.seconds) / r.seconds:.0f}% "
                       f"to the parse time of {file}")
    return out


def maillens_cmd(log: Path, out: Path, classify: bool = True) -> list[str]:
    """`maillens parse` writing Parquet; with classify=False, the parse alone (--no-classify)."""
    cmd = [sys.executable, "-m", "analyzer", "parse", str(log), "-o", str(out), "--tz", "UTC"]
    return cmd if classify else [*cmd, "--no-classify"]


# --------------------------------------------------------------------------------------
# reporting

HEAD = ("tool", "file", "lines", "seconds", "lines/s", "peak RSS MiB", "status")


def _cells(r: Result) -> tuple[str, ...]:
    return (
        r.tool,
        r.file,
        f"{r.lines:,}" if r.lines else "-",
        f"{r.seconds:.2f}" if r.seconds is not None else "-",
        f"{r.rate:,.0f}" if r.rate is not None else "-",
        f"{r.peak_rss_mib:.0f}" if r.peak_rss_mib is not None else "-",
        r.status,
    )


def text_table(results: list[Result]) -> str:
    rows = [HEAD] + [_cells(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEAD))]
    right = {2, 3, 4, 5}
    out = []
    for n, row in enumerate(rows):
        out.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=False))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def md_table(results: list[Result]) -> str:
    out = ["| " + " | ".join(HEAD) + " |",
           "|" + "|".join(("---:" if i in (2, 3, 4, 5) else "---") for i in range(len(HEAD))) + "|"]
    for r in results:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in _cells(r)) + " |")
    return "\n".join(out)


def _git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "") if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def write_md(path: Path, results: list[Result], args, rss_how: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = []
    if not path.exists() or path.stat().st_size == 0:
        parts.append("# Benchmark results\n\nAppended by `python bench/bench_parse.py "
                     "--write-md bench/RESULTS.md`; see bench/README.md.\n")
    parts.append(f"\n## {now} — commit {_git_rev()}\n")
    parts.append(f"{machine()}; {args.lines:,} lines per log, seed {args.seed}, "
                 f"best of {args.repeat}; peak RSS from {rss_how}.\n")
    parts.append(md_table(results) + "\n")
    failed = [r for r in results if r.error]
    for r in failed:
        last = r.error.strip().splitlines()[-1] if r.error.strip() else ""
        parts.append(f"\n{r.tool} on {r.file}: {r.status}: `{last[:300]}`\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Throughput and peak RSS of maillens parse "
                                            "(and pflogsumm/eximstats when installed).")
    p.add_argument("--lines", type=int, default=1_000_000, help="lines per log (default 1000000)")
    p.add_argument("--repeat", type=int, default=1, help="runs per tool; the best is shown")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--mta", choices=("postfix", "exim", "both"), default="both")
    p.add_argument("--tools", default="maillens,pflogsumm,eximstats",
                   help="comma-separated subset of maillens,pflogsumm,eximstats")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run (default 1800)")
    p.add_argument("--regen", action="store_true", help="regenerate the cached logs")
    p.add_argument("--no-gnu-time", action="store_true",
                   help="measure RSS with os.wait4 even when /usr/bin/time is installed")
    p.add_argument("--write-md", metavar="FILE", help="append the results as Markdown to FILE "
                                                     "(e.g. bench/RESULTS.md)")
    a = p.parse_args(argv)
    if a.lines <= 0 or a.repeat <= 0:
        p.error("--lines and --repeat must be positive")
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    unknown = set(tools) - {"maillens", "pflogsumm", "eximstats"}
    if unknown:
        p.error(f"unknown tools: {', '.join(sorted(unknown))}")
    mtas = ("postfix", "exim") if a.mta == "both" else (a.mta,)
    logs = {m: ensure_log(m, a.lines, a.seed, a.regen) for m in mtas}

    use_time = None if a.no_gnu_time else gnu_time()
    rss_how = "GNU time %M" if use_time else "os.wait4 ru_maxrss"
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="maillens-bench-") as tmp:
        for mta, log in logs.items():
            if "maillens" in tools:
                # the parse alone, then parse + classify: the difference is what classifying costs
                for name, classify in (("maillens parse", False), ("maillens parse+classify", True)):
                    print(f"{name} {log.name} ...", file=sys.stderr, flush=True)
                    out = Path(tmp) / f"{mta}.parquet"
                    results.append(bench_tool(name, maillens_cmd(log, out, classify), log, a.lines,
                                              a.repeat, a.timeout, use_time))
            other = {"postfix": "pflogsumm", "exim": "eximstats"}[mta]
            if other in tools:
                exe = shutil.which(other)
                if exe is None:
                    results.append(Result(other, str(log.relative_to(ROOT)), a.lines,
                                          status="not installed"))
                else:
                    print(f"{other} {log.name} ...", file=sys.stderr, flush=True)
                    results.append(bench_tool(other, [exe, str(log)], log, a.lines, a.repeat,
                                              a.timeout, use_time))

    print()
    print(text_table(results))
    print(f"(best of {a.repeat}; peak RSS from {rss_how})")
    for line in classify_share(results):
        print(line)
    for r in results:
        if r.error:
            print(f"\n{r.tool} on {r.file}: {r.status}. Its stderr ended with:", file=sys.stderr)
            for line in r.error.splitlines()[-15:]:
                print(f"    {line}", file=sys.stderr)
    if a.write_md:
        path = Path(a.write_md)
        write_md(path, results, a, rss_how)
        print(f"\nappended to {path}", file=sys.stderr)
    return 1 if any(r.status.startswith("FAILED") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
