"""`maillens parse FILE`'s first blocks read and folded by the native core while the process
still imports what it parses with.

A run's start (the interpreter, then pyarrow, numpy, the parsers and the classification:
~0.2 s on a core) used to pass before the first block was read, with the second core all but
idle. The blocks' costly part is two native calls that need none of those modules and release
the GIL: ``read_lines`` (the block's bytes cut into lines) and ``fold_postfix`` (its Postfix
lines grouped, native/src/fold.rs). :func:`begin`, called as soon as the command line is read,
builds the fold's native objects (``FastPostfix``, ``Masker``, ``Foreign``; ``EximReader`` for
Exim's own format: ``fold_exim``, :mod:`analyzer.fast_summary_exim`) from a copy of what
they are built from, kept in the user's cache directory (:func:`_cached`, plain values), and
runs those two calls for the file's first blocks on a thread (:data:`_RUN`), until the blocks'
threads start (at most :data:`BLOCKS`).

The blocks are then parsed as before (:func:`analyzer.parallel.run_block`); a block thread
:func:`take`\\ s a block's read and fold instead of making them where all of these hold: the
same file (device and inode), the same byte range, the objects built from what the run builds
its own from (compared once: :func:`_same_args`; a stale copy is written again, and nothing of
this run is used), and the fold asked with what was asked here (one thread, classes, the same
buffer: :func:`folded`). Anything else (a run that cuts other blocks, forks workers, reads with
the Python engine, a fold that failed here) only leaves the results unused: the block is read
and folded where it is parsed, as before, and the summary is the same either way.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from pathlib import Path
from typing import Any

from .kept_file import cache_dir, read_kept, write_kept

__all__ = ["BLOCKS", "begin", "end", "folded", "hand_over", "running", "take"]

#: at most this many blocks read and folded ahead (a Postfix block of 8 MiB: ~0.035 CPU-s, its
#: read and fold ~20 MB): the thread stops at the first block a block thread asks for (the
#: start's imports leave the second core time for three or four)
BLOCKS = 5
#: :data:`analyzer.pipeline.PARALLEL_MIN_BLOCKS` (tests hold them equal: pipeline imports pyarrow)
MIN_BLOCKS = 2
_MAGIC = b"maillens-native-args\n"
_NAME = "native-args-1.marshal"
_ENV_OFF = "MAILLENS_HEAD_START"
#: a file that starts so is read as Exim's own format (the Exim fold ahead, else the Postfix one)
_EXIM_HEAD = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


class _Block:
    __slots__ = ("done", "got", "out")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.got: Any = None  # read_lines' (offsets, body, nul, bytes read), None: not read here
        self.out: Any = None  # (kind, fold_postfix's or fold_exim's result), None: not folded here


class _Run:
    """One run's head start: the file, the blocks by byte range, the thread."""

    def __init__(self, path: str, ident: tuple[int, int], args: dict[str, Any]) -> None:
        self.path, self.ident, self.args = path, ident, args
        self.lock = threading.Lock()
        self.blocks: dict[tuple[int, int], _Block] = {}
        self.taken: set[tuple[int, int]] = set()  # asked for before this thread came to them
        self.stop = False
        self.checked: bool | None = None  # the args compared with the run's own (None: not yet)
        self.thread: threading.Thread | None = None


_RUN: _Run | None = None
#: the cache was missing or stale where a run could have used it: :func:`take` writes it
_WRITE: list[bool] = []


def cache_path() -> Path | None:
    """Where the copy of the native objects' arguments is kept (:mod:`analyzer.kept_file`)."""
    where = cache_dir()
    return None if where is None else where / _NAME


def _cached() -> dict[str, Any] | None:
    """The kept arguments (``fast``, ``masker``, ``foreign``, ``exim``), or None where there are
    none intact (:func:`analyzer.kept_file.read_kept`)."""
    path = cache_path()
    got = None if path is None else read_kept(path, _MAGIC)
    return got if isinstance(got, dict) and set(got) == {"fast", "masker", "foreign", "exim"} else None


def _store(args: dict[str, Any]) -> None:
    """Keep ``args``. Best effort."""
    path = cache_path()
    if path is not None:
        write_kept(path, _MAGIC, args)


def _own_args() -> dict[str, Any]:
    """The arguments this run builds its native objects from (:mod:`analyzer.native`)."""
    from . import native
    from .parsers.exim_fast import reader_args

    return {"fast": native.fast_postfix_args(), "masker": native.masker_args(), "foreign": native.foreign_args(),
            "exim": reader_args()}


def _eligible(values: dict[str, Any]) -> str | None:
    """The one log of a `parse` summary that the native fold may read in blocks on threads
    (:func:`analyzer.parallel_threads.usable`, :func:`analyzer.summary_blocks.bigger_blocks`), else None."""
    logs = values.get("logs") or []
    if (values.get("output") is not None or not values.get("classify") or len(logs) != 1 or logs[0] == "-"
            or values.get("log_format") not in ("auto", "syslog")):
        return None
    env = os.environ
    if (env.get(_ENV_OFF, "").strip() == "0" or env.get("MAILLENS_ENGINE", "auto").strip().lower() not in ("", "auto", "native")
            or env.get("MAILLENS_FAST", "1") == "0" or env.get("MAILLENS_BLOCK_THREADS", "").strip() == "0"):
        return None
    from .parallel_workers import default_workers

    if default_workers() < 2:
        return None
    return logs[0]


