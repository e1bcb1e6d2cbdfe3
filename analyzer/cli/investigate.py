"""`maillens search` and `maillens trace`: incident investigation."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from typing import Annotated

import typer

from ..textsafe import json_safe, printable, printable_frame
from ._app import (
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    YearOpt,
    app,
    check_tz,
    err,
    fail,
    logs_or_store,
    out,
    run_parse,
    run_stream,
    use_system_allocator,
)
from ._app import when as _parse_when
from ._redact import RedactIpsOpt, RedactKeyOpt, RedactOpt, make_redactor

StoreOpt = Annotated[str | None, typer.Option("--store", help="Read events from a store written by "
                                              "`maillens ingest` instead of log files (only the days "
                                              "--since/--until need are read)", show_default=False)]
SinceOpt = Annotated[str | None, typer.Option("--since", help="From this time: 2026-11-29T10:00, "
                                              "'2026-11-29 10:00', 10:00 (today), 2h (ago); in --tz",
                                              show_default=False)]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Before this time (same forms as --since)",
                                              show_default=False)]
TzOpt = Annotated[str | None, typer.Option("--tz", help="Time zone of log stamps that carry none and of "
                                           "--since/--until [default: $TZ, else this machine's zone]")]
LogFormatOpt = Annotated[str, typer.Option("--log-format", help="Line format: auto, syslog, rfc3339 or exim")]



def _safe(text: object) -> str:
    """Log text made harmless for a terminal: control characters shown as '?'."""
    return printable(text)


def _redactor(redact: bool, ips: bool, key: str | None):
    try:
        return make_redactor(redact, ips, key)
    except ValueError as exc:
        fail(str(exc), "add --redact", EXIT_USAGE)


def _cell(v: object, width: int | None = None) -> str:
    from rich.markup import escape

    if _missing(v):
        return ""
    s = _safe(v)
    if width and len(s) > width:
        s = s[: width - 1] + "…"
    return escape(s)


def _missing(v: object) -> bool:
    import pandas as pd

    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _plain(v: object) -> str:
    """A cell's text without markup escaping ('' for missing values)."""
    return "" if _missing(v) else _safe(v)


def _when(text: str | None, tz: str, what: str):
    """--since/--until by the one time parser every command uses, as a pandas Timestamp (UTC)."""
    t = _parse_when(text, what, now=dt.datetime.now(dt.UTC), tz=tz)
    if t is None:
        return None
    import pandas as pd

    return pd.Timestamp(t)


def _one_source(logs: list[str] | None, store: str | None, cmd: str) -> str | None:
    """The --store to read (MAILLENS_STORE when no LOGS are given), or None for LOGS; both: an error."""
    store = logs_or_store(logs, store)
    if logs and store:
        fail("give log files or --store, not both", f"maillens {cmd} --help", EXIT_USAGE)
    return store


def _window(since, until) -> dict:
    """--since/--until as the store readers take them."""
    return {"since": since.to_pydatetime() if since is not None else None,
            "until": until.to_pydatetime() if until is not None else None}


@contextlib.contextmanager
def _store_errors(cmd: str):
    """A store that cannot be read, or a window it cannot answer: a one-line error."""
    from ..store import StoreError

    try:
        yield
    except StoreError as exc:
        fail(str(exc), getattr(exc, "hint", None) or "check the --store path", EXIT_INPUT)
    except ValueError as exc:
        fail(str(exc), f"maillens {cmd} --help", EXIT_USAGE)


def _load(logs: list[str] | None, store: str | None, *, year, tz, log_format, since, until, cmd: str,
          wanted=None, prepare=None):
    """The linked message index from LOGS or --store; with ``wanted`` (analyzer.narrow), files are
    read in two streaming passes that keep only the messages that can match. ``prepare`` is
    applied to events read from the store before they are linked."""
    from ..messages import link

    store = _one_source(logs, store, cmd)
    if store:
        use_system_allocator()
        try:
            from ..store import read_events
        except ImportError:
            fail("--store needs analyzer.store, which this installation does not have",
                 "give the log files instead", EXIT_USAGE)
        with _store_errors(cmd):
            if wanted is not None:  # two passes over the days asked for, holding only the matches
                from ..narrow import read_store_matching

                events = read_store_matching(store, wanted, **_window(since, until))
            else:
                events = read_events(store, **_window(since, until))
        from ..schema import NAMES

        missing = [c for c in NAMES if c not in events.columns]
        if missing:
            fail(f"{store}: the store lacks columns {missing}", "re-ingest with this maillens version", EXIT_INPUT)
        if prepare is not None:
            try:
                events = prepare(events, store)
            except (OSError, ValueError) as exc:
                fail(f"--store: {store}: cannot read the history store ({exc})",
                     getattr(exc, "hint", None) or "check the --store path", EXIT_INPUT)
        return link(events)
    if wanted is not None and "-" not in (logs or []):  # stdin cannot be read twice
        from ..narrow import collect_matching

        result = run_stream(logs, lambda stream: collect_matching(stream, wanted), year=year, tz=tz,
                            fmt=log_format)
    else:
        result = run_parse(logs or [], year=year, tz=tz, fmt=log_format, strict=False)
    for w in result.warnings:
        err.print(f"Warning: {_safe(w)}", markup=False)
    return link(result.events)


