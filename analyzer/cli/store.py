"""`maillens ingest`, `maillens prune`, `maillens store repair`, `maillens weekly`: the history of nightly runs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, NoReturn

import typer

from ..intake import NoMailLines
from ..sources import SourceError
from ._app import (
    EXIT_INPUT,
    EXIT_NOINPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    LogsArg,
    RulesOpt,
    TzOpt,
    YearOpt,
    _progress,
    app,
    check_tz,
    err,
    fail,
    load_kb,
    logs_or_defaults,
    out,
    use_system_allocator,
    warn,
    when,
)

StoreOpt = Annotated[str, typer.Option("--store", help="The store: a directory of day-partitioned Parquet "
                                       "files (created if missing)", show_default=False)]
EngineOpt = Annotated[str, typer.Option("--engine", help="local (one process) or dask (parse files on a "
                                        "Dask cluster; pip install 'maillens[dask]')")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: the scheduler "
                                                  "address, e.g. tcp://10.0.0.5:8786 [default: a local cluster]")]

def parse_keep(text: str) -> dt.timedelta:
    """'90d', '12w', '36h' -> timedelta (the shared duration parser; ValueError otherwise)."""
    from ..timeparse import parse_duration

    return parse_duration(text)


def _store_error(exc: OSError) -> NoReturn:
    """A store that cannot be used: rc 3 when it is damaged (with `store repair` to try), rc 5 when it cannot be
    written (not ours, full disk, permissions)."""
    from ..store import StoreDamaged

    fail(str(exc), getattr(exc, "hint", None), EXIT_INPUT if isinstance(exc, StoreDamaged) else EXIT_OUTPUT)


def _cluster_error(exc: OSError | RuntimeError, scheduler: str | None, engine: str = "dask") -> NoReturn:
    """A scheduler that cannot be reached (OSError) or a task that failed on a worker: one line.
    Without a cluster, an OSError is said as it is. Any other RuntimeError is a bug and is raised as it is."""
    from ..scale import WorkerError

    if isinstance(exc, WorkerError):
        fail(str(exc), exc.hint, EXIT_INPUT)
    if isinstance(exc, OSError) and engine != "dask":
        where = f"{exc.filename}: " if exc.filename else ""
        fail(f"{where}{exc.strerror or exc}", None, EXIT_INPUT)
    if isinstance(exc, OSError):
        fail(f"{scheduler or 'the local cluster'}: {exc}", "check --scheduler (tcp://HOST:PORT) and that it runs",
             EXIT_INPUT)
    raise exc


@app.command()
def ingest(
    store: StoreOpt,
    logs: LogsArg = None,
    year: YearOpt = None,
    tz: TzOpt = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    rules: RulesOpt = None,
    part_rows: Annotated[int, typer.Option("--part-rows", hidden=True, min=1)] = 500_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success")] = False,
) -> None:
    """Parse and classify logs and add their events to the store; each event is added once.

    Ingesting the same file again, a rotated copy (mail.log.1, mail.log.2.gz) or a file that has grown adds only the events not in the store yet. A run killed at any moment leaves the store consistent; the next run completes the work.

    Examples:

      maillens ingest /var/log/mail.log* --store /var/lib/maillens

      maillens ingest 'dumps/*/mail.log*' --store /srv/history --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from ..reader import OptionError
    from ..store import StoreError
    from ..store import ingest as ingest_logs

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
    check_tz(tz)
    use_system_allocator()
    load_kb(rules)  # a broken rules file is a one-line error naming the file and rule
    with logs_or_defaults(logs) as logs:
        try:
            with _progress("ingesting logs") as prog:
                res = ingest_logs(logs, store, tz=tz, year=year, engine=engine, scheduler=scheduler,
                                  now=dt.datetime.now(dt.UTC), part_rows=part_rows, rules=rules or (),
                                  progress=prog if prog.active else None)
        except OptionError as exc:
            fail(str(exc), "maillens ingest --help", EXIT_USAGE)
        except SourceError as exc:
            fail(str(exc), exc.hint, EXIT_INPUT)
        except StoreError as exc:
            _store_error(exc)
        except (OSError, RuntimeError) as exc:
            _cluster_error(exc, scheduler, engine)
    for w in res.warnings:
        warn(w)
    if not (res.added or res.duplicates or res.unrecognised or res.too_old or res.skipped_sources):
        fail(f"no mail lines read ({res.lines:,} lines)", NoMailLines.hint, EXIT_NOINPUT)
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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the days that would be removed; change "
                                          "nothing")] = False,
) -> None:
    """Delete the days of the store older than --keep (whole UTC days).

    Examples:

      maillens prune --store /var/lib/maillens --keep 90d

      maillens prune --store /var/lib/maillens --keep 90d --dry-run    # what would go
    """
    from ..store import StoreError, StoreWriteError
    from ..store import prune as prune_store

    try:
        span = parse_keep(keep)
    except ValueError as exc:
        fail(f"--keep: {exc}", "use a number and d, w or h, e.g. --keep 90d", EXIT_USAGE)
    try:
        res = prune_store(store, span, dt.datetime.now(dt.UTC), dry_run=dry_run)
    except StoreError as exc:
        fail(f"--store: {exc}", exc.hint, EXIT_OUTPUT if isinstance(exc, StoreWriteError) else EXIT_INPUT)
    if dry_run:
        for day in res.removed_days:
            out.print(f"would remove {day}", markup=False)
        out.print(f"{len(res.removed_days)} day(s) would be removed ({res.removed_rows:,} events); keeping "
                  f"{res.kept_from} and later (dry run: nothing changed)", markup=False)
        return
    out.print(f"{len(res.removed_days)} day(s) removed ({res.removed_rows:,} events); keeping {res.kept_from} "
              "and later", markup=False)


