#!/usr/bin/env python3
"""The report's CPU per thread and per part (r16-rcpu): where the CPU beyond the parse goes.

    PYTHONPATH=. python bench/bench_report_parts.py report /work/benchdata/exim-1000000-d0-s1.log -f json \\
        --tz UTC --year 2026 --now 2026-11-24T00:00:00 -o /tmp/r.json

Runs ``maillens ARGS`` in this process with ``time.thread_time()`` summed around each call of the
functions in :data:`SPEC` (the stream's classification, the prep thread's masks, the fold, sent and
peers threads' folds, the fold's results, each detector, the build's parts, rendering) on whichever
thread makes it, and prints on stderr at exit: ``FAULTS`` (the process's minor faults, context
switches, peak RSS), ``PARTS process`` (CPU, user, system), ``THREADS``, ``SYS`` and ``MINFLT``
(each thread's CPU, its system part and its minor page faults, from ``/proc/thread-self/stat``),
then one ``PART thread part CPU-s calls faults`` line per part. Parts nest (inclusive). Compare two checkouts by running it from each, interleaved
(bench/RESULTS.md, r16-rcpu). ``BENCH_HEAP`` tries the heap's settings: ``decay<ms>`` (Arrow's
jemalloc decay), ``nomap`` (no 256 KiB glibc mmap threshold), ``noarena`` (no arena limit),
comma-separated.
"""

from __future__ import annotations

import atexit
import collections
import importlib
import inspect
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()
CPU: collections.Counter = collections.Counter()  # (thread, part) -> CPU-s
CALLS: collections.Counter = collections.Counter()
THREADS: collections.Counter = collections.Counter()  # thread -> CPU-s
SYSTEM: collections.Counter = collections.Counter()  # thread -> system CPU-s
MINFLT: collections.Counter = collections.Counter()  # thread -> minor page faults
PART_FLT: collections.Counter = collections.Counter()  # (thread, part) -> minor page faults
MAIN_PARTS: list[str] = []  # the main thread's parts under way, innermost last
PEAKS: dict[str, int] = {}  # the main thread's innermost part -> the largest RSS (KiB) sampled in it
TICK = os.sysconf("SC_CLK_TCK")
_run = threading.Thread.run


def _thread_name() -> str:
    t = threading.current_thread()
    return "main" if t is threading.main_thread() else t.name.split("_")[0].rstrip("0123456789-")


def _thread_stat(field: int) -> int:
    """A field of this thread's ``/proc/thread-self/stat`` after its name (7: minor faults, 12:
    system ticks); 0 where there is none."""
    try:
        with open("/proc/thread-self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[field])
    except (OSError, IndexError, ValueError):
        return 0


def _system_time() -> float:
    """This thread's system CPU-s so far."""
    return _thread_stat(12) / TICK


def _faults() -> int:
    """This thread's minor page faults so far."""
    return _thread_stat(7)


def _timed_run(self: threading.Thread) -> None:
    try:
        _run(self)
    finally:
        THREADS[_thread_name()] += time.thread_time()
        SYSTEM[_thread_name()] += _system_time()
        MINFLT[_thread_name()] += _faults()


def _wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    def run(*a: Any, **k: Any) -> Any:
        t0, f0 = time.thread_time(), _faults()
        main = threading.current_thread() is threading.main_thread()
        if main:
            MAIN_PARTS.append(label)
        try:
            return fn(*a, **k)
        finally:
            if main:
                MAIN_PARTS.pop()
            key = (_thread_name(), label)
            CPU[key] += time.thread_time() - t0
            PART_FLT[key] += _faults() - f0
            CALLS[key] += 1

    run.__wrapped__ = fn  # type: ignore[attr-defined]
    return run


def _patch(module: str, attr: str, label: str) -> None:
    """Time ``module.attr`` (``Class.method`` too: static and class methods kept so) as ``label``."""
    try:
        owner: Any = importlib.import_module(module)
    except ImportError:  # (an older checkout)
        return
    name = attr
    if "." in attr:
        cls, name = attr.split(".")
        owner = getattr(owner, cls)
    raw = inspect.getattr_static(owner, name, None)
    if raw is None:  # (an older checkout)
        return
    if isinstance(raw, staticmethod | classmethod):
        setattr(owner, name, type(raw)(_wrap(raw.__func__, label)))
    else:
        setattr(owner, name, _wrap(raw, label))


def _sample_rss(every: float = 0.02) -> None:
    """Sample this process's RSS (``/proc/self/statm``) every ``every`` s into :data:`PEAKS`, under
    the main thread's innermost part (``-``: the main thread outside every part)."""
    page = os.sysconf("SC_PAGE_SIZE") >> 10
    while True:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * page
        part = MAIN_PARTS[-1] if MAIN_PARTS else "-"
        PEAKS[part] = max(PEAKS.get(part, 0), rss)
        time.sleep(every)


def _report() -> None:
    THREADS["main"] += time.thread_time()
    SYSTEM["main"] += _system_time()
    MINFLT["main"] += _faults()
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"FAULTS minflt {own.ru_minflt} nvcsw {own.ru_nvcsw} nivcsw {own.ru_nivcsw} maxrss_mib {own.ru_maxrss >> 10}",
          file=sys.stderr)
    print(f"PARTS process {own.ru_utime + own.ru_stime:.2f} (user {own.ru_utime:.2f} sys {own.ru_stime:.2f}) "
          f"wall {time.perf_counter() - T0:.2f}", file=sys.stderr)
    print("THREADS " + " ".join(f"{k}={v:.2f}" for k, v in THREADS.most_common()), file=sys.stderr)
    print("SYS " + " ".join(f"{k}={v:.2f}" for k, v in SYSTEM.most_common()), file=sys.stderr)
    print("MINFLT " + " ".join(f"{k}={v}" for k, v in MINFLT.most_common()), file=sys.stderr)
    top = sorted(PEAKS.items(), key=lambda kv: -kv[1])[:6]
    print("RSS_PEAKS_MIB " + " ".join(f"{k}={v >> 10}" for k, v in top), file=sys.stderr)
    for (thread, part), v in sorted(CPU.items()):
        print(f"PART {thread:14s} {part:40s} {v:7.3f} {CALLS[(thread, part)]:6d} {PART_FLT[(thread, part)]:8d}",
              file=sys.stderr)