def _search_streamed(logs, store, filters, *, keep: int, year, tz, log_format, since, until):
    """``search`` over LOGS or --store in two streaming passes, linking a group of whole messages at
    a time (analyzer.narrow.search_stream): a SearchFold holding the last ``keep`` rows (0: all)."""
    from ..narrow import search_files_stream, search_store_stream
    from ..search import SearchError

    store = _one_source(logs, store, "search")
    try:
        if not store:
            fold = run_stream(logs, lambda stream: search_files_stream(stream, filters, keep), year=year, tz=tz,
                              fmt=log_format)
            for w in fold.warnings:
                err.print(f"Warning: {_safe(w)}", markup=False)
            return fold
        use_system_allocator()  # frees a batch's buffers back: ~100 MiB less than mimalloc on a big scan
        with _store_errors("search"):
            return search_store_stream(store, filters, **_window(since, until), keep=keep)
    except SearchError as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)


@app.command()
def search(
    logs: Annotated[list[str] | None, typer.Argument(help="Log files, globs, directories, or - for stdin",
                                                     show_default=False)] = None,
    store: StoreOpt = None,
    code: Annotated[list[str] | None, typer.Option("--code", help="Reply code 521, class 5xx, or enhanced "
                                                   "code 5.7.1 / 5.7.* (repeat for any of several)")] = None,
    cause: Annotated[list[str] | None, typer.Option("--cause", help="Cause id or glob from the knowledge "
                                                    "base, e.g. mailbox.unknown, reputation.*")] = None,
    sender: Annotated[list[str] | None, typer.Option("--sender", help="Envelope sender (glob: '*@shop.example')")] = None,
    recipient: Annotated[list[str] | None, typer.Option("--recipient", help="Envelope recipient (glob)")] = None,
    domain: Annotated[list[str] | None, typer.Option("--domain", help="Recipient or sender domain (glob: "
                                                     "'*.example.com')")] = None,
    client_ip: Annotated[list[str] | None, typer.Option("--client-ip", help="Client address or CIDR block "
                                                        "(who sent it to us)")] = None,
    relay: Annotated[list[str] | None, typer.Option("--relay", help="Relay address, CIDR block or host glob "
                                                    "(where we sent it)")] = None,
    queue_id: Annotated[list[str] | None, typer.Option("--queue-id", help="Queue id (any hop)")] = None,
    message_id: Annotated[list[str] | None, typer.Option("--message-id", help="Message-ID header, with or "
                                                         "without <>")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    text: Annotated[str | None, typer.Option("--text", help="RE2 regular expression over reply texts and "
                                             "details, e.g. 'blocked|blacklist'", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or jsonl")] = "table",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write csv/jsonl to FILE instead of "
                                               "stdout", show_default=False)] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print the original log lines of every matching "
                                      "message (all hops), in order, like exigrep")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Table: show at most the last N rows (0: all)",
                                       min=0)] = 200,
    year: YearOpt = None,
    tz: TzOpt = None,
    log_format: LogFormatOpt = "auto",
    redact: RedactOpt = False,
    redact_ips: RedactIpsOpt = False,
    redact_key: RedactKeyOpt = None,
) -> None:
    """Find messages by code, cause, address, domain, client, relay, id, time or text.

    One row per matching (message, recipient), with the line that matched as file:line. Filters
    about the message (--sender, --recipient, --domain, --client-ip, --queue-id, --message-id)
    test the message; filters about a line (--code, --cause, --relay, --text, --since, --until)
    must all hold on the same line: "--code 521 --since 10:00" is a 521 after 10:00.

    Examples:

      maillens search /var/log/mail.log* --domain customer.example --code 5xx --since 10:00

      maillens search /var/log/mail.log* --code 521 --since 0:00 -f csv -o 521-today.csv

      maillens search /var/log/exim4/mainlog* --cause 'reputation.*' --relay 203.0.113.0/24

      maillens search --store /srv/maillens --since 2026-11-28 --until 2026-11-29 --text 'spamhaus'

      maillens search /var/log/mail.log --sender '*@shop.example' --raw     # the lines, like exigrep

      maillens search /var/log/mail.log --code 5xx -f csv -o rejects.csv --redact   # to share

    CSV cells that a spreadsheet would run as a formula (=, +, -, @) get a leading '.
    """
    from ..search import Filters, SearchError, matched_events, raw_lines
    from ..search import search as run_search

    if fmt not in ("table", "csv", "jsonl"):
        fail(f"--format: unknown format {fmt!r}", "use --format table, csv or jsonl", EXIT_USAGE)
    if output is not None and fmt == "table":
        fail("--output needs --format csv or jsonl", "add -f csv or -f jsonl", EXIT_USAGE)
    redactor = _redactor(redact, redact_ips, redact_key)
    zone = check_tz(tz)
    t0, t1 = _when(since, zone, "--since"), _when(until, zone, "--until")
    filters = Filters(code=code or (), cause=cause or (), sender=sender or (), recipient=recipient or (),
                      domain=domain or (), client_ip=client_ip or (), relay=relay or (), queue_id=queue_id or (),
                      message_id=message_id or (), since=t0, until=t1, text=text)
    try:  # check the filters before reading gigabytes of logs
        from ..search import check_regex, parse_code

        if text:
            check_regex(text)
        for c in filters.code:
            parse_code(c)
    except SearchError as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)
    if raw and logs and "-" in logs:
        fail("--raw cannot show lines read from stdin: they cannot be read a second time",
             "save the input to a file and search that, or drop --raw (rows still carry file:line)", EXIT_USAGE)
    from ..narrow import search_wanted

    if not raw and not filters.cause and "-" not in (logs or []):  # streamed: holds a group of messages at a time
        fold = _search_streamed(logs, store, filters, keep=limit if fmt == "table" else 0, year=year, tz=tz,
                                log_format=log_format, since=t0, until=t1)
        rows, nrows, nmsgs = fold.rows, fold.nrows, fold.nmsgs
    else:
        ix = _load(logs, store, year=year, tz=tz, log_format=log_format, since=t0, until=t1, cmd="search",
                   wanted=search_wanted(filters))
        try:
            res = run_search(ix, filters)
        except SearchError as exc:
            fail(str(exc), exc.hint, EXIT_USAGE)
        rows, nrows, nmsgs = res.rows, len(res.rows), len(res.msgs)
    if raw:
        evs = matched_events(ix, res.msgs)
        try:
            by_msg = ix.msg[evs.index.to_numpy()]
            prev = None
            for (_src, _line_no, line), m in zip(raw_lines(evs), by_msg, strict=False):
                if prev is not None and m != prev:
                    sys.stdout.write("\n")
                prev = m
                sys.stdout.write(_safe(redactor.text(line) if redactor else line) + "\n")
        except SearchError as exc:
            fail(str(exc), "search without --raw shows file:line for each match", EXIT_INPUT)
        except OSError as exc:
            fail(f"cannot re-read the logs: {exc}", "check that the files are still there", EXIT_INPUT)
        return
    public = rows.drop(columns=["_msg"])
    if redactor is not None:
        public = redactor.frame(public)
    if fmt in ("csv", "jsonl"):
        from ..output import OutputError

        try:
            _write_rows(public, fmt, output)
        except OutputError as exc:
            fail(str(exc), exc.hint, EXIT_OUTPUT)
        if output:
            err.print(f"{nrows:,} rows ({nmsgs:,} messages) written to {output}", markup=False)
        return
    if not nrows:
        err.print("No message matched.", markup=False)
        return
    shown = public.tail(limit) if limit else public
    title = (f"{nrows:,} matching (message, recipient) rows in {nmsgs:,} messages"
             + (f" (last {len(shown):,} shown; --limit 0 for all)" if len(shown) < nrows else ""))
    out.print(title, markup=False, highlight=False, soft_wrap=True)
    for r in shown.itertuples(index=False):
        code_s = " ".join(x for x in (_plain(r.code), _plain(r.enhanced)) if x)
        ts = r.ts.strftime("%Y-%m-%d %H:%M:%S") if _plain(r.ts) else "?"
        sender = None if _missing(r.sender) else _plain(r.sender)  # '' is the null sender <>
        head = (f"{ts}  {_plain(r.queue_id) or '-':<12} {_plain(r.status):<8} {code_s:<10} "
                f"{_plain(r.recipient) or '(no recipient)'}" + (f"  from <{sender}>" if sender is not None else ""))
        out.print(head, markup=False, highlight=False, soft_wrap=True)
        out.print(f"    {_plain(r.text) or '-'}  [{_plain(r.where)}]", markup=False, highlight=False,
                  soft_wrap=True, style="dim")


