"""Which of :class:`~.aggregates.BulkFold`'s per-message entries a message's end lets go of, over
the lines given so far at once: the specification of the native fold's ``senders_of`` and
``firsts_of`` (native/src/bulkfold_ends.rs, bulkfold_firsts.rs), which drop them as the lines come.

A queue id seen after its message's end (a ``removed`` line: Postfix's removed, Exim's
Completed) names another message (:func:`analyzer.attribution.message_ends`). An entry is read
only through a later line of its queue id of one kind (its *mark*): a sender's entry
(``looked_up_only``) through a line that looks its sender up (:func:`.bulk_read.looked_up_rows`),
a message's first time (``deferred_only``) through a deferred delivery line
(:func:`.bulk_read.deferred_rows`). So an entry whose message ended before any mark of its queue
id is never read: the first end of its queue id at or after the entry's line comes before the
first mark of it, or no mark comes at all. Lines are placed by their position among all the
lines the fold was given, batch after batch (not by the batches' row orders, which a caller may
leave equal)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bulk_read import deferred_rows, end_rows, looked_up_rows, row_hashes

#: The marks: the look-ups of a message's sender, its deferred deliveries.
LOOKS, DEFERRALS = "looks", "deferrals"
_MARKS = {LOOKS: looked_up_rows, DEFERRALS: deferred_rows}
_NONE = np.iinfo(np.int64).max

_Lines = list[tuple[np.ndarray, np.ndarray]]


def _cat(parts: _Lines) -> tuple[np.ndarray, np.ndarray]:
    """(queue-id hashes, places) of the lines noted."""
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class MessageEnds:
    """The ends and the marks of the kinds asked for (queue-id hash and place, per batch), and
    the lines given so far (:attr:`lines`: the place of the next batch's first line)."""

    def __init__(self, marks: tuple[str, ...]) -> None:
        self.lines = 0
        self._marks: dict[str, _Lines] = {k: [] for k in marks}
        self._ends: _Lines = []

    def clear(self) -> None:
        """Forget the lines given (a fold's result taken)."""
        self.lines = 0
        for held in (*self._marks.values(), self._ends):
            held.clear()

    def add(self, batch: pd.DataFrame) -> None:
        """A batch's marks and ends (its entries are placed from :attr:`lines` on before)."""
        for kind, held in self._marks.items():
            self._note(batch, _MARKS[kind](batch), held)
        self._note(batch, end_rows(batch), self._ends)
        self.lines += len(batch)

    def _note(self, batch: pd.DataFrame, rows: np.ndarray | None, held: _Lines) -> None:
        if rows is not None and rows.any():
            held.append((row_hashes(batch, rows), self.lines + np.flatnonzero(rows)))

    def kept(self, kind: str, qid: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Of the entries (queue-id hashes ``qid``, places ``at``), those read: a mark of ``kind``
        of their queue id comes, and before the first end at or after them (of the lines so far)."""
        first, end = self._bounds(kind, qid, at)
        return (first != _NONE) & (first < end)

    def dead(self, kind: str, qid: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Of the entries, those let go of by the lines so far: an end at or after them comes
        before any mark of ``kind`` of their queue id (whatever lines come later)."""
        first, end = self._bounds(kind, qid, at)
        return end < first

    def _bounds(self, kind: str, qid: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per entry, the place of its queue id's first mark and of its first end at or after it
        (none: the greatest int64)."""
        look_q, look_at = _cat(self._marks[kind])
        end_q, end_at = _cat(self._ends)
        return _first(qid, look_q, look_at), _next_end(qid, at, end_q, end_at)


def _next_end(qid: np.ndarray, at: np.ndarray, end_q: np.ndarray, end_at: np.ndarray) -> np.ndarray:
    """Per entry, the place of the first end of its queue id at or after it (none: the greatest
    int64): the entries and ends sorted by (queue id, place, an entry before an end of its own
    line), each one's next end a reversed running minimum."""
    if not len(qid) or not len(end_q):
        return np.full(len(qid), _NONE, dtype=np.int64)
    q = np.concatenate([qid, end_q])
    place = np.concatenate([at, end_at])
    is_end = np.concatenate([np.zeros(len(qid), np.int8), np.ones(len(end_q), np.int8)])
    order = np.lexsort((is_end, place, q))
    pos = np.where(is_end[order] == 1, np.arange(len(order)), len(order))
    nxt = np.minimum.accumulate(pos[::-1])[::-1]
    found = nxt < len(order)
    safe = np.where(found, nxt, 0)
    found &= q[order][safe] == q[order]
    end_of = np.full(len(order), _NONE, dtype=np.int64)
    end_of[order] = np.where(found, place[order][safe], _NONE)
    return end_of[:len(qid)]


def _first(qid: np.ndarray, q: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per queue-id hash of ``qid``, the least place ``at`` of its hash among ``q`` (none: the
    greatest int64)."""
    out = np.full(len(qid), _NONE, dtype=np.int64)
    if len(q):
        lo = np.lexsort((at, q))
        uq, start = np.unique(q[lo], return_index=True)
        g = np.minimum(np.searchsorted(uq, qid), len(uq) - 1)
        hit = uq[g] == qid
        out[hit] = at[lo][start][g[hit]]
    return out
