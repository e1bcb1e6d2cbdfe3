"""A message's state dropped at its last line: where a batch is cut, what the ended messages leave.

The peers' folds (:mod:`analyzer.peer_folds`) keep a few fields per message (its size, flags,
arrival); held to the end of the day they grow with the day's messages (1.5M at 10M Exim lines).
Exim's ``Completed`` line is a message's last: :class:`analyzer.peer_folds.ExFold` counts what the
end reads of the message there (delayed, failed, its time on the queue) and forgets its queue id
(:meth:`analyzer.keyed.QidTable.remove`), so it holds the messages in flight only.

A line of a queue id after that id's last line is a new message (as a postmaster reads a log: an
Exim id is unique; Postfix reuses a queue id once its message is removed). So that the result does
not depend on where the day is cut into batches, a batch is folded in pieces (:func:`end_cuts`):
no piece holds a line of a message after that message's last line in the same piece.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["QUEUE_BUCKETS", "ExEnds", "QueueCounts", "deliver_ended", "end_cuts", "rows_of", "slice_rows"]

#: eximstats' default "Time spent on the queue" bucket limits, in seconds (under each; then "over 1d").
QUEUE_BUCKETS: tuple[tuple[int, str], ...] = ((60, "1m"), (300, "5m"), (900, "15m"), (1800, "30m"), (3600, "1h"),
                                               (10800, "3h"), (21600, "6h"), (43200, "12h"), (86400, "1d"))


def end_cuts(h: np.ndarray, has: np.ndarray, end: np.ndarray) -> list[int]:
    """The rows at which a batch is cut into pieces none of which holds a line of a message after
    that message's last line: ``h`` each row's queue-id hash (``has``: the rows with a queue id),
    ``end`` the rows that end their message. A piece from row ``s`` runs up to the first row
    ``r`` whose id ended in rows ``s .. r - 1``. Vectorised but for a step per row that follows
    an end of its own id in the batch (none in a log of unique ids read in order)."""
    if not end.any():
        return []
    # the rows of the ids that end here; none to cut when each one's end is its last row
    rows = np.flatnonzero(has)
    rows = rows[pd.Series(h[rows]).isin(pd.unique(h[end])).to_numpy(dtype=bool)]
    last = ~pd.Series(h[rows]).duplicated(keep="last").to_numpy(dtype=bool)
    if last[end[rows]].all():
        return []
    order = np.lexsort((rows, h[rows]))  # by id, then row
    hs, rs = h[rows][order], rows[order]
    first = np.ones(len(rs), dtype=bool)
    first[1:] = hs[1:] != hs[:-1]
    # per row, the latest end of its id at or before it: a running maximum that restarts at each
    # id (the id's number times n + 1 under it keeps the ids apart)
    gid = np.cumsum(first) - 1
    n1 = len(h) + 1
    upto = np.maximum.accumulate(gid * n1 + np.where(end[rs], rs + 1, 0)) - gid * n1 - 1
    before = np.empty_like(upto)
    before[0] = -1
    before[1:] = upto[:-1]
    before[first] = -1  # strictly before the row, of its own id
    after = before >= 0
    at = np.argsort(rs[after], kind="stable")
    cuts: list[int] = []
    start = 0
    for r, e in zip(rs[after][at].tolist(), before[after][at].tolist(), strict=True):
        if e >= start:  # its id ended in this piece: a new piece from r
            cuts.append(r)
            start = r
    return cuts


def rows_of(ev: pd.DataFrame | pa.Table) -> int:
    return ev.num_rows if isinstance(ev, pa.Table) else len(ev)


def slice_rows(ev: pd.DataFrame | pa.Table, lo: int, hi: int) -> pd.DataFrame | pa.Table:
    """Rows ``lo .. hi - 1`` of a pandas or Arrow table (a pandas one renumbered from 0)."""
    if isinstance(ev, pa.Table):
        return ev.slice(lo, hi - lo)
    return ev.iloc[lo:hi].reset_index(drop=True)


def deliver_ended(fold: Any, h: np.ndarray) -> None:
    """A peers fold's delivery lines waiting for their message's size (``fold.waiting``) whose
    message (a queue-id hash in ``h``) has ended: folded now, as at the end (size 0 where it was
    never read); the others wait on. Both MTAs' folds, at a message's end (Exim's 'Completed',
    :class:`ExEnds`; Postfix's 'removed', :class:`analyzer.peer_ended.PfEnds`)."""
    from .peer_folds import _concat, _sel

    waiting = _concat(fold.waiting)
    fold.waiting = []
    if waiting is None:
        return
    gone = np.isin(waiting["h"], h) & waiting["known"]
    if gone.any():
        fold._deliver(_sel(waiting, gone), final=True)
    if not gone.all():
        fold.waiting.append(_sel(waiting, ~gone))


class QueueCounts:
    """eximstats' "Time spent on the queue" per bucket (:data:`QUEUE_BUCKETS`) of the messages
    counted so far, all and those delivered remotely at least once: a count per bucket, whatever
    the day's messages."""

    def __init__(self) -> None:
        self.all = np.zeros(len(QUEUE_BUCKETS) + 1, dtype=np.int64)
        self.remote = np.zeros(len(QUEUE_BUCKETS) + 1, dtype=np.int64)

    @staticmethod
    def _buckets(queued: np.ndarray, remote: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        limits = np.array([lim for lim, _ in QUEUE_BUCKETS])
        bucket = np.searchsorted(limits, queued, side="right")  # index of the first limit above
        n = len(QUEUE_BUCKETS) + 1
        return np.bincount(bucket, minlength=n), np.bincount(bucket[remote], minlength=n)

    def add(self, queued: np.ndarray, remote: np.ndarray) -> None:
        """Count messages: each one's seconds on the queue, and whether it went out remotely."""
        if len(queued):
            n_all, n_remote = self._buckets(queued, remote)
            self.all += n_all
            self.remote += n_remote

    def table(self, queued: np.ndarray, remote: np.ndarray) -> pd.DataFrame:
        """The section's table of the messages counted and of ``queued``/``remote`` (not counted)."""
        n_all, n_remote = self._buckets(queued, remote)
        n_all, n_remote = n_all + self.all, n_remote + self.remote
        labels = [f"under {QUEUE_BUCKETS[0][1]}"] + [f"{QUEUE_BUCKETS[i - 1][1]} to {QUEUE_BUCKETS[i][1]}"
                                                      for i in range(1, len(QUEUE_BUCKETS))] + [f"over {QUEUE_BUCKETS[-1][1]}"]
        total_all, total_remote = max(int(n_all.sum()), 1), max(int(n_remote.sum()), 1)
        out = pd.DataFrame({"time": labels, "messages": n_all.astype("int64"),
                            "share": (n_all / total_all).round(4),
                            "remote_messages": n_remote.astype("int64"),
                            "remote_share": (n_remote / total_remote).round(4)})
        return out[(out["messages"] > 0) | (out["remote_messages"] > 0)].reset_index(drop=True)


class ExEnds:
    """:class:`analyzer.peer_folds.ExFold`'s messages ended at their 'Completed' line: counted
    (``ended``: delayed and failed; ``queued``: :class:`QueueCounts`) and forgotten."""

    qids: Any
    waiting: list[dict[str, Any]]
    relay_waiting: list[dict[str, Any]]
    completed: list[dict[str, Any]]
    held_srcs: Any  # (analyzer.peer_srcs.HeldSources)
    ended: dict[str, int]
    queued: QueueCounts

    def _deliver(self, d: dict[str, Any], final: bool = False) -> None:
        raise NotImplementedError

    def _relay(self, pairs: dict[str, Any], final: bool = False) -> None:
        raise NotImplementedError

    def _end(self, h: np.ndarray) -> None:
        """The messages of queue-id hashes ``h`` ended ('Completed') whose arrival ('<=') was read:
        their delivery lines waiting for a size and their relayed deliveries waiting for a sending
        host folded now as at the end (size 0, or dropped, when still not read), their times on the
        queue, delayed and failed counted, and their queue ids forgotten (a later line of the id: a
        new message). An end read before its message's arrival (files read newest first, a message
        received before the logs begin) is held to the end, as every end was."""
        if not len(h):
            return
        from .peer_folds import _DEFERRED, _FAILED, _SIZED, _concat, _sel

        run, pos = self.qids.locate(h)
        flags = self.qids.get("flags", run, pos)
        arrived = (flags & _SIZED) > 0
        h, flags = h[arrived], flags[arrived]
        if not len(h):
            return
        deliver_ended(self, h)
        relay = _concat(self.relay_waiting)
        self.relay_waiting = []
        if relay is not None:
            gone = np.isin(relay["h"], h)
            if gone.any():  # (their sending host may have come since they were tried)
                self._relay(_sel(relay, gone), final=True)
            self.relay_waiting = [_sel(relay, ~gone)] if not gone.all() else []
        held = _concat(self.completed)
        self.completed = []
        if held is not None:
            mine = np.isin(held["h"], h)
            if not mine.all():
                self.completed.append(_sel(held, ~mine))
            held = _sel(held, mine)
        self.queued.add(*self._queue_times(held, h))
        self.ended["delayed"] += int(((flags & _DEFERRED) > 0).sum())
        self.ended["failed"] += int(((flags & _FAILED) > 0).sum())
        self.qids.remove(h)
        self.held_srcs.drop(h)

    def _queue_times(self, c: dict[str, Any] | None, h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per 'Completed' line held (``c``), its time minus the message's arrival ('<=' line read,
        else the time in the message id), then the times settled in the entries (of the messages
        ``h``; of all when None), and whether each message went out remotely."""
        from .peer_folds import _REMOTE, _SIZED, _UNSETTLED

        if c is None:
            c = {"h": np.zeros(0, np.uint64), "at": np.zeros(0, np.int64), "id_at": np.zeros(0, np.int64)}
        run, pos = self.qids.locate(c["h"])
        flags = self.qids.get("flags", run, pos)
        start = np.where((flags & _SIZED) > 0, self.qids.get("arrived", run, pos), c["id_at"])
        if h is None:
            settled, their = self.qids.column("queued"), self.qids.column("flags")
        else:
            run, pos = self.qids.locate(h)
            settled, their = self.qids.get("queued", run, pos, default=_UNSETTLED), self.qids.get("flags", run, pos)
        done = settled != _UNSETTLED
        queued = np.concatenate([c["at"] - start, settled[done].astype(np.int64)])
        return queued, np.concatenate([(flags & _REMOTE) > 0, (their[done] & _REMOTE) > 0])

    def queue_times(self) -> pd.DataFrame:
        """eximstats' "Time spent on the queue": per message ended, its 'Completed' line's time
        minus its arrival; all messages, and those with at least one remote delivery."""
        from .peer_folds import _concat

        return self.queued.table(*self._queue_times(_concat(self.completed)))

