"""The typer app, shared options, error handling, and the `parse` command.

Exit codes:
0 success · 1 findings at or above --fail-on (report) · 2 bad usage or option ·
3 an input could not be read · 4 --strict and unrecognised lines · 5 an output could not be written ·
66 no mail lines read at all (no input) · 70 maillens itself failed (a bug).

Start-up is kept short: this package imports typer only (rich when it first prints); pandas, pyarrow and
the library's modules are imported inside the commands (``maillens --help`` never loads them).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from .. import __version__
from ..textsafe import printable
from ._help import _tidy_help
from ._redact import RedactIpsOpt, RedactKeyOpt, RedactOpt, make_redactor

EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT, EXIT_STRICT, EXIT_OUTPUT = 1, 2, 3, 4, 5
EXIT_NOINPUT, EXIT_SOFTWARE = 66, 70  # sysexits.h EX_NOINPUT, EX_SOFTWARE

#: the settings file's values of this run (by CLI parameter name), set by the group callback
CONFIG: dict[str, Any] = {}
#: set by a command that finished with every file it wrote closed and no thread or process of
#: its own left: :func:`analyzer.cli.run` may then end the process without the interpreter's teardown
NOTHING_OPEN = False


class _Group(TyperGroup):
    """The maillens group: tidies the help of every command before running."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _tidy_help(self)
        return super().main(*args, **kwargs)


app = typer.Typer(
    name="maillens",
    cls=_Group,  # the help is _main's docstring
    no_args_is_help=True,
    add_completion=True,
    # Plain help: rich markup would eat brackets ("pip install 'maillens[dask]'", "[default: …]").
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _console(**kwargs: Any) -> Any:
    """A rich console that shows control characters in printed strings as '?' (log text, file names)."""
    from rich.console import Console

    class _Console(Console):
        def print(self, *objects, **kw) -> None:  # type: ignore[override]
            super().print(*(printable(o, newlines=True) if isinstance(o, str) else o for o in objects), **kw)

    return _Console(**kwargs)


class _LazyConsole:
    """:func:`_console`, made at its first use: importing rich costs ~18 CPU-ms, which ``--help``
    and ``parse``'s start-up before its workers fork do without (attributes are the console's)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._made: Any = None

    def made(self) -> Any:
        if self._made is None:
            self._made = _console(**self._kwargs)
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


out: Any = _LazyConsole(highlight=False, soft_wrap=False)
err: Any = _LazyConsole(stderr=True, highlight=False)


def _is_terminal(console: Any) -> bool:
    """``console.is_terminal``, without making a console not made yet where rich could only answer
    no (stderr not a tty, neither TTY_COMPATIBLE nor FORCE_COLOR set: rich's own rules)."""
    if isinstance(console, _LazyConsole) and console._made is None and not {"TTY_COMPATIBLE", "FORCE_COLOR"} & set(
            os.environ):
        import sys

        try:
            if sys.stderr is None or not sys.stderr.isatty():
                return False
        except ValueError:  # closed
            return False
    return (console.made() if isinstance(console, _LazyConsole) else console).is_terminal


def fail(message: str, hint: str | None, code: int) -> NoReturn:
    err.print(f"Error: {message}", markup=False, soft_wrap=True)
    if hint:
        err.print(f"Try: {hint}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"Warning: {message}", markup=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        out.print(__version__, markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit")] = False,
    config: Annotated[Path | None, typer.Option("--config", metavar="FILE", show_default=False,
                                                help="Read settings (tz, store, rules, anomalies, redact) "
                                                "from FILE instead of /etc/maillens.toml and "
                                                "~/.config/maillens.toml; options given here still win")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Say which parsing engine runs when it is not the native one")] = False,
    # a str, converted below: an int option here would make typer import pydantic for every command
    workers: Annotated[str | None, typer.Option("--workers", metavar="N", show_default=False,
                                                help="Parse big logs in N processes (default: "
                                                "$MAILLENS_WORKERS, else one per core); the "
                                                "result is the same with any N")] = None,
) -> None:
    """Read Postfix and Exim logs; say what went wrong, why, and what to do about it.

    Examples:

      maillens report /var/log/mail.log --yesterday

      maillens explain 5.7.26

      maillens --install-completion          # tab completion for your shell
    """
    from .. import native
    from ..config import ConfigError, load_config

    if workers is not None:
        if not workers.strip().isdigit() or int(workers) < 1:
            fail(f"--workers: {workers!r} is not a number of processes (1 or more)", "--workers 2", EXIT_USAGE)
        os.environ["MAILLENS_WORKERS"] = str(int(workers))  # read by analyzer.pipeline when a stream opens
    try:
        native.engine()
    except native.EngineError as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)
    if verbose and native.engine_choice() != "python" and not native.available():
        err.print(f"maillens: {native.unavailable_reason()}; using the Python engine", markup=False, soft_wrap=True)

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)
    values = cfg.values()
    CONFIG.clear()
    CONFIG.update(values)
    if not values:
        return
    # click's default_map: a value given on the command line wins over it, it wins over the
    # option's own default.
    defaults: dict[str, dict[str, Any]] = {}
    for name, sub in getattr(ctx.command, "commands", {}).items():
        params = {p.name for p in sub.params}
        chosen = {k: v for k, v in values.items() if k in params}
        if chosen:
            defaults[name] = chosen
    ctx.default_map = {**defaults, **(ctx.default_map or {})}


