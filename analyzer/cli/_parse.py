"""`maillens parse`: the command's work, without typer (:func:`parse_command`; the typer command
in :mod:`analyzer.cli._app` and the plain-options path of :func:`analyzer.cli.main` both call it),
and the summary's renderings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..textsafe import printable
from . import _common
from ._common import (
    EXIT_USAGE,
    LINE_FORMATS,
    _import_ahead,
    check_tz,
    err,
    fail,
    load_kb,
    out,
    plain_file,
    run_stream,
    warn,
)
from ._redactor import make_redactor


def parse_command(logs: list[str] | None = None, output: str | None = None, fmt: str = "text",
                  log_format: str = "auto", year: int | None = None, tz: str | None = None, strict: bool = False,
                  quiet: bool = False, classify: bool = True, rules: list[Path] | None = None, redact: bool = False,
                  redact_ips: bool = False, redact_key: str | None = None) -> None:
    """`maillens parse` with its options' values (see :func:`analyzer.cli._app.parse`)."""
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
    from ..sinks import SummaryFold, pace, write_stream

    # the classification of the whole stream: the cache, and retry-waits attributed across batches
    classifier = StreamClassifier(kb) if kb is not None else None
    fold = SummaryFold()
    if output is None and classify:  # the summary folded where blocks are parsed
        from ..fast_summary import FastSummaryFold

        def made() -> StreamClassifier:  # at the first block: a big input's workers have forked
            # what renders the summary, imported while they parse (~0.02 CPU-s off the run's end)
            if fmt == "text":  # (JSON is written without rich: plain_file)
                _import_ahead(("rich.console", "rich.table", "rich.markup"))
            return StreamClassifier(load_kb(None))

        fold = FastSummaryFold(classifier or made)
        classifier = fold.summariser

    def consume(stream):
        if output is not None:
            stream.block_threads = True  # with the native engine (analyzer.parallel_threads)
            pace(stream, output)  # (a text output: few batches ahead of its writer)
            # the line saying what was written needs rich: imported while the workers parse
            ahead = ("rich.console",) if not quiet and output != "-" else ()
            write_stream(_checked(stream, strict, log_format, ahead), output, classified=classifier is not None,
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
    if output is not None:
        if not quiet and output != "-":
            c = stream.counts
            err.print(f"{c.events:,} events from {c.lines:,} lines written to {output}"
                      + (f" ({c.unrecognised:,} lines not recognised)" if c.unrecognised else ""), markup=False)
        _common.NOTHING_OPEN = True  # the output written and closed, the workers and threads ended (write_stream, run_stream)
        return
    from ..summary import summarise_fold

    summary = summarise_fold(fold, stream.counts, stream.files, stream.warnings)
    if redactor is not None:
        import dataclasses

        summary = dataclasses.replace(summary, unknown=redactor(summary.unknown),
                                      headerless_samples=redactor(summary.headerless_samples),
                                      warnings=redactor(summary.warnings))
    if fmt == "json":
        f = plain_file(out)
        f.write(summary_json(summary))
        f.flush()
    else:
        render_summary(summary)
    _common.NOTHING_OPEN = True  # the summary on stdout; the inputs closed, the workers and threads ended (run_stream)



def _checked(stream, strict: bool, fmt: str, ahead: tuple[str, ...] = ()):
    """The stream's batches; at the end, the checks (strict, no mail lines) — before the output
    is committed, so a failed run leaves no file. ``ahead``: modules imported on a thread at the
    first batch where the stream's workers have forked then (a fork while that thread imported
    would leave the workers its import lock; without workers they are imported when used: ~0.027
    CPU-s at the run's end for rich)."""
    from ..reader import check_stream

    first = True
    for batch in stream:
        if first and ahead and getattr(stream, "_pool", None) is not None:
            _import_ahead(ahead)
        first = False
        yield batch
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