store_app = typer.Typer(help="Look after a store: rebuild its manifest.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("repair")
def store_repair(store: StoreOpt) -> None:
    """Rebuild the store's manifest from the part files that are there.

    For a store whose _manifest.json was lost (deleted, not restored from a backup) or that lists a part that is missing or corrupt. Each event is listed once; an unreadable part is kept aside as .NAME.damaged; files maillens did not write are left as they are. Ingest the logs again afterwards to restore what a lost part held.

    Examples:

      maillens store repair --store /var/lib/maillens
    """
    from ..store import StoreError, StoreWriteError
    from ..store import repair as repair_store

    try:
        res = repair_store(store)
    except StoreWriteError as exc:
        fail(str(exc), exc.hint, EXIT_OUTPUT)
    except StoreError as exc:
        fail(str(exc), "check --store: it must be the directory of a maillens store", EXIT_INPUT)
    for rel in res.missing:
        err.print(f"Warning: {rel}: listed but missing; dropped from the manifest", markup=False, soft_wrap=True)
    for rel in res.damaged:
        err.print(f"Warning: {rel}: unreadable; set aside as .{rel.split('/')[-1]}.damaged", markup=False,
                  soft_wrap=True)
    if res.foreign:
        err.print(f"Warning: {len(res.foreign)} file(s) under day=*/ were not written by maillens and were left "
                  f"as they are, e.g. {res.foreign[0]}", markup=False, soft_wrap=True)
    out.print(f"{store}: manifest {'rebuilt' if not res.had_manifest else 'repaired'}: {res.parts} part(s), "
              f"{res.rows:,} events"
              + (f"; {len(res.adopted)} part(s) found unlisted and added" if res.adopted else "")
              + (f"; {len(res.duplicates) + len(res.rewritten)} part(s) holding copies of other parts' events "
                 "removed or rewritten" if res.duplicates or res.rewritten else ""), markup=False, soft_wrap=True)
    if res.missing or res.damaged or not res.had_manifest:
        out.print("Ingest the logs again to restore what the lost parts held (events already stored are not "
                  "added twice).", markup=False, soft_wrap=True)


@app.command()
def weekly(
    store: StoreOpt,
    week: Annotated[str | None, typer.Option("--week", help="ISO week, Monday first, e.g. 2026-W48 "
                                             "[default: the last complete week]", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output format: text, markdown, json or html")] = "text",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the report to FILE (atomically) "
                                               "instead of stdout")] = None,
    redact: Annotated[bool, typer.Option("--redact", help="Pseudonymise the local part of every address "
                                         "(keyed HMAC, the same pseudonym everywhere in the report)")] = False,
    redact_ips: Annotated[bool, typer.Option("--redact-ips", help="With --redact, pseudonymise IP addresses too")] = False,
    redact_key: Annotated[str | None, typer.Option("--redact-key", help="Key for --redact pseudonyms [default: "
                                                   "$MAILLENS_REDACT_KEY, else a random key per run]",
                                                   show_default=False)] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 1 when a finding reaches this severity: "
                                                "warning or critical")] = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    now: Annotated[str | None, typer.Option("--now", help="Take this ISO time (UTC) as the current time "
                                            "(picks the default week; stamped in the report)")] = None,
) -> None:
    """The weekly report: this week against the previous one and the store's baseline.

    Volumes, delivery success overall and by server, provider and destination domain, top causes of failures with their change, causes new this week, the week's findings with fixes, and charts per day (html). Weeks are ISO weeks in UTC, like the store's day partitions.

    Examples:

      maillens weekly --store /var/lib/maillens                       # the last complete week

      maillens weekly --store /var/lib/maillens --week 2026-W48 -f html -o week48.html --redact

      maillens weekly --store /srv/history --engine dask --scheduler tcp://10.0.0.5:8786 -f json
    """
    from ..output import OutputError, atomic_write_text
    from ..store import StoreError
    from ..weekly import FORMATS, WeekError, build_weekly, render_weekly

    if fmt == "md":
        fmt = "markdown"
    if fmt not in FORMATS:
        fail(f"--format: unknown format {fmt!r}", f"use --format {', '.join(FORMATS)}", EXIT_USAGE)
    if fail_on is not None and fail_on not in ("warning", "critical"):
        fail(f"--fail-on: unknown severity {fail_on!r}", "use --fail-on warning or --fail-on critical", EXIT_USAGE)
    if redact_ips and not redact:
        fail("--redact-ips needs --redact", "add --redact", EXIT_USAGE)
    wall = when(now, "--now", now=dt.datetime.now(dt.UTC), tz="UTC") or dt.datetime.now(dt.UTC)
    if engine == "dask":
        from ..scale import DaskMissing, require_dask

        try:
            require_dask()
        except DaskMissing as exc:
            fail(str(exc), exc.hint, EXIT_USAGE)
    redactor = None
    if redact:
        from ..report.redact import Redactor

        redactor = Redactor(redact_key, ips=redact_ips)
    use_system_allocator()  # the week is read batch by batch: freed buffers go back
    try:
        rep = build_weekly(store, week, now=wall, engine=engine, scheduler=scheduler, redact=redactor)
    except WeekError as exc:
        fail(str(exc), exc.hint, EXIT_USAGE if week else EXIT_INPUT)
    except StoreError as exc:
        fail(str(exc), exc.hint, EXIT_INPUT)
    except (OSError, RuntimeError) as exc:
        _cluster_error(exc, scheduler, engine)
    text = render_weekly(rep, fmt)
    if output is not None and output != "-":
        try:
            atomic_write_text(output, text)
        except OSError as exc:
            fail(f"{output}: {exc.strerror or exc}", OutputError.hint, EXIT_OUTPUT)
    else:
        out.print(text, markup=False, highlight=False, soft_wrap=True, end="")
    if fail_on is not None:
        floor = ("warning", "critical").index(fail_on)
        sev = {"info": -1, "warning": 0, "critical": 1}
        if any(sev.get(f["severity"], -1) >= floor for f in rep["findings"]):
            raise typer.Exit(1)
