"""The native Exim row readers (``analyzer._native.EximReader``, native/src/exim.rs) as a batch step.

For the most frequent lines of an Exim mainlog (arrivals, deliveries, deferrals, bounces,
Completed, SMTP connections and their ends, ACL rejects) the native core reads the whole line,
stamp to derived columns, and gives the final event-table rows. It is built from this package's
specification (fields.py's reply-text patterns and stage rules, exim.py's reply-code defaults);
what it is not sure of it leaves to the pattern engine, and differential tests
(tests/test_native_exim*.py) hold both equal row for row.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import native
from ..line_patterns import QUEUED_AS  # (fields.py's "queued as" id, re-exported: one table)
from ..schema import SCHEMA, TS
from . import exim, fields
from .classic import _UTC

__all__ = ["QUEUED_AS", "read_exim_rows", "reader", "table_digest"]

_TYPES = {"string": pa.string(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
          "float64": pa.float64(), "bool": pa.bool_(), "ts": pa.int64()}


#: the last pattern of exim.PATTERNS the readers reproduce; they follow the table up to there
LAST_READ = "exim.queue_run"
#: sha256 of what the readers reproduce by hand (:func:`table_digest`) as native/src/exim.rs was
#: written against it. When the table changes there, the readers stay off (the pattern engine
#: reads every line) until exim.rs is checked against the new table and this is updated.
TABLE_DIGEST = "57622df2f09be3381850815c44534331f00c6508714a8d2721b15988d02ff30b"


def table_digest() -> str:
    """A digest of the spec the readers reproduce by hand: exim.PATTERNS up to LAST_READ (names,
    regexes, events, constants, in order), the Exim header pattern, fields.py's Exim items."""
    import hashlib

    from .syslog import HEADERS

    names = [p.name for p in exim.PATTERNS]
    upto = names.index(LAST_READ) + 1 if LAST_READ in names else len(names)
    parts = [(p.name, p.regex, p.event, sorted(p.consts.items()), p.daemons) for p in exim.PATTERNS[:upto]]
    spec = (parts, HEADERS["exim"], exim.EXIM_WRAPPED, fields._EXIM_FIELDS, fields._EXIM_FIELD_EVENTS, fields._EXIM_H)
    return hashlib.sha256(repr(spec).encode()).hexdigest()


@lru_cache(maxsize=1)
def _reader() -> Any:
    mod = native._module()[0]
    if mod is None or not hasattr(mod, "EximReader") or table_digest() != TABLE_DIGEST:
        return None
    return native.exim_reader()  # (built without pyarrow: analyzer.early_fold folds with the same reader)


def reader() -> Any:
    """The native reader, or None when the Python engine runs (or ``MAILLENS_FAST=0`` turns the
    whole-row readers off, or the table changed under them)."""
    if native.engine() != "native" or os.environ.get("MAILLENS_FAST", "1") == "0":
        return None
    return _reader()


def read_exim_rows(arr: pa.Array, tz: str) -> tuple[np.ndarray, pa.Table] | None:
    """The rows of ``arr`` (lines) the native readers took: (positions, table with the event
    schema's columns but source and line_no, plus 'row'). None when the native core is off."""
    r = reader()
    if r is None or len(arr) == 0:
        return None
    offsets, data = native.string_views(arr)  # Arrow's buffers, not copied
    n, rows, local, cols = r.read(offsets, data, native.threads())
    positions = np.frombuffer(rows, dtype=np.int64)
    out = reader_columns(n, cols)
    out["ts"] = local_stamps(out["ts"], local, tz)
    table = pa.table({f.name: out[f.name] if f.name in out else pa.nulls(n, f.type)
                      for f in SCHEMA if f.name not in ("source", "line_no")})
    return positions, table.append_column("row", pa.array(positions))


def reader_columns(n: int, cols: list[tuple], skip: tuple[str, ...] = ()) -> dict[str, pa.Array]:
    """The columns of rows as ``EximReader.read`` (and ``fold_exim``'s groups) give them, by name
    (but those in ``skip``); the stamp as int64 micros (:func:`local_stamps`)."""
    out: dict[str, pa.Array] = {}
    for name, kind, nulls, validity, values, strdata in cols:
        if name in skip:
            continue
        bufs = [pa.py_buffer(validity) if nulls else None, pa.py_buffer(values)]
        if strdata is not None:
            bufs.append(pa.py_buffer(strdata))
        out[name] = pa.Array.from_buffers(_TYPES[kind], n, bufs, null_count=nulls)
    return out


def local_stamps(micros: pa.Array, local: Any, tz: str) -> pa.Array:
    """The readers' stamps (int64 micros) as the event table's: a stamp without an offset
    (``local``: one byte per row) is local time in the file's zone (syslog._local_to_utc)."""
    ts = micros.view(TS)
    is_local = np.frombuffer(local, dtype=np.uint8).astype(bool)
    if tz not in _UTC and is_local.any():  # (a zone whose wall clock is UTC's: the stamps as they are)
        naive = micros.view(pa.timestamp("us"))
        there = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest").cast(TS)
        ts = pc.if_else(pa.array(is_local), there, ts)
    return ts
