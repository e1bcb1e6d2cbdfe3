"""The line header: timestamp, host, program and pid, for every log flavour we read.

Flavours (tried per batch, the one that matched most in the file so far first):

* ``syslog``  classic BSD syslog and journalctl short: ``Nov 29 10:00:00 mx postfix/smtpd[12]: msg``
  (also with fractional seconds).
* ``rfc3339`` RFC 3339 / RFC 5424-style syslog and journalctl short-iso(-precise):
  ``2026-11-29T10:00:00.123456+01:00 mx postfix/smtpd[12]: msg``.
* ``exim``    Exim's own log files: ``2026-11-29 10:00:00[.123] [+0100] [[pid]] msg``.
* ``notime``  journal lines whose program prints its own stamp: ``mx exim[12]: 2026-11-29 10:00:00 msg``.

Yearless stamps take their year from a per-file :class:`Clock`; zone-less stamps are in ``tz``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..line_patterns import MONTHS  # (held without pyarrow, re-exported)
from ..schema import TS, cast_or_null
from .engine import match_regex, nonempty

__all__ = ["HEADERS", "MONTHS", "Clock", "split_files", "split_headers"]

_MON = "|".join(MONTHS)
_PROG = r"(?P<program>[^\s\[\]:]+)(?:\[(?P<pid>\d{1,10})\])?"

_TAG = r"(?P<tag>[^\s\[\]:]+(?:\[\d+\])?)"

# Few capture groups on purpose: RE2's cost grows with them, and these run over every line.
HEADERS: dict[str, str] = {
    "syslog": rf"^(?P<stamp>[A-Z][a-z]{{2}} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) {_TAG}: (?P<msg>.*)$",
    "rfc3339": rf"^(?P<stamp>\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{{1,9}})?(?:Z|[+-]\d\d:?\d\d)?) (?P<host>\S+) {_TAG}: (?P<msg>.*)$",
    "exim": r"^(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})?(?: [+-]\d{4})?)"
            r"(?: \[(?P<pid>\d{1,10})(?::\d+)?\])?(?: (?P<msg>.*))?$",
    # classic syslog with a one-space day or fractional seconds (rare; slower)
    "syslog_loose": rf"^(?P<mon>{_MON}) {{1,2}}(?P<day>\d{{1,2}}) (?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d{{1,9}})? "
                    rf"(?P<host>\S+) {_TAG}: ?(?P<msg>.*)$",
    "notime": rf"^(?P<host>[\w.-]+) {_TAG}: (?P<msg>\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d.*)$",
}
#: The same headers without the message, for the pure-Python engine: the message is the rest of
#: the line after ``_head`` (cut by byte offsets, :func:`_after`), which costs far less than
#: capturing it (RE2 captures slowly over long texts). Same matches, same groups.
_HEAD_ONLY: dict[str, str] = {
    "syslog": rf"^(?P<_head>(?P<stamp>[A-Z][a-z]{{2}} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) {_TAG}: )",
    "rfc3339": rf"^(?P<_head>(?P<stamp>\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{{1,9}})?(?:Z|[+-]\d\d:?\d\d)?) "
               rf"(?P<host>\S+) {_TAG}: )",
    "exim": r"^(?P<_head>(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})?(?: [+-]\d{4})?)"
            r"(?: \[(?P<pid>\d{1,10})(?::\d+)?\])?(?: |$))",
    "syslog_loose": rf"^(?P<_head>(?P<mon>{_MON}) {{1,2}}(?P<day>\d{{1,2}}) (?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d{{1,9}})? "
                    rf"(?P<host>\S+) {_TAG}: ?)",
}
# which flavour a user's --format names
FORMAT_FLAVOURS = {"syslog": ("syslog", "syslog_loose", "notime"), "rfc3339": ("rfc3339",), "exim": ("exim",)}
_EXIM_STAMP = r"^(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d(?:\.\d{1,9})?)(?: (?P<off>[+-]\d{4}))?"


@dataclass
class Clock:
    """Year and zone for one file's yearless stamps.

    The first yearless line gets ``year`` if given, else the year that puts it at or before
    ``reference`` (the file's modification time, or now for stdin). After that, a month going
    from December back to January moves to the next year (and a straggler going back to
    December, to the previous one).
    """

    tz: str
    year: int | None = None
    reference: dt.datetime | None = None
    _current: int | None = None
    _prev_month: int | None = None

    def years(self, months: np.ndarray, days: np.ndarray) -> np.ndarray:
        if len(months) == 0:
            return np.zeros(0, dtype=np.int64)
        if self._current is None:
            if self.year is not None:
                self._current = self.year
            else:
                ref = (self.reference or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(self.tz))
                first = (int(months[0]), int(days[0]))
                self._current = ref.year - 1 if first > (ref.month, ref.day) else ref.year
            self._prev_month = int(months[0])
        prev = np.concatenate([[self._prev_month], months[:-1]])
        step = months - prev
        wrap = np.where(step < -6, 1, np.where(step > 6, -1, 0))
        years = self._current + np.cumsum(wrap)
        self._current = int(years[-1])
        self._prev_month = int(months[-1])
        return years.astype(np.int64)


@dataclass
class HeaderState:
    """What the header parser remembers across the batches of one file."""

    clock: Clock
    order: list[str] = field(default_factory=lambda: list(HEADERS))
    counts: dict[str, int] = field(default_factory=dict)
    forced: str | None = None

    def flavour(self) -> str | None:
        return max(self.counts, key=self.counts.get) if self.counts else None


def _local_to_utc(naive: pa.Array, tz: str) -> pa.Array:
    local = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return local.cast(TS)


def _syslog_ts(mon: pa.Array, day: pa.Array, time: pa.Array, frac: pa.Array, clock: Clock) -> pa.Array:
    """Yearless stamps to UTC. Lines share seconds, so each distinct (year, stamp) is converted
    once and mapped back (a log of a million lines has some tens of thousands of seconds)."""
    month_idx = pc.index_in(mon, value_set=pa.array(MONTHS))
    ok = pc.is_valid(month_idx).to_numpy(zero_copy_only=False)
    months = pc.fill_null(pc.add(month_idx, 1), 1).to_numpy(zero_copy_only=False).astype(np.int64)
    dayn = pc.fill_null(pc.cast(day, pa.int64()), 1).to_numpy(zero_copy_only=False)
    years = clock.years(months, dayn)
    stamp = pc.binary_join_element_wise(mon, day, time, " ")
    enc = pc.dictionary_encode(stamp)
    codes = pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    key = years * (len(enc.dictionary) + 1) + codes
    uniq, inverse = np.unique(key, return_inverse=True)
    u_years = uniq // (len(enc.dictionary) + 1)
    u_stamp = pc.take(enc.dictionary, pa.array(uniq % (len(enc.dictionary) + 1)))
    text = pc.binary_join_element_wise(pa.array(u_years.astype(str)), u_stamp, " ")
    naive = pc.strptime(text, format="%Y %b %d %H:%M:%S", unit="us", error_is_null=True)
    utc = _local_to_utc(naive, clock.tz)
    out = pc.take(utc, pa.array(inverse))
    out = pc.if_else(pa.array(ok), out, pa.scalar(None, TS))
    frac = nonempty(frac)
    if frac.null_count < len(frac):
        micros = pc.cast(pc.round(pc.multiply(pc.cast(pc.coalesce(frac, "0"), pa.float64()), 1e6)), pa.int64())
        out = pc.add(out, pc.cast(micros, pa.duration("us")))
    return out


def _iso_ts(stamp: pa.Array, off: pa.Array, tz: str) -> pa.Array:
    """Stamps with an offset are exact; those without are local time in ``tz``. Each distinct
    stamp is converted once."""
    full = pc.binary_join_element_wise(stamp, pc.coalesce(off, ""), "\x00")
    enc = pc.dictionary_encode(full)
    parts = pc.split_pattern(enc.dictionary, "\x00", max_splits=1)
    out = _iso_ts_each(pc.list_element(parts, 0), pc.list_element(parts, 1), tz)
    return pc.take(out, enc.indices)


def _iso_ts_each(stamp: pa.Array, off: pa.Array, tz: str) -> pa.Array:
    stamp = pc.replace_substring(pc.replace_substring(stamp, ",", "."), " ", "T")
    off = nonempty(off)
    has_off = pc.is_valid(off)
    out = pa.nulls(len(stamp), TS)
    if pc.any(has_off).as_py():
        with_off = pc.binary_join_element_wise(stamp, pc.coalesce(off, "Z"), "")
        exact = cast_or_null(with_off, TS)
        out = pc.if_else(has_off, exact, out)
    if not pc.all(has_off).as_py():
        naive = cast_or_null(stamp, pa.timestamp("us"))
        out = pc.if_else(has_off, out, _local_to_utc(naive, tz))
    return out


def _stamps(flavour: str, g: pa.StructArray, clock: Clock, n: int) -> pa.Array:
    if flavour == "syslog":
        stamp = g.field("stamp")
        return _syslog_ts(pc.utf8_slice_codeunits(stamp, 0, 3), pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(stamp, 4, 6)),
                          pc.utf8_slice_codeunits(stamp, 7, 15), pa.nulls(n, pa.string()), clock)
    if flavour == "syslog_loose":
        return _syslog_ts(g.field("mon"), g.field("day"), g.field("time"), g.field("frac"), clock)
    if flavour == "rfc3339":
        stamp = g.field("stamp")
        parts = pc.extract_regex(stamp, pattern=r"^(?P<iso>.*?)(?P<off>Z|[+-]\d\d:?\d\d)?$")
        return _iso_ts(parts.field("iso"), parts.field("off"), clock.tz)
    if flavour == "exim":
        parts = pc.extract_regex(g.field("stamp"), pattern=_EXIM_STAMP)
        return _iso_ts(pc.binary_join_element_wise(parts.field("date"), parts.field("time"), "T"),
                       parts.field("off"), clock.tz)
    return pa.nulls(n, TS)


_TAG_SPLIT = r"^(?P<program>[^\[]+)(?:\[(?P<pid>\d+)\])?$"


def _split_tag(tag: pa.Array, native_engine: bool) -> tuple[pa.Array, pa.Array]:
    """A syslog tag's program and pid ("postfix/smtpd[123]")."""
    if native_engine:
        from .. import native

        m = native.matcher([_TAG_SPLIT])
        if m is not None:
            rows, _, cols = m.run(tag)
            if len(rows) == len(tag):  # every tag splits (the header pattern made sure): same columns
                return cols["program"], cols["pid"]
    tg = pc.extract_regex(tag, pattern=_TAG_SPLIT)
    return tg.field("program"), tg.field("pid")


def split_headers(lines: pa.Array, state: HeaderState) -> tuple[pa.Table, pa.Array]:
    """Split a batch into header fields.

    Returns a table (row, flavour, ts, host, program, pid, msg) for the lines that have a
    header, and the positions of those that have none.
    """
    flavours = FORMAT_FLAVOURS[state.forced] if state.forced else state.order
    order = sorted(flavours, key=lambda f: -state.counts.get(f, 0))

    def count(flavour: str, hits: pa.Array) -> None:
        state.counts[flavour] = state.counts.get(flavour, 0) + len(hits)

    return _split(lines, order, state.clock, count, native_ok=True)


class _FileClocks:
    """The clocks of several files read as one array (:func:`split_files`): each file's yearless
    stamps go to its own clock, in order, as if its lines were read alone."""

    def __init__(self, starts: np.ndarray, clocks: list[Clock]) -> None:
        self.starts, self.clocks, self.tz = starts, clocks, clocks[0].tz
        self.rows = np.zeros(0, dtype=np.int64)  # the rows the next years() call is about

    def file_of(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, rows, side="right") - 1

    def years(self, months: np.ndarray, days: np.ndarray) -> np.ndarray:
        f = self.file_of(self.rows)
        out = np.empty(len(months), dtype=np.int64)
        cuts = np.flatnonzero(np.diff(f)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(f)], strict=True):
            out[a:b] = self.clocks[int(f[a])].years(months[a:b], days[a:b])
        return out


