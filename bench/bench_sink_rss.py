"""The main process's memory over a ``parse -o x.jsonl`` / ``x.csv`` run (#12): RSS (anonymous and
file-backed), Arrow's pool bytes and the batches waiting for the writer, sampled every few ms on a
thread of the run's own process; prints the peak and what was live then.

    PYTHONPATH=$PWD python bench/bench_sink_rss.py LOG OUT [--every 0.01]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[key] = int(rest.split()[0]) // 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("out")
    ap.add_argument("--every", type=float, default=0.01)
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=INT",
                    help="an analyzer constant set before the run (e.g. pipeline.AHEAD=1)")
    args = ap.parse_args()
    import importlib
    import os

    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")  # (the CLI's choice, made before pyarrow loads)

    for item in args.set:
        name, _, value = item.partition("=")
        mod, _, attr = name.rpartition(".")
        setattr(importlib.import_module(f"analyzer.{mod}"), attr, int(value))
    samples: list[tuple] = []
    done = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not done.is_set():
            pa = sys.modules.get("pyarrow")
            total = getattr(pa, "total_allocated_bytes", None)
            arrow = total() >> 20 if total is not None else 0
            names = sorted(t.name for t in threading.enumerate())
            samples.append((time.monotonic() - t0, _status(), arrow, len(names)))
            done.wait(args.every)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    from analyzer.cli import main as run

    sys.argv = ["maillens", "parse", args.log, "-o", args.out, "-q"]
    with contextlib.suppress(SystemExit):
        run()
    done.set()
    th.join()
    import ctypes
    import gc

    import pyarrow as pa

    print("after the run:", _status(), "pool", pa.default_memory_pool().backend_name,
          pa.default_memory_pool().bytes_allocated() >> 20, "MiB live")
    gc.collect()
    pa.default_memory_pool().release_unused()
    print("after the pool's release_unused:", _status())
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    print("after malloc_trim:", _status())
    peak = max(samples, key=lambda s: s[1].get("VmRSS", 0))
    arrow_peak = max(s[2] for s in samples)
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU {use.ru_utime:.2f} u {use.ru_stime:.2f} s")
    print(f"samples {len(samples)}; peak RSS {peak[1]} at {peak[0]:.2f}s, arrow {peak[2]} MiB then,"
          f" arrow max {arrow_peak} MiB; HWM {_status().get('VmHWM')}")
    step = max(1, len(samples) // 40)
    for t, st, arrow, n in samples[::step]:
        print(f"{t:6.2f} rss {st.get('VmRSS', 0):4d} anon {st.get('RssAnon', 0):4d} file {st.get('RssFile', 0):4d}"
              f" shm {st.get('RssShmem', 0):4d} arrow {arrow:4d} threads {n}")


if __name__ == "__main__":
    main()
