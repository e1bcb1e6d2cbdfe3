"""The messages' first times :class:`~.aggregates.BulkFold` holds while the day is read
(:attr:`~.aggregates.Bulk.qids`): one entry per folded line naming a queue id, or with
``first_only`` each chunk's first entries per queue id and side of the split
(:func:`.bulk_held._first_qids`), and with ``deferred_only`` only those a deferral may read: a
message's entries are let go of once it ends before any deferred delivery of its queue id
(:class:`.bulk_ends.MessageEnds`; the native fold's ``firsts_of``, native/src/bulkfold_firsts.rs).

Exact with the chunks: the entries ended so far are dropped from a chunk before its first
entries are picked; the entries of a queue id not let go of then all lie after its last end (or
after its first deferral), so a later end lets go of all of them or none, and picking first
then dropping equals dropping then picking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .bulk_ends import DEFERRALS, MessageEnds
from .bulk_held import _empty_qids, _first_qids, _Held, _held_ts, _joined, _with_sec


class FirstTimes:
    """The first times' entries: the chunks' picked (:attr:`_done`) and the current chunk's
    per line (:attr:`_chunk`); ``split``: the second that splits the chunks' first entries
    (None: every entry kept); ``ends``: the fold's ends and deferrals where only the deferred
    messages' entries are kept (``deferred_only``; each entry then holds its line's place, ``at``)."""

    def __init__(self, split: int | None, ends: MessageEnds | None) -> None:
        self._split = split
        self._ends = ends
        self._done: list[_Held] = []
        self._chunk: list[_Held] = []

    def hold(self, qid: np.ndarray, sec: np.ndarray, ns: np.ndarray, at: np.ndarray) -> None:
        """A batch's entries: the queue ids' hashes, the lines' seconds and nanoseconds and their
        places among all the lines given (:attr:`.MessageEnds.lines` on)."""
        entries: dict[str, Any] = {"qid": qid, "ts": _held_ts(sec, ns)}
        if self._ends is not None:
            entries["at"] = at
        self._chunk.append(entries)

    def compact(self) -> None:
        """The chunk's first entries picked (with ``first_only``), after those let go of."""
        if self._split is not None and self._chunk:
            self._done.append(_first_qids(self._live(_joined(self._chunk)), self._split))

    def _live(self, q: _Held) -> _Held:
        """The entries not let go of by the lines so far."""
        if self._ends is None:
            return q
        keep = ~self._ends.dead(DEFERRALS, q["qid"], q["at"])
        return q if keep.all() else {k: v[keep] for k, v in q.items()}

    def result(self) -> pd.DataFrame:
        """:attr:`~.aggregates.Bulk.qids` (the state emptied). With first_only, each chunk's
        first entries, not cut again over the whole (a sort of every message's entry: the 10M
        report's peak, +170 MiB): a message seen in two chunks keeps an entry of each, later than
        its first, which no reader of Bulk.qids tells apart (the earliest time per queue id and
        side of the split: see _first_qids)."""
        self.compact()
        parts = self._done if self._split is not None else self._chunk
        self._done, self._chunk = [], []
        if not parts:
            return _empty_qids()
        q = _joined(parts)
        if self._ends is not None:  # only the deferred messages' entries, not ended before
            at = q.pop("at")
            keep = self._ends.kept(DEFERRALS, q["qid"], at)
            del at
            q = {k: v[keep] for k, v in q.items()}
        return _with_sec(q)
