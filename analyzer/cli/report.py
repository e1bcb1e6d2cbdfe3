"""`maillens report`: the nightly report over logs: what happened, what was abnormal, what to do."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from ..anomalies import BASELINE_COLUMNS, SEVERITIES, AnomalyConfigError, load_params
from ..output import OutputError, atomic_write_text
from ..reader import default_tz
from ..report import FORMATS, Redactor, ReportWindow, make_report, render
from ..report.redact import ENV_KEY
from ._app import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    LogsArg,
    TzOpt,
    YearOpt,
    app,
    err,
    fail,
    out,
    run_stream,
)
from .explain import RulesOpt, load_kb

BASELINE_DAYS = 28
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])", re.I)
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


def parse_duration(text: str) -> dt.timedelta:
    """'24h', '90m', '7d', '1d12h' -> timedelta; ValueError otherwise."""
    s = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m[1]) * _UNITS[m[2].lower()]
        pos = m.end()
    if not s or pos != len(s) or total <= 0:
        raise ValueError(f"{text!r} is not a duration like 24h, 90m or 7d")
    return dt.timedelta(seconds=total)


def parse_time(text: str, zone: ZoneInfo) -> dt.datetime:
    """An ISO date or date-time; without an offset it is read in ``zone``. Returned in UTC."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=zone)
    return t.astimezone(dt.UTC)


def resolve_window(*, since: str | None, until: str | None, today: bool, yesterday: bool, last: str | None,
                   now: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The report window [since, until) in UTC from the options (ValueError on a bad combination)."""
    relative = [name for name, on in (("--today", today), ("--yesterday", yesterday), ("--last", last)) if on]
    if len(relative) > 1 or (relative and (since or until)):
        raise ValueError(f"use one of --today, --yesterday, --last or --since/--until, not {' and '.join(relative + [o for o, v in (('--since', since), ('--until', until)) if v])}")
    local_now = now.astimezone(zone)
    midnight = dt.datetime.combine(local_now.date(), dt.time(), tzinfo=zone)
    if today:
        return midnight.astimezone(dt.UTC), now
    if yesterday:
        start = dt.datetime.combine(local_now.date() - dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start.astimezone(dt.UTC), midnight.astimezone(dt.UTC)
    if last:
        return now - parse_duration(last), now
    lo = parse_time(since, zone) if since else None
    hi = parse_time(until, zone) if until else None
    if lo and hi and hi <= lo:
        raise ValueError("--until must be after --since")
    return lo, hi


def _read_baseline(store: Path, start: Any) -> Any:
    try:
        from ..store import read_events
    except ImportError:  # pragma: no cover - the store ships with maillens
        fail("this maillens has no history store", "drop --store", EXIT_USAGE)
    import pandas as pd

    begin = pd.Timestamp(start) - pd.Timedelta(days=BASELINE_DAYS)
    try:
        return read_events(store, since=begin.to_pydatetime(), until=pd.Timestamp(start).to_pydatetime(),
                           columns=list(BASELINE_COLUMNS))
    except (OSError, ValueError) as exc:
        fail(f"{store}: cannot read the history store ({exc})",
             getattr(exc, "hint", None) or "check the path, or drop --store", EXIT_INPUT)


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
    since: Annotated[str | None, typer.Option("--since", help="Start of the window: ISO date or time "
                                              "(2026-11-28 or 2026-11-28T06:00; in --tz unless it has an offset)")] = None,
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
                                               f"{BASELINE_DAYS} days before the window are the baseline")] = None,
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
    if fmt not in FORMATS and fmt != "md":
        fail(f"unknown format {fmt!r}", f"use --format {', '.join(FORMATS)}", EXIT_USAGE)
    if fail_on is not None and fail_on not in SEVERITIES[1:]:
        fail(f"unknown severity {fail_on!r} for --fail-on", "use --fail-on warning or --fail-on critical", EXIT_USAGE)
    if redact_ips and not redact:
        fail("--redact-ips needs --redact", "add --redact", EXIT_USAGE)
    try:
        zone = ZoneInfo(tz or default_tz())
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {tz!r}", "use an IANA name such as Europe/Berlin or UTC", EXIT_USAGE)
    try:
        wall = parse_time(now, zone) if now else dt.datetime.now(dt.UTC)
        lo, hi = resolve_window(since=since, until=until, today=today, yesterday=yesterday, last=last,
                                now=wall, zone=zone)
    except ValueError as exc:
        fail(str(exc), "maillens report --help", EXIT_USAGE)
    try:
        params = load_params(anomalies)
    except AnomalyConfigError as exc:
        fail(str(exc), exc.hint, EXIT_INPUT if "cannot read" in str(exc) else EXIT_USAGE)
    kb = load_kb(rules)
    from ..pipeline import Classifier
    from ..report.build import collect_report_events

    result = run_stream(logs, collect_report_events, year=year, tz=tz, fmt=log_format, classifier=Classifier(kb))
    for w in result.warnings:
        err.print(f"Warning: {w}", markup=False, soft_wrap=True)
    import pandas as pd

    window = ReportWindow(None if lo is None else pd.Timestamp(lo), None if hi is None else pd.Timestamp(hi))
    baseline = None
    if store is not None:
        start = window.since
        if start is None:
            start = result.events["ts"].min() if len(result.events) else pd.Timestamp(wall)
        baseline = _read_baseline(store, start)
    observed_until = None if hi is None else min(hi, wall)
    redactor = Redactor(redact_key, ips=redact_ips) if redact else None
    def build() -> dict[str, Any]:
        return make_report(result, kb=kb, window=window, baseline=baseline, params=params, now=observed_until,
                           generated_at=pd.Timestamp(wall), redact=redactor)

    if err.is_terminal:
        with err.status("classifying and looking for anomalies"):
            rep = build()
    else:
        rep = build()
    text = render(rep, "markdown" if fmt == "md" else fmt)
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
        out.file.write(text)
        out.file.flush()
    if failing:
        if output is not None:
            err.print(f"{len(failing)} finding(s) at or above {fail_on}; the report is in {output}", markup=False,
                      soft_wrap=True)
        raise typer.Exit(EXIT_FINDINGS)
