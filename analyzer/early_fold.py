"""`maillens parse FILE`'s first blocks folded in Rust while the main thread still imports.

From the command line read to the first block, the main thread of `maillens parse FILE` imports
what the stream, the parsers and the classifier need (pyarrow with numpy, pyarrow.compute's
wrappers, the pipeline, the rules: ~0.18 CPU-s, all under the GIL) and the second core idles.
The native fold of a block (``analyzer._native.read_lines``, then ``fold_postfix``,
native/src/fold.rs, or ``fold_exim``, native/src/fold_exim.rs: ~35 ms a 8 MiB block, the GIL
released) needs none of that: only the extension and the tables it is built from, held without
pyarrow (:mod:`analyzer.postfix_patterns`, :mod:`analyzer.line_patterns`,
:mod:`analyzer.mask_patterns`, :mod:`analyzer.exim_codes`).

:func:`start` (from :func:`analyzer.cli._plain_parse`, once the options are read) makes the fold
the file's first line calls for (a classic syslog stamp: Postfix's; Exim's own stamp: Exim's) and
the places of its first blocks as the summary's stream will cut them
(:func:`analyzer.block_plan.plan_blocks` every :data:`analyzer.summary_blocks.BLOCK_BYTES`), then
folds them on a thread of its own, holding each block's lines and fold as they come (no pyarrow).
The stream's block jobs take them where they would read and fold the same block: :func:`reading`
wraps the native reader (:func:`analyzer.native.read_lines`: the held lines of the same file's
same byte range, waited for if the thread is on that block), and :func:`taken` gives the held
fold where the fold is called on those very lines (the same buffers) with the same fold and
objects (:func:`analyzer.fast_summary._fold_split`, :func:`analyzer.fast_summary_exim._folded`);
anything else reads and folds as before. So the summary is the one the stream makes without it
(tests/test_early_fold.py).

The thread goes on taking blocks once the summary's fold has started, while the stream's first
jobs take the held blocks (their Python part, under the GIL: the thread's fold, without it, keeps
the second core busy), until a job asks for a block the thread has not taken (:func:`reading`:
the stream's threads then have every block to come) or after :data:`MOST` blocks; :func:`drop`
lets go of what no job took. It runs only where it can
pay: the native engine with its fast path, one uncompressed file of at least :data:`MIN_BYTES`,
the summary (no ``-o``, classification on), more than one core and the stream's blocks on threads
(not forked workers: a fork would copy blocks the thread had not finished).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from .summary_blocks import BLOCK_BYTES

__all__ = ["MIN_BYTES", "MOST", "drop", "dropped", "reading", "start", "taken"]

#: the blocks folded ahead at most: the start is ~0.18 CPU-s on the main thread, a block ~35 ms;
#: a block's lines (~8 MiB) are held until its job takes them
MOST = 6
#: the smallest file folded ahead: where the summary's blocks are :data:`BLOCK_BYTES`
#: (:func:`analyzer.summary_blocks.bigger_blocks`: ``pipeline.PARALLEL_MIN_BLOCKS`` of them)
MIN_BYTES = 2 * BLOCK_BYTES


class _Block:
    """A block taken by the thread: ``done`` once its lines and fold are there (None: failed)."""

    __slots__ = ("done", "folded", "lines")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.lines: tuple[Any, Any, bool, int] | None = None
        self.folded: Any = None


class _Run:
    """One command's blocks folded ahead: the file (as given, and its identity: device, inode,
    size, mtime, ctime), the process, the fold and the objects it was given, the blocks by (start, end)."""

    def __init__(self, path: str, st: os.stat_result) -> None:
        self.path, self.file, self.pid = path, _identity(st), os.getpid()
        self.stop = threading.Event()
        self.ready = threading.Event()  # set once the fold and its objects are (None: none to run)
        self.blocks: dict[tuple[int, int], _Block] = {}
        self.fold: Any = None
        self.objects: tuple[Any, ...] = ()
        self.thread: threading.Thread | None = None


_LOCK = threading.Lock()
#: the command's run (None: none, or let go of by :func:`drop`)
_CURRENT: list[_Run | None] = [None]


def start(path: str, line_format: str = "auto") -> bool:
    """Fold ``path``'s first blocks on a thread (see the module doc); False where it does not.
    The thread starts as soon as the file's kind and its first blocks' places are known (~1 CPU-ms
    after the options are read) and reads its first block while this thread builds the fold's
    objects (~4 CPU-ms; :func:`_fold_of`); they are built here, not on the thread, so that the
    thread runs nearly no Python beside the main thread's imports (the GIL)."""
    if _CURRENT[0] is not None or not _wanted():
        return False
    try:
        st = os.stat(path)
        import stat

        if not stat.S_ISREG(st.st_mode) or st.st_size < MIN_BYTES:
            return False
        from . import native

        read = getattr(native._module()[0], "read_lines", None)
        kind = None if read is None else _kind(_head(path), line_format)
        if kind is None:
            return False
        from .block_plan import plan_blocks

        # (the first MOST cuts: plan_blocks' of the whole file, where no line is longer than a block)
        ranges = plan_blocks(path, BLOCK_BYTES, min(st.st_size, MOST * BLOCK_BYTES))[:MOST]
    except (OSError, ValueError, RuntimeError):  # the stream says what is wrong (RuntimeError: the engine's)
        return False
    run = _CURRENT[0] = _Run(path, st)
    run.thread = threading.Thread(target=_fold_ahead, args=(run, read, ranges), name="maillens-early")
    run.thread.start()
    try:
        got = _fold_of(kind)
    except (ValueError, RuntimeError):
        got = None
    if got is None:  # (no fold to run: the thread stops after its read, what it read is let go of)
        drop()
        return False
    run.fold, run.objects = got
    run.ready.set()
    return True


