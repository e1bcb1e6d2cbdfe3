"""Counts of a run as a Prometheus text file, for node_exporter's textfile collector.

One gauge family per dimension of the event table (outcome, failure cause, provider, reply class,
direction), the lines read and not recognised, the span of the events, and the time of the run.
Every family is a gauge (the counts of the run's window, not a counter that only grows), so the
file reads the same in the Prometheus text format node_exporter parses and in OpenMetrics; it
ends with ``# EOF`` (OpenMetrics' terminator, a comment to the Prometheus parser).

Label values come from the knowledge base's ids and the schema's enums, and are escaped anyway
(backslash, double quote, newline) as the exposition format requires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PREFIX", "RunCounts", "metrics_text"]

PREFIX = "maillens"

#: family suffix -> (label, event column, help); counted over events with a value in the column
_DIMENSIONS = (
    ("events", "direction", "direction", "Events by direction (inbound, outbound, local) in the window"),
    ("outcome_events", "outcome", "outcome", "Classified events by outcome (ok, transient_failure, "
     "permanent_failure, info) in the window"),
    ("reply_class_events", "reply_class", "reply_class", "Events with a reply by RFC 5321 reply class (2xx, 4xx, 5xx)"),
    ("provider_events", "provider", "provider", "Events by the provider that answered (gmail, microsoft, ...)"),
)
_FAILURES = ("transient_failure", "permanent_failure")


@dataclass
class RunCounts:
    """Line counts of the run (parse from logs); None when they are not known (read from a store)."""

    lines: int | None = None
    unrecognised: int | None = None
    extra: dict[str, int] = field(default_factory=dict)


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        lab = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{lab}}} {_number(value)}" if lab else f"{name} {_number(value)}")
    return out


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _value_counts(df: Any, column: str) -> list[tuple[str, int]]:
    if column not in df.columns or not len(df):
        return []
    vc = df[column].dropna().astype(str).value_counts()
    return sorted(((str(k), int(v)) for k, v in vc.items()), key=lambda kv: kv[0])


def metrics_text(events: Any, *, now: dt.datetime, counts: RunCounts | None = None,
                 since: dt.datetime | None = None, until: dt.datetime | None = None) -> str:
    """The metrics file for a classified event table (a DataFrame as parse/classify or the store give).

    ``now`` is the time of the run (maillens_last_run_timestamp_seconds); ``since``/``until``
    the window the events were taken from, if one was chosen.
    """
    from . import __version__

    lines: list[str] = []
    p = PREFIX
    for suffix, label, column, help_text in _DIMENSIONS:
        lines += _family(f"{p}_{suffix}", help_text, (({label: k}, n) for k, n in _value_counts(events, column)))
    if "outcome" in events.columns and "cause" in events.columns and len(events):
        failed = events[events["outcome"].isin(_FAILURES).fillna(False).astype(bool)]
        by = failed.dropna(subset=["cause"]).groupby(["outcome", "cause"], observed=True).size()
        samples = sorted(((str(o), str(c)), int(n)) for (o, c), n in by.items() if n)
    else:
        samples = []
    lines += _family(f"{p}_failure_cause_events", "Failed delivery attempts and rejections by outcome and "
                     "knowledge-base cause", (({"outcome": o, "cause": c}, n) for (o, c), n in samples))
    lines += _family(f"{p}_window_events", "All events in the window", [({}, len(events))])
    if counts is not None and counts.lines is not None:
        lines += _family(f"{p}_lines_read", "Log lines read", [({}, counts.lines)])
    if counts is not None and counts.unrecognised is not None:
        lines += _family(f"{p}_lines_unrecognised", "Lines that look like Postfix/Exim but match no pattern",
                         [({}, counts.unrecognised)])
    if len(events) and "ts" in events.columns:
        ts = events["ts"].dropna()
        if len(ts):
            lines += _family(f"{p}_first_event_timestamp_seconds", "Time of the window's first event (Unix time)",
                             [({}, ts.min().timestamp())])
            lines += _family(f"{p}_last_event_timestamp_seconds", "Time of the window's last event (Unix time)",
                             [({}, ts.max().timestamp())])
    for name, bound in (("window_start", since), ("window_end", until)):
        if bound is not None:
            lines += _family(f"{p}_{name}_timestamp_seconds", f"The chosen window's {name.split('_')[1]} (Unix time)",
                             [({}, bound.timestamp())])
    lines += _family(f"{p}_last_run_timestamp_seconds", "When maillens wrote this file (Unix time)",
                     [({}, now.timestamp())])
    lines += _family(f"{p}_build_info", "The maillens version that wrote this file", [({"version": __version__}, 1)])
    return "\n".join(lines) + "\n# EOF\n"