def _jsonl_text(frame) -> str:
    """JSON lines of a frame, slashes unescaped ("postfix/smtp", not "postfix\\/smtp": grep finds them).

    pandas escapes every '/' as '\\/', so each '\\/' in its output is that escape: a backslash
    of the data is '\\\\' and the leftmost-first replace never splits one."""
    text = frame.to_json(orient="records", lines=True, force_ascii=False) if len(frame) else ""
    text = text.replace("\\/", "/")
    return text if text.endswith("\n") or not text else text + "\n"


def _write_rows(df, fmt: str, output: str | None) -> None:
    """CSV (formula-like cells neutralised) or JSON lines, to ``output`` or stdout (made printable)."""
    from ..output import neutralise_csv_frame, open_output

    frame = df.copy()
    for col in ("ts", "final_ts"):
        frame[col] = frame[col].astype("string[pyarrow]")
    if fmt == "csv":
        frame = neutralise_csv_frame(frame)
        if output is None:
            frame = printable_frame(frame)
        text = frame.to_csv(index=False)
    else:
        text = _jsonl_text(frame)
        if output is None:
            text = json_safe(text)
    if output is None:
        sys.stdout.write(text)
        return
    with open_output(output, "w", newline="") as fh:
        fh.write(text)


def _stored_causes(events, store: str):
    """Events read from --store for a window: retry waits whose error was logged before the window
    take it from the days before (as ``report --store``)."""
    from ..attribution import attribute_from_store
    from ..classify import default_rules

    return attribute_from_store(events, store, default_rules())


