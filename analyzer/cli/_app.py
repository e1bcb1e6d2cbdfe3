"""The typer app, shared options, error handling, and the `parse` command.

Exit codes:
0 success · 1 findings at or above --fail-on (report) · 2 bad usage or option ·
3 an input could not be read · 4 --strict and unrecognised lines · 5 an output could not be written ·
66 no mail lines read at all (no input) · 70 maillens itself failed (a bug).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from .. import __version__
from ..intake import NoMailLines
from ..locations import find_logs
from ..output import OutputError
from ..reader import OptionError, UnrecognisedLines, check_stream, collect, open_stream
from ..sources import SourceError
from ..summary import ParseSummary, summarise_fold
from ..textsafe import printable
from ._redact import RedactIpsOpt, RedactKeyOpt, RedactOpt, make_redactor

app = typer.Typer(
    name="maillens",
    help="Read Postfix and Exim logs; say what went wrong, why, and what to do about it.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


class _Console(Console):
    """A console that shows control characters in printed strings as '?' (log text, file names)."""

    def print(self, *objects, **kwargs) -> None:  # type: ignore[override]
        super().print(*(printable(o, newlines=True) if isinstance(o, str) else o for o in objects), **kwargs)


out = _Console(highlight=False, soft_wrap=False)
err = _Console(stderr=True, highlight=False)

EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT, EXIT_STRICT, EXIT_OUTPUT = 1, 2, 3, 4, 5
EXIT_NOINPUT, EXIT_SOFTWARE = 66, 70  # sysexits.h EX_NOINPUT, EX_SOFTWARE


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


LogsArg = Annotated[list[str] | None, typer.Argument(
    help="Log files, globs, directories, or - for stdin. Compressed files (gz, bz2, xz, zst) are detected by "
         "content. None: this machine's usual mail logs (/var/log/mail.log*, maillog*, exim4/mainlog* …), "
         "else the systemd journal", show_default=False)]
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


def run_parse(logs: list[str] | None, *, year: int | None, tz: str | None, fmt: str, strict: bool):
    """Parse with a progress bar on a terminal, mapping library errors to exit codes.

    Without logs, reads this machine's usual mail logs and says which on stderr's first line."""
    return run_stream(logs, lambda stream: collect(stream, strict=strict), year=year, tz=tz, fmt=fmt)


def run_stream(logs: list[str] | None, consume, *, year: int | None, tz: str | None, fmt: str, classifier=None):
    """Open the logs' event stream (analyzer.pipeline) and hand it to ``consume`` (a sink), with a
    progress bar on a terminal; then check what was read (no mail lines: exit 66). Library errors
    become one-line errors and exit codes. Returns what ``consume`` returns."""
    with logs_or_defaults(logs) as logs:
        prog = _progress()
        try:
            with prog or nullcontext():
                callback = None
                if prog is not None:
                    task = prog.add_task("reading logs", total=None)
                    callback = lambda done, total: prog.update(task, completed=done, total=total or None)  # noqa: E731
                stream = open_stream(logs, year=year, tz=tz, fmt=fmt, now=dt.datetime.now(dt.UTC),
                                     progress=callback, classifier=classifier)
                got = consume(stream)
            check_stream(stream, fmt)
            return got
        except OptionError as exc:
            fail(str(exc), "maillens parse --help", EXIT_USAGE)
        except NoMailLines as exc:
            fail(str(exc), exc.hint, EXIT_NOINPUT)
        except SourceError as exc:
            fail(str(exc), exc.hint, EXIT_INPUT)
        except UnrecognisedLines as exc:
            fail(str(exc), "drop --strict to count them instead, or report the line to the project", EXIT_STRICT)
        except OutputError as exc:
            fail(str(exc), exc.hint, EXIT_OUTPUT)


@contextmanager
def logs_or_defaults(logs: list[str] | None) -> Iterator[list]:
    """The logs given, else this machine's usual ones (named on stderr's first line); exit 66 if none."""
    if logs:
        yield logs
        return
    try:
        located = find_logs()
    except NoMailLines as exc:
        fail(str(exc), exc.hint, EXIT_NOINPUT)
    err.print(located.message, markup=False, soft_wrap=True)
    try:
        yield located.inputs
    finally:
        located.cleanup()


@app.command()
def parse(
    logs: LogsArg = None,
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
    redact: RedactOpt = False,
    redact_ips: RedactIpsOpt = False,
    redact_key: RedactKeyOpt = None,
) -> None:
    """Parse logs into the event table, or summarise what they hold.

    Examples:

      maillens parse /var/log/mail.log*                 # summary: events, reply codes, unknown lines

      maillens parse /var/log/exim4/ -o events.parquet  # the whole table, for pandas or DuckDB

      journalctl -u postfix -o short-iso | maillens parse - --tz UTC
    """
    try:
        redactor = make_redactor(redact, redact_ips, redact_key)
    except ValueError as exc:
        fail(str(exc), "add --redact", EXIT_USAGE)
    kb = load_kb(rules) if classify else None
    from ..pipeline import Classifier
    from ..sinks import SummaryFold, write_stream

    classifier = Classifier(kb) if kb is not None else None
    fold = SummaryFold()

    def consume(stream):
        if output is not None:
            write_stream(_checked(stream, strict, fmt), output, classified=classifier is not None,
                         transform=redactor.frame if redactor is not None else None)
        else:
            fold.fold(stream)
            check_stream(stream, fmt, strict=strict)
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
    s = summarise_fold(fold, stream.counts, stream.files, stream.warnings)
    if redactor is not None:
        import dataclasses

        s = dataclasses.replace(s, unknown=redactor(s.unknown), headerless_samples=redactor(s.headerless_samples),
                                warnings=redactor(s.warnings))
    render_summary(s)


def _checked(stream, strict: bool, fmt: str):
    """The stream's batches; at the end, the checks (strict, no mail lines) — before the output
    is committed, so a failed run leaves no file."""
    yield from stream
    check_stream(stream, fmt, strict=strict)


def _esc(text: object) -> str:
    from rich.markup import escape
    return escape(printable(text))


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


