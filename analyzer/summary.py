"""The short summary `maillens parse` prints: what was read and what it became."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from .parsers import LineCounts
from .reader import ParseResult
from .sinks import SummaryFold

__all__ = ["ParseSummary", "summarise", "summarise_fold"]


@dataclass
class ParseSummary:
    lines: int
    events: int
    foreign: int
    unrecognised: int
    blank: int
    continuation: int
    files: list[tuple[str, int, int, str | None]]
    by_event: list[tuple[str, int]]
    by_code: list[tuple[int, int]]
    by_status: list[tuple[str, int]]
    by_cause: list[tuple[str, int]]
    headerless: int
    duplicates: int
    headerless_samples: list[tuple[str, int, str]]
    foreign_programs: list[tuple[str, int]]
    unknown: list[tuple[str, int, list[tuple[str, int, str]]]]
    warnings: list[str]
    #: the first and last stamps (timezone-aware UTC datetimes; `parse` never imports pandas)
    first: datetime | None
    last: datetime | None

    @property
    def recognised_share(self) -> float:
        ours = self.events + self.unrecognised
        return 1.0 if ours == 0 else self.events / ours


def summarise(result: ParseResult, top_unknown: int = 10) -> ParseSummary:
    """The summary of a parse result held in memory."""
    fold = SummaryFold()
    fold.add(pa.Table.from_pandas(result.events, preserve_index=False))
    return summarise_fold(fold, result.counts, result.files, result.warnings, top_unknown)


def summarise_fold(fold: SummaryFold, c: LineCounts, files: list[Any], warnings: list[str],
                   top_unknown: int = 10) -> ParseSummary:
    """The summary from the batches a :class:`analyzer.sinks.SummaryFold` has seen."""
    return ParseSummary(
        lines=c.lines, events=c.events, foreign=sum(c.foreign.values()), unrecognised=c.unrecognised,
        blank=c.blank + c.meta, continuation=c.continuation,
        files=[(f.name, f.lines, f.events, f.flavour) for f in files],
        by_event=fold.ranked(fold.by_event),
        by_code=[(int(k), v) for k, v in sorted(fold.by_code.items(), key=lambda kv: (-kv[1], kv[0]))],
        by_status=fold.ranked(fold.by_status),
        by_cause=fold.ranked(fold.by_cause),
        headerless=c.headerless,
        duplicates=c.duplicates,
        headerless_samples=list(c.headerless_samples),
        foreign_programs=c.foreign.most_common(),
        unknown=[(k, n, c.samples.get(k, [])) for k, n in c.unknown.most_common(top_unknown)],
        warnings=list(warnings),
        first=fold.first,
        last=fold.last,
    )
