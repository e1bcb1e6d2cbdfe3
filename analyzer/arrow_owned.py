"""Arrow tables copied into Arrow's own memory pool.

A table made on a block thread of `parse`'s summary (:func:`analyzer.fast_summary.fold_batch`)
is mostly views over memory that thread's C heap gave: numpy arrays wrapped without a copy, the
bytes Rust built for its columns. The main process holds such a block until its groups are
classified, while the thread goes on with the next blocks: each held block pins its piece of
the thread's glibc arena among the next blocks' freed temporaries, and the arenas grew with the
length of the day (10M-line Postfix day: two block threads' arenas ~45 MiB each against ~33 at
1M; bench/RESULTS.md, r35-growth). Copied into Arrow's pool (jemalloc) when the block is handed
over, a block's buffers leave nothing behind in the thread's arena when the block is let go of.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["in_pool"]


def in_pool(table: pa.Table) -> pa.Table:
    """``table`` with every column's buffers copied into Arrow's default memory pool (one chunk
    a column; a dictionary column's dictionary shared, not copied). The same values, schema and
    metadata."""
    cols = []
    for col in table.columns:
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        cols.append(pa.concat_arrays([arr, arr.slice(0, 0)]))  # (Concatenate allocates its result)
    return pa.Table.from_arrays(cols, schema=table.schema)