def split_files(arrays: list[pa.Array], states: list[HeaderState]) -> list[tuple[pa.Table, pa.Array]]:
    """:func:`split_headers` of several whole small files, each from a fresh state, read as one
    array: each file's results (and its state afterwards) are those of reading it alone, for one
    pass of each pattern instead of one per file."""
    from .. import native

    k = len(arrays)
    fresh = (all(not s.counts for s in states) and len({(s.forced, tuple(s.order), s.clock.tz) for s in states}) == 1)
    if k < 2 or not fresh or native.matcher([HEADERS["syslog"]]) is not None:
        return [split_headers(a, s) for a, s in zip(arrays, states, strict=True)]
    sizes = np.array([len(a) for a in arrays], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    clocks = _FileClocks(starts[:-1], [s.clock for s in states])
    first = states[0]
    order = list(FORMAT_FLAVOURS[first.forced] if first.forced else first.order)

    def count(flavour: str, hits: pa.Array) -> None:
        per_file = np.bincount(clocks.file_of(hits.to_numpy()), minlength=k)
        for i in np.flatnonzero(per_file):
            states[i].counts[flavour] = states[i].counts.get(flavour, 0) + int(per_file[i])

    table, remaining = _split(pa.concat_arrays(arrays), order, clocks, count, native_ok=False)
    rows = table.column("row").to_numpy()
    f = clocks.file_of(rows)
    by_file = np.argsort(f, kind="stable")
    table = table.take(pa.array(by_file))
    f = f[by_file]
    table = table.set_column(0, "row", pa.array(rows[by_file] - starts[f], pa.int64()))
    bounds = np.searchsorted(f, np.arange(k + 1))
    rest = remaining.to_numpy()
    rbounds = np.searchsorted(rest, starts)
    return [(table.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])),
             pa.array(rest[rbounds[i]:rbounds[i + 1]] - starts[i], pa.int64())) for i in range(k)]


