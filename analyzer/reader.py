"""Read logs into the event table: inputs → batches → parsers → one Arrow-backed DataFrame."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from .lazy import lazy_module
from .parsers import FORMATS, FileContext, LineCounts, parse_batch
from .parsers.syslog import Clock, HeaderState
from .pipeline import STREAM_BATCH_LINES, STREAM_WORKERS, Classifier, EventStream, FileSummary
from .schema import empty_table, to_pandas
from .sources import expand_inputs

pd = lazy_module("pandas")  # imported when first used (analyzer.lazy)

__all__ = [
    "FileSummary",
    "OptionError",
    "ParseResult",
    "UnrecognisedLines",
    "check_stream",
    "check_strict",
    "collect",
    "default_tz",
    "open_stream",
    "parse_lines",
    "parse_logs",
    "read_logs",
]


class OptionError(ValueError):
    """A parameter makes no sense (unknown format or zone)."""


class UnrecognisedLines(ValueError):
    """--strict: some lines looked like Postfix/Exim but matched no pattern."""


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


def open_stream(
    paths: Iterable[str] | str,
    *,
    year: int | None = None,
    tz: str | None = None,
    fmt: str = "auto",
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_lines: int | None = STREAM_BATCH_LINES,
    classifier: Classifier | None = None,
    workers: int | None = None,
    columns: Iterable[str] | None = None,
) -> EventStream:
    """The event batches of Postfix/Exim logs (see :mod:`analyzer.pipeline`), options checked.

    ``workers``: processes that parse big inputs (default ``$MAILLENS_WORKERS``, else the
    number of cores; 1 parses in this process); the result is the same with any number.
    ``columns``: the only columns the consumer reads (see :attr:`EventStream.columns`)."""
    if isinstance(paths, str):
        paths = [paths]
    if fmt not in FORMATS:
        raise OptionError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    tz = _check_tz(tz or default_tz())
    warnings: list[str] = []
    inputs = expand_inputs(paths, warnings.append)
    return EventStream(inputs, year=year, tz=tz, fmt=fmt, now=now, progress=progress, batch_lines=batch_lines,
                       classifier=classifier, workers=workers or STREAM_WORKERS, warnings=warnings,
                       columns=None if columns is None else tuple(columns))


def check_strict(counts: LineCounts) -> None:
    """--strict: raise :class:`UnrecognisedLines` if any Postfix/Exim line matched no pattern."""
    if counts.unrecognised:
        kind, n = counts.unknown.most_common(1)[0]
        src, line, _text = counts.samples[kind][0]
        raise UnrecognisedLines(f"{src}:{line}: {counts.unrecognised} line(s) look like Postfix/Exim "
                                f"but match no pattern (first kind: {kind!r}, {n} lines)")


def parse_logs(
    paths: Iterable[str] | str,
    *,
    year: int | None = None,
    tz: str | None = None,
    fmt: str = "auto",
    strict: bool = False,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_lines: int | None = None,
    workers: int | None = None,
) -> ParseResult:
    """Parse Postfix/Exim logs (files, globs, directories, '-' for stdin) into the event table.

    ``year`` and ``tz`` place yearless syslog stamps (default: each file's modification time,
    and :func:`default_tz`); ``now`` stands in for the modification time of stdin.
    ``progress(bytes_done, bytes_total)`` is called after each input. The table is collected
    from :func:`open_stream`'s batches; commands that need not hold it consume the stream.
    """
    stream = open_stream(paths, year=year, tz=tz, fmt=fmt, now=now, progress=progress,
                         batch_lines=batch_lines, workers=workers)
    return collect(stream, strict=strict)


def check_stream(stream: EventStream, fmt: str = "auto", *, strict: bool = False) -> None:
    """After a stream is read: ``strict`` (see :func:`check_strict`), and no mail line at all is
    :class:`analyzer.intake.NoMailLines` (files of mostly other text add a warning). Once per stream."""
    from .intake import check_intake

    if strict:
        check_strict(stream.counts)
    if getattr(stream, "_intake_checked", False):
        return
    stream._intake_checked = True  # type: ignore[attr-defined]
    check_intake(ParseResult(None, stream.counts, stream.files, stream.warnings), fmt)  # type: ignore[arg-type]


def collect(stream: EventStream, *, strict: bool = False) -> ParseResult:
    """Collect a stream's batches into one table, in input order."""
    batches = [(b.index, b.table) for b in stream if b.table.num_rows]
    batches.sort(key=lambda ib: ib[0])  # secondary logs may come after the primaries: input order
    table = pa.concat_tables([t for _, t in batches]) if batches else empty_table()
    if strict:
        check_strict(stream.counts)
    return ParseResult(to_pandas(table), stream.counts, stream.files, stream.warnings)


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
