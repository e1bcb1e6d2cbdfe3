"""What the commands share without typer: exit codes, the consoles, errors, the progress bar, the
group's settings (:func:`setup`) and the runs of the event stream.

Nothing here imports typer (nor rich until it prints): ``maillens parse`` with the plain options
runs from here and :mod:`analyzer.cli._parse` without building the typer app
(:mod:`analyzer.cli._fastargs`); :func:`fail` imports typer only to raise its ``Exit``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from ..textsafe import printable

EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT, EXIT_STRICT, EXIT_OUTPUT = 1, 2, 3, 4, 5
EXIT_NOINPUT, EXIT_SOFTWARE = 66, 70  # sysexits.h EX_NOINPUT, EX_SOFTWARE

#: the settings file's values of this run (by CLI parameter name), set by the group callback
CONFIG: dict[str, Any] = {}
#: set by a command that finished with every file it wrote closed and no thread or process of
#: its own left: :func:`analyzer.cli.run` may then end the process without the interpreter's teardown
NOTHING_OPEN = False


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



def plain_file(console: Any) -> Any:
    """The file ``console`` writes to (``console.file``), without making a console not made yet
    where rich would answer the same (its file: the stream it was made for, else ``sys.stdout``
    or ``sys.stderr`` as they are now, the stream a capture proxies): text written as it is
    (`parse -f json`) needs no rich (~0.027 CPU-s to import and make the console)."""
    import sys

    if isinstance(console, _LazyConsole) and console._made is None and "file" not in console._kwargs:
        f = sys.stderr if console._kwargs.get("stderr") else sys.stdout
        f = getattr(f, "rich_proxied_file", f)
        if f is not None:
            return f
    return (console.made() if isinstance(console, _LazyConsole) else console).file


def fail(message: str, hint: str | None, code: int) -> NoReturn:
    err.print(f"Error: {message}", markup=False, soft_wrap=True)
    if hint:
        err.print(f"Try: {hint}", markup=False, soft_wrap=True)
    import typer  # (on an error only: ``parse`` runs without it otherwise)

    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"Warning: {message}", markup=False, soft_wrap=True)


def setup(config: Path | None, verbose: bool, workers: str | None) -> dict[str, Any]:
    """The group's options (--config, --verbose, --workers), before any command: the parsing
    engine checked, the settings file read into :data:`CONFIG`; returns its values."""
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
    return values


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



LINE_FORMATS = ("auto", "syslog", "rfc3339", "exim")


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


_GC_PAUSED: list[bool] = []


def pause_gc() -> None:
    """The cycle collector off while `parse` starts: its imports (numpy, pyarrow, the parsers)
    build a few hundred thousand objects, none of them garbage, and its collections walked them
    ~0.012 CPU-s before the workers fork. :func:`resume_gc` turns it back on (the stream's
    ``gc.freeze`` first puts what start-up built out of its reach)."""
    import gc

    if gc.isenabled():
        gc.disable()
        _GC_PAUSED.append(True)


def resume_gc() -> None:
    """The cycle collector back on where :func:`pause_gc` turned it off."""
    import gc

    if _GC_PAUSED:
        _GC_PAUSED.clear()
        gc.enable()


@contextmanager
def gc_paused() -> Iterator[None]:
    """:func:`pause_gc` for the block, :func:`resume_gc` after it, however it ends (an error, an
    exit): a command's start (its imports, the rules' load) with the collector off, as `parse`
    and `report` want it. The stream's opening (:func:`_run_stream`) may turn the collector back
    on earlier, after freezing what the start built; this then does nothing more."""
    pause_gc()
    try:
        yield
    finally:
        resume_gc()


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
    resume_gc()
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
