"""`maillens ingest`, `maillens prune`, `maillens weekly`: the history of nightly runs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import typer

from ..sources import SourceError
from ._app import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE, LogsArg, TzOpt, YearOpt, app, err, fail, out

StoreOpt = Annotated[str, typer.Option("--store", help="The store: a directory of day-partitioned Parquet "
                                       "files (created if missing)", show_default=False)]
EngineOpt = Annotated[str, typer.Option("--engine", help="local (one process) or dask (parse files on a "
                                        "Dask cluster; pip install 'maillens[dask]')")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: the scheduler "
                                                  "address, e.g. tcp://10.0.0.5:8786 [default: a local cluster]")]

_DURATION = re.compile(r"^\s*(\d+)\s*([dwh])\s*$")


def parse_keep(text: str) -> dt.timedelta:
    """'90d', '12w', '36h' -> timedelta."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(text)
    n, unit = int(m.group(1)), m.group(2)
    return {"d": dt.timedelta(days=n), "w": dt.timedelta(weeks=n), "h": dt.timedelta(hours=n)}[unit]


@app.command()
def ingest(
    logs: LogsArg,
    store: StoreOpt,
    year: YearOpt = None,
    tz: TzOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    part_rows: Annotated[int, typer.Option("--part-rows", hidden=True, min=1)] = 500_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success")] = False,
) -> None:
    """Parse and classify logs and add their events to the store; each event is added once.

    Ingesting the same file again, a rotated copy (mail.log.1, mail.log.2.gz) or a file that has
    grown adds only the events not in the store yet. A run killed at any moment leaves the store
    consistent; the next run completes the work.

    Examples:

      maillens ingest /var/log/mail.log* --store /var/lib/maillens

      maillens ingest 'dumps/*/mail.log*' --store /srv/history --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from ..reader import OptionError
    from ..store import StoreError, ingest as ingest_logs

    if engine not in ("local", "dask"):
        fail(f"unknown engine {engine!r}", "use --engine local or --engine dask", EXIT_USAGE)
    if scheduler and engine != "dask":
        fail("--scheduler needs --engine dask", "add --engine dask", EXIT_USAGE)
    if engine == "dask":
        from ..scale import DaskMissing, require_dask

        try:
            require_dask()
        except DaskMissing as exc:
            fail(str(exc), exc.hint, EXIT_USAGE)
    try:
        res = ingest_logs(logs, store, tz=tz, year=year, engine=engine, scheduler=scheduler,
                          now=dt.datetime.now(dt.UTC), part_rows=part_rows)
    except OptionError as exc:
        fail(str(exc), "maillens ingest --help", EXIT_USAGE)
    except SourceError as exc:
        fail(str(exc), exc.hint, EXIT_INPUT)
    except StoreError as exc:
        fail(str(exc), exc.hint, EXIT_OUTPUT)
    for w in res.warnings:
        err.print(f"Warning: {w}", markup=False, soft_wrap=True)
    if not quiet:
        days = f" over {len(res.days)} day(s) ({res.days[0]} … {res.days[-1]})" if res.days else ""
        err.print(f"{res.added:,} events added to {store}{days}; {res.duplicates:,} already there"
                  + (f"; {len(res.skipped_sources)} file(s) unchanged since they were ingested"
                     if res.skipped_sources else "")
                  + (f"; {res.too_old:,} older than the retention window" if res.too_old else ""),
                  markup=False, soft_wrap=True)


@app.command()
def prune(
    store: StoreOpt,
    keep: Annotated[str, typer.Option("--keep", help="How much history to keep: 90d, 12w, 48h",
                                      show_default=False)],
) -> None:
    """Delete the days of the store older than --keep (whole UTC days).

    Examples:

      maillens prune --store /var/lib/maillens --keep 90d
    """
    from ..store import StoreError, prune as prune_store

    try:
        span = parse_keep(keep)
    except ValueError:
        fail(f"--keep {keep!r} is not a duration", "use a number and d, w or h, e.g. --keep 90d", EXIT_USAGE)
    try:
        res = prune_store(store, span, dt.datetime.now(dt.UTC))
    except StoreError as exc:
        fail(str(exc), exc.hint, EXIT_INPUT)
    out.print(f"{len(res.removed_days)} day(s) removed ({res.removed_rows:,} events); keeping {res.kept_from} "
              "and later", markup=False)
