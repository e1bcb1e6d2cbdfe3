"""Where lines come from: files, globs, directories, stdin; compression; rotation order; batches.

Everything here streams: a file is read in chunks of bytes, decompressed as it goes and cut into
batches of lines, so memory does not grow with the size of the input.
"""

from __future__ import annotations

import bz2
import errno
import glob
import lzma
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .ahead import run_ahead
from .lines import Lines, block_array, block_lines

__all__ = [
    "Batch",
    "Input",
    "Lines",
    "SourceError",
    "block_array",
    "block_lines",
    "cut_blocks",
    "expand_inputs",
    "is_plain_file",
    "iter_batches",
    "iter_blocks",
    "plan_blocks",
    "read_range",
    "rotation_key",
    "rotation_ranks",
]

CHUNK = 1 << 20  # bytes read from disk (or decompressed) at a time
#: A batch is the lines between two cuts; a cut is the last newline before each multiple of this
#: many bytes (~28,000 Postfix lines), so batches do not depend on how the input is read.
BLOCK_BYTES = 4 << 20
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
# Names in a directory that are never mail logs (documentation, data, scripts).
SKIP_SUFFIXES = (".md", ".json", ".jsonl", ".toml", ".yaml", ".yml", ".py", ".sh", ".txt",
                 ".html", ".csv", ".parquet", ".ini", ".cfg", ".conf")


class SourceError(OSError):
    """An input could not be found or opened."""

    hint = "check the path; globs must be quoted or expanded by the shell"


@dataclass(frozen=True)
class Input:
    """One input: a path, or '-' for stdin."""

    name: str
    path: Path | None = None  # None for stdin

    @property
    def mtime(self) -> float | None:
        return self.path.stat().st_mtime if self.path is not None else None


@dataclass
class Batch:
    """A batch of consecutive lines of one input."""

    source: str
    first_line: int  # 1-based number of lines[0]
    lines: Sequence[str]  # a list, or :class:`Lines` (an Arrow array that reads as a list)


@dataclass
class ReadWarnings:
    """Problems met while reading that did not stop the run."""

    messages: list[str] = field(default_factory=list)

    def add(self, msg: str) -> None:
        self.messages.append(msg)


_ROT_NUM = re.compile(r"^(?P<base>.*?)\.(?P<n>\d{1,6})(?P<ext>(?:\.(?:gz|bz2|xz|zst))?)$")
_ROT_DATE = re.compile(r"^(?P<base>.*?)[-.](?P<d>\d{8}(?:\d{2})?)(?P<ext>(?:\.(?:gz|bz2|xz|zst))?)$")
_COMP = re.compile(r"\.(?:gz|bz2|xz|zst)$")


def rotation_key(path: str) -> tuple[str, int, str]:
    """Sort key putting a rotated set oldest first: log.3.gz, log.2.gz, log.1, log.

    logrotate's numbered names (higher is older) and dated names (``-20261128``, older date is
    older) are both understood; the live file comes last.
    """
    name = os.path.basename(path)
    d = os.path.dirname(path)
    m = _ROT_NUM.match(name)
    if m:
        return (os.path.join(d, m["base"]), -int(m["n"]), "")
    m = _ROT_DATE.match(name)
    if m:
        return (os.path.join(d, m["base"]), -(10**9), m["d"])
    base = _COMP.sub("", name)
    return (os.path.join(d, base), 0, "")


def rotation_ranks(names: Sequence[object]) -> list[int]:
    """Each of the distinct ``names``' place in rotation order (:func:`rotation_key`, oldest first),
    and one place more at the end, for a row without a name (index it with -1)."""
    ranks = [len(names)] * (len(names) + 1)
    for r, i in enumerate(sorted(range(len(names)), key=lambda i: rotation_key(str(names[i])))):
        ranks[i] = r
    return ranks


