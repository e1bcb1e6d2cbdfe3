"""The command line: options in, one library call, render, exit code.

This package is the only place that imports typer and rich. Each module holds the commands of
one area and registers them on the shared app: `_app` (the app, shared options, `parse`),
`explain`, `report`, `store` (ingest, prune, weekly), `investigate` (search, trace). Nothing outside this package imports it.
"""

from __future__ import annotations

from . import _app, explain, investigate, report, store  # noqa: F401  - registers the commands
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    import os

    import pyarrow as pa

    # Parsing allocates and frees many short-lived buffers; on our 2-core benchmark machine the
    # system allocator was ~15% faster than pyarrow's default mimalloc (bench/README.md). A user's
    # ARROW_DEFAULT_MEMORY_POOL still wins. Library users keep whatever pool they chose.
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())
    try:
        app()
    except Exception as exc:  # a bug: never exit 1, which --fail-on gives to findings
        from ._app import EXIT_SOFTWARE, err

        err.print(f"Error: maillens crashed: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
        err.print("Try: run again with MAILLENS_DEBUG=1 for the traceback, and report it to the project",
                  markup=False, soft_wrap=True)
        if os.environ.get("MAILLENS_DEBUG"):
            raise
        raise SystemExit(EXIT_SOFTWARE) from None