class _Progress:
    """A progress bar on stderr, only when stderr is a terminal: bytes for files, lines for stdin."""

    def __init__(self, description: str, console: Any = None) -> None:
        self.console = console or err
        self.bar: Any = None
        self.task: Any = None
        self.description = description

    def __enter__(self) -> _Progress:
        if _is_terminal(self.console):
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            console = self.console.made() if isinstance(self.console, _LazyConsole) else self.console
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                TextColumn("{task.fields[lines]}"), TimeRemainingColumn(),
                                console=console, transient=True)
            self.bar.__enter__()
            self.task = self.bar.add_task(self.description, total=None, lines="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, done: int, total: int) -> None:
        """Library callback: ``(bytes_done, bytes_total)``; total < 0 means ``done`` counts lines
        of an input whose size is unknown (stdin)."""
        if self.bar is None:
            return
        if total < 0:
            self.bar.update(self.task, lines=f"{done:,} lines")
        else:
            self.bar.update(self.task, completed=done, total=total or None)

    @property
    def active(self) -> bool:
        return self.bar is not None


def _progress(description: str = "reading logs") -> _Progress:
    return _Progress(description)


LogsArg = Annotated[list[str] | None, typer.Argument(
    help="Log files, globs, directories, or - for stdin. Compressed files (gz, bz2, xz, zst) are detected by "
         "content. None: this machine's usual mail logs (/var/log/mail.log*, maillog*, exim4/mainlog* …), "
         "else the systemd journal", show_default=False)]
YearOpt = Annotated[int | None, typer.Option("--year", help="Year of the first yearless syslog line "
                                             "[default: from each file's modification time]", min=1970, max=2200,
                                             show_default=False)]
TzOpt = Annotated[str | None, typer.Option("--tz", help="Time zone of stamps that carry none, e.g. "
                                           "Europe/Berlin [default: $TZ, else this machine's zone]",
                                           show_default=False)]
LogFormatOpt = Annotated[str, typer.Option("--log-format", help="Line format of the logs: auto, syslog, rfc3339 "
                                           "or exim (auto detects it per file)")]
LINE_FORMATS = ("auto", "syslog", "rfc3339", "exim")


RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="A site rules file (TOML) that adds or "
                                                      "overrides knowledge-base entries; may be repeated",
                                                      show_default=False)]


def logs_or_store(logs: list[str] | None, store: str | None) -> str | None:
    """For commands that read LOGS or --store: the settings file's store is for when no LOGS are given."""
    if logs and store is not None and str(store) == str(CONFIG.get("store")):
        return None
    return store


def load_kb(rules: list[Path] | None):
    """The knowledge base with the site's files, or a one-line error naming file and rule."""
    from ..rules import RulesError, load_rules, shipped_rules

    if not rules:  # the shipped one, loaded once (the classifier asks for it too)
        return shipped_rules()
    try:
        return load_rules(tuple(rules))
    except RulesError as exc:
        fail(str(exc), "fix the file, or run without --rules", EXIT_INPUT)


def _import_ahead(names: tuple[str, ...]) -> None:
    """Import ``names`` on a thread (the modules rendering needs, while the workers parse)."""
    import importlib
    import threading
    from contextlib import suppress

    def run() -> None:
        with suppress(Exception):  # only a head start: the renderer imports what is missing
            for name in names:
                importlib.import_module(name)

    threading.Thread(target=run, name="maillens-imports", daemon=True).start()


