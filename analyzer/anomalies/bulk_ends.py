"""Which of :class:`~.aggregates.BulkFold`'s senders' entries a message's end lets go of
(``looked_up_only``), over the whole day at once: the specification of the native fold's
``senders_of`` (native/src/bulkfold_ends.rs), which drops them as the lines come.

A queue id seen after its message's end (a ``removed`` line: Postfix's removed, Exim's
Completed) names another message (:func:`analyzer.attribution.message_ends`). So a sender's entry
whose message ended before any line looked its queue id up (:func:`.bulk_read.looked_up_rows`)
is never read by the top tables: the first end of its queue id at or after the entry's line comes
before the first look-up of it, or no look-up comes at all. Lines are placed by their position
among all the lines the fold was given, batch after batch (not by the batches' row orders,
which a caller may leave equal)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bulk_read import end_rows, looked_up_rows, row_hashes

_NONE = np.iinfo(np.int64).max


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


class SenderEnds:
    """The places of the senders' entries, the look-ups and the ends (queue-id hash and place,
    per batch); :meth:`dead` tells the entries let go of."""

    def __init__(self) -> None:
        self._lines = 0
        self._at: list[np.ndarray] = []
        self._looks: list[tuple[np.ndarray, np.ndarray]] = []
        self._ends: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, batch: pd.DataFrame, entries: np.ndarray | None) -> None:
        """A batch's lines: ``entries``, the positions in it of the senders' entries it gave (in
        order), its look-ups and its ends."""
        for rows, held in ((looked_up_rows(batch), self._looks), (end_rows(batch), self._ends)):
            if rows is not None and rows.any():
                held.append((row_hashes(batch, rows), self._lines + np.flatnonzero(rows)))
        if entries is not None and len(entries):
            self._at.append(self._lines + entries.astype(np.int64))
        self._lines += len(batch)

    def kept(self, qid: np.ndarray) -> np.ndarray:
        """Of the entries given (their queue ids' hashes ``qid``, in the order given), those the
        top tables may read: a look-up of their queue id comes, and not after their message's
        end. The state is emptied."""
        at = _cat(self._at, np.int64)
        look_q, look_at = (_cat([p[i] for p in self._looks], t) for i, t in ((0, np.uint64), (1, np.int64)))
        end_q, end_at = (_cat([p[i] for p in self._ends], t) for i, t in ((0, np.uint64), (1, np.int64)))
        self.__init__()
        first_look = _first(qid, look_q, look_at)
        if not len(qid) or not len(end_q):
            return first_look != _NONE
        # each entry's first end at or after it: the entries and ends sorted by (queue id, place,
        # an entry before an end of its own line), each one's next end a reversed running minimum
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
        end_of = end_of[:len(qid)]
        return (first_look != _NONE) & (first_look < end_of)


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