def _wanted() -> bool:
    """The settings it pays under, from the environment (the engine: :func:`analyzer.native.fold_postfix`)."""
    env = os.environ.get
    return ((os.cpu_count() or 1) > 1 and env("MAILLENS_FAST", "1") != "0"
            and env("MAILLENS_BLOCK_THREADS", "").strip() != "0" and env("MAILLENS_WORKERS", "").strip() != "1"
            and env("MAILLENS_ENGINE", "auto").strip().lower() in ("", "auto", "native"))


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _kind(head: bytes, line_format: str = "auto") -> str | None:
    """The fold the summary's stream will give the file's blocks, by its first line: a classic
    syslog stamp, the Postfix fold; an Exim stamp, the Exim fold (only with ``--log-format auto``:
    a forced format makes the stream not call it). None where neither."""
    if _classic_stamp(head):
        return "postfix"
    if line_format == "auto" and _exim_stamp(head):
        return "exim"
    return None


def _fold_of(kind: str) -> tuple[Any, tuple[Any, ...]] | None:
    """The fold of ``kind`` (:func:`_kind`) and its objects: Postfix's ``fold_postfix`` with its
    fast reader, masker and foreign programs; Exim's ``fold_exim`` with its reader and masker.
    None where the engine does not run it (the Python engine, ``MAILLENS_FAST=0``, no fold built)."""
    from . import native

    if kind == "postfix":
        fold = native.fold_postfix()
        return None if fold is None else (fold, (native.fast_postfix(), native.masker(), native.foreign()))
    if native.engine() != "native":
        return None
    fold, reader = getattr(native._module()[0], "fold_exim", None), native.exim_reader()
    return None if fold is None or reader is None else (fold, (reader, native.masker()))


def _fold_ahead(run: _Run, read: Any, ranges: list[tuple[int, int]]) -> None:
    try:
        for s, e in ranges:
            with _LOCK:
                if run.stop.is_set():
                    return
                block = run.blocks[(s, e)] = _Block()
            try:
                lines = read(run.path, s, e)
                run.ready.wait()  # (the fold's objects: built by start() while the first block is read)
                if lines is not None and run.fold is not None:
                    block.folded = run.fold(run.objects[0], lines[0], lines[1], 1, *run.objects[1:], True)
                    block.lines = lines
            except BaseException:  # (a Rust panic too) read and folded again by the job, which says what failed
                block.lines = block.folded = None
            finally:
                block.done.set()
    finally:
        with _LOCK:  # (no job waits for a block the thread left: every block taken is done)
            for block in run.blocks.values():
                block.done.set()