def _files_in(directory: Path, warn: Callable[[str], None]) -> list[str]:
    """The files under a directory. Symlinked directories are not followed (no loops, no
    escaping the tree); an unreadable subdirectory is a warning."""

    def unreadable(exc: OSError) -> None:
        warn(f"{exc.filename}: cannot list this directory ({exc.strerror or exc}); skipped")

    out = []
    for root, dirs, files in os.walk(directory, onerror=unreadable, followlinks=False):
        keep = []
        for x in sorted(dirs):
            if x.startswith("."):
                continue
            if os.path.islink(os.path.join(root, x)):
                warn(f"{os.path.join(root, x)}: a symlink to a directory; not followed (name it to read it)")
                continue
            keep.append(x)
        dirs[:] = keep
        for f in files:
            if f.startswith(".") or f.lower().endswith(SKIP_SUFFIXES) or f.lower().startswith("readme"):
                continue
            out.append(os.path.join(root, f))
    return out


def _glob(spec: str) -> list[str]:
    """Names a glob matches; ``**`` does not descend into symlinked directories (no loops)."""
    if "**" not in spec:
        return glob.glob(spec)
    p = Path(spec)
    base, rest = (Path(p.anchor), str(p.relative_to(p.anchor))) if p.is_absolute() else (Path("."), spec)
    return [str(m) for m in base.glob(rest)]


def _readable(name: str, warn: Callable[[str], None]) -> bool:
    """A file found in a directory or by a glob is read if it is a regular file we may open;
    anything else (dangling or looping link, FIFO, socket, device, no permission) is a warning."""
    try:
        st = os.stat(name)
    except OSError as exc:
        what = "a dangling symlink" if os.path.islink(name) and exc.errno == errno.ENOENT else exc.strerror or exc
        warn(f"{name}: {what}; skipped")
        return False
    if not stat.S_ISREG(st.st_mode):
        warn(f"{name}: not a regular file (FIFO, socket or device); skipped")
        return False
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        warn(f"{name}: {exc.strerror or exc}; skipped")
        return False
    os.close(fd)
    return True


def _raise(msg: str) -> None:
    raise SourceError(msg)


def expand_inputs(specs: Iterable[str | Input], warn: Callable[[str], None] | None = None) -> list[Input]:
    """Turn command-line arguments into inputs: files, globs, directories, '-' for stdin.

    Directories are walked without following symlinked directories; each rotated set is read
    oldest first. What a directory or glob holds that cannot be read (dangling links, FIFOs,
    devices, no permission) is passed to ``warn`` and skipped; a file named on its own is read
    whatever it is (a FIFO from ``<(…)`` included). Raises SourceError for a name that matches
    nothing, and when there were inputs but none could be read. Without ``warn``, every such
    problem raises SourceError. An :class:`Input` passes through as it is.
    """
    report = warn or _raise
    found: list[Input] = []
    seen: set[str] = set()
    skipped: list[str] = []

    def skip(msg: str) -> None:
        skipped.append(msg)
        report(msg)

    for spec in specs:
        if isinstance(spec, Input):
            found.append(spec)
            continue
        if spec == "-":
            found.append(Input("-"))
            continue
        p = Path(spec)
        if p.is_dir():
            names = [n for n in _files_in(p, skip) if _readable(n, skip)]
        elif p.exists():
            if p.is_file() and not _readable(spec, skip):  # a FIFO is not opened twice
                continue
            names = [spec]
        elif glob.has_magic(spec):
            matched = _glob(spec)
            if not matched:
                raise SourceError(f"{spec}: no file matches this pattern")
            names = [n for n in matched if not os.path.isdir(n) and _readable(n, skip)]
        elif os.path.islink(spec):
            skip(f"{spec}: a dangling symlink")
            continue
        else:
            raise SourceError(f"{spec}: no such file or directory")
        for n in sorted(names, key=rotation_key):
            real = os.path.realpath(n)
            if real in seen:
                continue
            seen.add(real)
            found.append(Input(n, Path(n)))
    if not found and skipped:
        raise SourceError(f"nothing could be read: {skipped[0]}"
                          + (f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""))
    return found


def sniff_compression(head: bytes) -> str | None:
    """The compression of a stream from its first bytes (content, not name), or None."""
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def _decompressor(kind: str) -> Callable[[], object]:
    if kind == "gzip":
        return lambda: zlib.decompressobj(wbits=47)
    if kind == "bzip2":
        return bz2.BZ2Decompressor
    if kind == "xz":
        return lzma.LZMADecompressor
    if kind == "zstd":
        try:
            import zstandard
        except ImportError as exc:  # pragma: no cover - zstandard is a dependency
            raise SourceError("reading zstd needs the 'zstandard' package") from exc
        return lambda: zstandard.ZstdDecompressor().decompressobj()
    raise ValueError(kind)