def begin(values: dict[str, Any]) -> None:
    """Start reading and folding the first blocks of `parse`'s one log, where :func:`_eligible`
    and the kept arguments are there (a run without them has :func:`take` keep its own)."""
    global _RUN
    end()
    path = _eligible(values)
    if path is None:
        return
    from .summary_blocks import BLOCK_BYTES

    try:
        st = os.stat(path)
    except OSError:
        return
    import stat

    if not stat.S_ISREG(st.st_mode) or st.st_size < MIN_BLOCKS * BLOCK_BYTES:
        return
    args = _cached()
    if args is None:
        _WRITE.append(True)
        return
    try:
        with open(path, "rb") as f:
            exim = _EXIM_HEAD.match(f.read(32)) is not None
        from . import _native  # type: ignore[attr-defined]

        if exim:  # Exim's own format: fast_summary_exim's fold
            reader = _native.EximReader(*args["exim"])
            fold: Any = functools.partial(_native.fold_exim, reader)
        else:
            fast, foreign = _native.FastPostfix(*args["fast"]), _native.Foreign(*args["foreign"])
            if not fast.enabled:
                return
            fold = functools.partial(_native.fold_postfix, fast, foreign=foreign)
        masker = _native.Masker(*args["masker"])
    except (OSError, ImportError, AttributeError, ValueError, TypeError):
        return
    run = _Run(path, (st.st_dev, st.st_ino), args)
    run.thread = threading.Thread(target=_ahead, args=(run, _native.read_lines, fold, masker, "exim" if exim else "postfix",
                                                       st.st_size, BLOCK_BYTES), name="maillens-head", daemon=True)
    _RUN = run
    run.thread.start()


def running() -> bool:
    """Whether a head start runs (the second core is its while the run imports)."""
    return _RUN is not None


def _ahead(run: _Run, read: Any, fold: Any, masker: Any, kind: str, size: int, block_bytes: int) -> None:
    """The thread: the file's first blocks read (``read``) and folded (``fold``, of ``kind``), in
    order, until a block thread asks for one (:func:`take`), at most :data:`BLOCKS`."""
    from .sources import plan_blocks

    try:
        ranges = plan_blocks(Path(run.path), block_bytes, size)[:BLOCKS]
    except OSError:
        return
    for key in ranges:
        block = _Block()
        with run.lock:
            if run.stop or key in run.taken:
                continue
            run.blocks[key] = block
        try:
            block.got = read(run.path, *key)
            if block.got is not None and not block.got[2]:  # (a NUL in a line: read otherwise, arrow_lines)
                offsets, body = block.got[0], block.got[1]
                block.out = kind, fold(offsets, body, 1, masker, classes=True)
        except (OSError, ValueError):
            block.out = None
        finally:
            block.done.set()
        if block.got is None:
            break


def _same_args(run: _Run) -> bool:
    """Whether the kept arguments are this run's own (compared once); where not, they are kept anew."""
    if run.checked is None:
        own = _own_args()
        run.checked = own == run.args
        if not run.checked:
            _store(own)
    return run.checked


def take(path: str | None, start: int, end_: int) -> Any:
    """The block ``start``-``end_`` of ``path`` read (and folded) ahead: (read_lines' result,
    fold_postfix's or None), or None where it was not (the block is then read where it is
    parsed; a block not begun here is not begun later)."""
    if _WRITE:
        _WRITE.clear()
        _store(_own_args())
    run = _RUN
    if run is None or path is None:
        return None
    key = (start, end_)
    with run.lock:
        run.stop = True  # the blocks are parsed now: the rest where they are
        block = run.blocks.pop(key, None)
        if block is None:
            run.taken.add(key)
            return None
    block.done.wait()
    if block.got is None or not _same_args(run):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if (st.st_dev, st.st_ino) != run.ident:
        return None
    return block.got, block.out


_FOLDED = threading.local()


def hand_over(out: Any, data: Any) -> None:
    """On a block thread: ``out``, the fold made ahead of the lines whose bytes are ``data`` (an
    Arrow buffer), for :func:`folded` to give instead of folding them again (None: nothing)."""
    _FOLDED.pending = None if out is None else (out, data.address, data.size)


def folded(kind: str, data: Any, threads: int, classes: bool) -> Any:
    """The fold of ``kind`` (postfix: ``fold_postfix``, exim: ``fold_exim``) :func:`hand_over`
    left on this thread for the lines whose bytes are ``data``, asked for as it was made here
    (one thread, the classes merged); else None."""
    pending = getattr(_FOLDED, "pending", None)
    if pending is None or pending[0][0] != kind:  # (kept for the other fold: a block may try both)
        return None
    _FOLDED.pending = None
    (_, out), address, size = pending
    if threads != 1 or not classes or getattr(data, "address", None) != address or data.size != size:
        return None
    return out


def end() -> None:
    """The head start stopped and joined, what it kept let go (the end of a run, a fork)."""
    global _RUN
    run, _RUN = _RUN, None
    _WRITE.clear()  # (a run that forks keeps no copy: its workers would write it)
    if run is None:
        return
    with run.lock:
        run.stop = True
    if run.thread is not None and run.thread is not threading.current_thread():
        run.thread.join()
    run.blocks.clear()