def _split(lines: pa.Array, order: list[str], clock: Clock | _FileClocks, count: Any, *,
           native_ok: bool) -> tuple[pa.Table, pa.Array]:
    n = len(lines)
    remaining = np.arange(n, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)
    parts: list[pa.Table] = []
    from .. import native

    m = native.matcher([HEADERS[f] for f in order]) if native_ok else None
    if m is not None:  # the native core: each line's first matching flavour, in one pass
        found = m.run(lines)
        bounds = np.searchsorted(found[1].to_numpy(), np.arange(len(order) + 1))
    for k, flavour in enumerate(order):
        if len(remaining) == 0:
            break
        rest = None
        if m is not None:
            a, b = int(bounds[k]), int(bounds[k + 1])
            hits = found[0].slice(a, b - a)
            if len(hits) == 0:
                continue
            g = pa.StructArray.from_arrays([found[2][name].slice(a, b - a) for name in m.groups[k]],
                                           names=m.groups[k])
        else:
            cand = pa.array(remaining)
            sub = lines if len(remaining) == n else pc.take(lines, cand)
            head = _HEAD_ONLY.get(flavour) if sub.null_count == 0 else None
            g = pc.extract_regex(sub, pattern=head or HEADERS[flavour])
            valid = g.is_valid()
            hits = pc.filter(cand, valid)
            if len(hits) == 0:
                continue
            g = pc.filter(g, valid)
            if head is not None:
                rest = _after(sub if len(hits) == len(sub) else pc.filter(sub, valid),
                              pc.binary_length(g.field("_head")))
        count(flavour, hits)
        if isinstance(clock, _FileClocks):
            clock.rows = hits.to_numpy()
        ts = _stamps(flavour, g, clock, len(hits))  # type: ignore[arg-type]
        names = g.type.names
        host = nonempty(g.field("host")) if "host" in names else pa.nulls(len(hits), pa.string())
        if "tag" in names:
            program, pid = _split_tag(g.field("tag"), m is not None)
        else:
            program, pid = pa.array(["exim"] * len(hits)), g.field("pid")
        msg = rest if rest is not None else pc.coalesce(g.field("msg"), "")
        if pc.any(match_regex(msg, r"\s$")).as_py():
            msg = pc.utf8_rtrim_whitespace(msg)
        parts.append(pa.table({
            "row": hits,
            "flavour": pa.array([flavour] * len(hits)),
            "ts": ts,
            "host": host,
            "program": program,
            "pid": pid_column(pid),
            "msg": msg,
        }))
        taken[hits.to_numpy()] = True
        remaining = remaining[~taken[remaining]]
    if parts:
        table = pa.concat_tables(parts)
    else:
        table = pa.table({"row": pa.array([], pa.int64()), "flavour": pa.array([], pa.string()),
                          "ts": pa.array([], TS), "host": pa.array([], pa.string()),
                          "program": pa.array([], pa.string()), "pid": pa.array([], pa.int32()),
                          "msg": pa.array([], pa.string())})
    return table, pa.array(remaining)


