"""Which rows of a summarised block :class:`analyzer.fast_summary.FastSummaryFold` hands to the
retry-wait attribution (:func:`analyzer.fold_attribution.attributed_in_order`): what
:class:`analyzer.classify_stream.StreamClassifier` reads or writes of a block, as it picks them,
but for the ends of messages (lines of event removed), only those of a queue id it may use
(:func:`_error_ids`): a Postfix 1M day's blocks gave it 78k rows, 73k of them removed lines
(Exim: 161k, 146k), nearly all of which it took only to drop."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .class_cache import CLASS_KEY
from .classify_stream import _BARE_READS, _READS
from .schema import CLASS_SCHEMA

__all__ = ["ROW_COLUMNS"]

_CLASS = [f.name for f in CLASS_SCHEMA]
#: the columns of a summarised block's rows
_OUT = sorted(set(_READS) | set(_BARE_READS))
#: the columns of a summarised block's rows (with ``gid``): what attribution reads that is not
#: a column of the classification key (nor the classification)
ROW_COLUMNS = sorted(c for c in _OUT if c not in _CLASS and c not in CLASS_KEY)
#: the columns of :data:`_OUT` taken from the groups (but the reply text) and from their answers
_OUT_KEY = [c for c in _OUT if c in CLASS_KEY and c != "reply_text"]
_OUT_CLASS = [c for c in _OUT if c in _CLASS]

#: a group's flags in :meth:`FastSummaryFold._fold`, one byte a row: read by attribution, a bare
#: reject, a line of event removed, counted after attribution
_READ, _BARE, _GONE, _AFTER = 1, 2, 4, 8
#: a row's flag in :meth:`FastSummaryFold._fold` beside :data:`_READ` ...: an error attribution
#: keeps or a wait it attributes (``StreamClassifier._waits``' sources and targets)
_ERROR = 16


class _Marked(NamedTuple):
    """A block as :meth:`FastSummaryFold._fold` marked it: its rows, groups, raw groups and the
    groups' answers; each row (in line order) its raw group ``rid``, its group ``gid``, its
    ``flags``; ``order``: the rows' line order (None: as they are)."""

    table: pa.Table
    reps: pa.Table
    raw: pa.Table | None
    answers: pa.Table
    rid: np.ndarray
    order: np.ndarray | None
    gid: np.ndarray
    flags: np.ndarray

    def rows(self, at: np.ndarray) -> np.ndarray:
        """The places in ``table`` of rows ``at`` (places in line order)."""
        return at if self.order is None else self.order[at]


def _error_ids(marked: list[_Marked], carry: pa.Table | None) -> pa.Array:
    """The queue ids an end of a message (a line of event removed) may matter for in the
    attribution of blocks ``marked`` (one classification call's): those of their errors and
    waits and of the errors carried from before them (``carry``). ``StreamClassifier._ends``
    takes as ends only the removed lines of those ids (of a call's errors or of its carry,
    which holds only earlier errors): the others it would be given only to drop."""
    ids = [m.table.column("queue_id").take(pa.array(m.rows(np.flatnonzero(m.flags & _ERROR)))) for m in marked]
    if carry is not None and carry.num_rows:
        ids.append(carry.column("queue_id"))
    chunks = [c for i in ids for c in (i.chunks if isinstance(i, pa.ChunkedArray) else [i]) if len(c)]
    if not chunks:
        return pa.array([], pa.string())
    return pc.unique(pa.chunked_array([c.cast(pa.string()) for c in chunks], pa.string()).combine_chunks().drop_null())


def _kept_ends(marked: list[_Marked], wanted: pa.Array) -> list[np.ndarray]:
    """Of each marked block, its lines of event removed whose queue id is ``wanted``
    (:func:`_error_ids`), places in line order: one lookup for all the blocks."""
    gone = [np.flatnonzero(m.flags & _GONE) for m in marked]
    if not len(wanted) or not any(len(g) for g in gone):
        return [g[:0] for g in gone]
    qid = pa.chunked_array([c for m, g in zip(marked, gone, strict=True)
                            for c in m.table.column("queue_id").take(pa.array(m.rows(g))).cast(pa.string()).chunks],
                           pa.string())
    hit = pc.fill_null(pc.is_in(qid, value_set=wanted), False).to_numpy(zero_copy_only=False)
    return [g[h] for g, h in zip(gone, np.split(hit, np.cumsum([len(g) for g in gone])[:-1]), strict=True)]


def _taken(m: _Marked, ends: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """The rows of a marked block that attribution reads or writes (as StreamClassifier picks
    them: but of the ends of messages only ``ends``, :func:`_kept_ends`), in line order, and
    which of them are counted after it (:func:`attributed_in_order` attributes and counts them)."""
    flags, rid, gid = m.flags, m.rid, m.gid
    table, reps, raw, answers = m.table, m.reps, m.raw, m.answers
    take = (flags & _READ).astype(bool)
    take[ends] = True
    take[:-1] |= (flags[1:] & _BARE).astype(bool)  # the line above a bare reject (its error, if it is one)
    take[-1] = True  # the block's last line: the next block's first bare reject may take its error
    at = np.flatnonzero(take)
    on = pa.array(gid[at])
    rows = pa.array(m.rows(at))
    cols = dict(zip(ROW_COLUMNS, table.select(ROW_COLUMNS).take(rows).columns, strict=True))
    if pa.types.is_dictionary(cols["source"].type):  # as fold_batch sends it (_merged)
        cols["source"] = cols["source"].cast(pa.string())
    cols.update(zip(_OUT_KEY, reps.select(_OUT_KEY).take(on).columns, strict=True))
    texts = reps.column("reply_text") if raw is None else raw.column("reply_text")  # each row's raw text
    cols["reply_text"] = texts.take(pa.array(rid[at]))
    cols.update(zip(_OUT_CLASS, answers.select(_OUT_CLASS).take(on).columns, strict=True))
    sub = pa.table({c: cols[c] for c in _OUT})
    return sub, (flags[at] & _AFTER).astype(bool)
