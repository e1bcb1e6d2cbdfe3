"""Which lines of a batch the report folds into a :class:`analyzer.anomalies.aggregates.Bulk`
rather than keeping them as rows: :func:`is_bulk` (sessions' bookkeeping lines, Postfix's
message-id= and removed lines that say nothing) and :func:`counted_apart` (queued, received and
Exim's Completed lines that say nothing), built of a batch's shared column tests
(:func:`.batch_tests.tests_of`); :func:`_eq`, a column's equality test for callers without them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..class_codes import pick
from .arrow_columns import categorical_eq, distinct_codes, eq_arrow
from .batch_tests import tests_of

__all__ = ["BULK_EVENTS", "MESSAGE_EVENTS", "counted_apart", "fold_masks", "is_bulk", "is_completed", "is_queued",
           "is_received"]

#: The events of a session's lines that are folded: session start and end, TLS set-up, postscreen passes.
BULK_EVENTS = ("connect", "disconnect", "tls", "screen")
#: The events of a message's lines that are folded: Postfix's cleanup message-id= and qmgr removed
#: (the message's first time is kept per queue id: :attr:`Bulk.qids`).
MESSAGE_EVENTS = ("message_id", "removed")
#: The columns the fold reads: a table without them (a history store's narrow rows) folds nothing.
_NEEDS = frozenset({"ts", "event", "outcome", "severity", "direction", "cause", "source", "host", "program",
                    "reply_class", "line_no"})

#: Columns up to this many rows are compared through their cached codes (a stream batch; a whole
#: day's table is compared directly, not held by the cache).
_CODED_ROWS = 100_000


def _eq(s: pd.Series, value: str | tuple[str, ...]) -> np.ndarray:
    """Where ``s`` equals ``value`` (or one of the values), null as False. An Arrow-backed string
    column is compared by one Arrow kernel, a Categorical by its codes (a value per category):
    the folds' masks compare a batch's columns a dozen times, and pandas' own comparison cost
    ten times the kernel's (measured: 0.6 against 0.07 ms on a 28k-row batch). A batch's column is
    dictionary-encoded once (:func:`analyzer.anomalies.arrow_columns.distinct_codes`) and each test
    then reads its few distinct values: 40 tests of a 28k-row batch 7.7 -> 5.1 CPU-ms."""
    values = [value] if isinstance(value, str) else list(value)
    data = getattr(s.array, "_pa_array", None)
    if data is not None and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        if len(data) <= _CODED_ROWS:  # a stream batch: its columns are compared again and again
            distinct, codes = distinct_codes(data)
            return pick(np.append(np.isin(distinct, values), False), codes)  # a null's code: the trailing False
        return eq_arrow(data, value)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return categorical_eq(s, values)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "python":
        # (the Bulk's key columns: each row a reference to its value's one string, nulls NaN or
        # None) compared by numpy on the objects: a tenth of pandas' own comparison of them
        # (measured: 2 against 21 ms on the 220k rows of a 1M-line Postfix day's Bulk)
        objects = np.asarray(s.array, dtype=object)  # (no copy)
        out = objects == values[0]
        for v in values[1:]:
            out |= objects == v
        return np.asarray(out, dtype=bool)
    # (a copy: pandas' copy-on-write may hand out a read-only view, and callers combine masks in place)
    if isinstance(value, str):
        return np.array((s == value).fillna(False).to_numpy(dtype=bool), dtype=bool)
    return np.array(s.isin(values).fillna(False).to_numpy(dtype=bool), dtype=bool)


class _Masks:
    """The fold's masks of a batch, built of its shared column tests (:func:`.batch_tests.tests_of`:
    each comparison and null test made once per batch, for these masks and the report's others)."""

    def __init__(self, batch: pd.DataFrame) -> None:
        self.t = tests_of(batch)
        self.has = self.t.columns
        self.null = self.t.null
        self.eq = self.t.eq

    def nulls(self, names: tuple[str, ...], m: np.ndarray) -> np.ndarray:
        for name in names:
            m = m & self.null(name)
        return m

    @property
    def well(self) -> np.ndarray:
        """The lines that went well: outcome ok or info, severity info, no resource trouble."""
        m = self.t.memo.get("well")
        if m is None:
            m = self.t.memo["well"] = self.eq("outcome", ("ok", "info")) & self.eq("severity", "info") \
                & ~self.eq("cause", "local.resource")
            m.flags.writeable = False
        return m

    def bulk(self) -> np.ndarray:
        if not self.has >= _NEEDS:
            return np.zeros(self.t.rows, dtype=bool)
        session = self.eq("event", BULK_EVENTS) & self.eq("direction", ("inbound", "outbound")) & self.null("queue_id")
        # a message's bookkeeping line that names nobody and says nothing (Exim's Completed has a status)
        message = self.eq("event", MESSAGE_EVENTS) & ~self.null("queue_id") if "queue_id" in self.has else \
            np.zeros(self.t.rows, dtype=bool)
        message = self.nulls(("status", "sender", "recipient", "detail", "reply_text", "client_ip"), message)
        return (session | message) & self.well & self.null("sasl_username") & self.null("cause_ref")

    def _said_nothing(self, need: set[str], m: Any, names: tuple[str, ...]) -> np.ndarray:
        """Of the lines ``m`` (a function giving a mask), those that went well and whose columns
        ``names`` are null; none when the batch lacks a column of ``need``."""
        if not self.has >= _NEEDS | need:
            return np.zeros(self.t.rows, dtype=bool)
        m = m()
        return self.nulls(names, m) & self.well if m.any() else m

    def queued(self) -> np.ndarray:
        return self._said_nothing({"queue_id", "sender"}, lambda: self.eq("event", "queued") & ~self.null("queue_id"),
                                  ("status", "recipient", "detail", "reply_text", "client_ip", "sasl_username",
                                   "cause_ref"))

    def received(self) -> np.ndarray:
        return self._said_nothing({"queue_id", "sender"}, lambda: np.array(self.eq("event", "received")),
                                  ("status", "recipient", "detail", "reply_text", "sasl_username", "cause_ref"))

    def completed(self) -> np.ndarray:
        def removed() -> np.ndarray:
            m = self.eq("event", "removed")
            return m & self.eq("status", "completed") & ~self.null("queue_id") if m.any() else np.array(m)

        return self._said_nothing({"queue_id", "status"}, removed,
                                  ("sender", "recipient", "detail", "reply_text", "client_ip", "sasl_username",
                                   "cause_ref"))

    def apart(self) -> np.ndarray:
        return self.queued() | self.received() | self.completed()


