"""The short summary `maillens parse` prints: what was read and what it became."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .reader import ParseResult

__all__ = ["ParseSummary", "summarise"]


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
    first: pd.Timestamp | None
    last: pd.Timestamp | None

    @property
    def recognised_share(self) -> float:
        ours = self.events + self.unrecognised
        return 1.0 if ours == 0 else self.events / ours


def _counts(series: pd.Series) -> list:
    vc = series.dropna().value_counts()
    return [(k, int(v)) for k, v in vc.items()]


def summarise(result: ParseResult, top_unknown: int = 10) -> ParseSummary:
    df = result.events
    c = result.counts
    codes = sorted(_counts(df["reply_code"]), key=lambda kv: (-kv[1], kv[0])) if len(df) else []
    return ParseSummary(
        lines=c.lines, events=c.events, foreign=sum(c.foreign.values()), unrecognised=c.unrecognised,
        blank=c.blank + c.meta, continuation=c.continuation,
        files=[(f.name, f.lines, f.events, f.flavour) for f in result.files],
        by_event=_counts(df["event"]) if len(df) else [],
        by_code=[(int(k), v) for k, v in codes],
        by_status=_counts(df["status"]) if len(df) else [],
        by_cause=_counts(df[df["outcome"].isin(["transient_failure", "permanent_failure"])]["cause"])
        if len(df) and "cause" in df else [],
        headerless=c.headerless,
        duplicates=c.duplicates,
        headerless_samples=list(c.headerless_samples),
        foreign_programs=c.foreign.most_common(),
        unknown=[(k, n, c.samples.get(k, [])) for k, n in c.unknown.most_common(top_unknown)],
        warnings=list(result.warnings),
        first=df["ts"].min() if len(df) else None,
        last=df["ts"].max() if len(df) else None,
    )
