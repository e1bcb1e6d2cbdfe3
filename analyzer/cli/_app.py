"""The typer app, shared options, error handling, and the `parse` command.

Exit codes:
0 success · 1 findings at or above --fail-on (report) · 2 bad usage or option ·
3 an input could not be read · 4 --strict and unrecognised lines · 5 an output could not be written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from .. import __version__
from ..output import OutputError
from ..reader import OptionError, UnrecognisedLines, check_strict, open_stream
from ..sources import SourceError
from ..summary import ParseSummary, summarise_fold

app = typer.Typer(
    name="maillens",
    help="Read Postfix and Exim logs; say what went wrong, why, and what to do about it.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT, EXIT_STRICT, EXIT_OUTPUT = 1, 2, 3, 4, 5


def fail(message: str, hint: str | None, code: int) -> NoReturn:
    err.print(f"Error: {message}", markup=False, soft_wrap=True)
    if hint:
        err.print(f"Try: {hint}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _progress() -> Progress | None:
    if not sys.stderr.isatty():
        return None
    return Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=err, transient=True)


LogsArg = Annotated[list[str], typer.Argument(help="Log files, globs, directories, or - for stdin. "
                                                   "Compressed files (gz, bz2, xz, zst) are detected by content.",
                                              show_default=False)]
YearOpt = Annotated[int | None, typer.Option("--year", help="Year of the first yearless syslog line "
                                             "[default: from each file's modification time]", min=1970, max=2200)]
TzOpt = Annotated[str | None, typer.Option("--tz", help="Time zone of stamps that carry none, e.g. "
                                           "Europe/Berlin [default: $TZ, else this machine's zone]")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Line format: auto, syslog, rfc3339 or exim "
                                        "(auto detects it per file)")]


RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="A site rules file (TOML) that adds or "
                                                      "overrides knowledge-base entries; may be repeated")]


def load_kb(rules: list[Path] | None):
    """The knowledge base with the site's files, or a one-line error naming file and rule."""
    from ..rules import RulesError, load_rules

    try:
        return load_rules(tuple(rules or ()))
    except RulesError as exc:
        fail(str(exc), "fix the file, or run without --rules", EXIT_INPUT)


def run_parse(logs: list[str], *, year: int | None, tz: str | None, fmt: str, strict: bool):
    """Parse with a progress bar on a terminal, mapping library errors to exit codes."""
    return run_stream(logs, lambda stream: parse_logs_from(stream, strict), year=year, tz=tz, fmt=fmt)


def parse_logs_from(stream, strict: bool):
    """The whole parse result collected from a stream (for commands that still need the table)."""
    from ..reader import collect

    return collect(stream, strict=strict)


def run_stream(logs: list[str], consume, *, year: int | None, tz: str | None, fmt: str, classifier=None):
    """Open the logs' event stream and hand it to ``consume`` (a sink), with a progress bar on a
    terminal; library errors become one-line errors and exit codes. Returns what ``consume`` returns."""
    prog = _progress()
    try:
        with prog or contextlib.nullcontext():
            callback = None
            if prog is not None:
                task = prog.add_task("reading logs", total=None)
                callback = lambda done, total: prog.update(task, completed=done, total=total or None)  # noqa: E731
            stream = open_stream(logs, year=year, tz=tz, fmt=fmt, now=dt.datetime.now(dt.UTC),
                                 progress=callback, classifier=classifier)
            return consume(stream)
    except OptionError as exc:
        fail(str(exc), "maillens parse --help", EXIT_USAGE)
    except SourceError as exc:
        fail(str(exc), exc.hint, EXIT_INPUT)
    except UnrecognisedLines as exc:
        fail(str(exc), "drop --strict to count them instead, or report the line to the project", EXIT_STRICT)
    except OutputError as exc:
        fail(str(exc), exc.hint, EXIT_OUTPUT)


