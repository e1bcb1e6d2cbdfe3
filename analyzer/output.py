"""Writing outputs: where the bytes go (atomic replace or write-through) and the event table's formats.

``open_output(path)`` is the one way maillens writes a file the user named:

* a **new or regular file** is written to a temporary file beside it and renamed over it, so
  readers never see half a file and a failed run leaves the old one in place. A new file gets
  the mode the umask allows (like ``>`` in a shell); a replaced file keeps its mode, and its
  owner and group where the process may set them;
* a **symlink to a regular file** is followed: the file it points to is replaced as above and the
  link stays a link;
* **anything else** (a character device such as ``/dev/null`` or a terminal, a FIFO, a socket, or
  a path through ``/proc/*/fd`` or ``/dev/fd`` such as ``/dev/stdout``) is opened and written
  through, as ``cp`` and shells do — never replaced;
* a dangling or looping symlink and a directory are refused (:class:`OutputError`).

CSV cells that a spreadsheet would run as a formula (first character ``=``, ``+``, ``-``, ``@``,
tab or carriage return) get a leading ``'``: :func:`neutralise_csv_cell`,
:func:`neutralise_csv_array`, :func:`neutralise_csv_table`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .textsafe import is_text, json_safe

if TYPE_CHECKING:  # pandas is imported where a frame is written
    import pandas as pd

__all__ = [
    "EVENT_FORMATS",
    "OutputError",
    "atomic_path",
    "atomic_write_text",
    "is_write_through",
    "neutralise_csv_array",
    "neutralise_csv_cell",
    "neutralise_csv_frame",
    "neutralise_csv_table",
    "open_output",
    "start_writeback",
    "write_events",
]

EVENT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Directories whose entries are links to open files, not names of files: written through.
_FD_DIRS = ("/proc/", "/dev/fd/")
_MAX_LINKS = 40


class OutputError(OSError):
    """An output could not be written."""

    hint = "check that the directory exists and is writable"


class UnknownOutputType(OutputError):
    """``-o`` names a file whose suffix is not one of the event table's formats."""

    hint = ("-o writes the event table; the summary itself goes to stdout, "
            "e.g. maillens parse FILE -f json > summary.json")


def event_format(path: str) -> str:
    """The event table's format for ``path`` by its suffix (:data:`EVENT_FORMATS`); JSON lines for a
    device, FIFO or fd link without one; :class:`UnknownOutputType` otherwise."""
    suffix = Path(path).suffix.lower()
    fmt = EVENT_FORMATS.get(suffix) or ("jsonl" if is_write_through(path) else None)
    if fmt is None:
        raise UnknownOutputType(f"{path}: unknown output type {suffix or '(none)'}; use .parquet, .csv or .jsonl")
    return fmt


# --------------------------------------------------------------------------------------------
# where the bytes go

def _resolve(path: str | os.PathLike) -> tuple[str, Path]:
    """``("replace", file)`` for a new or regular file (after following symlinks), else
    ``("through", path)`` for a device, FIFO, socket or /proc fd link."""
    name = os.fspath(path)
    current = Path(os.path.abspath(name))
    if str(current).startswith(_FD_DIRS):
        return "through", Path(name)
    for _ in range(_MAX_LINKS):
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            if current != Path(os.path.abspath(name)):
                raise OutputError(f"{name}: a symlink to {current}, which does not exist; "
                                  "not writing through a dangling link") from None
            return "replace", current
        except OSError as exc:
            raise OutputError(f"{name}: {exc.strerror or exc}") from exc
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(current)
            if target.startswith(("pipe:", "socket:", "anon_inode:")) or str(current).startswith(_FD_DIRS):
                return "through", Path(name)
            current = Path(os.path.normpath(current.parent / target))
            if str(current).startswith(_FD_DIRS):
                return "through", Path(name)
            continue
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{name}: is a directory; give a file name")
        if stat.S_ISREG(st.st_mode):
            return "replace", Path(os.path.realpath(name))
        return "through", Path(name)
    raise OutputError(f"{name}: too many levels of symbolic links")