def is_bulk(batch: pd.DataFrame) -> np.ndarray:
    """The lines of ``batch`` that are only counted: a session's connect, normal disconnect, TLS
    and postscreen lines, inbound or outbound, of no message (no queue id); and Postfix's
    message-id= and removed lines of a message that name nobody and say nothing (no status,
    sender, recipient, detail, reply or client). All of them went well (outcome ok or info,
    severity info), name no SASL user, take no cause from another line and are no resource
    trouble. None in a table that lacks a column the fold reads."""
    return _Masks(batch).bulk()


def is_queued(batch: pd.DataFrame) -> np.ndarray:
    """Postfix qmgr's 'queued' lines (``from=<...>, size=, nrcpt= (queue active)``: a message's
    sender, once per delivery round) that went well and say nothing more: the report counts them
    (:class:`Bulk`) and reads only their queue id and sender (:attr:`Bulk.senders`), so it folds
    them apart from the rows like :func:`is_bulk`'s lines (the peers' sections read them as rows:
    :func:`is_bulk` itself leaves them out). None in a table that lacks a column the fold reads."""
    return _Masks(batch).queued()


def is_received(batch: pd.DataFrame) -> np.ndarray:
    """A message's arrival lines (Postfix smtpd/pickup ``client=``/``uid=`` lines, Exim's ``<=``)
    that went well and say nothing more: the report counts them (:class:`Bulk`, under their own
    ``kind``, so that receptions keep their times and last lines) and reads their sender
    (:attr:`Bulk.senders`), so it folds them apart from the rows; the peers' sections read them as
    rows (:func:`is_bulk` leaves them out). None in a table that lacks a column the fold reads."""
    return _Masks(batch).received()


def is_completed(batch: pd.DataFrame) -> np.ndarray:
    """Exim's 'Completed' lines (event removed, status completed) of a message that name nobody
    and say nothing else: :func:`is_bulk`'s message lines but for their status. The report reads
    nothing of them but their time, file and line, and the message's first time, all of which
    :class:`Bulk` keeps, so it folds them apart from the rows (a third of an Exim day's rows);
    the peers' sections read them as rows (:func:`is_bulk` leaves them out). None in a table that
    lacks a column the fold reads."""
    return _Masks(batch).completed()


def counted_apart(batch: pd.DataFrame) -> np.ndarray:
    """The lines the report folds into a :class:`Bulk` beside :func:`is_bulk`'s: :func:`is_queued`,
    :func:`is_received` and :func:`is_completed`."""
    return _Masks(batch).apart()


def fold_masks(batch: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`is_bulk`, :func:`counted_apart`) of ``batch``, their shared tests made once."""
    m = _Masks(batch)
    return m.bulk(), m.apart()
