"""The command line: options in, one library call, render, exit code.

This package is the only place that imports typer and rich. Each module holds the commands of
one area and registers them on the shared app: `_app` (the app, shared options, `parse`),
`explain`, `report`, `store` (ingest, prune, weekly), `investigate` (search, trace), `metrics`.
Nothing outside this package imports it. Modules import the library inside their commands, so
that `maillens --help`, `--version`, `version` and `explain` start quickly.
"""

from __future__ import annotations

from . import _app, explain, investigate, metrics, report, store  # noqa: F401  - registers the commands
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point (pandas and pyarrow are imported by the commands that need them)."""
    import os
    import sys

    # Arrow's default allocator (mimalloc) keeps the pages of freed batches, and so does glibc's;
    # jemalloc (in pyarrow's Linux wheels) gives them back: a stream of batches peaks 25-35% lower
    # (bench/bench_ingest.py, bench_search.py). Set before pyarrow loads; the user's choice wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc" if sys.platform.startswith("linux") else "system")
    try:
        app(prog_name="maillens")
    except Exception as exc:  # a bug: never exit 1, which --fail-on gives to findings
        from ._app import EXIT_SOFTWARE, err

        err.print(f"Error: maillens crashed: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
        err.print("Try: run again with MAILLENS_DEBUG=1 for the traceback, and report it to the project",
                  markup=False, soft_wrap=True)
        if os.environ.get("MAILLENS_DEBUG"):
            raise
        raise SystemExit(EXIT_SOFTWARE) from None
