"""What identifies an event (its 64-bit ``event_key``) and a source (its content fingerprint)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import NAMES
from ..sources import Input, iter_chunks

#: Columns whose values identify an event (everything but where it was read from).
KEY_COLUMNS = tuple(n for n in NAMES if n not in ("source", "line_no"))
#: Bytes at the start of a source hashed on their own (to find where an earlier ingest of it ended).
HEAD_BYTES = 64 << 10

_MIX = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0x5BD1E9955BD1E995)


def _column_hash(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A stable 64-bit hash per value of one column (null hashes as a constant), without Python objects per row."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
        vals = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        h = pd.util.hash_array(vals.astype(np.int64))
    elif pa.types.is_floating(t):
        vals = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        h = pd.util.hash_array(vals.view(np.int64))
    else:  # strings: hash each distinct value once
        enc = pc.dictionary_encode(arr.cast(pa.string()))
        dict_h = pd.util.hash_array(enc.dictionary.to_numpy(zero_copy_only=False).astype(object))
        idx = pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False)
        h = dict_h[idx] if len(dict_h) else np.zeros(len(arr), np.uint64)
    if arr.null_count:
        h = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL, h)
    return h


def _content_hashes(table: pa.Table) -> np.ndarray:
    """A 64-bit hash per row of the identifying columns."""
    h = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in KEY_COLUMNS:
            h = (h * _MIX) ^ _column_hash(table.column(name))
    return pd.util.hash_array(h)


def _mix(h: np.ndarray, occ: np.ndarray) -> np.ndarray:
    """The key of the ``occ``-th occurrence of content hash ``h``."""
    with np.errstate(over="ignore"):
        return pd.util.hash_array(h ^ (occ.astype(np.uint64) * _MIX)).view(np.int64)


def event_keys(table: pa.Table) -> np.ndarray:
    """Stable 64-bit keys: hash of the identifying columns and the occurrence number within the file."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    h = _content_hashes(table)
    # occurrence number among identical events of the same source, in line order
    src = pc.dictionary_encode(table.column("source").combine_chunks()).indices.to_numpy(zero_copy_only=False)
    line = pc.fill_null(table.column("line_no"), 0).to_numpy(zero_copy_only=False)
    order = np.lexsort((line, h, src))
    hs, ss = h[order], src[order]
    start = np.ones(n, dtype=bool)
    start[1:] = (hs[1:] != hs[:-1]) | (ss[1:] != ss[:-1])
    pos = np.arange(n)
    first = np.maximum.accumulate(np.where(start, pos, 0))
    occ = np.empty(n, dtype=np.uint64)
    occ[order] = (pos - first).astype(np.uint64)
    return _mix(h, occ)


class KeySet:
    """A set of 64-bit keys that grows batch by batch: sorted runs, merged while they are small
    (a merge never copies more than :attr:`MERGE_MAX` keys), looked up with a binary search.
    8 bytes a key."""

    MERGE_MAX = 1 << 19  # 4 MiB: merging costs at most a few MiB more than the keys; ~20 runs for 10M keys

    def __init__(self, keys: np.ndarray | None = None) -> None:
        self.runs: list[np.ndarray] = []
        if keys is not None and len(keys):
            self.runs.append(np.sort(keys.astype(np.int64, copy=False)))

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def add(self, keys: np.ndarray) -> None:
        if not len(keys):
            return
        self.runs.append(np.sort(keys.astype(np.int64, copy=False)))
        while (len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1])
               and len(self.runs[-2]) + len(self.runs[-1]) <= self.MERGE_MAX):
            last = self.runs.pop()
            merged = np.concatenate([self.runs.pop(), last])
            merged.sort(kind="stable")  # two sorted runs: a merge
            self.runs.append(merged)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            if not len(run):
                continue
            at = np.searchsorted(run, keys)
            found |= run[np.minimum(at, len(run) - 1)] == keys
        return found


class TimedKeys:
    """The keys of a source's events so far, each run of keys with the range of its events' *tags*
    (a value of the event's ``ts``: identical events have identical tags). The newest
    :attr:`MEMORY_KEYS` keys stay in memory; older runs are written to a temporary directory and
    read back only when a lookup's tag falls in their range, which for a log in time order is at
    most once after each write. Memory: :attr:`MEMORY_KEYS` keys (8 MiB), whatever the source's size."""

    MEMORY_KEYS = 1 << 20

    def __init__(self) -> None:
        self.mem = KeySet()
        self.lo: int | None = None  # the tag range of the keys in memory
        self.hi: int | None = None
        self.spilled: list[tuple[str, int, int]] = []  # (file, lowest tag, highest tag)
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def __len__(self) -> int:
        return len(self.mem) + sum(int(np.load(p, mmap_mode="r").shape[0]) for p, _, _ in self.spilled)

    def add(self, keys: np.ndarray, tags: np.ndarray) -> None:
        if not len(keys):
            return
        self.mem.add(keys)
        lo, hi = int(tags.min()), int(tags.max())
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)
        if len(self.mem) > self.MEMORY_KEYS:
            self._spill()

    def _spill(self) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="maillens-keys-")
        path = os.path.join(self._dir.name, f"keys-{len(self.spilled):05d}.npy")
        run = np.concatenate(self.mem.runs)
        self.mem = KeySet()
        run.sort()
        np.save(path, run)
        assert self.lo is not None and self.hi is not None
        self.spilled.append((path, self.lo, self.hi))
        self.lo = self.hi = None

    def contains(self, keys: np.ndarray, tags: np.ndarray) -> np.ndarray:
        found = self.mem.contains(keys)
        for path, lo, hi in self.spilled:
            near = np.flatnonzero((tags >= lo) & (tags <= hi) & ~found)
            if len(near):
                found[near] = KeySet(np.load(path)).contains(keys[near])
        return found

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self.spilled = []


