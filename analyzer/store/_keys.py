"""What identifies an event (its 64-bit ``event_key``) and a source (its content fingerprint)."""

from __future__ import annotations

import hashlib
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


def event_keys(table: pa.Table) -> np.ndarray:
    """Stable 64-bit keys: hash of the identifying columns and the occurrence number within the file."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in KEY_COLUMNS:
            h = (h * _MIX) ^ _column_hash(table.column(name))
    h = pd.util.hash_array(h)
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
    with np.errstate(over="ignore"):
        mixed = pd.util.hash_array(h ^ (occ * _MIX))
    return mixed.view(np.int64)


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
