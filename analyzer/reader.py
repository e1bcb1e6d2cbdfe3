"""Read logs into the event table: inputs → batches → parsers → one Arrow-backed DataFrame."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pyarrow as pa

from .coalesce import BatchQueue
from .overlap import drop_repeated_runs
from .parsers import FORMATS, FileContext, LineCounts, parse_batch, split_batch
from .parsers.syslog import Clock, HeaderState
from .schema import SCHEMA, empty_table, to_pandas
from .sources import Input, expand_inputs, iter_batches

__all__ = [
    "FileSummary",
    "OptionError",
    "ParseResult",
    "UnrecognisedLines",
    "default_tz",
    "parse_lines",
    "parse_logs",
    "read_logs",
]


_WORKERS = max(1, min(4, os.cpu_count() or 1))
_POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="maillens-parse")


class OptionError(ValueError):
    """A parameter makes no sense (unknown format or zone)."""


class UnrecognisedLines(ValueError):
    """--strict: some lines looked like Postfix/Exim but matched no pattern."""


@dataclass
class FileSummary:
    name: str
    lines: int
    events: int
    flavour: str | None
    not_mail: int = 0  # lines with no header, or from programs other than Postfix/Exim


@dataclass
class ParseResult:
    """The event table and what became of every line read."""

    events: pd.DataFrame
    counts: LineCounts
    files: list[FileSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def default_tz() -> str:
    """The zone yearless/zone-less stamps are read in when --tz is not given: $TZ, else the
    machine's /etc/localtime, else UTC."""
    tz = os.environ.get("TZ")
    if tz:
        try:
            ZoneInfo(tz.lstrip(":"))
            return tz.lstrip(":")
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            ZoneInfo(name)
            return name
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return "UTC"


def _check_tz(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OptionError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin or UTC)") from exc
    return tz


def parse_logs(
    paths: Iterable[str] | str,
    *,
    year: int | None = None,
    tz: str | None = None,
    fmt: str = "auto",
    strict: bool = False,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_lines: int = 100_000,
) -> ParseResult:
    """Parse Postfix/Exim logs (files, globs, directories, '-' for stdin) into the event table.

    ``year`` and ``tz`` place yearless syslog stamps (default: each file's modification time,
    and :func:`default_tz`); ``now`` stands in for the modification time of stdin.
    ``progress(bytes_done, bytes_total)`` is called after each batch (bytes of decoded text,
    capped at each file's size: exact for plain files, a step per file for compressed ones); for
    stdin, whose size is unknown, ``progress(lines_done, -1)``.
    """
    if isinstance(paths, str):
        paths = [paths]
    if fmt not in FORMATS:
        raise OptionError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    tz = _check_tz(tz or default_tz())
    warnings: list[str] = []
    inputs = expand_inputs(paths, warnings.append)
    total_bytes = sum(i.path.stat().st_size for i in inputs if i.path is not None)
    done = 0
    tables: list[pa.Table] = []
    counts = LineCounts()
    files: list[FileSummary] = []
    queue = BatchQueue(_POOL, _WORKERS, tables, counts)
    for inp in inputs:
        on_batch = None
        if progress is not None:
            size = inp.path.stat().st_size if inp.path is not None else None
            seen = [0, 0]  # lines, characters of this input so far

            def on_batch(lines: int, chars: int, size=size, seen=seen, before=done) -> None:
                seen[0] += lines
                seen[1] += chars
                if size is None:
                    progress(seen[0], -1)
                else:
                    progress(before + min(seen[1], size), total_bytes)

        files.append(_parse_input(inp, queue, warnings, year=year, tz=tz, fmt=fmt, now=now, batch_lines=batch_lines,
                                  on_batch=on_batch))
        if inp.path is not None:
            done += inp.path.stat().st_size
            if progress is not None:
                progress(done, total_bytes)
    queue.finish()
    table = pa.concat_tables(tables) if tables else empty_table()
    if strict and counts.unrecognised:
        kind, n = counts.unknown.most_common(1)[0]
        src, line, _text = counts.samples[kind][0]
        raise UnrecognisedLines(f"{src}:{line}: {counts.unrecognised} line(s) look like Postfix/Exim "
                                f"but match no pattern (first kind: {kind!r}, {n} lines)")
    df = _drop_repeated_lines(to_pandas(table), counts)
    df = drop_repeated_runs(df, counts, warnings)
    return ParseResult(df, counts, files, warnings)