def _tags(table: pa.Table) -> np.ndarray:
    """Each row's tag for :class:`TimedKeys`: its ``ts`` in microseconds (another value of ``ts`` for a
    ``ts`` that is not a time): identical events have the same tag, and a log's tags grow with it."""
    col = table.column("ts")
    if pa.types.is_timestamp(col.type) or pa.types.is_integer(col.type):
        return pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return _column_hash(col).view(np.int64)


class SourceKeys:
    """:func:`event_keys` of one source read batch by batch: the occurrence number of an event
    among identical events counts the ones in earlier batches too, so the keys are the same for
    any batch size. Remembers the keys given so far in a :class:`TimedKeys` (bounded memory;
    :meth:`close` removes what it wrote to disk)."""

    def __init__(self) -> None:
        self.given = TimedKeys()

    def close(self) -> None:
        self.given.close()

    def __call__(self, table: pa.Table) -> np.ndarray:
        keys = event_keys(table)
        tags = _tags(table) if len(keys) else np.zeros(0, np.int64)
        if not len(keys) or (not len(self.given.mem) and not self.given.spilled):
            self.given.add(keys, tags)
            return keys
        # identical events of earlier batches: key(h, 0), key(h, 1) ... are taken; count them
        h = _content_hashes(table)
        uniq, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        before = np.zeros(len(uniq), dtype=np.uint64)
        probe = np.flatnonzero(self.given.contains(keys[first], tags[first]))  # in-batch occurrence 0 of each
        while len(probe):
            before[probe] += np.uint64(1)
            taken = self.given.contains(_mix(uniq[probe], before[probe]), tags[first[probe]])
            probe = probe[taken]
        shift = before[inverse.reshape(-1)]
        if shift.any():
            moved = shift > 0
            src = pc.dictionary_encode(table.column("source").combine_chunks()).indices.to_numpy(
                zero_copy_only=False)
            line = pc.fill_null(table.column("line_no"), 0).to_numpy(zero_copy_only=False)
            order = np.lexsort((line, h, src))
            hs, ss = h[order], src[order]
            start = np.ones(len(h), dtype=bool)
            start[1:] = (hs[1:] != hs[:-1]) | (ss[1:] != ss[:-1])
            pos = np.arange(len(h))
            occ = np.empty(len(h), dtype=np.uint64)
            occ[order] = (pos - np.maximum.accumulate(np.where(start, pos, 0))).astype(np.uint64)
            keys = keys.copy()
            keys[moved] = _mix(h[moved], occ[moved] + shift[moved])
        self.given.add(keys, tags)
        return keys


@dataclass(frozen=True)
class Digest:
    """What a source's content is: sha256 and length of the decompressed bytes, sha256 of the first
    64 KiB, whether it ends at a line end, and where an earlier ingest of its beginning ended."""

    sha: str
    size: int
    head: str
    newline: bool
    resume_at: int = 0  # bytes already ingested (a grown file or a rotated copy that grew)
    resume_lines: int = 0  # lines in those bytes


def fingerprint(inp: Input, known: Callable[[str], dict[int, tuple[str, int]]] | None = None) -> Digest:
    """Fingerprint an input; ``known(head)`` gives {size: (sha, lines)} of ingested sources with the same
    beginning, and the longest of them that is a prefix of this content is where parsing may resume."""
    full, head = hashlib.sha256(), hashlib.sha256()
    size = 0
    last = b""
    cands: dict[int, tuple[str, int]] | None = None
    best = (0, 0)
    for chunk in iter_chunks(inp, lambda _msg: None):
        if not chunk:
            continue
        if size < HEAD_BYTES:
            head.update(chunk[: HEAD_BYTES - size])
        if cands is None and known is not None and size + len(chunk) >= HEAD_BYTES:
            cands = known(head.hexdigest())
        for at, (sha, lines) in (cands or {}).items():
            if size < at <= size + len(chunk):
                h = full.copy()
                h.update(chunk[: at - size])
                if h.hexdigest() == sha and at > best[0]:
                    best = (at, lines)
        full.update(chunk)
        size += len(chunk)
        last = chunk[-1:]
    if best[0] >= size:
        best = (0, 0)
    return Digest(full.hexdigest(), size, head.hexdigest(), last == b"\n", *best)