def _heap_settings(spec: str) -> None:
    heap = importlib.import_module("analyzer.heap")
    after: list[tuple[int, int]] = []  # mallopt (option, value) once hand_back_early ran
    for item in spec.split(","):
        if item.startswith("decay"):
            heap.ARROW_DECAY_MS = int(item[len("decay"):])
        elif item == "nomap":
            heap.MAP_LARGE = 128 * 1024 * 1024
        elif item == "noarena":
            heap._M_ARENA_MAX = -99999  # (an option mallopt does not know: ignored)
        elif item.startswith("streammap"):  # the stream's mmap threshold, KiB (the end's stays MAP_LARGE)
            after.append((heap._M_MMAP_THRESHOLD, int(item[len("streammap"):]) << 10))
        elif item.startswith("endmap"):  # the end's mmap threshold (trim(map_large=True)), KiB
            heap.MAP_LARGE = int(item[len("endmap"):]) << 10
        elif item.startswith("trimthr"):  # glibc's trim threshold from the start, MiB
            after.append((heap._M_TRIM_THRESHOLD, int(item[len("trimthr"):]) << 20))
        elif item.startswith("toppad"):  # glibc's top pad from the start, MiB
            after.append((-2, int(item[len("toppad"):]) << 20))
        elif item == "notrimcol":  # no malloc_trim per column in RowsFold.result
            fold = importlib.import_module("analyzer.report.fold")
            fold.heap = type("H", (), {"trim": staticmethod(lambda **k: None)})
    if after:
        early = heap.hand_back_early

        def hand_back_early() -> None:
            early()
            for option, value in after:
                heap._libc().mallopt(option, value)

        heap.hand_back_early = hand_back_early


