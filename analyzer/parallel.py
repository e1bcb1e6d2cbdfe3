"""Both cores: the blocks of a big input parsed in worker processes, merged back in order.

An input is cut into blocks (:func:`analyzer.sources.cut_blocks`: the same cuts however it is
read). A worker process gets a block — a byte range of an uncompressed file, which it reads
itself, or the bytes of a decompressed one — and sends back its event table as an Arrow IPC
stream (written once into a spool file in shared memory, which the main process maps and
removes, or through the result pipe where there is no /dev/shm), its
:class:`~analyzer.parsers.LineCounts`, the rows' classification keys when asked, and what it
assumed and saw (a :class:`BlockResult`). The main process takes the results in input order.

**What a block cannot know.** Two things carry over from the lines before a block: the year of
yearless syslog stamps (:class:`~analyzer.parsers.syslog.Clock`: December to January moves to
the next year) and the header flavour counts (which flavour is tried first, and whether the file
is an Exim log, which decides how lines without a header are counted). A worker starts from a
*guess* (:func:`Guesser.state`: the first lines of every block up to it, read in the main
process); the main process then checks, in order, that the true state (the state after the
previous block) would have made the same decisions — the same year for the block's first
yearless stamp, the same Exim-ness and the same order of the two overlapping syslog flavours.
When a guess was wrong the block is parsed again, in the main process, from the true state.
So the event table, the counts and the file summaries are those of one sequential pass (tests
compare them row for row), and a wrong guess costs one block's time.

Producers (:mod:`analyzer.pipeline`) run in the workers too. For the check to hold, a producer
takes the year of yearless stamps from ``ctx.headers.clock.years(months, days)`` and counts the
header flavours it matched in ``ctx.headers.counts``, as :func:`analyzer.parsers.parse_batch` does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import re
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .parsers import FileContext, LineCounts, parse_batch
from .parsers.syslog import MONTHS, Clock, HeaderState

__all__ = ["BlockJob", "BlockResult", "Guesser", "Recycler", "TrueState", "default_workers", "end_pool", "pool",
           "run_block"]

#: The header flavours that can match the same line (a strict syslog line is a loose one too).
_OVERLAP = ("syslog", "syslog_loose")
_STAMP = re.compile(r"^(" + "|".join(MONTHS) + r") {1,2}(\d{1,2}) \d\d:\d\d:\d\d")
_SAMPLE_BYTES = 4096
_SAMPLE_LINES = 16


def default_workers() -> int:
    """Worker processes for parsing: ``$MAILLENS_WORKERS``, else the number of cores."""
    env = os.environ.get("MAILLENS_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class Start:
    """The per-file state a block starts from."""

    clock: tuple[int, int] | None = None  # (year, month) of the last yearless stamp; None: none yet
    counts: dict[str, int] = field(default_factory=dict)  # header flavour -> lines so far


@dataclass
class BlockJob:
    """One block: where its bytes are, and the file's settings."""

    name: str
    path: str | None  # a range of this file ...
    start: int
    end: int
    data: bytes | None  # ... or these bytes
    ends_file: bool
    tz: str
    year: int | None
    reference: dt.datetime | None
    forced: str | None
    panic: bool
    state: Start
    classify: bool
    keys: bool = False  # compute the rows' classification keys (analyzer.class_cache)
    spool: str | None = None  # a directory in shared memory for the result's table (see BlockResult)
    columns: tuple[str, ...] | None = None  # send only these columns (EventStream.columns); None: all
    reuse: str | None = None  # a spool file whose table the main process no longer holds: written over
    inline: bool = False  # run on a thread of the main process: the table is handed back as it is (BlockResult.kept)
    trim: bool = False  # (inline) the heap trimmed after every TRIM_BLOCKS such blocks (EventStream.lean)


