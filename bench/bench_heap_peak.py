#!/usr/bin/env python3
"""Where a maillens process's memory is at its RSS high: the C heap's arenas, Arrow's pool, the rest.

    PYTHONPATH=. python bench/bench_heap_peak.py [--every 0.01] [--lines 60] -- parse DAY --tz UTC --year 2026

Runs the command in this process (``analyzer.cli.main``: the interpreter's teardown is kept, so
the report below is printed; the process's environment as the CLI sets it: Arrow's jemalloc
pool) with a thread that samples, every ``--every`` seconds: the process's RSS, the bytes
Arrow's default pool holds live, glibc's ``mallinfo2`` (every arena's size, in use, free) and
the innermost frame of ``analyzer`` the main thread is in. At each new high it reads
``/proc/self/smaps`` once more (at most every 2 MiB of growth, then at any growth after the
first second), and at the end prints the stack at the high and that map's resident MiB by kind:

* ``glibc arena ADDR`` — a thread's glibc arena (anonymous, 64 MiB-aligned: a thread that
  allocates from the C heap gets one, up to 8 per core unless ``M_ARENA_MAX`` says fewer);
* ``[heap]`` — the main arena (brk);
* ``anon ≥8M ADDR`` — another big anonymous mapping (jemalloc's extents: Arrow's pool; a
  glibc block mapped apart);
* ``anon <8M`` — the small ones together (Python's object arenas, small mapped blocks);
* ``file NAME`` — a file's pages (shared libraries, a mapped log or Parquet part).

Then a timeline of ``--lines`` samples. RSS, not PSS: the command runs as one process here
(``parse``'s blocks run on its threads); a command that forks workers has their memory apart.
Written for #12's growth 1M → 10M (bench/RESULTS.md, r35-growth): the same day's sizes side by
side show which kind grows.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import threading
import time
import traceback

ARENA_ALIGN = 64 << 20
BIG = 8 << 20


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                  "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mallinfo():
    """glibc's totals over every arena as a function, or None (another C library)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    return libc.mallinfo2


def smaps_kinds(text: str) -> dict[str, int]:
    """Resident KiB of ``/proc/PID/smaps`` text by kind of mapping (see the module's list)."""
    kinds: dict[str, int] = {}
    kind = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if "-" in parts[0] and not parts[0].endswith(":"):
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            if parts[1].startswith("---"):
                kind = None  # a guard or the unused rest of an arena: never resident
            elif name.startswith("/"):
                kind = "file " + name.rsplit("/", 1)[-1][:40]
            elif name:
                kind = name
            elif lo % ARENA_ALIGN == 0 and hi - lo <= ARENA_ALIGN:
                kind = f"glibc arena {lo:x}"
            elif hi - lo >= BIG:
                kind = f"anon >=8M {lo:x}"
            else:
                kind = "anon <8M"
        elif parts[0] == "Rss:" and kind is not None:
            kinds[kind] = kinds.get(kind, 0) + int(parts[1])
    return kinds


class Sampler(threading.Thread):
    """The samples of this process (see the module's text) until :meth:`stop`."""

    def __init__(self, every: float) -> None:
        super().__init__(name="heap-peak", daemon=True)
        self.every, self.main_id, self.t0 = every, threading.get_ident(), time.monotonic()
        self.samples: list[tuple[float, int, int, str, str]] = []
        self.high, self.high_at, self.high_stack, self.high_smaps = 0, 0.0, [], ""
        self._stop_it = threading.Event()
        self._mallinfo = _mallinfo()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _frames(self) -> list[str]:
        frame = sys._current_frames().get(self.main_id)
        if frame is None:
            return []
        return [f"{fs.filename.split('analyzer/')[-1]}:{fs.lineno}:{fs.name}"
                for fs in traceback.extract_stack(frame) if "/analyzer/" in fs.filename]

    def _heap(self) -> str:
        if self._mallinfo is None:
            return ""
        mi = self._mallinfo()
        return f"C heap {mi.arena >> 20} (in use {mi.uordblks >> 20}, free {mi.fordblks >> 20}), mapped {mi.hblkhd >> 20}"

    def run(self) -> None:
        import pyarrow as pa

        while not self._stop_it.is_set():
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * self._page >> 20
            arrow = pa.default_memory_pool().bytes_allocated() >> 20
            frames, now = self._frames(), time.monotonic() - self.t0
            heap = self._heap()
            self.samples.append((now, rss, arrow, frames[-1] if frames else "-", heap))
            if rss >= self.high + 2 or (rss > self.high and now > 1):
                with open("/proc/self/smaps") as f:
                    self.high_smaps = f.read()
            if rss > self.high:
                self.high, self.high_at, self.high_stack = rss, now, [*frames, heap]
            self._stop_it.wait(self.every)

    def stop(self) -> None:
        self._stop_it.set()
        self.join()

    def report(self, lines: int, out=sys.stderr) -> None:
        end = time.monotonic() - self.t0
        print(f"RSS high {self.high} MiB at {self.high_at:.2f} s of {end:.2f} s; the main thread in:", file=out)
        for s in self.high_stack:
            print("   ", s, file=out)
        kinds = smaps_kinds(self.high_smaps)
        print(f"resident at the high (last smaps read): {sum(kinds.values()) >> 10} MiB", file=out)
        for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:16]:
            print(f"   {v >> 10:6d}  {k}", file=out)
        step = max(1, len(self.samples) // max(lines, 1))
        print("   time   RSS  Arrow  main thread in / C heap MiB", file=out)
        for t, rss, arrow, where, heap in self.samples[::step]:
            print(f"{t:7.2f} {rss:5d} {arrow:6d}  {where}  {heap}", file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--every", type=float, default=0.01, help="seconds between samples")
    ap.add_argument("--lines", type=int, default=60, help="samples printed in the timeline")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then the maillens command's arguments")
    a = ap.parse_args(argv)
    args = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not args:
        ap.error("give the maillens command after --")
    import analyzer.cli  # (its environment first: Arrow's pool is chosen before pyarrow loads)

    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sampler = Sampler(a.every)
    sampler.start()
    sys.argv = ["maillens", *args]
    code: object = 0
    try:
        analyzer.cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sampler.stop()
        sampler.report(a.lines)
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    raise SystemExit(main())
