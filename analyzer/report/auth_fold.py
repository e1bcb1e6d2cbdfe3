"""The nightly report's inbound SASL authentication failures, held narrow instead of as rows (#12).

A failed login (event ``auth_failure``) was 4.3k of the 41.8k rows the report kept at 1M Postfix
lines and 8.1k of 81.8k at 1M Exim lines (~190 bytes each as a row, growing with the day). What
the report reads of one (r16-rejfold's list of readers):

* its second, file, host and reply class (the window's event count and span, the timeline, the
  servers, silence): the :class:`~analyzer.anomalies.aggregates.Bulk`'s table, as every folded line;
* as a failure (the cause lists' ``outcomes.by_cause``, the cause-spike and new-signature
  detectors): :class:`.ends_fold.EndsFold`'s failure path, as the DNSBL hits;
* its time, client address, SASL user name, cause, file, line and host (the SASL brute-force and
  slow brute-force detectors' counts, runs and evidence, ``top.clients_by_auth_failures``, the
  findings' servers): here, one narrow record a line (codes into shared vocabularies, no Python
  object a line): ~40 bytes instead of ~190. Those readers take :func:`lines_frame`'s table of
  them in place of the rows they were, with the rows' column types, in the rows' order (time,
  then input order): so they need no parameter of the detectors (bucket, evidence) and no cut
  of the window but the rows' own.

:func:`is_foldable_auth` says which lines; :class:`AuthFold` holds them (``add(batch, mask)``);
its ``result()`` is the table of all of them (``sections["auth"]``), cut at the window's limits
by :func:`analyzer.report.run.make_report` as the rows are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..anomalies.aggregates import ORDER_COLUMN, row_order
from ..anomalies.arrow_columns import hash_arrow, seconds_ns_arrow, taken
from ..anomalies.batch_tests import tests_of
from ..anomalies.client_counts import NO_RECIPIENT, recipient_hashes
from ..anomalies.context import FAILURES
from .ends_fold import _Codes

__all__ = ["AUTH_COLUMNS", "AuthFold", "is_foldable_auth", "is_foldable_reject", "lines_frame"]

#: The events held narrow.
AUTH_EVENT = "auth_failure"
REJECT_EVENT = "reject"
#: The columns read to choose them.
NEEDS = frozenset({"ts", "event", "direction", "outcome", "cause", "queue_id", "recipient", "cause_ref", "client_ip",
                   "sasl_username", "source", "line_no", "host", "client_host"})
#: The columns of a record, as strings: held as codes (the others: time, line number, input order,
#: the recipient's 64-bit hash).
_CODED = ("event", "client_ip", "client_host", "sasl_username", "cause", "source", "host")
#: The columns :func:`lines_frame` gives (those the readers take of a reject or an authentication
#: failure); ``recipient`` as its 64-bit hash (:func:`analyzer.anomalies.aggregates.qid_hash`):
#: the readers count distinct recipients, never show one.
AUTH_COLUMNS = ("ts", "host", "event", "client_ip", "client_host", "recipient", "sasl_username", "source", "line_no",
                "cause")


def _foldable(batch: pd.DataFrame, event: str, no: tuple[str, ...]) -> np.ndarray:
    """Inbound lines of ``event`` with a failure outcome, a time, a client address and a cause,
    naming none of ``no``, of no expiry, bookkeeping nor resource cause. None in a table lacking
    a column read."""
    if not set(batch.columns) >= NEEDS:
        return np.zeros(len(batch), dtype=bool)
    t = tests_of(batch)
    m = t.eq("event", event)
    if not m.any():
        return m
    from .build import BOOKKEEPING_CAUSES

    m = m & t.eq("direction", "inbound") & t.eq("outcome", FAILURES)
    m &= ~t.eq("cause", ("queue.expired", "local.resource", *BOOKKEEPING_CAUSES))
    m &= t.notnull("cause") & t.notnull("ts") & t.notnull("client_ip")
    for c in no:
        m &= t.null(c)
    return m


def is_foldable_auth(batch: pd.DataFrame) -> np.ndarray:
    """Inbound authentication failures (a failure outcome) with a time, a client address and a
    cause, that name no message, recipient nor borrowed cause, of no expiry, bookkeeping nor
    resource cause. None in a table lacking a column read."""
    return _foldable(batch, AUTH_EVENT, ("queue_id", "recipient", "cause_ref"))


def is_foldable_reject(batch: pd.DataFrame) -> np.ndarray:
    """Inbound rejects (a failure outcome: no warning) with a time, a client address and a cause,
    that name no message (a NOQUEUE reject: a unit of its own in the cause lists), SASL user
    (the severity policy reads a client's logins) nor borrowed cause, of no expiry, bookkeeping
    nor resource cause. None in a table lacking a column read."""
    return _foldable(batch, REJECT_EVENT, ("queue_id", "sasl_username", "cause_ref"))


class AuthFold:
    """The lines of :func:`is_foldable_auth` (``add(batch, mask)``), one narrow record each:
    time (ns), input order, line number and int32 codes of :data:`_CODED`."""

    def __init__(self) -> None:
        self._codes = {k: _Codes() for k in _CODED}
        self._pieces: list[dict[str, np.ndarray]] = []
        self._ts_type: pa.DataType | None = None

    def add(self, batch: pd.DataFrame, mask: np.ndarray) -> None:
        if not mask.any():
            return
        a = taken(batch, ("ts", "line_no", "recipient", *_CODED), mask)
        if self._ts_type is None:
            self._ts_type = a["ts"].type
        piece = {k: self._codes[k](a[k]).astype(np.int32) for k in _CODED}
        piece["recipient"] = np.where(a["recipient"].is_valid().to_numpy(zero_copy_only=False),
                                      hash_arrow(a["recipient"]).view(np.int64), NO_RECIPIENT)
        piece["ts"] = seconds_ns_arrow(a["ts"])[1]
        piece["order"] = row_order(batch)[mask]
        piece["line_no"] = a["line_no"].cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        self._pieces.append(piece)

    def result(self) -> pd.DataFrame:
        """The records as :func:`lines_frame` gives them (time, then input order)."""
        pieces, self._pieces = self._pieces, []
        if not pieces:
            return lines_frame({k: np.zeros(0, np.int32) for k in _CODED} | {
                "ts": np.zeros(0, np.int64), "order": np.zeros(0, np.int64), "line_no": np.zeros(0),
                "recipient": np.zeros(0, np.int64)},
                {k: [] for k in _CODED}, self._ts_type)
        d = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
        return lines_frame(d, {k: list(self._codes[k].seen) for k in _CODED}, self._ts_type)


def _categorical(codes: np.ndarray, names: list[Any]) -> pd.Categorical:
    """Codes (-1: null) into ``names`` as a Categorical whose categories are sorted (as the kept
    rows' are: their mode and group-by order as strings)."""
    uniq = np.array([str(v) for v in names], dtype=object)
    rank = np.argsort(uniq, kind="stable")
    new = np.empty(len(uniq) + 1, dtype=np.int64)
    new[rank] = np.arange(len(uniq))
    new[-1] = -1
    return pd.Categorical.from_codes(new[codes], categories=list(uniq[rank]))


def _strings(codes: np.ndarray, names: list[Any]) -> pd.arrays.ArrowStringArray:
    """Codes (-1: null) into ``names`` as an Arrow string column (the kept rows' type of it)."""
    values = pa.array([str(v) for v in names], type=pa.string())
    idx = pa.array(codes, type=pa.int64(), mask=codes < 0)
    return pd.arrays.ArrowStringArray(values.take(idx))


def lines_frame(d: dict[str, np.ndarray], names: dict[str, list[Any]], ts_type: pa.DataType | None) -> pd.DataFrame:
    """The records ``d`` (codes into ``names``) as a table of :data:`AUTH_COLUMNS` with the kept
    rows' column types, and their input order (:data:`ORDER_COLUMN`), sorted by (time, order)."""
    idx = np.lexsort((d["order"], d["ts"]))
    ts = pa.array(d["ts"][idx], type=pa.int64()).cast(pa.timestamp("ns", "UTC"))
    if ts_type is not None and pa.types.is_timestamp(ts_type):
        ts = ts.cast(ts_type, safe=False)
    line = d["line_no"][idx]
    cols: dict[str, Any] = {
        "ts": pd.Series(ts, dtype=pd.ArrowDtype(ts.type)),
        "host": _categorical(d["host"][idx], names["host"]),
        "event": _categorical(d["event"][idx], names["event"]),
        "client_ip": _strings(d["client_ip"][idx], names["client_ip"]),
        "client_host": _categorical(d["client_host"][idx], names["client_host"]),
        "recipient": recipient_hashes(d["recipient"][idx]),
        "sasl_username": _strings(d["sasl_username"][idx], names["sasl_username"]),
        "source": _categorical(d["source"][idx], names["source"]),
        "line_no": pd.array(pa.array(line, type=pa.float64(), from_pandas=True).cast(pa.int64()),
                            dtype=pd.ArrowDtype(pa.int64())),
        "cause": _categorical(d["cause"][idx], names["cause"]),
        ORDER_COLUMN: d["order"][idx],
    }
    return pd.DataFrame(cols)
