"""The command line: options in, one library call, render, exit code.

This package is the only place that imports typer and rich. Each module holds the commands of
one area and registers them on the shared app: `_app` (the app, shared options, `parse`),
`explain`, `report`, `store` (ingest, prune, weekly), `investigate` (search, trace), `metrics`.
Nothing outside this package imports it. Modules import the library inside their commands, so
that `maillens --help`, `--version`, `version` and `explain` start quickly.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main", "run"]


def __getattr__(name: str) -> Any:
    """``app`` (the typer app with every command registered), built when first asked for: `parse`
    with plain options runs without typer (:func:`main`)."""
    if name == "app":
        return _typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _typer_app() -> Any:
    from . import _app, explain, investigate, metrics, report, store  # noqa: F401  - registers the commands

    return _app.app


def main() -> None:
    """Console-script entry point (pandas and pyarrow are imported by the commands that need them)."""
    import os
    import sys

    # Arrow's default allocator (mimalloc) keeps the pages of freed batches, and so does glibc's;
    # jemalloc (in pyarrow's Linux wheels) gives them back: a stream of batches peaks 25-35% lower
    # (bench/bench_ingest.py, bench_search.py). Set before pyarrow loads; the user's choice wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc" if sys.platform.startswith("linux") else "system")
    # numpy's OpenBLAS starts a thread per core at import that spins ~0.035 CPU-s waiting for
    # work; maillens never multiplies matrices (the spin took the core the rules compile on
    # while this process imports). Set before numpy loads; the user's choice wins.
    # (not OMP_NUM_THREADS: Arrow sizes its own thread pool by it)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        if not _plain_parse(sys.argv[1:]):
            _only_named(sys.argv[1:2])
            _typer_app()(prog_name="maillens")
    except Exception as exc:  # a bug: never exit 1, which --fail-on gives to findings
        from ._common import EXIT_SOFTWARE, err

        err.print(f"Error: maillens crashed: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
        err.print("Try: run again with MAILLENS_DEBUG=1 for the traceback, and report it to the project",
                  markup=False, soft_wrap=True)
        if os.environ.get("MAILLENS_DEBUG"):
            raise
        raise SystemExit(EXIT_SOFTWARE) from None


def run() -> None:
    """The ``maillens`` command (console script, ``python -m analyzer``): :func:`main`, then, where
    the command said it left nothing open (:data:`analyzer.cli._common.NOTHING_OPEN`: ``parse``, ``report``), the
    output flushed and the process ended without the interpreter's teardown (freeing every
    module and object one by one: ~0.08 CPU-s after a 1M-line ``parse``). Callers that go on
    after the command (tests, bench/bench_main_cpu.py) call :func:`main`."""
    import os
    import sys

    _stop_on_sigterm()
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    from ..ahead import STOPPING  # (after: `parse FILE`'s early fold starts ~4 CPU-ms sooner without them)
    from . import _common

    if (code in (0, None) and _common.NOTHING_OPEN) or STOPPING.is_set():
        try:
            for f in (sys.stdout, sys.stderr):
                if f is not None:
                    f.flush()
        except (OSError, ValueError):  # a closed pipe: as the interpreter's exit reports it
            raise SystemExit(code) from None
        # after a SIGTERM, a thread left reading an open stdin holds its buffer's lock, which the
        # interpreter's teardown would wait for and then abort on: the cleanup already ran
        os._exit(code if isinstance(code, int) else 1)
    raise SystemExit(code)


def _stop_on_sigterm() -> None:
    """SIGTERM (a cron ``timeout``, ``kill``, systemd stopping a unit) ends the run as an
    interruption does: the main thread raises ``SystemExit(143)`` (128 + the signal, as a shell
    reports a process the signal ended), so the run's cleanup runs — its temporary output removed,
    its workers stopped, its spool directory removed — instead of the process vanishing and leaving
    them for the next run to sweep (threads waiting on a reader that nothing wakes, such as an
    open stdin, are left after a few seconds: :data:`analyzer.ahead.STOPPING`). A SIGTERM the
    caller chose to ignore stays ignored."""
    import signal

    def stop(signum: int, frame: object) -> None:
        from ..ahead import stop_all

        stop_all()
        raise SystemExit(128 + signum)

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, stop)


def _only_named(first: list[str]) -> None:
    """When the first argument names a command (or the sub-app of commands), the app keeps only
    it: typer builds every registered command's options from its signature on every run (~15
    CPU-ms for all, ~2 for one). Anything else (options first, --help, a typo and its
    suggestions, shell completion) builds them all."""
    import os

    from typer.main import get_command_name

    if not first or any(k.startswith("_MAILLENS_COMPLETE") for k in os.environ):
        return
    app = _typer_app()
    cmds = [c for c in app.registered_commands if (c.name or get_command_name(c.callback.__name__)) == first[0]]
    groups = [g for g in app.registered_groups if g.name == first[0]]
    if len(cmds) + len(groups) == 1:
        app.registered_commands, app.registered_groups = cmds, groups


def _plain_parse(args: list[str]) -> bool:
    """`maillens parse` run without typer where its options are plain (:mod:`analyzer.cli._fastargs`
    reads them, else typer does: False), as typer's app would run it: the group's settings
    (:func:`analyzer.cli._common.setup`), the settings file's values for the options not given,
    the command, and the exits click's standalone mode makes of its exceptions."""
    import os

    if not args or args[0] != "parse" or any(k.startswith("_MAILLENS_COMPLETE") for k in os.environ):
        return False
    from ._fastargs import read_parse, with_settings

    got = read_parse(args[1:])
    if got is None:
        return False
    import sys

    from .. import early_fold
    from ..heap import two_arenas

    two_arenas()  # before the command's threads start (analyzer.heap)
    logs, output, classify, fmt, line_format = (got[0][k] for k in ("logs", "output", "classify", "fmt", "log_format"))
    if (logs and len(logs) == 1 and logs[0] != "-" and output is None and classify and fmt in ("text", "json")
            and line_format in ("auto", "syslog")):
        early_fold.start(logs[0], line_format)  # the summary's first blocks folded while the rest is imported
    from ._common import gc_paused, setup

    try:
        with gc_paused():  # until the stream opens (_run_stream): start-up makes no garbage
            settings = setup(None, False, None)
            from ._parse import parse_command

            parse_command(**with_settings(*got, settings))
    except EOFError:  # as click's standalone mode: "Aborted!", exit 1
        print(file=sys.stderr)
        print("Aborted!", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        try:  # recent typer carries its own copy of click; older ones use the click package
            from typer._click.utils import PacifyFlushWrapper
        except ImportError:
            from click.utils import PacifyFlushWrapper

        sys.stdout, sys.stderr = PacifyFlushWrapper(sys.stdout), PacifyFlushWrapper(sys.stderr)
        raise SystemExit(1) from None
    except Exception as exc:
        typer = sys.modules.get("typer")  # imported where a command raised its Exit (fail)
        if typer is None or not isinstance(exc, typer.Exit):
            raise
        raise SystemExit(exc.exit_code) from None
    finally:
        early_fold.drop()  # (an error before the summary's fold: the thread stops after its block)
    raise SystemExit(0)