@dataclass
class BlockResult:
    """What a worker sends back for a block; line numbers count from the block's first line."""

    ipc: bytes
    counts: LineCounts
    lines: int
    not_mail: int
    first_stamp: tuple[int, int] | None  # (month, day) of the first yearless stamp the clock read
    clock_end: tuple[int, int] | None
    delta: dict[str, int]  # header flavour -> lines of this block
    exim_file: bool  # decided: an Exim log (lines without a header are continuations)
    loose_first: bool  # decided: the loose syslog flavour tried before the strict one
    warning: str | None = None  # the block could not be read
    keys: bytes | None = None  # the rows grouped by classification key (class_cache.Groups), when the job asked
    path: str | None = None  # the table's IPC stream is this file (in shared memory), not ``ipc``
    kept: pa.Table | None = None  # the table itself (a block parsed on a thread of the main process)

    def table(self, recycle: Recycler | None = None) -> pa.Table:
        """The block's table. From a spool file: mapped, not copied. Without ``recycle`` the file
        is removed at once (the mapping keeps its pages until the table is dropped); with it, the
        file goes to ``recycle`` when the table is dropped, for a later block to write over."""
        if self.kept is not None:
            table, self.kept = self.kept, None
            return table
        if self.path is None:
            return pa.ipc.open_stream(self.ipc).read_all()
        if recycle is not None:
            path, self.path = self.path, None
            return pa.ipc.open_stream(recycle.map(path)).read_all()
        try:
            return pa.ipc.open_stream(pa.memory_map(self.path)).read_all()
        finally:
            os.unlink(self.path)
            self.path = None