#: Files that repeat lines another file of the same set already has: Exim's rejectlog (every
#: rejection is also in the mainlog) and syslog's per-severity copies (Debian's rsyslog writes
#: mail.warn and mail.err lines to mail.log too).
_SECONDARY = re.compile(r"(?:rejectlog|(?:^|[./_-])mail\.(?:warn|err|info|crit|notice))", re.IGNORECASE)
_CONTENT = [c for c in SCHEMA.names if c not in ("source", "line_no")]


def _drop_repeated_lines(df: pd.DataFrame, counts: LineCounts) -> pd.DataFrame:
    """An event of a secondary file (rejectlog, mail.warn, mail.err …) that a primary file read in
    the same run also has — same time, host, program, pid and content — is kept once."""
    if df.empty:
        return df
    secondary = [s for s in df["source"].dropna().unique() if _SECONDARY.search(os.path.basename(str(s)))]
    is_sec = df["source"].isin(secondary).fillna(False).astype(bool)
    if not is_sec.any() or is_sec.all():
        return df
    h = pd.util.hash_pandas_object(df[_CONTENT], index=False)
    drop = is_sec & h.isin(set(h[~is_sec]))
    if drop.any():
        counts.duplicates += int(drop.sum())
        counts.events -= int(drop.sum())
        df = df[~drop.to_numpy()].reset_index(drop=True)
    return df


def _parse_input(inp: Input, queue: BatchQueue, warnings: list[str], *,
                 year: int | None, tz: str, fmt: str, now: dt.datetime | None, batch_lines: int,
                 on_batch: Callable[[int, int], None] | None = None) -> FileSummary:
    ref = dt.datetime.fromtimestamp(inp.mtime, dt.UTC) if inp.path is not None else now
    clock = Clock(tz=tz, year=year, reference=ref)
    ctx = FileContext(inp.name, HeaderState(clock, forced=None if fmt == "auto" else fmt),
                      panic="panic" in os.path.basename(inp.name).lower())
    summary = FileSummary(inp.name, 0, 0, None)
    # Headers are read in order (yearless stamps carry the year over); the messages of a batch
    # are matched on a worker thread while the next batch is read (small files together, see
    # analyzer.coalesce). pyarrow releases the GIL.
    for batch in iter_batches(inp, warnings.append, batch_lines=batch_lines):
        if on_batch is not None:  # C-level sums: no Python loop per line
            on_batch(len(batch.lines), sum(map(len, batch.lines)) + len(batch.lines))
        sp = split_batch(batch.lines, batch.first_line, ctx)
        queue.add(sp, summary, whole_file=batch.first_line == 1 and len(batch.lines) < batch_lines)
    summary.flavour = ctx.flavour
    return summary


def read_logs(paths: Sequence[str] | str, **kwargs) -> pd.DataFrame:
    """The event table of some logs as a DataFrame (see :func:`parse_logs` for options).

    ``df.attrs['maillens']`` holds the line counts (events, foreign, unrecognised by kind).
    """
    result = parse_logs(paths, **kwargs)
    df = result.events
    df.attrs["maillens"] = {
        "lines": result.counts.lines,
        "events": result.counts.events,
        "foreign": dict(result.counts.foreign),
        "unrecognised": dict(result.counts.unknown),
        "warnings": list(result.warnings),
    }
    return df


def parse_lines(lines: Sequence[str], *, source: str = "<lines>", year: int = 2026, tz: str = "UTC",
                fmt: str = "auto") -> ParseResult:
    """Parse lines held in memory (tests, tools); stamps without a year get ``year``."""
    clock = Clock(tz=_check_tz(tz), year=year)
    ctx = FileContext(source, HeaderState(clock, forced=None if fmt == "auto" else fmt))
    table, counts = parse_batch(list(lines), 1, ctx)
    return ParseResult(to_pandas(table), counts, [FileSummary(source, counts.lines, counts.events, ctx.flavour)], [])