def is_write_through(path: str | os.PathLike) -> bool:
    """Whether :func:`open_output` would write ``path`` through (device, FIFO, fd link) rather than replace it."""
    try:
        return _resolve(path)[0] == "through"
    except OutputError:
        return False


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # no /proc: read it the only way POSIX offers, and put it back
    os.umask(old)
    return old


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` exists (one that exists under another user is not gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return False


def leftovers(folder: str | os.PathLike, pattern: Any, *, directories: bool) -> list[Path]:
    """What killed runs left in ``folder``: the entries whose whole name matches ``pattern`` (its
    group 1 a process id), this user's, directories or regular files as asked, whose process is
    gone (a run stopped by SIGKILL or SIGTERM cannot remove its own)."""
    found: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    kind = stat.S_ISDIR if directories else stat.S_ISREG
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        path = Path(folder, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if st.st_uid == os.getuid() and kind(st.st_mode) and process_gone(int(m.group(1))):
            found.append(path)
    return found


def sweep_temps(target: Path) -> list[Path]:
    """Remove the temporary files beside ``target`` that killed runs left (``.NAME.PID-HEX.tmp``,
    :func:`leftovers`). Returns the paths removed."""
    import re

    removed: list[Path] = []
    pattern = re.compile(re.escape(f".{target.name}.") + r"(\d+)-[0-9a-f]+\.tmp")
    for path in leftovers(target.parent, pattern, directories=False):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new temporary file beside ``target``, mode 0600 until the content is complete; its name
    holds this process's id, so that a later run can remove it if this one is killed first."""
    sweep_temps(target)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"{target}: cannot write here ({exc.strerror or exc})") from exc
    raise OutputError(f"{target}: cannot find a free temporary name beside it")


def _take_mode(fd: int, target: Path) -> None:
    """Give the finished temp file the old file's mode and owner, or the umask's mode for a new file."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    with contextlib.suppress(OSError):  # only root (or the same owner, for the group) may do this
        os.fchown(fd, old.st_uid, old.st_gid)
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def start_writeback(fh: IO[Any]) -> None:
    """Start writing what ``fh`` (a file :func:`open_output` opened) holds so far to disk, not
    waiting for it (Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``): the fsync that commits
    the file then waits for its last part only, not for all of it after the last byte (~15-30 ms
    for the 18 MB of a 1M-line day's Parquet here, on the run's critical path). Elsewhere, or on
    a pipe or device, nothing."""
    sync = _sync_file_range()
    if sync is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sync(fh.fileno(), 0, 0, 2)  # SYNC_FILE_RANGE_WRITE; an error (ESPIPE ...) changes nothing


@functools.cache
def _sync_file_range() -> Any:
    from .heap import _libc

    libc = _libc()
    fn = getattr(libc, "sync_file_range", None) if libc is not None else None
    if fn is not None:
        import ctypes

        fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        fn.restype = ctypes.c_int
    return fn


@contextlib.contextmanager
def open_output(path: str | os.PathLike, mode: str = "w", *, encoding: str = "utf-8",
                newline: str | None = None) -> Iterator[IO[Any]]:
    """A file object for writing the output ``path`` (mode ``"w"`` or ``"wb"``); see the module doc.

    A regular file is replaced atomically when the block ends without an exception; a device,
    FIFO or fd link is written through. Errors are :class:`OutputError`.
    """
    if mode not in ("w", "wb"):
        raise ValueError("mode must be 'w' or 'wb'")
    how, target = _resolve(path)
    text = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
    if how == "through":
        try:
            fh = open(target, mode, **text)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise OutputError(f"{path}: {exc.strerror or exc}") from exc
        try:
            with fh:
                yield fh
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise OutputError(f"{path}: {exc.strerror or exc}") from exc
        return
    fd, tmp = _create_temp(target)
    try:
        with open(fd, mode, closefd=True, **text) as fh:
            yield fh
            fh.flush()
            _take_mode(fh.fileno(), target)
            os.fsync(fh.fileno())  # the new content is on disk before its name is
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(f"{path}: {exc.strerror or exc}") from exc
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (a new or regular file); rename it over ``path``
    only if the block succeeds. Prefer :func:`open_output`, which also writes devices through."""
    how, target = _resolve(path)
    if how == "through":
        raise OutputError(f"{path}: not a regular file; this output can only replace regular files")
    fd, tmp = _create_temp(target)
    try:
        try:
            _take_mode(fd, target)
        finally:
            os.close(fd)
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path``: atomically for a regular file, through for a device or FIFO."""
    with open_output(path, "w") as fh:
        fh.write(text)


# --------------------------------------------------------------------------------------------
# CSV cells a spreadsheet would run

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = r"^[=+\-@\t\r]"


def neutralise_csv_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_csv_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The same over a pyarrow array (vectorised); non-text arrays are returned unchanged."""
    typ = arr.type
    if pa.types.is_dictionary(typ):
        arr = arr.cast(typ.value_type) if isinstance(arr, pa.ChunkedArray) else arr.dictionary_decode()
        typ = arr.type
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        return arr
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    risky = np.concatenate([_formula_starts(c) for c in chunks]) if chunks else np.zeros(0, bool)
    if not risky.any():
        return arr
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    quote, empty = pa.scalar("'", typ), pa.scalar("", typ)
    return pc.if_else(pa.array(risky), pc.binary_join_element_wise(quote, arr, empty), arr)


_FORMULA_BYTES = np.frombuffer("".join(_FORMULA_START).encode("ascii"), np.uint8)


def _formula_starts(arr: pa.Array) -> np.ndarray:
    """Which values of a string array begin with a formula character (null: no), read from the
    first byte of each value in Arrow's buffers: ~50× faster than a regex, and the characters
    are ASCII, which no byte of a multi-byte UTF-8 character can be."""
    n = len(arr)
    validity, offsets_buf, data_buf = arr.buffers()[:3]
    if n == 0 or data_buf is None or data_buf.size == 0:
        return np.zeros(n, bool)
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width, count=n + 1, offset=arr.offset * np.dtype(width).itemsize)
    data = np.frombuffer(data_buf, np.uint8)
    starts = offsets[:-1]
    nonempty = offsets[1:] > starts
    first = np.zeros(n, np.uint8)
    first[nonempty] = data[starts[nonempty]]
    risky = np.isin(first, _FORMULA_BYTES)
    if validity is not None and arr.null_count:
        risky &= arr.is_valid().to_numpy(zero_copy_only=False)
    return risky


def neutralise_csv_table(table: pa.Table) -> pa.Table:
    """Every text column of ``table`` neutralised (see :func:`neutralise_csv_array`), and UTC
    stamps as text (:func:`utc_stamps_text`)."""
    cols = [utc_stamps_text(neutralise_csv_array(table.column(i))) for i in range(table.num_columns)]
    return pa.Table.from_arrays(cols, names=table.column_names)


def utc_stamps_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """UTC stamps as the text Arrow's CSV writer gives them (``2026-11-28 10:00:00.000000Z``),
    built 15× faster than the writer builds it (it looks the zone up per value); the CSV cell
    is then quoted, which a CSV reader reads the same. Other arrays are returned unchanged."""
    typ = arr.type
    if not (pa.types.is_timestamp(typ) and typ.tz == "UTC"):
        return arr
    naive = pc.cast(arr, pa.timestamp(typ.unit))
    return pc.binary_join_element_wise(pc.cast(naive, pa.string()), "Z", "")


def neutralise_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are neutralised."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if is_text(s):
            risky = s.astype("string").str.match(_FORMULA_RE).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                s = s.astype(object)
                s[risky] = "'" + s[risky].astype(str)
                out[col] = s
    return out


# --------------------------------------------------------------------------------------------
# the event table

class _JsonSafe:
    """A text stream that writes JSON with DEL, C1 and bidi characters escaped (for a terminal)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(json_safe(text))

    def flush(self) -> None:
        self.stream.flush()


def _jsonl(df: pd.DataFrame, out: Any) -> None:
    frame = df.copy()
    if "ts" in frame:
        frame["ts"] = frame["ts"].astype("string[pyarrow]")
    frame.to_json(out, orient="records", lines=True, date_format="iso", force_ascii=False)


def write_events(df: pd.DataFrame, path: str) -> None:
    """Write the event table to ``path`` (.parquet, .csv or .jsonl), or JSON lines to stdout for '-'.

    A device, FIFO or fd link without one of these suffixes (``/dev/stdout``) gets JSON lines.

    CSV cells that would be spreadsheet formulas are neutralised with a leading ``'``.
    """
    if path == "-":
        _jsonl(df, _JsonSafe(sys.stdout))
        return
    fmt = event_format(path)
    if fmt == "jsonl":
        with open_output(path, "w") as fh:
            _jsonl(df, fh)
        return
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    with open_output(path, "wb") as fh:
        if fmt == "parquet":
            pq.write_table(table, fh, compression="zstd")
        else:
            pacsv.write_csv(neutralise_csv_table(table), fh)
