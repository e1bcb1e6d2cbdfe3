"""`maillens metrics`: a Prometheus text file (node_exporter's textfile collector) of a run's counts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ._app import (
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    LINE_FORMATS,
    RulesOpt,
    TzOpt,
    YearOpt,
    app,
    check_tz,
    fail,
    load_kb,
    out,
    run_parse,
    warn,
    when,
)

METRIC_COLUMNS = ["ts", "direction", "outcome", "reply_class", "provider", "cause"]


@app.command()
def metrics(
    logs: Annotated[list[str] | None, typer.Argument(help="Log files, globs, directories, or - for stdin",
                                                     show_default=False)] = None,
    store: Annotated[str | None, typer.Option("--store", help="Count the events of a store written by "
                                              "`maillens ingest` instead of log files", show_default=False)] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to FILE atomically (e.g. "
                                               "/var/lib/node_exporter/textfile_collector/maillens.prom) "
                                               "[default: stdout]", show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help="Count events from this time: 2026-11-29T10:00, "
                                              "2026-11-29, 10:00 (today) or 24h (ago); in --tz [default: all "
                                              "of LOGS; 24h with --store]", show_default=False)] = None,
    until: Annotated[str | None, typer.Option("--until", help="Count events before this time (same forms)",
                                              show_default=False)] = None,
    rules: RulesOpt = None,
    log_format: Annotated[str, typer.Option("--log-format", help="Line format of the logs: auto, syslog, "
                                            "rfc3339 or exim")] = "auto",
    year: YearOpt = None,
    tz: TzOpt = None,
) -> None:
    """Write the counts of a run as Prometheus metrics, for node_exporter's textfile collector.

    Gauges by outcome, failure cause, provider, reply class and direction, the lines read and
    not recognised, and maillens_last_run_timestamp_seconds (alert when it grows old). The file
    is written to a temporary name and renamed, so the collector never reads half of it.

    Examples:

      maillens metrics /var/log/mail.log -o /var/lib/node_exporter/textfile_collector/maillens.prom

      maillens metrics --store /var/lib/maillens --since 24h -o /var/lib/node_exporter/textfile_collector/maillens.prom
    """
    if logs and store:
        fail("give log files or --store, not both", "maillens metrics --help", EXIT_USAGE)
    if not logs and not store:
        fail("no input: give log files (or - for stdin) or --store DIR", "maillens metrics --help", EXIT_USAGE)
    if log_format not in LINE_FORMATS:
        fail(f"--log-format: unknown line format {log_format!r}", f"use one of {', '.join(LINE_FORMATS)}", EXIT_USAGE)
    zone = check_tz(tz)
    wall = dt.datetime.now(dt.UTC)
    lo = when(since, "--since", now=wall, tz=zone)
    hi = when(until, "--until", now=wall, tz=zone)
    if store and lo is None:
        lo = wall - dt.timedelta(hours=24)
    if lo and hi and hi <= lo:
        fail("--until must be after --since", "maillens metrics --help", EXIT_USAGE)
    from ..metrics import RunCounts, metrics_text

    counts = None
    if store:
        from ..store import StoreError, read_events

        try:
            events = read_events(store, since=lo, until=hi, columns=METRIC_COLUMNS)
        except StoreError as exc:
            fail(f"--store: {exc}", exc.hint, EXIT_INPUT)
    else:
        kb = load_kb(rules)
        result = run_parse(logs or [], year=year, tz=tz, fmt=log_format, strict=False)
        for w in result.warnings:
            warn(w)
        from ..classify import classify

        events = classify(result.events, kb)
        if lo is not None or hi is not None:
            import pandas as pd

            keep = pd.Series(True, index=events.index)
            if lo is not None:
                keep &= (events["ts"] >= pd.Timestamp(lo)).fillna(False)
            if hi is not None:
                keep &= (events["ts"] < pd.Timestamp(hi)).fillna(False)
            events = events[keep.astype(bool)]
        counts = RunCounts(lines=result.counts.lines, unrecognised=result.counts.unrecognised)
    text = metrics_text(events, now=wall, counts=counts, since=lo, until=hi)
    if output is None or output == "-":
        out.file.write(text)
        out.file.flush()
        return
    from ..output import OutputError, atomic_write_text

    try:
        atomic_write_text(output, text)
    except OutputError as exc:
        fail(f"--output: {exc}", exc.hint, EXIT_OUTPUT)
    except OSError as exc:
        fail(f"--output: {output}: {exc.strerror or exc}", OutputError.hint, EXIT_OUTPUT)