SPEC = [
    # the stream's classification (maillens-batches)
    ("analyzer.classify_stream", "StreamClassifier.classify_many", "stream.classify_many"),
    ("analyzer.classify_stream", "StreamClassifier._attribute", "stream._attribute"),
    ("analyzer.class_cache", "Classifier.classify_many", "cache.classify_many"),
    ("analyzer.class_cache", "Classifier._grouped", "cache._grouped"),
    ("analyzer.class_cache", "_Answers.columns", "cache.answers.columns"),
    ("analyzer.class_codes", "RowCodes.table", "codes.table"),  # (r17: the strings made of the codes)
    # prep
    ("analyzer.schema", "to_pandas", "to_pandas"),
    ("analyzer.report.fold", "_Batch.of", "_Batch.of"),
    ("analyzer.report.run", "ReportFold._masks", "masks"),
    ("analyzer.report.run", "fold_masks", "masks.fold_masks"),
    ("analyzer.report.run", "_more_folded", "masks._more_folded"),
    ("analyzer.report.run", "is_foldable_sent", "masks.is_foldable_sent"),
    ("analyzer.report.run", "quiet_rows", "masks.quiet_rows"),
    ("analyzer.report.run", "is_foldable_end", "masks.is_foldable_end"),
    # main, per batch
    ("analyzer.report.run", "ReportFold.add", "ReportFold.add"),
    ("analyzer.report.peers", "WindowPeersFold.add", "peers.add"),
    ("analyzer.report.peers", "PeersFold.add", "peers.PeersFold.add"),
    # fold thread
    ("analyzer.report.run", "ReportFold._keep", "keep"),
    ("analyzer.anomalies.aggregates", "BulkFold.add", "BulkFold.add"),
    ("analyzer.report.fold", "RowsFold.add", "RowsFold.add"),
    ("analyzer.report.fold", "RowsFold._codes", "RowsFold._codes"),
    ("analyzer.report.fold", "RowsFold._kept_codes", "RowsFold._kept_codes"),
    ("analyzer.report.ends_fold", "EndsFold.add", "EndsFold.add"),
    ("analyzer.report.ends_native", "NativeEndsFold.add", "EndsFold.add"),  # (r21-nends: its native twin)
    ("analyzer.anomalies.folded", "LoginFold.add", "LoginFold.add"),
    # sent thread
    ("analyzer.report.sent_fold", "SentFold.add", "SentFold.add"),
    # the end
    ("analyzer.report.run", "collect_report_events", "collect_report_events"),
    ("analyzer.report.run", "ReportFold.result", "ReportFold.result"),
    ("analyzer.anomalies.aggregates", "BulkFold.result", "result.BulkFold"),
    ("analyzer.report.fold", "RowsFold.result", "result.RowsFold"),
    ("analyzer.report.sent_fold", "SentFold.result", "result.SentFold"),
    ("analyzer.report.ends_fold", "EndsFold.result", "result.EndsFold"),
    ("analyzer.report.ends_native", "NativeEndsFold.result", "result.EndsFold"),
    ("analyzer.anomalies.folded", "LoginFold.result", "result.LoginFold"),
    ("analyzer.report.peers", "WindowPeersFold.result", "result.peers"),
    ("analyzer.report.run", "make_report", "make_report"),
    ("analyzer.report.headline", "expected_volumes", "make_report.expected_volumes"),
    ("analyzer.report.run", "detect_anomalies", "detect"),
    ("analyzer.report.run", "build_report", "build"),
    ("analyzer.report.servers", "server_names", "build.server_names"),
    ("analyzer.report.servers", "attach_finding_servers", "build.attach_finding_servers"),
    ("analyzer.report.servers", "by_server", "build.by_server"),
    ("analyzer.report.headline", "add_headline", "build.add_headline"),
    ("analyzer.report.fold", "fold_stream", "fold_stream"),
    ("analyzer.cli.report", "_collect", "cli._collect"),
    ("analyzer.cli._app", "run_stream", "cli.run_stream"),
    ("analyzer.cli.report", "_report_classifier", "cli._report_classifier"),
    ("analyzer.report.build", "_volumes", "build._volumes"),
    ("analyzer.report.build", "_outcomes", "build._outcomes"),
    ("analyzer.report.build", "_session_ends", "build._session_ends"),
    ("analyzer.report.build", "_top", "build._top"),
    ("analyzer.report.build", "cap", "build.cap"),
    ("analyzer.report", "render", "render"),
    ("analyzer.heap", "trim", "heap.trim"),
    ("analyzer.heap", "give_back", "heap.give_back"),
    ("analyzer.heap", "release_arrow", "heap.release_arrow"),
    ("analyzer.anomalies.detect", "apply_severity_policy", "detect.severity_policy"),
    ("analyzer.anomalies.detect", "merge_related", "detect.merge_related"),
]


if __name__ == "__main__":
    threading.Thread.run = _timed_run  # type: ignore[method-assign]
    for spec in SPEC:
        _patch(*spec)
    if os.environ.get("BENCH_HEAP"):
        _heap_settings(os.environ["BENCH_HEAP"])
    detect = importlib.import_module("analyzer.anomalies.detect")
    detect.DETECTORS[:] = [_wrap(d, "detect." + getattr(d, "__name__", str(d))) for d in detect.DETECTORS]
    atexit.register(_report)
    if os.environ.get("BENCH_RSS"):  # the RSS sampled per main-thread part (a thread of its own: off by default)
        threading.Thread(target=_sample_rss, name="bench-rss", daemon=True).start()
    sys.argv = ["maillens", *sys.argv[1:]]
    from analyzer.cli import main

    main()