class Recycler:
    """The spool files whose tables the main process has dropped, for the next blocks to write
    over (:attr:`BlockJob.reuse`). A fresh file of shared memory costs a page fault and a zeroed
    page per 4 KiB on both sides, about 20 ms per block of the whole event table (three times
    the cost of writing it); pages written over cost nothing more. At most ``keep`` files wait
    here (the others are removed when their table is dropped); the spool directory's removal
    takes them all."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.free: deque[str] = deque()

    def take(self) -> str | None:
        """A free file, or None (the worker makes a new one)."""
        try:
            return self.free.popleft()
        except IndexError:
            return None

    def map(self, path: str) -> pa.Buffer:
        """The file mapped as one buffer; when Arrow drops the last view of it, the file is free."""
        import mmap

        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            mm = mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else None
        finally:
            os.close(fd)
        if mm is None:
            self.release(path)
            return pa.py_buffer(b"")
        view = np.frombuffer(mm, dtype=np.uint8)
        return pa.foreign_buffer(view.ctypes.data, size, base=_Mapped(self, path, mm, view))

    def release(self, path: str) -> None:
        if len(self.free) < self.keep:
            self.free.append(path)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


class _Mapped:
    """Keeps a spool file's mapping while Arrow buffers point into it (``foreign_buffer``'s base);
    when the last goes, unmaps it and hands the file back to its :class:`Recycler`."""

    def __init__(self, owner: Recycler, path: str, mm: Any, view: np.ndarray) -> None:
        self.owner, self.path, self.mm, self.view = owner, path, mm, view

    def __del__(self) -> None:
        self.view = None
        with contextlib.suppress(BufferError, ValueError):
            self.mm.close()
        self.owner.release(self.path)


class _RecordingClock(Clock):
    """A Clock that remembers the first stamp it placed (what the check needs)."""

    first: tuple[int, int] | None = None

    def years(self, months: np.ndarray, days: np.ndarray) -> np.ndarray:
        if self.first is None and len(months):
            self.first = (int(months[0]), int(days[0]))
        return super().years(months, days)


def _loose_first(counts: dict[str, int]) -> bool:
    # HeaderState tries flavours by descending count, ties in HEADERS order (strict first)
    return counts.get("syslog_loose", 0) > counts.get("syslog", 0)


def flavour(counts: dict[str, int]) -> str | None:
    return max(counts, key=counts.get) if counts else None  # as HeaderState.flavour


# what the workers run with; set in the main process before the pool forks
_WORKER: dict[str, Any] = {"producer": None, "classifier": None}
#: ... and on a thread of :mod:`analyzer.parallel_threads`' pools, its pool's (``worker``): a later pool's
THREAD = threading.local()


def run_block(job: BlockJob) -> BlockResult:
    """Parse one block (in a worker, or in the main process when a guess was wrong)."""
    from .sources import block_array, read_range

    warning = None
    lines = _read_lines(job) if job.data is None else None
    if lines is None:
        try:
            data = job.data if job.data is not None else read_range(Path(job.path or ""), job.start, job.end)
        except OSError as exc:  # a failing disk: the rest of the file still counts
            data = b""
            warning = f"{job.name}: read error at byte {job.start} ({exc.strerror or exc}); {job.end - job.start} bytes skipped"
        lines = block_array(data, ends_file=job.ends_file)
        del data
    clock = _RecordingClock(tz=job.tz, year=job.year, reference=job.reference)
    if job.state.clock is not None:
        clock._current, clock._prev_month = job.state.clock
    hs = HeaderState(clock, forced=job.forced)
    hs.counts = dict(job.state.counts)
    before = dict(hs.counts)
    loose_first = _loose_first(before)
    ctx = FileContext(job.name, hs, panic=job.panic, columns=None if job.columns is None else frozenset(job.columns))
    worker = getattr(THREAD, "worker", None) or _WORKER
    producer: Callable = worker["producer"] or parse_batch
    table, counts = producer(lines, 1, ctx)
    classifier = worker["classifier"]
    if job.classify and classifier is not None:
        table = classifier(table)
    if job.columns is not None:
        keep = set(job.columns) | {"line_no"}  # TrueState.shift numbers the rows
        table = table.select([c for c in table.column_names if c in keep])
    keys = None
    if job.keys:
        keys = _keys(table).to_bytes()  # grouped here: the main process answers groups
    kept = table if job.inline else None
    if job.inline and job.trim:
        _trim_now()
    ipc, path = (b"", None) if job.inline else _send(table, job.spool, job.reuse)
    delta = {k: v - before.get(k, 0) for k, v in hs.counts.items() if v != before.get(k, 0)}
    clock_end = None if clock._current is None else (int(clock._current), int(clock._prev_month or 0))
    return BlockResult(ipc, counts, len(lines), counts.headerless + sum(counts.foreign.values()), clock.first,
                       clock_end, delta, flavour(hs.counts) == "exim", loose_first, warning, keys, path, kept)


#: Blocks parsed on threads (:attr:`BlockJob.trim`) between two trims of the heap
TRIM_BLOCKS = 8
_TRIMMED = [0]
_TRIM_LOCK = threading.Lock()


def _trim_now() -> None:
    """Every :data:`TRIM_BLOCKS`'th call, the heap's free pages back to the system
    (:func:`analyzer.heap.trim`): a block parsed on a thread frees its working memory (its lines,
    the native parser's columns) into the arenas the report's folds keep their state in, and the
    pages freed between that state's blocks stayed in the process (measured at 10M Exim lines: the
    report's peak PSS −25 MiB; every 8 blocks rather than 4 kept that for half the trims' CPU,
    ~0.7 of 1.4 s; bench/RESULTS.md r33-r10rest)."""
    with _TRIM_LOCK:  # (the block threads count together)
        _TRIMMED[0] += 1
        due = _TRIMMED[0] % TRIM_BLOCKS == 0
    if due:
        from .heap import trim

        trim()


def _read_lines(job: BlockJob) -> Any:
    """A file block's lines read and cut by the native core in one pass (``native.read_lines``:
    each chunk cut while in cache; ~20% of a worker's CPU went to reading the block into a
    ``bytes`` and then cutting it from there), the same :class:`~analyzer.lines.Lines` as
    :func:`~analyzer.sources.block_array` of :func:`~analyzer.sources.read_range`'s bytes; None
    where those two run (the Python engine, a CR, not UTF-8, nothing read, an error: they
    report it)."""
    from . import native

    read = native.read_lines()
    if read is None:
        return None
    try:
        got = read(job.path or "", job.start, job.end)
    except (OSError, ValueError):  # read again by Python, which tells what failed
        return None
    if got is None:
        return None
    from .lines import Lines

    offsets, body, nul, nbytes = got
    return Lines(pa.StringArray.from_buffers(len(offsets) // 4 - 1, pa.py_buffer(offsets), pa.py_buffer(body)),
                 nbytes, nul)


def _keys(table: pa.Table) -> Any:
    """The rows grouped by classification key: with the native engine, the keys it computes
    from the table (:func:`analyzer.native.class_keys`: each distinct text masked once) with
    the relay host's provider mixed in (:func:`~analyzer.class_cache.folded_key`); else
    :func:`~analyzer.class_cache.class_key`'s. The two hash equal rows apart (a row may have a
    key of each, in blocks parsed otherwise: both classify alike)."""
    from . import native
    from .class_cache import Groups, class_key, folded_key

    ckeys = native.class_keys(table) if native.engine() == "native" else None
    if ckeys is None:
        return Groups.of(class_key(table))
    return Groups.of(folded_key(ckeys, table.column("relay_host")))


_SPOOLED = [0]


def _send(table: pa.Table, spool: str | None, reuse: str | None = None) -> tuple[bytes, str | None]:
    """A block's table as an Arrow IPC stream: written once into a file of the spool directory
    (shared memory: the main process maps it, nothing is copied through the result pipe), else
    as bytes. ``reuse``: a spool file to write over (its pages are there already; a shorter
    stream leaves old bytes after its end-of-stream mark, which readers stop at)."""
    if spool is not None:
        if reuse is None:
            _SPOOLED[0] += 1
            reuse = os.path.join(spool, f"{os.getpid()}-{_SPOOLED[0]}.arrow")
        try:
            fd = os.open(reuse, os.O_WRONLY | os.O_CREAT, 0o600)  # not truncated: its pages stay
            with open(fd, "wb", buffering=0) as fh, pa.PythonFile(fh, mode="w") as f, \
                    pa.ipc.new_stream(f, table.schema) as w:
                w.write_table(table)
            return b"", reuse
        except OSError:  # full or gone: the pipe still works
            with contextlib.suppress(OSError):
                os.unlink(reuse)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes(), None


SPOOL_BASE = "/dev/shm"
_SPOOL_NAME = re.compile(r"maillens-(\d+)-[A-Za-z0-9_]+")


def spool_dir() -> str | None:
    """A fresh directory in shared memory (/dev/shm) for the blocks' tables, or None where there
    is none (the tables then come back through the result pipe). The caller removes it. Its name
    holds this process's id, so that a later run can remove it if this one is killed before it
    does (:func:`sweep_spools`)."""
    import tempfile

    base = SPOOL_BASE
    if not os.path.isdir(base) or not os.access(base, os.W_OK):
        return None
    sweep_spools(base)
    try:
        return tempfile.mkdtemp(prefix=f"maillens-{os.getpid()}-", dir=base)
    except OSError:
        return None


def sweep_spools(base: str = SPOOL_BASE) -> list[str]:
    """Remove the spool directories in ``base`` that this user's killed runs left
    (:func:`analyzer.output.leftovers`: a run killed by SIGKILL or SIGTERM — a cron timeout, the
    OOM killer — cannot remove its own, and its blocks' tables would hold shared memory until the
    next boot). Returns the paths removed."""
    import shutil

    from .output import leftovers

    removed = [str(p) for p in leftovers(base, _SPOOL_NAME, directories=True)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def _first_year(state: tuple[int, int] | None, stamp: tuple[int, int], job: BlockJob) -> int:
    """The year a clock in ``state`` gives a first stamp (month, day) (see Clock.years)."""
    month, day = stamp
    if state is None:
        if job.year is not None:
            return job.year
        ref = (job.reference or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(job.tz))
        return ref.year - 1 if (month, day) > (ref.month, ref.day) else ref.year
    year, prev = state
    step = month - prev
    return year + (1 if step < -6 else -1 if step > 6 else 0)


@dataclass
class TrueState:
    """The state of one file after the blocks taken so far (what one sequential pass has)."""

    start: Start = field(default_factory=Start)
    lines: int = 0  # lines before the next block

    def agrees(self, job: BlockJob, r: BlockResult) -> bool:
        """Whether the block, started from the true state, would have decided as it did."""
        true = self.start
        after = dict(true.counts)
        for k, v in r.delta.items():
            after[k] = after.get(k, 0) + v
        if (flavour(after) == "exim") != r.exim_file:
            return False
        if any(f in r.delta for f in _OVERLAP) and _loose_first(true.counts) != r.loose_first:
            return False
        # the first yearless stamp gets the same year; the rest of the block follows from it
        return r.first_stamp is None or (_first_year(true.clock, r.first_stamp, job)
                                         == _first_year(job.state.clock, r.first_stamp, job))

    def take(self, r: BlockResult) -> None:
        """Move past a block that agrees."""
        for k, v in r.delta.items():
            self.start.counts[k] = self.start.counts.get(k, 0) + v
        if r.first_stamp is not None:
            self.start.clock = r.clock_end
        self.lines += r.lines

    def shift(self, table: pa.Table, counts: LineCounts) -> pa.Table:
        """Give a block's events and samples their line numbers in the file."""
        off = self.lines
        if off:
            counts.samples = {k: [(s, n + off, t) for s, n, t in v] for k, v in counts.samples.items()}
            counts.headerless_samples = [(s, n + off, t) for s, n, t in counts.headerless_samples]
            if table.num_rows:
                i = table.schema.get_field_index("line_no")
                table = table.set_column(i, table.schema.field(i),
                                         pc.add(table.column(i), pa.scalar(off, table.schema.field(i).type)))
        return table


