"""What the report's peers' fold holds of each stream batch until a flush (:class:`analyzer.report.peers.WindowPeersFold`).

Of each batch the fold holds the lines it keeps (not bulk, inside the window) of the columns
(:data:`MTA_COLUMNS`) and the events (:data:`MTA_EVENTS`) its MTAs' folds read (:func:`selected`),
and folds them a flush of several batches at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..totals import mask

__all__ = ["MTA_COLUMNS", "MTA_EVENTS", "PF_WARNING_EVENTS", "rows_by_mta", "selected"]

#: The columns the peers' folds read (peer_folds, totals, the warnings, the rejects) per MTA: a batch is held with its MTAs' only
MTA_COLUMNS = {"postfix": ("mta", "program", "queue_id", "event", "direction", "client_host", "client_ip", "sender",
                           "recipient", "status", "smtp_stage", "reply_text", "delay", "size", "sasl_username", "detail"),
               "exim": ("ts", "mta", "queue_id", "event", "direction", "client_host", "client_ip", "relay_host",
                        "sender", "recipient", "status", "smtp_stage", "reply_text", "size", "detail", "helo",
                        "relay_ip", "orig_recipient")}
#: The events that Postfix 'warning:' lines become (the generic one and those parsed further).
PF_WARNING_EVENTS = ("warning", "auth_failure", "protocol_error", "dns")
#: The events the peers' folds read per MTA (peer_folds, totals, the warnings, the rejects; Postfix's 'info' for
#: smtpd's 'client before queue'; qmgr's 'removed': a message's slot let go of): the lines held are these only (a fifth of a Postfix day's kept lines are
#: others: dnsbl, disconnect, lost_connection ... that none of pflogsumm's counts reads)
MTA_EVENTS = {"postfix": ("received", "queued", "delivery", "reject", "reject_warning", "filter_action", "info", "removed",
                          *PF_WARNING_EVENTS),
              "exim": ("received", "delivery", "reject", "protocol_error", "too_many_errors", "reply",
                       "connect_failure", "lost_connection", "timeout", "removed")}


def selected(t: pa.Table, keep: pa.Array | None, tests: Any = None) -> tuple[pa.Table, pa.Array | None]:
    """``t``'s columns read of the MTAs it holds, and ``keep`` (None: every row) narrowed to the
    lines of the events read (a null event is read by none): from the event codes of ``tests``
    (the batch's :class:`analyzer.anomalies.batch_tests.BatchTests`, rows as ``t``'s) where the
    masks made them already, else compared. A table of an MTA not known, or without an ``mta``
    column, is held whole."""
    t, read, _ = _selected(t, tests)
    if read is not None:
        keep = pa.array(read) if keep is None else pc.and_(keep, pa.array(read))
    return t, keep


def _selected(t: pa.Table, tests: Any = None) -> tuple[pa.Table, np.ndarray | None, list[Any]]:
    """:func:`selected`'s table and rows read (a mask, None: all), and the MTAs the table names
    (its ``mta`` column's distinct values, a null among them; empty without the column)."""
    if "mta" not in t.column_names:
        return t, None, []
    found = pc.unique(t.column("mta")).to_pylist()
    mtas = set(found)
    if not mtas or not mtas <= set(MTA_COLUMNS):
        return t, None, found
    names = {c for m in mtas for c in MTA_COLUMNS[m]}
    t = t.select([c for c in t.column_names if c in names])
    if "event" not in t.column_names:
        return t, None, found
    events = {e for m in mtas for e in MTA_EVENTS[m]}
    coded = tests.cached_codes("event") if tests is not None else None
    if coded is not None:
        distinct, rows = coded
        return t, np.fromiter((v in events for v in distinct), dtype=bool, count=len(distinct))[rows], found
    event = t.column("event")
    kind = event.type.value_type if pa.types.is_dictionary(event.type) else event.type
    return t, mask(pc.is_in(event, value_set=pa.array(sorted(events), kind))), found


def rows_by_mta(t: pa.Table, keep: np.ndarray, tests: Any = None) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The rows of ``t`` that the fold of each MTA reads, as masks over ``t``'s rows (``t``'s
    columns read of its MTAs, no row copied): those ``keep`` selects of the events read
    (:func:`selected`), split by MTA as :func:`analyzer.totals.by_mta` splits a table of those
    rows (one MTA among them: all of them its own; ``tests``: the batch's, as :func:`selected`)."""
    from ..totals import col, eq

    t, read, found = _selected(t, tests)
    rows = keep if read is None else keep & read
    if not rows.any():
        return t, {}
    if len(found) == 1 and found[0] is not None:  # (the batch of one MTA: no row compared)
        return t, ({found[0]: rows} if found[0] in ("postfix", "exim") else {})
    mta = col(t, "mta")
    parts = {name: rows & eq(mta, name) for name in ("postfix", "exim")}
    present = [name for name, r in parts.items() if r.any()]
    return t, ({name: rows for name in present} if len(present) < 2 else {name: parts[name] for name in present})
