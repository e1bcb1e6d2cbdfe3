"""The typer app, shared options, error handling, and the `parse` command.

Exit codes:
0 success · 1 findings at or above --fail-on (report) · 2 bad usage or option ·
3 an input could not be read · 4 --strict and unrecognised lines · 5 an output could not be written ·
66 no mail lines read at all (no input) · 70 maillens itself failed (a bug).

Start-up is kept short: this package imports typer only (rich when it first prints); pandas, pyarrow and
the library's modules are imported inside the commands (``maillens --help`` never loads them). What the
commands share without typer is in :mod:`analyzer.cli._common` (imported here under the same names),
`parse`'s work in :mod:`analyzer.cli._parse`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ._common import (  # noqa: F401  - the names the command modules (and tests) import from here
    CONFIG,
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_NOINPUT,
    EXIT_OUTPUT,
    EXIT_SOFTWARE,
    EXIT_STRICT,
    EXIT_USAGE,
    LINE_FORMATS,
    _console,
    _import_ahead,
    _is_terminal,
    _LazyConsole,
    _Progress,
    _progress,
    _run_parse,
    _run_stream,
    check_tz,
    err,
    fail,
    load_kb,
    logs_or_defaults,
    logs_or_store,
    out,
    run_parse,
    run_stream,
    setup,
    use_system_allocator,
    warn,
    when,
)
from ._help import _tidy_help
from ._parse import _checked, _esc, parse_command, render_summary, summary_json  # noqa: F401
from ._redact import RedactIpsOpt, RedactKeyOpt, RedactOpt, make_redactor  # noqa: F401


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
    values = setup(config, verbose, workers)
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
RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="A site rules file (TOML) that adds or "
                                                      "overrides knowledge-base entries; may be repeated",
                                                      show_default=False)]


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
    parse_command(logs, output, fmt, log_format, year, tz, strict, quiet, classify, rules, redact, redact_ips,
                  redact_key)


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