class Guesser:
    """Guesses the state each block of a file starts from, from the first lines of every block
    up to it: the year by running a clock over their stamps, the flavour counts by matching their
    headers."""

    def __init__(self, tz: str, year: int | None, reference: dt.datetime | None) -> None:
        from .parsers.syslog import HEADERS

        self.clock = Clock(tz=tz, year=year, reference=reference)
        self.counts: dict[str, int] = {}
        self._headers = [(name, re.compile(rx)) for name, rx in HEADERS.items()]

    def state(self, head: bytes) -> Start:
        """The guess for the block that starts with ``head`` (its first few KiB)."""
        lines = head[:_SAMPLE_BYTES].decode("utf-8", "replace").split("\n")[:_SAMPLE_LINES]
        stamps = [(m, d) for m, d in (self._stamp(ln) for ln in lines) if m]
        for ln in lines:
            for name, rx in self._headers:
                if rx.match(ln):
                    self.counts[name] = self.counts.get(name, 0) + 1
                    break
        counts = dict(self.counts)
        if not stamps:
            c = self.clock
            return Start(None if c._current is None else (int(c._current), int(c._prev_month or 0)), counts)
        months = np.array([m for m, _ in stamps], dtype=np.int64)
        years = self.clock.years(months, np.array([d for _, d in stamps], dtype=np.int64))
        return Start((int(years[0]), int(months[0])), counts)

    @staticmethod
    def _stamp(line: str) -> tuple[int, int]:
        m = _STAMP.match(line)
        return (MONTHS.index(m[1]) + 1, int(m[2])) if m else (0, 0)