def _decompress(raw: BinaryIO, kind: str, name: str, warn: Callable[[str], None]) -> Iterator[bytes]:
    """Stream-decompress; multi-member files are followed; a truncated or corrupt stream is
    read up to the break, with a warning."""
    make = _decompressor(kind)
    d = make()
    pending = b""
    ended = False
    while True:
        data = pending or raw.read(CHUNK)
        pending = b""
        if not data:
            break
        try:
            out = d.decompress(data)
        except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
            warn(f"{name}: {kind} data is corrupt ({exc}); read up to the break")
            return
        if out:
            yield out
        if getattr(d, "eof", False):
            rest = getattr(d, "unused_data", b"")
            if rest.strip(b"\0"):
                d = make()  # another member follows
                pending = rest
                continue
            ended = True
            if not rest:
                # keep reading: a concatenated member may start in the next chunk
                nxt = raw.read(CHUNK)
                if nxt:
                    d = make()
                    pending = nxt
                    ended = False
                    continue
            break
        ended = False
    flush = getattr(d, "flush", None)
    if flush is not None and kind == "gzip":
        tail = flush()
        if tail:
            yield tail
    if not ended and not getattr(d, "eof", True):
        warn(f"{name}: {kind} stream is truncated; read up to the break")


def _open_bytes(inp: Input) -> BinaryIO:
    if inp.path is None:
        return sys.stdin.buffer
    try:
        return open(inp.path, "rb")
    except OSError as exc:
        raise SourceError(f"{inp.name}: {exc.strerror or exc}") from exc


def iter_chunks(inp: Input, warn: Callable[[str], None]) -> Iterator[bytes]:
    """The decompressed bytes of an input, in chunks. A read error after the file was opened
    (EIO on a failing disk …) ends it with a warning; what was read counts."""
    raw = _open_bytes(inp)
    try:
        yield from _chunks(inp, raw, warn)
    except SourceError:
        raise
    except OSError as exc:
        warn(f"{inp.name}: read error ({exc.strerror or exc}); read up to it")
    finally:
        if inp.path is not None:
            raw.close()


def _chunks(inp: Input, raw: BinaryIO, warn: Callable[[str], None]) -> Iterator[bytes]:
    head = raw.read(CHUNK)
    kind = sniff_compression(head)
    if kind is None:
        if head:
            yield head
        while data := raw.read(CHUNK):
            yield data
        return

    class _Rejoin:
        """Give back the sniffed head before the rest of the stream."""

        def __init__(self) -> None:
            self.first = head

        def read(self, n: int) -> bytes:
            if self.first:
                out, self.first = self.first, b""
                return out
            return raw.read(n)

    yield from _decompress(_Rejoin(), kind, inp.name, warn)  # type: ignore[arg-type]


