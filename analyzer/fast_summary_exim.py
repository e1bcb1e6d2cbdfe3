"""The summary of ``maillens parse`` (no -o) on Exim's own log format, its lines grouped in Rust.

The Exim twin of :func:`analyzer.fast_summary.fold_batch`'s Postfix fold. On the general path a
block's lines the native Exim readers are sure of (:func:`analyzer.parsers.exim_fast.read_exim_rows`)
come back as whole event rows (~30 columns), which :class:`analyzer.fast_summary.BlockSummariser`
then groups by their :data:`~analyzer.class_cache.CLASS_KEY` values. Here those lines are grouped
in Rust as they are read (``analyzer._native.fold_exim``, native/src/fold_exim.rs: threads over
line ranges, the GIL released): no event row is built for them; of each group only its first row
comes back, and of each line its group, stamp, queue id and recipient (what attribution reads).
The block's other lines are read as :func:`analyzer.parsers._fast_exim_split` leaves them to the
pattern engine (:func:`analyzer.parsers.exim_rest_headers`: the same headers and counts), and
the block comes back summarised as :func:`analyzer.fast_summary._merged` summarises it.

:func:`fold_exim_batch` returns None where it does not run (the block is then read on the general
path): a panic log, a forced line format other than Exim's, no native Exim readers
(``MAILLENS_ENGINE=python``, ``MAILLENS_FAST=0``, the pattern table changed under them) or no
``fold_exim`` in the extension. A block with no line the readers read is read as
:func:`analyzer.parsers._split` reads it without them.

tests/test_native_summary_exim.py holds the summaries (text and JSON) equal to the general path's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["fold_exim", "fold_exim_batch"]


def fold_exim() -> Any:
    """The native Exim fold, or None (no native core, or readers off: see the module doc)."""
    from . import native
    from .parsers.exim_fast import reader

    if reader() is None:
        return None
    return getattr(native._module()[0], "fold_exim", None)


def fold_exim_batch(arr: pa.Array, lines: Any, n_nul: int, first_line: int, ctx: Any) -> tuple[pa.Table, Any] | None:
    """A block of an Exim log summarised (the stream's producer's part for Exim: see the module
    doc), or None where the general path reads it."""
    from .fast_summary import _merged
    from .parsers import Split, exim_rest_headers, finish_batch
    from .parsers.syslog import split_headers

    state = ctx.headers
    fold = fold_exim()
    if ctx.panic or state.forced not in (None, "exim") or fold is None or len(arr) == 0:
        return None
    got = _folded(fold, arr, state.clock.tz, classes=True)
    if got is None:  # as _split without the readers' rows
        headers, no_header = split_headers(arr, state)
        fast = None
    else:
        fast = got
        headers, no_header = exim_rest_headers(arr, state, fast["row"])
    sp = Split(arr, lines, first_line, headers, no_header, ctx.name, state.clock.tz, ctx.panic,
               ctx.flavour == "exim", n_nul, None, ctx.columns)
    table, counts = finish_batch(sp)
    if fast is None:
        return table, counts
    n_fast = len(fast["row"])
    counts.by_mta["exim"] += n_fast  # as finish_batch counts the readers' rows
    counts.events = table.num_rows + n_fast
    return _merged(table, fast, ctx.name, first_line), counts


def _folded(fold: Any, arr: pa.Array, tz: str, classes: bool = False) -> dict[str, Any] | None:
    """The Rust fold of a block: of the lines read whole their position (``row``), group, stamp,
    queue id and recipient, and the groups' representatives (``reps``: :data:`CLASS_KEY`
    columns, and their classification keys as the Postfix fold's, ``fast_summary.with_ckeys``);
    None when it read no line. ``classes``: the groups merged by key in Rust, as
    ``fast_summary._fold_split(..., classes=True)`` gives them (``reps`` the classes', ``classes``
    each group's class and the groups' reply texts)."""
    from . import early_fold, native
    from .fast_summary import CLASS_FIELDS, native_classes, with_ckeys
    from .parsers.exim_fast import local_stamps, reader, reader_columns

    offsets, data = native.string_views(arr)
    objects = (reader(), native.masker(), classes)
    got = early_fold.taken(fold, offsets, data, objects)  # folded while the command started
    if got is None:
        got = fold(objects[0], offsets, data, native.threads(), *objects[1:])
    rows, gid, ts, local, qid, rcpt, groups, ckeys, merged = got
    n = len(rows) // 8
    if n == 0:
        return None
    merged = native_classes(merged)
    cols = reader_columns(groups[0], groups[3], skip=("ts",))
    reps = pa.Table.from_arrays([cols[f.name].cast(f.type) if f.name in cols else pa.nulls(groups[0], f.type)
                                 for f in CLASS_FIELDS], schema=pa.schema(CLASS_FIELDS))  # conform(...).select(CLASS_KEY)
    return {"row": np.frombuffer(rows, np.int64), "gid": np.frombuffer(gid, np.uint32).astype(np.int64),
            "ts": local_stamps(pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(ts)]), local, tz),
            "queue_id": native.string_column(n, qid), "recipient": native.string_column(n, rcpt),
            "reps": with_ckeys(reps, ckeys), "classes": merged}