def _init_worker(no_pandas: bool) -> None:
    import gc

    _exit_with_parent(os.getppid())
    _keep_heap()
    if no_pandas:
        from .lazy import refuse_arrow_pandas

        refuse_arrow_pandas()
    # what the worker inherited (modules, caches: a big heap that lives as long as it does) out of
    # the cycle collector's reach: its full collections, triggered by every batch's allocations,
    # walked all of it (~6% of a worker's CPU, and a write to each object's page, which copies
    # the page from the parent); the batches' own objects are still collected
    gc.freeze()


#: Seconds between a worker's looks at whether the process that started it is still there
PARENT_CHECK = 1.0


def _exit_with_parent(parent: int) -> None:
    """In a worker: end when ``parent`` (the run's main process) is gone. A main process killed by
    SIGKILL or SIGTERM (a cron ``timeout``, the OOM killer) cannot stop its pool, and its workers
    would wait on their pipe forever (~85 MiB each; found on this machine after killed runs). A
    thread looks once a second: one wake-up, no work, while the worker parses."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        os._exit(1)

    threading.Thread(target=watch, name="maillens-parent-watch", daemon=True).start()


def _keep_heap() -> None:
    """In a worker: let glibc keep freed memory for the next block instead of returning it to
    the system and faulting it in again, zeroed (every block allocates and frees a few tens of
    MiB the same way; ~0.1 CPU-s per million lines). Bounded: a worker holds one block at a time."""
    from .heap import keep_freed

    keep_freed(256 << 20, 64 << 20)  # big buffers from the heap too, kept


def end_pool(pool: Executor | None, spool: str | None, wait: bool = True) -> Any:
    """Shut ``pool`` down and remove the ``spool`` directory; with ``wait`` False on a thread
    (returned, to be joined) instead: the workers' exits and the freeing of the spool's shared
    memory (~0.1-0.2 s of wall at the end of a 1M-line day, r18-pout) then no longer stand
    between the last result and the stream's last classification and writes."""
    import shutil

    def end() -> None:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)

    if wait or (pool is None and spool is None):
        end()
        return None
    import threading

    t = threading.Thread(target=end, name="maillens-pool-end", daemon=True)
    t.start()
    return t


