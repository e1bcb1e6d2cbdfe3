"""What :class:`~.aggregates.BulkFold` reads of a batch's folded lines (:class:`_Read`), and the
lines that mark, end or look up a message (:func:`deferred_rows`, :func:`end_rows`,
:func:`looked_up_rows`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .arrow_columns import _decoded, _one_array, as_arrow, as_string, codes_of, encoded, eq_arrow, hash_arrow, taken
from .batch_tests import tests_of

__all__ = ["qid_hashes"]

#: The columns :meth:`BulkFold.add` reads of the lines it folds.
_READS = ("ts", "program", "direction", "event", "quit", "source", "host", "reply_class", "line_no", "queue_id",
          "sender", "status")
#: The columns :meth:`BulkFold.add` reads of a stream batch's folded lines as they are (the others
#: it compares, encodes or hashes whole: see :class:`_Read`).
_READS_TAKEN = ("ts", "line_no", "quit")


class _Read:
    """The columns :meth:`BulkFold.add` reads of a batch's lines ``m``. A stream batch's (its own
    Arrow table) are compared by the batch's shared tests (:func:`.batch_tests.tests_of`: most of
    them made for its masks already), encoded by them (:meth:`.batch_tests.BatchTests.codes`: the
    classification's codes, or one dictionary encoding per batch shared with the masks), the queue
    ids hashed whole once (:func:`qid_hashes`, shared with :func:`row_hashes`) and the senders
    taken at the few lines that name one: only the columns read as they are (:data:`_READS_TAKEN`)
    are filtered (a filter of its twelve columns, the string ones copied, was a fifth of the fold's
    CPU at the 1M days). Another table's are taken at the lines and compared, encoded and hashed
    there, as they always were."""

    def __init__(self, batch: pd.DataFrame, m: np.ndarray) -> None:
        self.m = m
        self.batch = batch
        self.tests = tests_of(batch)
        self.whole = self.tests.table is not None
        self.rows = taken(batch, _READS_TAKEN if self.whole else _READS, m)

    def has(self, name: str) -> bool:
        return name in self.tests.columns if self.whole else name in self.rows

    def eq(self, name: str, value: str | tuple[str, ...]) -> np.ndarray:
        """Where column ``name`` of the lines equals ``value`` (or one of the values), null as False."""
        return self.tests.eq(name, value)[self.m] if self.whole else eq_arrow(self.rows[name], value)

    def valid(self, name: str) -> np.ndarray:
        """Where column ``name`` of the lines is not null."""
        if self.whole:
            return self.tests.notnull(name)[self.m]
        return self.rows[name].is_valid().to_numpy(zero_copy_only=False)

    def encoded(self, name: str) -> tuple[list[Any], np.ndarray]:
        """(the column's distinct values, None among them or not; each line's index into them:
        a null's is None's, or their number where None is not among them)."""
        if self.whole:
            coded = self.tests.codes(name)
            if coded is not None:
                return list(coded[0]), coded[1][self.m]
        data = _one_array(self.tests.table.column(name)) if self.whole else self.rows[name]
        enc = encoded(_decoded(data))
        codes = codes_of(enc)
        return enc.dictionary.to_pylist(), codes[self.m] if self.whole else codes

    def qid_hash(self) -> np.ndarray:
        """:func:`~.aggregates.qid_hash` of the lines' queue ids."""
        return qid_hashes(self.batch)[self.m] if self.whole else hash_arrow(self.rows["queue_id"])

    def strings(self, name: str, at: np.ndarray) -> pa.Array:
        """Column ``name`` at the lines ``at`` (a mask of the lines), as Arrow strings."""
        if not self.whole:
            return as_string(self.rows[name].filter(pa.array(at)))
        pos = np.flatnonzero(self.m)[at]
        return as_string(_decoded(_one_array(self.tests.table.column(name))).take(pa.array(pos)))


def qid_hashes(batch: pd.DataFrame) -> np.ndarray:
    """:func:`~.aggregates.qid_hash` of every line of a stream batch's ``queue_id`` (nulls hash alike: mask
    them apart), made once per batch (kept in its :class:`.batch_tests.BatchTests`)."""
    t = tests_of(batch)
    got = t.memo.get("qid_hash")
    if got is None:
        data = t.table.column("queue_id") if t.table is not None else as_arrow(batch["queue_id"])
        got = hash_arrow(_decoded(_one_array(data)))
        t.memo["qid_hash"] = got
    return got


def deferred_rows(batch: pd.DataFrame) -> np.ndarray | None:
    """A batch's deferred delivery lines (event delivery, status deferred) that name a queue id
    (None: the batch has not the columns)."""
    if not {"event", "status", "queue_id"} <= set(batch.columns):
        return None
    t = tests_of(batch)
    return t.eq("event", "delivery") & t.eq("status", "deferred") & t.notnull("queue_id")


def looked_up_rows(batch: pd.DataFrame) -> np.ndarray | None:
    """A batch's lines whose message's sender the report's top tables look up
    (:func:`analyzer.report.top._top`: a delivery or expiry line, outbound or not inbound with a cause
    taken from another line, naming no sender; None: the batch has not the columns to tell). Where no
    such line names a queue id, its message's entry in :attr:`Bulk.senders` is never read."""
    if not {"event", "direction", "queue_id", "sender"} <= set(batch.columns):
        return None
    t = tests_of(batch)
    out = t.eq("direction", "outbound")
    if "cause_ref" in t.columns:
        out = out | (t.notnull("cause_ref") & ~t.eq("direction", "inbound"))
    return t.eq("event", ("delivery", "expired")) & out & t.null("sender") & t.notnull("queue_id")


def end_rows(batch: pd.DataFrame) -> np.ndarray | None:
    """A batch's lines that end a message (event ``removed``: Postfix's removed, Exim's Completed)
    and name its queue id (None: the batch has not the columns)."""
    if not {"event", "queue_id"} <= set(batch.columns):
        return None
    t = tests_of(batch)
    return t.eq("event", "removed") & t.notnull("queue_id")


def row_hashes(batch: pd.DataFrame, m: np.ndarray, t=None) -> np.ndarray:
    """:func:`~.aggregates.qid_hash` of the queue ids of the lines ``m`` (a mask), in order (``t``: the
    batch's :func:`tests_of`, when at hand)."""
    if (tests_of(batch) if t is None else t).table is not None:  # the whole column's, shared with BulkFold.add's
        return qid_hashes(batch)[m]
    return hash_arrow(taken(batch, ("queue_id",), m)["queue_id"])
