"""The attribution of the summary's blocks (:class:`analyzer.fast_summary.FastSummaryFold`): one
call of :class:`analyzer.classify_stream.StreamClassifier` for several consecutive blocks where
that answers as one call a block does.

A call has a fixed cost (~40 Arrow and numpy calls, 3-8 ms: Exim's 36 blocks of a 1M day spent
0.18-0.25 CPU-s of the main thread there, most of it so), not one that grows with its rows. What a
block's call carries to the next (the last error per queue id and per recipient domain, the
block's last line) is what the next would have found in one call over both, provided no row of a
later block is stamped before a row already attributed: a wait takes the last error *before it in
time* (:func:`analyzer.attribution.wait_columns`), and the carry keeps only each key's last one
(:meth:`StreamClassifier._keep_last`), so an error stamped earlier than an attributed row would be
found in one call and not in another. The stream's classifier promises its answers only for
lines in time order (its docstring); here the blocks are joined only where their rows' stamps
never go back (nulls neither: they read as 0), from the last stamp attributed before on, and are
attributed block by block otherwise, as before. Ties in time are taken in line order both ways.
tests/test_fold_attribution.py compares the two over generated streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["attributed_in_order", "in_time_order"]


def in_time_order(subs: list[pa.Table], since: int | None) -> tuple[bool, int | None]:
    """Whether the rows of ``subs`` (consecutive blocks' rows, in line order) are stamped in
    time order, none null and none before ``since`` (the last stamp attributed before; None:
    none); and the last stamp of all (``since`` where there is none). Read in place, chunk by
    chunk (the stream's whole batches: no copy of their stamps, ~0.9 MB at 4 batches)."""
    chunks = [c for t in subs for c in t.column("ts").chunks if len(c)]
    if not chunks:
        return True, since
    if any(c.null_count or not (pa.types.is_timestamp(c.type) or pa.types.is_int64(c.type)) for c in chunks):
        return _in_time_order_cast(chunks, since)
    ok, hi, prev = True, since, since
    for c in chunks:
        v = np.frombuffer(c.buffers()[1], np.int64, len(c), c.offset * 8)
        top = int(v.max())
        hi = top if hi is None else max(hi, top)
        ok = ok and (prev is None or int(v[0]) >= prev) and bool(np.all(v[1:] >= v[:-1]))
        prev = int(v[-1])
    return ok, hi


def _in_time_order_cast(chunks: list[pa.Array], since: int | None) -> tuple[bool, int | None]:
    """:func:`in_time_order` of stamps with nulls (or not of 64 bits), cast."""
    ns = pa.chunked_array(chunks, chunks[0].type).cast(pa.int64())
    hi = pc.max(ns).as_py()
    hi = since if hi is None else hi if since is None else max(since, hi)
    if ns.null_count:
        return False, hi
    v = ns.to_numpy()
    return bool(np.all(v[1:] >= v[:-1])) and (since is None or int(v[0]) >= since), hi


#: consecutive blocks are joined up to this many rows a call (Exim: ~4.5k rows a block, Postfix
#: ~1-2k): the fixed cost is shared by several blocks, while the call's arrays stay small (one
#: call for a whole classification call's blocks, ~80k rows, spent up to 0.25 CPU-s of system
#: time in the main process's page faults under load, where 36 calls spent ~0.01)
JOIN_ROWS = 16_384


def _runs(subs: list[tuple[pa.Table, np.ndarray]], limit: int) -> list[list[tuple[pa.Table, np.ndarray]]]:
    """``subs`` cut into runs of consecutive blocks of at most ``limit`` rows (a block over it alone)."""
    runs: list[list[tuple[pa.Table, np.ndarray]]] = []
    rows = limit
    for sub in subs:
        if rows + sub[0].num_rows > limit:
            runs.append([])
            rows = 0
        runs[-1].append(sub)
        rows += sub[0].num_rows
    return runs


def attributed_in_order(fold: Any, subs: list[tuple[pa.Table, np.ndarray]], attribution: Any) -> None:
    """Attribute consecutive blocks' rows (``subs``: each block's rows that attribution reads or
    writes and which of them are counted after it, :meth:`FastSummaryFold._fold`), in one call
    where :func:`in_time_order` allows, else one a block; the counted rows' causes are added to
    ``fold.by_cause``. ``fold._attributed_to`` keeps the last stamp attributed."""
    if not subs:
        return
    ok, fold._attributed_to = in_time_order([t for t, _ in subs], fold._attributed_to)
    if ok and len(subs) > 1:
        subs = [(pa.concat_tables([t for t, _ in run]), np.concatenate([p for _, p in run]))
                for run in _runs(subs, JOIN_ROWS)]
    for sub, pick in subs:
        done = attribution._attribute(sub)
        if pick.any():
            fold._count(fold.by_cause, pc.filter(done.column("cause"), pa.array(pick)))
