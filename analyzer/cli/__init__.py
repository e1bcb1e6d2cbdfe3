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
    app(prog_name="maillens")