def _head(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(20)


def _classic_stamp(head: bytes) -> bool:
    """A classic syslog stamp (``Nov 29 10:00:00 ``): the summary's stream tries the Postfix fold."""
    from .line_patterns import MONTHS

    return (len(head) >= 16 and head[:3].decode("ascii", "replace") in MONTHS and head[3:4] == b" "
            and head[4:6].strip().isdigit() and head[6:7] == b" " and head[9:10] == head[12:13] == b":")


def _exim_stamp(head: bytes) -> bool:
    """An Exim log's own stamp (``2026-11-29 10:00:00``): its lines are Exim's fold's."""
    return (len(head) >= 19 and head[4:5] == head[7:8] == b"-" and head[10:11] == b" "
            and head[13:14] == head[16:17] == b":" and head[:4].isdigit())


def drop(wait: bool = False) -> None:
    """The thread stopped and what no job took let go of (the end of the command); ``wait``:
    the thread's block finished first (before a stream that may fork its workers)."""
    with _LOCK:
        run, _CURRENT[0] = _CURRENT[0], None
        if run is not None:
            run.stop.set()
            run.ready.set()
            run.blocks.clear()
    if wait and run is not None and run.thread is not None:
        run.thread.join()


@contextlib.contextmanager
def dropped() -> Iterator[None]:
    """:func:`drop` at the end of the block (the summary's fold)."""
    try:
        yield
    finally:
        drop()


def _held() -> _Run | None:
    """This process's run, where it holds blocks or its thread may still take some."""
    run = _CURRENT[0]
    return run if run is not None and run.pid == os.getpid() and (run.blocks or not run.stop.is_set()) else None


def reading(read: Any) -> Any:
    """The native reader ``read(path, start, end)``, or where blocks were folded ahead in this
    process, a reader that gives a held block's lines (waited for) before reading."""
    run = _held()
    if run is None:
        return read

    def held_or_read(path: str, start: int, end: int) -> Any:
        with _LOCK:
            block = run.blocks.get((start, end))
            if block is None:  # the jobs have come to the blocks the thread has not taken: it takes no more
                run.stop.set()
        if block is not None:
            if not _same_file(run, path):  # (written to or replaced since: no held block is of use)
                drop()
            else:
                block.done.wait()
                if block.lines is not None:
                    return block.lines  # (held until its fold is taken: taken finds it by its buffers)
        return read(path, start, end)

    return held_or_read


def _same_file(run: _Run, path: str) -> bool:
    """Whether ``path`` is the file the thread read, unchanged since (as its identity says)."""
    try:
        return _identity(os.stat(path)) == run.file
    except (OSError, ValueError):
        return False


def taken(fold: Any, offsets: Any, data: Any, objects: tuple[Any, ...]) -> Any:
    """The held fold of the block whose lines are ``offsets`` and ``data`` (Arrow buffers over
    the very buffers :func:`reading` gave), where ``fold`` and ``objects`` (the fast reader, the
    masker, the foreign programs, ``classes``; Exim's: its reader, the masker, ``classes``) are the
    thread's and ``classes`` is on; else None.
    The block is let go of."""
    run = _held()
    if run is None or fold is not run.fold or objects[-1] is not True or not hasattr(data, "address"):
        return None
    if len(objects) != len(run.objects) + 1 or any(a is not b for a, b in zip(objects, run.objects, strict=False)):
        return None
    import pyarrow as pa

    want = (offsets.address, offsets.size, data.address, data.size)
    with _LOCK:
        for key, block in run.blocks.items():
            if block.lines is None or not block.done.is_set():
                continue
            off, body = pa.py_buffer(block.lines[0]), pa.py_buffer(block.lines[1])
            if (off.address, off.size, body.address, body.size) == want:
                del run.blocks[key]
                return block.folded
    return None
