"""Two event tables of one batch put together in line order (the native readers' rows and the
rows the pattern engine matched): by slices where the rows of one fall into a few places of the
other, else column by column in the native core (``analyzer._native.interleave``: runs of rows
copied whole), else by a take."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: Up to this many runs (stretches of consecutive rows of one table) the tables are put together
#: as slices (one copy of each column); beyond, by a take (a gather of every cell).
MAX_RUNS = 64


def in_line_order(table: pa.Table, fast: pa.Table) -> pa.Table:
    """``table`` and ``fast`` (same columns, line_no among them) as one table in line order: the
    rows of ``concat_tables([table, fast])`` stably sorted by line_no.

    The native readers take most lines of a batch (Exim: all but a few), so the rows of ``table``
    usually fall into a few places of ``fast``: then slices of the two are joined, a plain copy,
    instead of a take that gathers every cell (~8 ms a block of the whole event table)."""
    a = table.column("line_no").to_numpy()
    b = fast.column("line_no").to_numpy()
    if len(a) and len(b) and (np.all(a[1:] >= a[:-1]) and np.all(b[1:] >= b[:-1])):
        # where each row of ``table`` lands (before rows of ``fast`` with the same line, as a stable sort)
        pos = np.searchsorted(b, a, side="left") + np.arange(len(a))
        cuts = np.flatnonzero(np.diff(pos) != 1) + 1
        if len(cuts) < MAX_RUNS:
            pieces, done = [], 0
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(a)], strict=True):
                before = int(pos[lo] - lo)  # rows of fast before this run of table's rows
                if before > done:
                    pieces.append(fast.slice(done, before - done))
                    done = before
                pieces.append(table.slice(int(lo), int(hi - lo)))
            if done < fast.num_rows:
                pieces.append(fast.slice(done))
            return pa.concat_tables(pieces).combine_chunks()
        merged = interleaved(table, fast, pos)
        if merged is not None:
            return merged
    return by_take(table, fast)


def _layout(t: pa.DataType) -> str | None:
    if t == pa.string():
        return "string"
    if t == pa.bool_():
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t):
        return str(t.bit_width // 8)
    return None


def _side(arr: pa.Array) -> tuple:
    bufs = arr.buffers()
    return (bufs[0] if arr.null_count else None, bufs[1], bufs[2] if len(bufs) > 2 else None, arr.offset, len(arr))


def interleaved(table: pa.Table, fast: pa.Table, pos: np.ndarray) -> pa.Table | None:
    """:func:`by_take`'s table when ``pos`` (sorted) are the places of ``table``'s rows among all,
    put together by the native core; None when it does not run or a column's type is not one
    it copies (strings, booleans, numbers, timestamps)."""
    from .. import native

    mod = native._module()[0] if native.engine() == "native" else None
    fn = getattr(mod, "interleave", None)
    if fn is None or table.schema != fast.schema:
        return None
    n = table.num_rows + fast.num_rows
    from_b = np.ones(n, dtype=np.uint8)
    from_b[pos] = 0
    args = []
    for a, b in zip(table.columns, fast.columns, strict=True):
        kind = _layout(a.type)
        if kind is None:
            return None
        a = a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()
        b = b.chunk(0) if b.num_chunks == 1 else b.combine_chunks()
        args.append((kind, _side(a), _side(b)))
    cols = []
    for f, (validity, nulls, values, data) in zip(table.schema, fn(from_b.tobytes(), args), strict=True):
        bufs = [pa.py_buffer(validity) if nulls else None, pa.py_buffer(values)]
        if f.type == pa.string():
            bufs.append(pa.py_buffer(data))
        cols.append(pa.Array.from_buffers(f.type, n, bufs, null_count=nulls))
    return pa.Table.from_arrays(cols, schema=table.schema)


def by_take(table: pa.Table, fast: pa.Table) -> pa.Table:
    """What :func:`in_line_order` gives, by a stable sort and a take (any order of rows)."""
    both = pa.concat_tables([table, fast])
    return both.take(pa.array(np.argsort(both.column("line_no").to_numpy(), kind="stable")))
