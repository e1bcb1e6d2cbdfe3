"""What the Postfix peers' fold keeps of a message ended at its qmgr ``removed`` line.

:class:`analyzer.peer_folds.PfFold` holds a slot per queue id (flags, first size, sender, last
client): pflogsumm's senders table, bytes received and sending hosts/domains read them at the end.
Held to the end of the day they grow with the day's messages (about 750,000 at 10M Postfix lines).
A message's ``removed`` line is its last: the fold folds what the end reads of it into
:class:`Ended` there and frees the slot, so the slots are the messages in flight only.

**A reused queue id is a new message.** Postfix gives a queue id again once its message is
removed (short ids are made of the queue file's inode and the time's microseconds). pflogsumm
itself never forgets a queue id: it skips the second message's ``size=`` line ("avoid
double-counting"), so the second message counts in neither its senders nor its bytes received,
and its deliveries take the first message's size. Here a line of a queue id after that id's
``removed`` line is another message's, as the Exim fold reads a line after ``Completed``
(:mod:`analyzer.message_ends`): its own size, sender and client. ``tests/test_peer_ended.py``
holds the two readings apart on a day that reuses an id, pflogsumm run on it.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .keyed import key_hash
from .message_ends import deliver_ended, end_cuts, rows_of, slice_rows
from .totals import eq, mask

__all__ = ["DOMAIN", "Ended", "PfEnds", "bare"]

#: pflogsumm's sender with a domain (the domain: group ``d``); a sender without one is counted
#: by its client in the sending hosts/domains (linear in Arrow's RE2)
DOMAIN = r"^[^@]+@(?P<d>.+)$"


def bare(senders: pa.Array) -> np.ndarray:
    """Whether each sender (pflogsumm's form; null: none) has no domain."""
    return ~mask(pc.match_substring_regex(senders, DOMAIN))


def _pairs(sender: np.ndarray, client: np.ndarray) -> np.ndarray:
    """(sender, client) codes as one int64 each (the sender's in the high half)."""
    return (sender.astype(np.int64) << 32) | (client.astype(np.int64) & 0xFFFFFFFF)


class Ended:
    """The received messages ended (their size read): per sender code, messages and bytes; the
    (sender, client) pairs of the senders without a domain; how many ended had a deferral."""

    def __init__(self) -> None:
        self.messages = np.zeros(0, dtype=np.int64)  # per sender code + 1 (a code -1 at 0)
        self.bytes = np.zeros(0, dtype=np.int64)
        self.pairs = np.zeros(0, dtype=np.int64)  # distinct, as _pairs
        self.deferred = 0

    def _room(self, n: int) -> None:
        if n > len(self.messages):
            self.messages = np.concatenate([self.messages, np.zeros(n - len(self.messages), dtype=np.int64)])
            self.bytes = np.concatenate([self.bytes, np.zeros(n - len(self.bytes), dtype=np.int64)])

    def got(self, sender: np.ndarray, client: np.ndarray, size: np.ndarray, no_domain: np.ndarray) -> None:
        """Received messages ended: their senders' and clients' codes, sizes, whether each sender has no domain."""
        if not len(sender):
            return
        at = sender.astype(np.int64) + 1
        self._room(int(at.max()) + 1)
        np.add.at(self.messages, at, 1)
        np.add.at(self.bytes, at, size.astype(np.int64))
        if no_domain.any():
            self.pairs = np.union1d(self.pairs, _pairs(sender[no_domain], client[no_domain]))

    def held(self, codes: np.ndarray, messages: np.ndarray, nbytes: np.ndarray, pair_senders: np.ndarray,
             pair_clients: np.ndarray, deferred: int) -> None:
        """Set from a native fold's (native/src/peerfold_ended.rs): what :meth:`senders` and :meth:`pairs` give."""
        self.messages = np.zeros(0, dtype=np.int64)
        self.bytes = np.zeros(0, dtype=np.int64)
        if len(codes):
            self._room(int(codes.max()) + 2)
            self.messages[codes.astype(np.int64) + 1] = messages
            self.bytes[codes.astype(np.int64) + 1] = nbytes
        self.pairs = np.unique(_pairs(pair_senders, pair_clients))
        self.deferred = int(deferred)

    def senders(self, codes: np.ndarray | None = None, size: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The senders with a message (codes ascending), their messages and bytes: those ended and
        the received messages not ended (``codes``, ``size``: one entry each)."""
        m, b = self.messages, self.bytes
        if codes is not None and len(codes):
            at = codes.astype(np.int64) + 1
            n = max(len(m), int(at.max()) + 1)
            m, b = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
            m[:len(self.messages)], b[:len(self.bytes)] = self.messages, self.bytes
            np.add.at(m, at, 1)
            np.add.at(b, at, np.asarray(size, dtype=np.int64))
        at = np.flatnonzero(m > 0)
        return at - 1, m[at], b[at]

    def sending(self, codes: np.ndarray, client_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What :func:`analyzer.peer_ranked.sending_hosts` reads (a sender code and a client code
        per entry) of the messages ended and of those not (``codes``, ``client_codes``): each
        sender ended once (with no client: read only for a sender without a domain, and those
        come as their pairs), then the pairs, then the messages not ended."""
        pair_senders = (self.pairs >> 32).astype(np.int64)
        pair_clients = (self.pairs & 0xFFFFFFFF).astype(np.uint32).view(np.int32).astype(np.int64)
        ended = np.flatnonzero(self.messages > 0) - 1
        ended = ended[~np.isin(ended, pair_senders)]
        return (np.concatenate([ended, pair_senders, codes.astype(np.int64)]),
                np.concatenate([np.full(len(ended), -1, dtype=np.int64), pair_clients, client_codes.astype(np.int64)]))


class PfEnds:
    """:class:`analyzer.peer_folds.PfFold`'s batches folded in pieces cut at the ``removed``
    lines (:func:`analyzer.message_ends.end_cuts`), and the messages ended there let go of."""

    qids: Any
    senders: Any
    waiting: list[dict[str, Any]]
    ended: Ended

    def _add(self, ev: Any, f: dict[str, Any]) -> None:
        raise NotImplementedError

    def _deliver(self, d: dict[str, Any], final: bool = False) -> None:
        raise NotImplementedError

    def _pieces(self, ev: Any, f: dict[str, Any]) -> None:
        """Fold ``ev`` (its masks ``f``) in pieces none of which holds a line of a queue id after
        that id's ``removed`` line in it, each piece's ended messages let go of after it."""
        from .peer_folds import _pf_frame

        has = f["has_qid"]
        h = np.zeros(len(has), dtype=np.uint64)
        if has.any():
            h[has] = key_hash(f["qid"].filter(pa.array(has)))
        end = f["seen"] & eq(f["event"], "removed") & has
        n = rows_of(ev)
        for lo, hi in pairwise([0, *end_cuts(h, has, end), n]):
            part = ev if hi - lo == n else slice_rows(ev, lo, hi)
            self._add(part, f if part is ev else _pf_frame(part))
            self._end(h[lo:hi][end[lo:hi]])

    def _end(self, h: np.ndarray) -> None:
        """The messages of queue-id hashes ``h`` ended whose size was read (an end read before
        it, as in files read newest first, is not one: its slot stays): their delivery lines
        waiting folded, their sender, client and size kept in :attr:`ended` where received,
        their queue ids forgotten (a later line of the id: a new message)."""
        if not len(h):
            return
        from .peer_folds import _DEFERRED, _RECV, _SIZED

        h = np.unique(h)
        run, pos = self.qids.locate(h)
        flags = self.qids.get("flags", run, pos)
        sized = (flags & _SIZED) > 0
        h, run, pos, flags = h[sized], run[sized], pos[sized], flags[sized]
        if not len(h):
            return
        deliver_ended(self, h)
        got = (flags & _RECV) > 0
        sender, client, size = (self.qids.get(k, run, pos)[got] for k in ("sender", "client", "size"))
        no_domain = np.ones(len(sender), dtype=bool)
        if (sender >= 0).any():
            no_domain[sender >= 0] = bare(self.senders.take(sender[sender >= 0]))
        self.ended.got(sender, client, size, no_domain)
        self.ended.deferred += int(((flags & _DEFERRED) > 0).sum())
        self.qids.remove(h)
