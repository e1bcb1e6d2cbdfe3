"""The kept rows' held pieces compressed (:class:`.fold.RowsFold`): each batch's text column (its
distinct strings and an index per row) and each coded column, held as one zstd frame until the
rows' result reads it.

The kept rows are held for the whole stream (a 10M-line day's failed lines: 800k rows, ~85 MiB of
pieces at Exim's, ~120 at Postfix's), and most of those bytes are texts that compress three to
five times (senders, recipients, reply texts) and codes of a few values. A frame per column of
a batch (not per buffer: Arrow's zstd costs ~25 µs a call) at level 1 (~400 MB/s a core), read
back a column at a time at the result, so that only one batch's column is ever unpacked at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Packed", "held_rows", "pack", "pack_codes", "unpack", "unpack_codes"]

#: Arrow's codec and level (1: the fastest of zstd's, still ~3.5x on the kept rows' texts).
CODEC, LEVEL = "zstd", 1
#: A column smaller than this is held as it is (a frame's own cost, ~50 bytes and a call, for nothing).
SMALL = 256


def _codec() -> Any:
    import pyarrow as pa

    return pa.Codec(CODEC, LEVEL)


def _available() -> bool:
    """Whether this pyarrow has the codec (its wheels do; a build without it holds the pieces as they are)."""
    import pyarrow as pa

    return bool(pa.Codec.is_available(CODEC))


class Packed:
    """One batch's column, compressed: the index per row (numpy, its dtype) and, for a text, the
    distinct values' offsets and bytes (an Arrow string or binary type, no nulls)."""

    __slots__ = ("blob", "dtype", "n", "size", "typ", "values")

    def __init__(self, blob: bytes, dtype: np.dtype, n: int, typ: Any, values: int, size: int) -> None:
        self.blob, self.dtype, self.n, self.typ, self.values, self.size = blob, dtype, n, typ, values, size

    @property
    def nbytes(self) -> int:
        return len(self.blob)


def _large(typ: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_large_string(typ) or pa.types.is_large_binary(typ)


def _packable(values: Any) -> bool:
    import pyarrow as pa

    typ = values.type
    return (pa.types.is_string(typ) or pa.types.is_binary(typ) or _large(typ)) and not values.null_count


def pack(idx: np.ndarray, values: Any) -> tuple[np.ndarray, Any] | Packed:
    """A text column of a batch's rows kept ((index per row, distinct values or None)) as one
    :class:`Packed` frame, or as it is where that does not pay or apply (a small column, values
    of another type or with nulls). The frame holds the values' offsets first (aligned as they
    were when unpacked), then the index, then the values' bytes."""
    if (values is not None and not _packable(values)) or not _AVAILABLE:
        return idx, values
    parts = []
    n_values = 0
    if values is not None:
        n_values = len(values)
        off = np.frombuffer(values.buffers()[1], dtype=np.int64 if _large(values.type) else np.int32)[
            values.offset:values.offset + n_values + 1]
        lo, hi = int(off[0]), int(off[-1])
        parts.append((off - off.dtype.type(lo)).view(np.uint8))
        data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[lo:hi] if hi > lo else np.zeros(0, np.uint8)
    parts.append(np.ascontiguousarray(idx).view(np.uint8))
    if values is not None:
        parts.append(data)
    raw = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if raw.nbytes < SMALL:
        return idx, values
    blob = _codec().compress(raw, asbytes=True)
    if len(blob) >= raw.nbytes:
        return idx, values
    return Packed(blob, idx.dtype, len(idx), None if values is None else values.type, n_values, raw.nbytes)


def unpack(held: tuple[np.ndarray, Any] | Packed) -> tuple[np.ndarray, Any]:
    """:func:`pack`'s column back: (index per row, distinct values or None), as it was given."""
    import pyarrow as pa

    if not isinstance(held, Packed):
        return held
    raw = np.frombuffer(_codec().decompress(held.blob, decompressed_size=held.size), dtype=np.uint8)
    at = 0 if held.typ is None else (held.values + 1) * (8 if _large(held.typ) else 4)
    end = at + held.n * held.dtype.itemsize
    idx = raw[at:end].view(held.dtype)
    if held.typ is None:
        return idx, None
    return idx, pa.Array.from_buffers(held.typ, held.values, [None, pa.py_buffer(raw[:at]), pa.py_buffer(raw[end:])])


def pack_codes(codes: np.ndarray) -> np.ndarray | Packed:
    """A coded column of a batch's rows kept (int8 … int32 codes) as a :class:`Packed` frame."""
    held = pack(codes, None)
    return held if isinstance(held, Packed) else codes


def unpack_codes(held: np.ndarray | Packed) -> np.ndarray:
    """:func:`pack_codes`' codes back."""
    return unpack(held)[0] if isinstance(held, Packed) else held


def held_rows(held: tuple[np.ndarray, Any] | Packed) -> int:
    """The rows of a held column (packed or not)."""
    return held.n if isinstance(held, Packed) else len(held[0])


_AVAILABLE = _available()