def cut_blocks(chunks: Iterable[bytes], block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Cut a byte stream into blocks of whole lines at fixed places: a block ends at the last
    newline before each multiple of ``block_bytes`` (counted from the stream's start; a line
    longer than that makes one longer block). The places depend only on the bytes, so
    :func:`plan_blocks` finds the same ones in a file without reading all of it.

    The chunks are held as they came (the first from an offset, what is left of a cut one) and
    each block is joined once from them: one copy of the stream, where growing and slicing one
    buffer made three (~0.1 CPU-s per 1M Postfix lines, on the thread reading the input)."""
    parts: list[bytes] = []  # the pending chunks, in order; parts[0] from byte ``lo``
    lo = 0
    held = 0  # the pending bytes
    base = 0  # stream offset of the first pending byte
    mark = block_bytes
    for chunk in chunks:
        if not chunk:
            continue
        parts.append(chunk)
        held += len(chunk)
        while base + held >= mark:
            k, p = _last_newline(parts, lo, mark - base)
            if k >= 0:
                out = _joined(parts, lo, k, p)
                del parts[:k]
                lo = p + 1
                if lo == len(parts[0]):
                    del parts[0]
                    lo = 0
                base += len(out)
                held -= len(out)
                yield out
            mark += block_bytes
    if parts:
        yield _joined(parts, lo, len(parts) - 1, len(parts[-1]) - 1)


def _joined(parts: list[bytes], lo: int, k: int, p: int) -> bytes:
    """parts[0][lo:] + parts[1] + ... + parts[k][: p + 1] (parts[0][lo: p + 1] when k is 0), in one copy."""
    if k == 0:
        return parts[0][lo: p + 1] if lo or p + 1 < len(parts[0]) else bytes(parts[0])
    head = memoryview(parts[0])[lo:] if lo else parts[0]
    tail = memoryview(parts[k])[: p + 1] if p + 1 < len(parts[k]) else parts[k]
    return b"".join([head, *parts[1:k], tail])


def _last_newline(parts: list[bytes], lo: int, limit: int) -> tuple[int, int]:
    """(chunk, offset in it) of the last newline among the first ``limit`` pending bytes
    (``parts[0]`` from ``lo``); (-1, -1) when there is none."""
    starts = []  # the chunks that hold bytes before limit, with their stream offset less lo
    at = -lo
    for k, part in enumerate(parts):
        if at >= limit:
            break
        starts.append((k, at))
        at += len(part)
    for k, start in reversed(starts):
        p = parts[k].rfind(b"\n", lo if k == 0 else 0, limit - start)
        if p >= 0:
            return k, p
    return -1, -1


def plan_blocks(path: Path, block_bytes: int = BLOCK_BYTES, size: int | None = None) -> list[tuple[int, int]]:
    """The (start, end) byte ranges :func:`cut_blocks` would cut an uncompressed file into
    (:func:`analyzer.block_plan.plan_blocks`, which imports nothing heavy)."""
    from .block_plan import plan_blocks as planned

    return planned(path, block_bytes, size)


def read_range(path: Path, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of a file."""
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def is_plain_file(inp: Input) -> bool:
    """A regular, uncompressed file (one that can be cut into ranges and read in parallel)."""
    if inp.path is None:
        return False
    try:
        if not stat.S_ISREG(os.stat(inp.path).st_mode):
            return False
        with open(inp.path, "rb") as fh:
            return sniff_compression(fh.read(8)) is None
    except OSError:
        return False


def iter_blocks(inp: Input, warn: Callable[[str], None], block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The blocks (:func:`cut_blocks`) of an input's decompressed bytes. A compressed input is
    decompressed on a thread of its own (zlib, bz2, lzma and zstd release the GIL while they
    work), a few chunks ahead, so that it overlaps with parsing; a plain file is read here (a
    thread per file would cost more than reading: many small rotated files)."""
    chunks = iter_chunks(inp, warn)
    yield from cut_blocks(chunks if is_plain_file(inp) else run_ahead(chunks, 4, "maillens-read"), block_bytes)


def iter_batches(inp: Input, warn: Callable[[str], None], batch_lines: int | None = None,
                 block_bytes: int = BLOCK_BYTES) -> Iterator[Batch]:
    """Batches of decoded lines of one input (UTF-8, undecodable bytes replaced, CR/LF stripped).

    A batch is one block of :func:`iter_blocks` (the same batches however the input is read);
    with ``batch_lines``, batches of about that many lines instead (the older rule, for tests that
    cut a day at every awkward place)."""
    if batch_lines is None:
        line_no = 1
        for block in iter_blocks(inp, warn, block_bytes):
            lines = block_array(block)
            if lines:
                yield Batch(inp.name, line_no, lines)
                line_no += len(lines)
        return
    carry = b""
    line_no = 1
    pending: list[str] = []
    pending_first = 1
    for chunk in iter_chunks(inp, warn):
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        lines = block_lines(data[: cut + 1])
        if not pending:
            pending_first = line_no
        pending.extend(lines)
        line_no += len(lines)
        if len(pending) >= batch_lines:
            yield Batch(inp.name, pending_first, pending)
            pending = []
    if carry:
        last = block_lines(carry)
        if not pending:
            pending_first = line_no
        pending.extend(last)
    if pending:
        yield Batch(inp.name, pending_first, pending)