#: Bytes of an input's head parsed before the workers fork (:func:`pool`'s ``warm``)
WARM_BYTES = 64 << 10


def pool(workers: int, producer: Callable | None, classifier: Any, warm: BlockJob | None = None) -> Executor | None:
    """A pool of ``workers`` forked processes that parse blocks with ``producer`` and
    ``classifier``; None where processes cannot be forked (then blocks are parsed in-process).

    ``warm``: a small block parsed here first and thrown away, so that what the first block of
    every worker would do once (import modules, compile the native matchers and fill the caches
    of the parsers; ~0.07 CPU-s) is done once, before the fork, and shared."""
    import sys

    _WORKER["producer"], _WORKER["classifier"] = producer, classifier
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    # workers that only parse need no pandas: forked before it is imported, they start parsing
    # while this process imports it (~0.4 s) for its own work; the warm block would import it first
    no_pandas = classifier is None and producer is None and "pandas" not in sys.modules
    if warm is not None and not no_pandas:
        # only a head start: the blocks themselves report their errors
        with contextlib.suppress(Exception):
            run_block(warm)
    # Arrow's pa.array of an ndarray imports numpy.ma (numpy loads it lazily): once here, shared,
    # not in each worker's first block (~0.03 CPU-s a worker)
    # (ProcessPoolExecutor imported here: blocks parsed on threads need none of it, ~5 ms to import)
    from concurrent.futures import ProcessPoolExecutor

    import numpy.ma  # noqa: F401

    ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_init_worker, initargs=(no_pandas,))
    # fork the workers now, before a reader thread starts (submit forks them all: the "fork"
    # context starts no process later); not waited for: the first blocks are handed out while
    # they set up (a result's round trip, ~0.002 s, off the start)
    ex.submit(os.getpid)
    return ex
