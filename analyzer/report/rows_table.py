"""The kept rows' other columns compressed while held (:class:`.fold.RowsFold`): a piece's table of
the columns neither text nor coded (times, delays, line numbers) and its rows' places.

:mod:`.rows_packed` compresses a piece's texts and codes; the rest of a piece, its Arrow table,
was held as it was: at a 10M-line Postfix day's kept rows, ts, delay and line_no held 7.9 MiB and
the places 1.6 of the ~25 MiB (bench/RESULTS.md, r34-r10stream). Once the rows pack their texts
(:data:`.fold.RowsFold.PACK_FROM`), the table is held as one Arrow IPC stream, its buffers zstd
frames, and the places as a :mod:`.rows_packed` frame; both come back as they were at the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import rows_packed
from .rows_packed import _codec, pack_codes, unpack_codes

__all__ = ["PackedTable", "pack_place", "pack_table", "place_of", "table_of"]


class PackedTable:
    """A piece's table as a compressed Arrow IPC stream (its rows counted without reading it)."""

    __slots__ = ("blob", "num_rows")

    def __init__(self, blob: bytes, num_rows: int) -> None:
        self.blob, self.num_rows = blob, num_rows

    @property
    def nbytes(self) -> int:
        return len(self.blob)


def pack_table(t: Any) -> Any:
    """``t`` (an Arrow table) as a :class:`PackedTable`, or as it is where that does not pay (a
    small table, or no codec)."""
    import pyarrow as pa

    if t.nbytes < rows_packed.SMALL or not t.num_columns or not rows_packed._AVAILABLE:
        return t
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema, options=pa.ipc.IpcWriteOptions(compression=_codec())) as w:
        w.write_table(t)
    blob = sink.getvalue().to_pybytes()  # (its own bytes: not the stream's buffer, grown by doubling)
    return t if len(blob) >= t.nbytes else PackedTable(blob, t.num_rows)


def table_of(held: Any) -> Any:
    """:func:`pack_table`'s table back."""
    import pyarrow as pa

    if not isinstance(held, PackedTable):
        return held
    return pa.ipc.open_stream(pa.py_buffer(held.blob)).read_all()


def pack_place(place: tuple[int, np.ndarray] | None) -> Any:
    """A piece's places (its first batch's base, each row's offset from it) with the offsets packed."""
    return place if place is None else (place[0], pack_codes(place[1]))


def place_of(place: tuple[int, Any]) -> np.ndarray:
    """:func:`pack_place`'s places back, as int64 row orders."""
    base, rel = place
    return base + unpack_codes(rel).astype(np.int64)

