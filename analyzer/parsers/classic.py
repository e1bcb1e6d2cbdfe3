"""The classic syslog headers of a batch the native Postfix readers went through
(:func:`analyzer.parsers._fast_split`, and the summary's fold, :mod:`analyzer.fast_summary`):
the stamps placed in years by the Python clock, the lines left to the Python engine as
:func:`~analyzer.parsers.syslog.split_headers` reads them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import TS
from .syslog import FORMAT_FLAVOURS, HeaderState, split_headers

__all__ = ["classic_headers", "syslog_first"]


def syslog_first(state: HeaderState) -> bool:
    """Whether the classic syslog flavour is tried first (the native readers' lines come first:
    clock and part order)."""
    if state.forced not in (None, "syslog"):
        return False
    flavours = FORMAT_FLAVOURS[state.forced] if state.forced else state.order
    return sorted(flavours, key=lambda f: -state.counts.get(f, 0))[0] == "syslog"

def classic_headers(arr: pa.Array, state: HeaderState, head: tuple, h_rows: bytes,
                    h_cols: list) -> tuple[pa.Table, pa.Array, pa.Array, np.ndarray] | None:
    """The headers of a batch the native readers went through (``head``: their kind, months,
    days, secs, unusual, trailing_space; ``h_rows``/``h_cols``: the lines they left to the Python
    engine): what :func:`split_headers` returns, the stamps of the lines with a classic header
    and their kinds (2: read whole). None where the batch is read as before."""
    from .. import native

    kind, months, days, secs, unusual, trailing = head
    if unusual:
        return None
    kind = np.frombuffer(kind, dtype=np.uint8)
    n_hdr = len(months)
    if n_hdr == 0:
        return None
    state.counts["syslog"] = state.counts.get("syslog", 0) + n_hdr
    naive = native.naive_stamps(state.clock, months, days, secs)  # in Rust, else numpy
    if naive is None:
        months_a = np.frombuffer(months, dtype=np.uint8).astype(np.int64)
        days_a = np.frombuffer(days, dtype=np.uint8).astype(np.int64)
        years = state.clock.years(months_a, days_a)
        naive = _naive(years, months_a, days_a, np.frombuffer(secs, dtype=np.uint32).astype(np.int64))
    ts = _zoned(naive, state.clock.tz)
    hdr_kind = kind[kind > 0]
    n_slow = len(h_rows) // 8
    hc = native.rows_columns(n_slow, h_cols)
    msg = hc["detail"]
    if trailing:
        msg = pc.utf8_rtrim_whitespace(msg)
    slow = pa.table({
        "row": pa.Array.from_buffers(pa.int64(), n_slow, [None, pa.py_buffer(h_rows)]),
        "flavour": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n_slow, dtype=np.int32)),
                                                  pa.array(["syslog"])).cast(pa.string()),
        "ts": pc.filter(ts, pa.array(hdr_kind == 1)),
        "host": hc["host"], "program": hc["program"], "pid": hc["pid"], "msg": msg,
    })
    rest = np.flatnonzero(kind == 0)
    parts = [slow]
    no_header = pa.array(rest)
    if len(rest):
        other, none = split_headers(pc.take(arr, pa.array(rest)), state)
        if other.num_rows:
            other = other.set_column(0, "row", pa.array(rest[other.column("row").to_numpy()]))
            parts.append(other)
        no_header = pa.array(rest[none.to_numpy()], pa.int64())
    headers = pa.concat_tables(parts) if len(parts) > 1 else slow
    return headers, no_header, ts, hdr_kind


def _utc_stamps(years: np.ndarray, months: np.ndarray, days: np.ndarray, secs: np.ndarray, tz: str) -> pa.Array:
    """Local wall-clock stamps to UTC, as ``_syslog_ts`` converts them (each distinct second once)."""
    return _zoned(_naive(years, months, days, secs), tz)


def _naive(years: np.ndarray, months: np.ndarray, days: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Microseconds since 1970 of local wall-clock stamps (int64; the zone not applied)."""
    y = years - (months <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((months + 9) % 12) + 2) // 5 + days - 1
    days_since = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return (days_since * 86400 + secs) * 1_000_000


#: zone names whose wall clock is UTC's (the stamps are taken as they are)
_UTC = frozenset({"UTC", "Etc/UTC"})


def _zoned(naive: np.ndarray, tz: str) -> pa.Array:
    """:func:`_naive`'s stamps read in zone ``tz``, as UTC stamps (:data:`analyzer.schema.TS`)."""
    if tz in _UTC:
        return pa.Array.from_buffers(TS, len(naive), [None, pa.py_buffer(np.ascontiguousarray(naive, np.int64))])
    # each run of equal stamps once (a log's lines come in time order: a run a second), not
    # each distinct one (np.unique sorts); the conversion is per value, so the same stamps
    change = np.empty(len(naive), bool)
    change[:1] = True
    np.not_equal(naive[1:], naive[:-1], out=change[1:])
    runs = naive[change]
    inverse = np.cumsum(change) - 1
    local = pc.assume_timezone(pa.array(runs, pa.timestamp("us")), timezone=tz, ambiguous="earliest",
                               nonexistent="earliest").cast(TS)
    return pc.take(local, pa.array(inverse))
