"""`maillens report`: the nightly report over logs: what happened, what was abnormal, what to do."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from . import _common
from ._app import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    LINE_FORMATS,
    LogsArg,
    RulesOpt,
    TzOpt,
    YearOpt,
    app,
    check_tz,
    err,
    fail,
    load_kb,
    out,
    run_stream,
    warn,
    when,
)
from ._common import _is_terminal, plain_file

BASELINE_DAYS = 28
REPORT_FORMATS = ("text", "markdown", "json", "html")  # analyzer.report.FORMATS, without importing it
SEVERITY_FLOORS = ("warning", "critical")
from ._redact import ENV_KEY  # noqa: E402 - the same constant, without importing the report package


def resolve_window(*, since: str | None, until: str | None, today: bool, yesterday: bool, last: str | None,
                   now: dt.datetime, tz: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The report window [since, until) in UTC from the options; a bad value or combination is an
    error naming the option."""
    from zoneinfo import ZoneInfo

    from ..timeparse import TimeError, parse_duration

    relative = [name for name, on in (("--today", today), ("--yesterday", yesterday), ("--last", last)) if on]
    given = relative + [o for o, v in (("--since", since), ("--until", until)) if v]
    if len(relative) > 1 or (relative and (since or until)):
        fail(f"use one of --today, --yesterday, --last or --since/--until, not {' and '.join(given)}",
             "maillens report --help", EXIT_USAGE)
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    midnight = dt.datetime.combine(local_now.date(), dt.time(), tzinfo=zone)
    if today:
        return midnight.astimezone(dt.UTC), now
    if yesterday:
        start = dt.datetime.combine(local_now.date() - dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start.astimezone(dt.UTC), midnight.astimezone(dt.UTC)
    if last:
        try:
            return now - parse_duration(last), now
        except TimeError as exc:
            fail(f"--last: {exc}", "e.g. --last 24h", EXIT_USAGE)
    lo = when(since, "--since", now=now, tz=tz)
    hi = when(until, "--until", now=now, tz=tz)
    if lo and hi and hi <= lo:
        fail("--until must be after --since", "maillens report --help", EXIT_USAGE)
    return lo, hi


def _read_baseline(store: Path, start: Any) -> Any:
    import pandas as pd

    from ..anomalies import BASELINE_COLUMNS
    from ..store import read_events

    begin = pd.Timestamp(start) - pd.Timedelta(days=BASELINE_DAYS)
    try:
        return read_events(store, since=begin.to_pydatetime(), until=pd.Timestamp(start).to_pydatetime(),
                           columns=list(BASELINE_COLUMNS))
    except (OSError, ValueError) as exc:
        fail(f"--store: {store}: cannot read the history store ({exc})",
             getattr(exc, "hint", None) or "check the path, or drop --store", EXIT_INPUT)


def _attribute_from_store(result: Any, store: Path, kb: Any) -> Any:
    """Retry waits whose earlier error is not in these logs take it from the store's history."""
    import dataclasses

    from ..attribution import attribute_from_store

    try:
        events = attribute_from_store(result.events, store, kb)
    except (OSError, ValueError) as exc:
        fail(f"--store: {store}: cannot read the history store ({exc})",
             getattr(exc, "hint", None) or "check the path, or drop --store", EXIT_INPUT)
    return dataclasses.replace(result, events=events)


#: What the report needs once the logs are read and the parse does not: pandas, the detectors and
#: the report's modules (~0.3 CPU-s). Imported after the workers fork (:func:`_report_classifier`).
#: With them the modules the main thread would otherwise import on its own, serially: the native
#: session-end fold's (at the fold's start) and the headline's and servers' (at the end; the
#: renderers of markdown, text and html import those two already).
_HEAVY = ("pandas", "analyzer.anomalies", "analyzer.report", "analyzer.report.run", "analyzer.output",
          "analyzer.report.ends_native", "analyzer.report.headline", "analyzer.report.servers")


def _heavy_imports(fmt: str) -> None:
    """Import :data:`_HEAVY` and the renderer with the cycle collector off meanwhile: their few
    hundred thousand objects are no garbage, but each collection while they were made walked them
    again (measured on the 1M-line days: 203-220 young, 18-19 middle and at times a full
    collection, 0.05-0.09 CPU-s on threads that share the GIL with the stream's). The collector is
    turned back on, not told to freeze what exists then: a freeze would also take in the stream
    threads' objects of that moment, and a cycle among them that became garbage later would never
    be collected (review of r29-rend)."""
    import gc
    import importlib
    from contextlib import suppress

    collecting = gc.isenabled()
    gc.disable()
    try:
        with suppress(Exception):  # only a head start: the main thread imports whatever is missing
            for name in (*_HEAVY, f"analyzer.report.{fmt}"):  # (the renderer: a module named as its format)
                importlib.import_module(name)
    finally:
        if collecting:
            gc.enable()


def _report_classifier(kb: Any, fmt: str) -> Any:
    """The stream's classifier (:class:`analyzer.classify_stream.StreamClassifier`), whose
    ``prepare`` also imports :data:`_HEAVY` on a thread: the stream calls it once its workers
    have forked (:class:`analyzer.pipeline.EventStream`, as for ``parse``'s classifier warm-up,
    :meth:`analyzer.class_cache.Classifier.prepare`), so the imports run while they parse the
    first blocks, and no worker is forked while that thread holds an import lock. Without
    workers, or with workers that answer the classification (3+, analyzer.pipeline.ANSWER_IN_WORKERS),
    the stream does not call it: the main thread imports them when it first needs them."""
    import threading

    from ..classify_stream import StreamClassifier

    class ReportClassifier(StreamClassifier):
        importing: threading.Thread | None = None

        def prepare(self) -> None:
            super().prepare()
            if self.importing is None:
                self.importing = threading.Thread(target=_heavy_imports, args=(fmt,), name="maillens-warm-report",
                                                  daemon=True)
                self.importing.start()

        def imported(self) -> None:
            """Wait for the imports ``prepare`` started, if it did."""
            if self.importing is not None:
                self.importing.join()

    return ReportClassifier(kb)


class _Resumed:
    """An event stream whose first batch was taken already: that batch, then the others, and
    the stream's attributes (counts, files, warnings ...)."""

    def __init__(self, stream: Any, first: Any, rest: Any) -> None:
        self._stream, self._first, self._rest = stream, first, rest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __iter__(self) -> Any:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
            del first  # (not held while the rest are folded: its spool file's mapping goes with it)
        yield from self._rest


def lean_report() -> bool:
    """Whether the report's blocks run on threads of its own process, lean: only when asked
    (``MAILLENS_BLOCK_THREADS=1``). Measured beside the forked workers on 2 cores (bench/RESULTS.md,
    end of stop 48): the 10M-line reports' peak PSS 15-35 MiB lower, but the 1M report's wall ~15%
    and the 10M's ~20% longer, so the workers stay the default."""
    from analyzer.parallel_threads import ENV

    return os.environ.get(ENV, "").strip() == "1"


def _collect(stream: Any, kb: Any, classifier: Any, lo: dt.datetime | None, hi: dt.datetime | None) -> Any:
    """The report's fold of the stream (:func:`analyzer.report.run.collect_report_events`), its
    heavy imports made once the stream has started: the workers fork at its first batch."""
    # MAILLENS_BLOCK_THREADS=1: blocks parsed on threads, few in flight, the heap trimmed
    # (analyzer.parallel_threads.lean_report): ~20-35 MiB less at 10M lines, ~15-20% more wall
    stream.block_threads = stream.lean = lean_report()
    batches = iter(stream)
    try:
        first = next(batches, None)
        classifier.imported()
        import pandas as pd

        from ..report import ReportWindow
        from ..report.run import collect_report_events

        window = ReportWindow(None if lo is None else pd.Timestamp(lo), None if hi is None else pd.Timestamp(hi))
        resumed, first = _Resumed(stream, first, batches), None  # (the first batch not held here)
        return collect_report_events(resumed, kb, window)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
        classifier.imported()  # (no thread left importing when an error ends the run)


def _load_params(path: Path | None) -> dict[str, Any]:
    from ..anomalies import AnomalyConfigError, load_params

    try:
        return load_params(path)
    except AnomalyConfigError as exc:
        fail(f"--anomalies: {exc}", exc.hint, EXIT_INPUT if "cannot read" in str(exc) else EXIT_USAGE)


def _render_terminal(text: str) -> None:
    """The plain-text report with colour: severities, section titles."""
    from rich.text import Text

    styles = {"[CRITICAL]": "bold red", "[WARNING]": "bold yellow", "[INFO]": "cyan"}
    for line in text.splitlines():
        t = Text(line)
        stripped = line.strip()
        for tag, style in styles.items():
            if stripped.startswith(tag):
                t.stylize(style, line.index(tag), line.index(tag) + len(tag))
                t.stylize("bold", line.index(tag) + len(tag))
        if line and line == line.upper() and line[0].isalpha():
            t.stylize("bold underline")
        out.print(t, soft_wrap=True, highlight=False)


@app.command()
def report(
    logs: LogsArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output format: text, markdown, json or html")] = "text",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the report to FILE (atomically) "
                                               "instead of stdout; nothing is printed on success")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Start of the window: 2026-11-28T06:00, "
                                              "2026-11-28, 10:00 (today) or 2h (ago); in --tz unless it has "
                                              "an offset")] = None,
    until: Annotated[str | None, typer.Option("--until", help="End of the window (exclusive), like --since")] = None,
    today: Annotated[bool, typer.Option("--today", help="Window: today from midnight (in --tz) until now")] = False,
    yesterday: Annotated[bool, typer.Option("--yesterday", help="Window: yesterday, midnight to midnight in --tz")] = False,
    last: Annotated[str | None, typer.Option("--last", help="Window: the last DURATION until now, e.g. 24h, 90m, 7d")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 1 when a finding reaches this severity: "
                                                "warning or critical")] = None,
    redact: Annotated[bool, typer.Option("--redact", help="Pseudonymise the local part of every address "
                                         "(keyed HMAC, the same pseudonym everywhere in the report)")] = False,
    redact_ips: Annotated[bool, typer.Option("--redact-ips", help="With --redact, pseudonymise IP addresses too")] = False,
    redact_key: Annotated[str | None, typer.Option("--redact-key", help=f"Key for --redact pseudonyms [default: "
                                                   f"${ENV_KEY}, else a random key per run]", show_default=False)] = None,
    anomalies: Annotated[Path | None, typer.Option("--anomalies", help="A TOML file of anomaly thresholds "
                                                   "(see analyzer/anomalies.toml for every key and its default)")] = None,
    store: Annotated[Path | None, typer.Option("--store", help=f"A history store (maillens ingest): the "
                                               f"{BASELINE_DAYS} days before the window are the baseline, and "
                                               "retry waits take their earlier error from it")] = None,
    rules: RulesOpt = None,
    log_format: Annotated[str, typer.Option("--log-format", help="Line format of the logs: auto, syslog, "
                                            "rfc3339 or exim")] = "auto",
    year: YearOpt = None,
    tz: TzOpt = None,
    now: Annotated[str | None, typer.Option("--now", help="Take this ISO time as the current time (for "
                                            "--today/--yesterday/--last and reproducible reports)")] = None,
) -> None:
    """The nightly report: what happened, what was abnormal, and what to do about it.

    Volumes, outcomes by reply class and cause, session ends, top failing destinations and
    clients, lines not recognised, and anomalies with suggested fixes.

    Text on a terminal (plain when piped), or markdown, json (versioned schema) or html (one
    self-contained file with charts). Exit 1 when --fail-on is reached; quiet with -o otherwise.

    Examples:

      maillens report /var/log/mail.log /var/log/mail.log.1 --yesterday

      maillens report /var/log/mail.log* --last 24h -f html -o report.html --redact

      maillens report /var/log/exim4/mainlog --fail-on critical -o /srv/reports/mail.md -f markdown   # cron

      maillens report /var/log/mail.log --store /var/lib/maillens --yesterday   # history as the baseline
    """
    if fmt == "md":
        fmt = "markdown"
    if fmt not in REPORT_FORMATS:
        fail(f"--format: unknown format {fmt!r}", f"use --format {', '.join(REPORT_FORMATS)}", EXIT_USAGE)
    if fail_on is not None and fail_on not in SEVERITY_FLOORS:
        fail(f"--fail-on: unknown severity {fail_on!r}", "use --fail-on warning or --fail-on critical", EXIT_USAGE)
    if redact_ips and not redact:
        fail("--redact-ips needs --redact", "add --redact", EXIT_USAGE)
    if log_format not in LINE_FORMATS:
        fail(f"--log-format: unknown line format {log_format!r}", f"use one of {', '.join(LINE_FORMATS)}", EXIT_USAGE)
    # the collector off until the stream opens, as for `parse` (analyzer.cli._plain_parse): what the
    # start imports and loads (pyarrow, numpy, the parsers, the rules) is no garbage, and ~90 young
    # and ~8 middle collections walked it (~0.01 CPU-s before the workers fork); _run_stream
    # freezes it and turns the collector back on (here too, where an error came first)
    with _common.gc_paused():
        zone = check_tz(tz)
        wall = when(now, "--now", now=dt.datetime.now(dt.UTC), tz=zone) or dt.datetime.now(dt.UTC)
        lo, hi = resolve_window(since=since, until=until, today=today, yesterday=yesterday, last=last, now=wall, tz=zone)
        # a site's thresholds are checked before the logs are read (importing the detectors, and
        # pandas, before the workers start); the defaults after (analyzer.anomalies: the package)
        params = _load_params(anomalies) if anomalies is not None else None
        kb = load_kb(rules)
        from ..heap import hand_back_early

        hand_back_early()  # the fold's state grows while the batches pass: freed pages back at once
        # the stream classifies (batches grouped: analyzer.pipeline.classify_grouped), not each batch alone;
        # pandas and the report's modules are imported while its workers parse (_report_classifier)
        classifier = _report_classifier(kb, fmt)
        # the workers send only the columns the report and the classifier read (not the ports, pids,
        # message ids, TLS ...): smaller blocks in shared memory while the stream is folded
        from ..report_columns import REPORT_COLUMNS

        result = run_stream(logs, lambda stream: _collect(stream, kb, classifier, lo, hi), year=year, tz=tz,
                            fmt=log_format, classifier=classifier, columns=(*REPORT_COLUMNS, *classifier.reads))
    for w in result.warnings:
        warn(w)
    import pandas as pd

    from ..anomalies import SEVERITIES
    from ..output import OutputError, atomic_write_text
    from ..report import Redactor, make_report, render

    window = result.window
    if params is None:
        params = _load_params(None)

    baseline = None
    if store is not None:
        result = _attribute_from_store(result, store, kb)
        start = window.since
        if start is None:
            start = result.first_event() or pd.Timestamp(wall)  # rows or folded lines (report/fold.py)
        baseline = _read_baseline(store, start)
    observed_until = None if hi is None else min(hi, wall)
    redactor = Redactor(redact_key, ips=redact_ips) if redact else None
    def build() -> dict[str, Any]:
        return make_report(result, kb=kb, window=window, baseline=baseline, params=params, now=observed_until,
                           generated_at=pd.Timestamp(wall), redact=redactor)

    if _is_terminal(err):  # (not rich's answer: importing it costs ~0.02 CPU-s on the run's end)
        with err.status("classifying and looking for anomalies"):
            rep = build()
    else:
        rep = build()
    text = render(rep, fmt)
    failing = []
    if fail_on is not None:
        floor = SEVERITIES.index(fail_on)
        failing = [f for f in rep["findings"] if SEVERITIES.index(f["severity"]) >= floor]
    if output is not None and output != "-":
        try:
            atomic_write_text(output, text)
        except OutputError as exc:
            fail(str(exc), exc.hint, EXIT_OUTPUT)
        except OSError as exc:
            fail(f"{output}: {exc.strerror or exc}", OutputError.hint, EXIT_OUTPUT)
        for f in failing:
            err.print(f"{f['severity']}: {f['title']} ({f['window_start']} to {f['window_end']})",
                      markup=False, soft_wrap=True)
    elif fmt == "text" and out.is_terminal:
        _render_terminal(text)
    else:
        f = plain_file(out)  # (the report as it is: no rich console made for it)
        f.write(text)
        f.flush()
    if not failing:
        # the report written (renamed into place) or on stdout; the inputs closed, the workers, the
        # stream's threads and the detectors' ended (run_stream, make_report): the process may end
        # without the interpreter's teardown (analyzer.cli.run: ~0.06 CPU-s of freeing the report's
        # tables and modules one object at a time, measured after a 1M-line report)
        _common.NOTHING_OPEN = True
    if failing:
        if output is not None:
            err.print(f"{len(failing)} finding(s) at or above {fail_on}; the report is in {output}", markup=False,
                      soft_wrap=True)
        raise typer.Exit(EXIT_FINDINGS)
