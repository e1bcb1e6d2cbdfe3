"""Two event tables of one batch put together in line order (the native readers' rows and the
rows the pattern engine matched)."""

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
    return by_take(table, fast)


def by_take(table: pa.Table, fast: pa.Table) -> pa.Table:
    """What :func:`in_line_order` gives, by a stable sort and a take (any order of rows)."""
    both = pa.concat_tables([table, fast])
    return both.take(pa.array(np.argsort(both.column("line_no").to_numpy(), kind="stable")))