def _after(arr: pa.Array, k: pa.Array) -> pa.Array:
    """Each string of ``arr`` (no nulls) without its first ``k`` bytes (a whole number of
    characters, at most the string): the bytes are runs of dropped and kept bytes, row after row,
    taken with one numpy mask; no Python per row."""
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    n = len(arr)
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1)
    lo, hi = int(offs[0]), int(offs[-1])
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=hi)[lo:] if hi else np.zeros(0, np.uint8)
    kk = pc.fill_null(k, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    lens = np.diff(offs).astype(np.int64)
    runs = np.empty(2 * n, dtype=np.int64)
    runs[0::2], runs[1::2] = kk, lens - kk
    keep = np.repeat(np.tile(np.array([False, True]), n), runs)
    new_offs = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lens - kk, out=new_offs[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offs), pa.py_buffer(data[keep]))


EXIM_INNER = (r"^(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d(?:\.\d{1,9})?)(?: (?P<off>[+-]\d{4}))?"
              r"(?: \[(?P<pid>\d{1,10})(?::\d+)?\])?(?: (?P<msg>.*))?$")


def pid_column(digits: pa.Array) -> pa.Array:
    """A pid column from its digits: int32, null where empty or too large for a pid (a
    ``postfix/qmgr[99999999999]`` line is read, its pid is not a number any system gives)."""
    d = nonempty(digits)
    d = pc.if_else(pc.less_equal(pc.utf8_length(pc.fill_null(d, "")), 10), d, pa.scalar(None, pa.string()))
    n = pc.cast(d, pa.int64())
    return pc.cast(pc.if_else(pc.less_equal(n, 2**31 - 1), n, pa.scalar(None, pa.int64())), pa.int32())


def strip_inner_exim_stamp(msg: pa.Array, ts: pa.Array, pid: pa.Array, tz: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Exim through syslog/journald may keep its own stamp in the message: use it and strip it."""
    has = match_regex(msg, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    if not pc.any(has).as_py():
        return msg, ts, pid
    g = pc.extract_regex(pc.if_else(has, msg, ""), pattern=EXIM_INNER)
    inner_ts = _iso_ts(pc.binary_join_element_wise(pc.coalesce(g.field("date"), "1970-01-01"),
                                                   pc.coalesce(g.field("time"), "00:00:00"), "T"),
                       g.field("off"), tz)
    ok = pc.and_(has, g.is_valid())
    new_msg = pc.if_else(ok, pc.coalesce(g.field("msg"), ""), msg)
    new_ts = pc.if_else(ok, inner_ts, ts)
    inner_pid = pid_column(g.field("pid"))
    new_pid = pc.coalesce(pid, inner_pid)
    return new_msg, new_ts, new_pid