def check_tz(tz: str | None) -> str:
    """--tz (or the default zone) checked: an unknown name is a one-line error naming the option."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ..reader import default_tz  # (no pandas: analyzer.lazy)

    zone = tz or default_tz()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: unknown time zone {zone!r}", "use an IANA name such as Europe/Berlin or UTC", EXIT_USAGE)
    return zone


def when(text: str | None, option: str, *, now: dt.datetime, tz: str) -> dt.datetime | None:
    """A --since/--until/--now value read by the one time parser; a bad one is an error naming the option."""
    if text is None:
        return None
    from ..timeparse import TimeError, parse_time

    try:
        return parse_time(text, now=now, tz=tz)
    except TimeError as exc:
        fail(f"{option}: {exc}", "see --help for the forms a time can take", EXIT_USAGE)


def use_system_allocator() -> None:
    """Before a command parses logs: Arrow's system allocator, unless ARROW_DEFAULT_MEMORY_POOL is set.

    Parsing allocates and frees many short-lived buffers; on our 2-core benchmark machine the
    system allocator was ~15% faster than pyarrow's default mimalloc (bench/README.md). Library
    users keep whatever pool they chose. Called by commands, not at start-up: pyarrow is slow to import.
    """
    import os

    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


def run_parse(logs: list[str] | None, *, year: int | None, tz: str | None, fmt: str, strict: bool):
    """Parse with a progress bar on a terminal, mapping library errors to exit codes.

    Without logs, reads this machine's usual mail logs and says which on stderr's first line."""
    with logs_or_defaults(logs) as logs:
        return _run_parse(logs, year=year, tz=tz, fmt=fmt, strict=strict)


@contextmanager
def logs_or_defaults(logs: list[str] | None) -> Iterator[list]:
    """The logs given, else this machine's usual ones (named on stderr's first line); exit 66 if none."""
    if logs:
        yield logs
        return
    from ..intake import NoMailLines
    from ..locations import find_logs

    try:
        located = find_logs()
    except NoMailLines as exc:
        fail(str(exc), exc.hint, EXIT_NOINPUT)
    err.print(located.message, markup=False, soft_wrap=True)
    try:
        yield located.inputs
    finally:
        located.cleanup()


def _run_parse(logs: list, *, year: int | None, tz: str | None, fmt: str, strict: bool):
    from ..reader import collect

    return _run_stream(logs, lambda stream: collect(stream, strict=strict), year=year, tz=tz, fmt=fmt)


def run_stream(logs: list[str] | None, consume, *, year: int | None, tz: str | None, fmt: str, classifier=None,
               columns=None):
    """Open the logs' event stream (analyzer.pipeline) and hand it to ``consume`` (a sink), with a
    progress bar on a terminal; then check what was read (no mail lines: exit 66). Library errors
    become one-line errors and exit codes. Returns what ``consume`` returns."""
    with logs_or_defaults(logs) as logs:
        return _run_stream(logs, consume, year=year, tz=tz, fmt=fmt, classifier=classifier, columns=columns)


def _run_stream(logs: list, consume, *, year: int | None, tz: str | None, fmt: str, classifier=None, columns=None):
    use_system_allocator()
    from ..lazy import arrow_without_pandas

    arrow_without_pandas()  # pyarrow's own import of pandas refused: imported only if a step reads a frame
    import gc

    from ..intake import NoMailLines
    from ..output import OutputError
    from ..reader import OptionError, UnrecognisedLines, check_stream, open_stream
    from ..sources import SourceError

    gc.freeze()  # what start-up built is never garbage: no collection walks it again (nor a forked worker's)
    try:
        with _progress() as prog:
            stream = open_stream(logs, year=year, tz=tz, fmt=fmt, now=dt.datetime.now(dt.UTC),
                                 progress=prog if prog.active else None, classifier=classifier, columns=columns)
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


@app.command()
def parse(
    logs: LogsArg = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the event table to FILE "
                                               "(.parquet, .csv, .jsonl; - for JSON lines on stdout)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output format of the summary: text or json "
                                     "(with -o the file's extension chooses)")] = "text",
    log_format: LogFormatOpt = "auto",
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

      journalctl -u postfix -o short-iso | maillens parse - --tz UTC --log-format rfc3339
    """
    if fmt in LINE_FORMATS:  # before 0.2, -f/--format was the line format here
        warn(f"-f/--format {fmt} as the line format is deprecated: -f is the output format in every command; "
             f"use --log-format {fmt}")
        log_format, fmt = fmt, "text"
    if fmt not in ("text", "json"):
        fail(f"--format: unknown format {fmt!r}", "use --format text or json (and --log-format for the line "
             "format)", EXIT_USAGE)
    if log_format not in LINE_FORMATS:
        fail(f"--log-format: unknown line format {log_format!r}", f"use one of {', '.join(LINE_FORMATS)}", EXIT_USAGE)
    from ..rule_sets import compile_ahead
    from ..rules import shipped_rules

    if classify and not rules:
        # the shipped rules' patterns compiled on a thread (the native core, without the GIL) on
        # the core that idles while this process imports what it parses with (check_tz on)
        compile_ahead(shipped_rules)
    check_tz(tz)
    try:
        redactor = make_redactor(redact, redact_ips, redact_key)
    except ValueError as exc:
        fail(str(exc), "add --redact", EXIT_USAGE)
    # the summary with the shipped rules loads them once its workers have forked (FastSummaryFold)
    kb = load_kb(rules) if classify and (rules or output is not None) else None
    if kb is not None and rules:  # a site's rules: their patterns compiled before the workers fork
        compile_ahead(lambda: kb)
    from ..classify_stream import StreamClassifier
    from ..reader import check_stream
    from ..sinks import SummaryFold, write_stream

    # the classification of the whole stream: the cache, and retry-waits attributed across batches
    classifier = StreamClassifier(kb) if kb is not None else None
    fold = SummaryFold()
    if output is None and classify:  # the summary folded where blocks are parsed
        from ..fast_summary import FastSummaryFold

        def made() -> StreamClassifier:  # at the first block: a big input's workers have forked
            # what renders the summary, imported while they parse (~0.02 CPU-s off the run's end)
            _import_ahead(("rich.console", "rich.table", "rich.markup") if fmt == "text" else ("rich.console",))
            return StreamClassifier(load_kb(None))

        fold = FastSummaryFold(classifier or made)
        classifier = fold.summariser

    def consume(stream):
        if output is not None:
            write_stream(_checked(stream, strict, log_format), output, classified=classifier is not None,
                         transform=redactor.frame if redactor is not None else None, classifier=classifier)
        else:
            fold.fold(stream)
            check_stream(stream, log_format, strict=strict)
        return stream

    # the summary reads a few columns: worker processes send only those
    columns = None if output is not None else (*SummaryFold.READS, *(classifier.reads if classifier else ()))
    stream = run_stream(logs, consume, year=year, tz=tz, fmt=log_format, classifier=classifier, columns=columns)
    for w in stream.warnings:
        warn(w)
    global NOTHING_OPEN
    if output is not None:
        if not quiet and output != "-":
            c = stream.counts
            err.print(f"{c.events:,} events from {c.lines:,} lines written to {output}"
                      + (f" ({c.unrecognised:,} lines not recognised)" if c.unrecognised else ""), markup=False)
        NOTHING_OPEN = True  # the output written and closed, the workers and threads ended (write_stream, run_stream)
        return
    from ..summary import summarise_fold

    summary = summarise_fold(fold, stream.counts, stream.files, stream.warnings)
    if redactor is not None:
        import dataclasses

        summary = dataclasses.replace(summary, unknown=redactor(summary.unknown),
                                      headerless_samples=redactor(summary.headerless_samples),
                                      warnings=redactor(summary.warnings))
    if fmt == "json":
        out.file.write(summary_json(summary))
        out.file.flush()
    else:
        render_summary(summary)
    NOTHING_OPEN = True  # the summary on stdout; the inputs closed, the workers and threads ended (run_stream)


def _checked(stream, strict: bool, fmt: str):
    """The stream's batches; at the end, the checks (strict, no mail lines) — before the output
    is committed, so a failed run leaves no file."""
    from ..reader import check_stream

    yield from stream
    check_stream(stream, fmt, strict=strict)


def summary_json(s: Any) -> str:
    """The parse summary as one JSON document (slashes are not escaped)."""
    import dataclasses
    import json

    data = dataclasses.asdict(s)
    data["recognised_share"] = s.recognised_share
    for key in ("first", "last"):
        data[key] = None if s.__dict__[key] is None else s.__dict__[key].isoformat()
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _esc(text: object) -> str:
    from rich.markup import escape
    return escape(printable(text))


def render_summary(s: Any) -> None:
    from rich.table import Table

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
    """Print the version and the parsing engine in use (native or python).

    Example:

      MAILLENS_ENGINE=python maillens version
    """
    from ..native import EngineError, engine

    out.print(__version__, markup=False, highlight=False)
    try:
        out.print(f"parser: {engine()}", markup=False, highlight=False)
    except EngineError as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)