@app.command()
def trace(
    query: Annotated[str, typer.Argument(help="A queue id (any hop), an address (sender or recipient) or "
                                         "a Message-ID", show_default=False)],
    logs: Annotated[list[str] | None, typer.Argument(help="Log files, globs, directories, or - for stdin",
                                                     show_default=False)] = None,
    store: StoreOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    limit: Annotated[int, typer.Option("--limit", help="At most the N most recent messages (0: all)",
                                       min=0)] = 20,
    year: YearOpt = None,
    tz: TzOpt = None,
    log_format: LogFormatOpt = "auto",
    redact: RedactOpt = False,
    redact_ips: RedactIpsOpt = False,
    redact_key: RedactKeyOpt = None,
) -> None:
    """Tell the whole story of a message: received from whom, every attempt and reply, the outcome.

    For each message matching the query: where it came from, a timeline of every line of every
    hop (content filters, re-injection, the bounce notice) with file:line, and per recipient the
    final status, the delay and, for a failure, what the knowledge base says it means and how
    to fix it. Queue ids that were reused later in the day are told apart.

    Examples:

      maillens trace 4AA091855DA0 /var/log/mail.log*

      maillens trace '<20261129101500.ABC@shop.example>' /var/log/mail.log*

      maillens trace customer@example.com /var/log/exim4/mainlog* --limit 5

      maillens trace 1xXh7O-0008OZ-26 --store /srv/maillens --since 2026-11-29 --format json
    """
    from ..trace import render_text
    from ..trace import trace as run_trace

    if fmt not in ("text", "json"):
        fail(f"--format: unknown format {fmt!r}", "use --format text or json", EXIT_USAGE)
    redactor = _redactor(redact, redact_ips, redact_key)
    zone = check_tz(tz)
    t0, t1 = _when(since, zone, "--since"), _when(until, zone, "--until")
    if (t0 is not None or t1 is not None) and not store:
        fail("--since/--until with trace select the days read from --store", "drop them, or use --store",
             EXIT_USAGE)
    from ..narrow import trace_wanted

    ix = _load(logs, store, year=year, tz=tz, log_format=log_format, since=t0, until=t1, cmd="trace",
               wanted=trace_wanted(query), prepare=_stored_causes)
    stories = run_trace(ix, query, limit=limit)
    if redactor is not None:
        stories = redactor(stories)
    if fmt == "json":
        sys.stdout.write(json_safe(json.dumps(stories, indent=2, ensure_ascii=False)) + "\n")
        return
    if not stories:
        shown = redactor.text(query) if redactor else query
        err.print(f"No message in these logs matches {_safe(shown)!r} (a queue id, an address or a "
                  "Message-ID).", markup=False)
        return
    out.print(_safe_block(render_text(stories)), markup=False, highlight=False, soft_wrap=True, end="")


def _safe_block(text: str) -> str:
    return "\n".join(_safe(line) for line in text.split("\n"))