@app.command()
def parse(
    logs: LogsArg,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the event table to FILE "
                                               "(.parquet, .csv, .jsonl; - for JSON lines on stdout)")] = None,
    fmt: FormatOpt = "auto",
    year: YearOpt = None,
    tz: TzOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit 4) if any Postfix/Exim line is not recognised")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="With -o, print nothing on success")] = False,
    classify: Annotated[bool, typer.Option("--classify/--no-classify", help="Add the knowledge base's columns "
                                           "(reply_class, outcome, cause, provider, severity, fix_id)")] = True,
    rules: RulesOpt = None,
) -> None:
    """Parse logs into the event table, or summarise what they hold.

    Examples:

      maillens parse /var/log/mail.log*                 # summary: events, reply codes, unknown lines

      maillens parse /var/log/exim4/ -o events.parquet  # the whole table, for pandas or DuckDB

      journalctl -u postfix -o short-iso | maillens parse - --tz UTC
    """
    kb = load_kb(rules) if classify else None
    from ..pipeline import Classifier
    from ..sinks import SummaryFold, write_stream

    classifier = Classifier(kb) if kb is not None else None
    fold = SummaryFold()

    def consume(stream):
        if output is not None:
            write_stream(_checked(stream, strict), output, classified=classifier is not None)
        else:
            fold.fold(stream)
            if strict:
                check_strict(stream.counts)
        return stream

    stream = run_stream(logs, consume, year=year, tz=tz, fmt=fmt, classifier=classifier)
    for w in stream.warnings:
        err.print(f"Warning: {w}", markup=False, soft_wrap=True)
    if output is not None:
        if not quiet and output != "-":
            c = stream.counts
            err.print(f"{c.events:,} events from {c.lines:,} lines written to {output}"
                      + (f" ({c.unrecognised:,} lines not recognised)" if c.unrecognised else ""), markup=False)
        return
    render_summary(summarise_fold(fold, stream.counts, stream.files, stream.warnings))


def _checked(stream, strict: bool):
    """The stream's batches; with ``strict``, fail at the end (before the output is committed)."""
    yield from stream
    if strict:
        check_strict(stream.counts)


def _esc(text: object) -> str:
    from rich.markup import escape
    return escape(str(text))


def render_summary(s: ParseSummary) -> None:
    ours = s.events + s.unrecognised
    out.print(f"[bold]{s.lines:,}[/] lines read: [bold]{s.events:,}[/] events, {s.foreign:,} from other programs, "
              f"{s.unrecognised:,} not recognised ({s.recognised_share:.1%} of Postfix/Exim lines recognised"
              + (f", {ours:,} in all" if ours else "") + ")")
    if s.first is not None:
        out.print(f"From {s.first:%Y-%m-%d %H:%M:%S} to {s.last:%Y-%m-%d %H:%M:%S} UTC")
    files = Table("file", "lines", "events", "format", title="Files", title_justify="left")
    for name, lines, events, flavour in s.files[:15]:
        files.add_row(_esc(name), f"{lines:,}", f"{events:,}", flavour or "-")
    if len(s.files) > 15:
        files.add_row(f"… and {len(s.files) - 15} more files", "", "", "")
    out.print(files)
    side = Table.grid(padding=(0, 4))
    ev = Table("event", "count", title="Events", title_justify="left")
    for k, v in s.by_event:
        ev.add_row(_esc(k), f"{v:,}")
    codes = Table("reply code", "count", title="Reply codes", title_justify="left")
    for k, v in s.by_code[:20]:
        codes.add_row(str(k), f"{v:,}")
    st = Table("status", "count", title="Statuses", title_justify="left")
    for k, v in s.by_status[:20]:
        st.add_row(_esc(k), f"{v:,}")
    side.add_row(ev, codes, st)
    out.print(side)
    if s.by_cause:
        causes = Table("cause", "count", title="Causes of failures (4xx, 5xx)", title_justify="left")
        for k, v in s.by_cause[:15]:
            causes.add_row(_esc(k), f"{v:,}")
        out.print(causes)
        out.print("Explain any of them with: maillens explain CAUSE")
    if s.foreign_programs:
        out.print("Other programs: " + ", ".join(f"{_esc(p)} {n:,}" for p, n in s.foreign_programs[:12]))
    if s.unknown:
        out.print("[bold]Not recognised[/] (lines that look like Postfix/Exim but match no pattern), by kind:")
        for kind, n, samples in s.unknown:
            out.print(f"  {n:>7,}  {_esc(kind)}", soft_wrap=True)
            for src, line, text in samples[:2]:
                out.print(f"           {_esc(src)}:{line}: {_esc(text[:200])}", soft_wrap=True, style="dim")
    if s.headerless:
        where = ", ".join(f"{_esc(src)}:{line}" for src, line, _ in s.headerless_samples)
        out.print(f"{s.headerless:,} lines had no syslog or Exim header (not counted as mail lines), e.g. at {where}")
    if s.duplicates:
        out.print(f"{s.duplicates:,} lines of rejectlog/mail.warn/mail.err-style files were also in the main log "
                  "read with them: counted once")
    for w in s.warnings:
        out.print(f"[yellow]Warning:[/] {_esc(w)}")


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


