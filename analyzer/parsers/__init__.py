"""Parsers: a batch of raw lines in, a batch of the event table out.

:func:`parse_batch` splits headers (:mod:`.syslog`), sends Postfix and Exim messages through
their pattern lists (:mod:`.postfix`, :mod:`.exim`) with the vectorized engine, derives columns
(:mod:`.fields`) and conforms the result to :data:`analyzer.schema.SCHEMA`. What it does not
recognise it counts by kind, with samples, in :class:`LineCounts`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import conform
from . import exim, postfix
from .classic import classic_headers, syslog_first
from .engine import Pattern, const_column, match_patterns, match_regex, nonempty
from .exim_fast import read_exim_rows
from .fields import finish
from .order import in_line_order
from .syslog import FORMAT_FLAVOURS, HeaderState, pid_column, split_headers, strip_inner_exim_stamp

__all__ = ["FORMATS", "FileContext", "LineCounts", "arrow_lines", "finish_batch", "parse_batch", "split_batch"]

FORMATS = ("auto", "syslog", "rfc3339", "exim")
SAMPLES_PER_KIND = 3


@dataclass
class LineCounts:
    """What became of the lines read: events, foreign programs, unrecognised kinds ..."""

    lines: int = 0
    events: int = 0
    blank: int = 0
    meta: int = 0  # journalctl '-- Boot ...' and similar
    continuation: int = 0  # Exim rejectlog/paniclog continuation lines
    headerless: int = 0  # lines with no syslog/Exim header at all (not mail-server lines)
    duplicates: int = 0  # Exim rejectlog entries also found in the mainlog read with it
    debug: int = 0  # verbose debugging output (smtpd -v, debug_peer_list): not events, not unrecognised
    nul: int = 0  # lines that held NUL bytes (removed before reading the header)
    headerless_samples: list[tuple[str, int, str]] = field(default_factory=list)
    foreign: Counter = field(default_factory=Counter)  # program -> lines
    unknown: Counter = field(default_factory=Counter)  # kind -> lines
    samples: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)  # kind -> (file, line, text)
    by_mta: Counter = field(default_factory=Counter)

    def add_unknown(self, kinds: pa.Array, rows: pa.Array, lines: pa.Array, source: str, first_line: int) -> None:
        """Count unrecognised lines by kind; keep the first few of each kind as samples.

        Counting is one value_counts over the batch; Python only touches the samples.
        """
        for item in pc.value_counts(kinds).to_pylist():
            self.unknown[item["values"]] += item["counts"]
        # the first few rows of each kind, in row order (no pandas: workers do not import it)
        enc = pc.dictionary_encode(kinds.combine_chunks() if isinstance(kinds, pa.ChunkedArray) else kinds)
        codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
        keep = np.zeros(len(codes), dtype=bool)
        for code in range(len(enc.dictionary)):
            keep[np.flatnonzero(codes == code)[:SAMPLES_PER_KIND]] = True
        at = np.flatnonzero(keep)
        words = enc.dictionary.to_pylist()
        picked = np.asarray(rows.to_numpy(zero_copy_only=False))[at]
        texts = pc.take(lines, pa.array(picked)).to_pylist()
        for kind, row, text in zip([words[c] for c in codes[at]], picked, texts, strict=True):
            s = self.samples.setdefault(kind, [])
            if len(s) < SAMPLES_PER_KIND:
                s.append((source, first_line + int(row), text[:300]))

    def merge(self, other: LineCounts) -> None:
        self.lines += other.lines
        self.events += other.events
        self.blank += other.blank
        self.meta += other.meta
        self.continuation += other.continuation
        self.headerless += other.headerless
        self.duplicates += other.duplicates
        self.debug += other.debug
        self.nul += other.nul
        self.headerless_samples.extend(other.headerless_samples[: SAMPLES_PER_KIND - len(self.headerless_samples)])
        self.foreign.update(other.foreign)
        self.by_mta.update(other.by_mta)
        for kind, n in other.unknown.items():
            self.unknown[kind] += n
            s = self.samples.setdefault(kind, [])
            s.extend(other.samples.get(kind, [])[: SAMPLES_PER_KIND - len(s)])

    @property
    def unrecognised(self) -> int:
        return sum(self.unknown.values())


@dataclass
class FileContext:
    """Per-file parsing state carried across batches."""

    name: str
    headers: HeaderState
    panic: bool = False  # an Exim paniclog: every entry is a panic
    #: the only columns the batches' consumer reads (analyzer.pipeline.EventStream.columns), or
    #: None: all. Tables may then lack the others (fewer columns to put in line order)
    columns: frozenset[str] | None = None

    @property
    def flavour(self) -> str | None:
        return self.headers.flavour()


_MTA_PATTERNS: dict[str, list[Pattern]] = {"postfix": postfix.PATTERNS, "exim": exim.PATTERNS}
_POSTFIX_RX = postfix.POSTFIX_PROGRAM
_EXIM_RX = exim.EXIM_PROGRAM
_REJECT_ACTIONS = postfix.REJECT_ACTIONS  # (held without pyarrow: analyzer.postfix_patterns)


def _mask_shape(msg: pa.Array) -> pa.Array:
    """A short, id-free shape of a message, to group unrecognised lines by kind."""
    s = pc.replace_substring_regex(msg, r"^(?:[0-9A-F]{5,24}|[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}|NOQUEUE): ", "QID: ")
    s = pc.replace_substring_regex(s, r"\[[^\]]*\]", "[…]")
    s = pc.replace_substring_regex(s, r"[^\s]*[.@/][^\s]*", "*")
    s = pc.replace_substring_regex(s, r"[0-9]+", "N")
    g = pc.extract_regex(s, pattern=r"^(?P<w>[^\s]*(?: [^\s]+){0,2})")
    return pc.coalesce(g.field("w"), "")


def _parse_mta(mta: str, sub: pa.Table) -> tuple[dict[str, pa.Array] | None, pa.Array]:
    """Match one MTA's messages; return derived columns for matches and unmatched positions."""
    patterns = _MTA_PATTERNS[mta]
    msgs = sub.column("msg").combine_chunks()
    daemons = None
    if mta == "postfix":
        daemons = pc.replace_substring_regex(sub.column("program").combine_chunks(), r"^.*/", "")
    matched, unmatched = match_patterns(msgs, patterns, daemons)
    n = len(matched.rows)
    if n == 0:
        return None, unmatched
    cols: dict[str, pa.Array] = {}
    for name in matched.groups.column_names:
        cols[name] = matched.groups.column(name).combine_chunks()
    for name in ("ts", "host", "program", "pid", "row"):
        cols[name] = pc.take(sub.column(name).combine_chunks(), matched.rows)
    cols["event"] = const_column(patterns, matched.pattern, "event")
    cols["pattern"] = pc.take(pa.array([p.name for p in patterns]), matched.pattern)
    for key in ("status", "smtp_stage", "direction", "reply_code"):
        c = const_column(patterns, matched.pattern, key)
        if c is not None:
            cols[key] = pc.coalesce(nonempty(cols[key]), c) if key in cols else c
    q = const_column(patterns, matched.pattern, "quit", pa.bool_())
    if q is not None:
        cols["quit"] = q
    if mta == "postfix":
        _postfix_specifics(cols, pc.take(daemons, matched.rows))
    # a code a pattern states as a constant (221 after QUIT ...) is known, not logged
    const_code = const_column(patterns, matched.pattern, "reply_code")
    inferred = pc.is_valid(const_code) if const_code is not None else pa.array(np.zeros(n, dtype=bool))
    if "reply_code" in matched.groups.column_names and const_code is not None:
        inferred = pc.and_(inferred, pc.is_null(nonempty(matched.groups.column("reply_code").combine_chunks())))
    cols = finish(cols, mta, n)
    before = pc.is_valid(cols["reply_code"])
    if mta == "postfix":
        _postfix_after(cols)
    else:
        _exim_after(cols)
    # code_origin: 'logged' when the line holds the code, 'inferred' when we know it otherwise
    inferred = pc.or_(inferred, pc.invert(before))
    cols["code_origin"] = pc.if_else(pc.is_valid(cols["reply_code"]),
                                     pc.if_else(inferred, "inferred", "logged"), pa.scalar(None, pa.string()))
    cols["mta"] = pa.array([mta] * n)
    return cols, unmatched


def _map(arr: pa.Array, mapping: dict[str, str]) -> pa.Array:
    keys = pa.array(list(mapping))
    vals = pa.array(list(mapping.values()))
    return pc.take(vals, pc.index_in(arr, value_set=keys))


def _postfix_specifics(cols: dict[str, pa.Array], daemons: pa.Array) -> None:
    if "level" in cols:  # warning/error/fatal/panic lines
        level = nonempty(cols.pop("level"))
        cols["event"] = pc.coalesce(level, cols["event"])
    if "action" in cols:
        action = nonempty(cols.pop("action"))
        cols["event"] = pc.coalesce(_map(action, _REJECT_ACTIONS), cols["event"])
        cols["status"] = pc.coalesce(cols.get("status", pa.nulls(len(action), pa.string())), action)
        cols["_action"] = action
        # keep the non-plain reject words (milter-reject, proxy-reject): peers count them apart
        marked = pc.if_else(pc.is_in(action, value_set=pa.array(["milter-reject", "proxy-reject"])), action,
                            pa.scalar(None, pa.string()))
        cols["detail"] = pc.coalesce(cols["detail"], marked) if "detail" in cols else marked
    direction = _map(daemons, postfix.DAEMON_DIRECTION)
    if "client" in cols:
        # cleanup's header/body/milter verdicts name the client: our filter judging it (inbound),
        # or mail submitted here ("from local"); native read_reject does the same for milter-reject
        client = cols["client"]
        judged = pc.and_(pc.equal(daemons, "cleanup"), pc.is_valid(nonempty(client)))
        direction = pc.if_else(judged, pc.if_else(pc.equal(client, "local"), "local", "inbound"), direction)
    cols["direction"] = pc.coalesce(cols["direction"], direction) if "direction" in cols else direction


def _postfix_after(cols: dict[str, pa.Array]) -> None:
    event = cols["event"]
    # rejects: rejected (5xx) or tempfailed (4xx) by the reply we sent
    is_rej = pc.is_in(event, value_set=pa.array(["reject", "reject_warning"]))
    code = cols["reply_code"]
    verdict = pc.if_else(pc.equal(pc.divide(code, pa.scalar(100, pa.int16())), 4), "tempfailed", "rejected")
    verdict = pc.coalesce(verdict, "rejected")
    cols["status"] = pc.if_else(is_rej, verdict, cols.get("status", pa.nulls(len(event), pa.string())))
    cols.pop("_action", None)
    # cleanup's header/body/milter rejects log only the enhanced code; smtpd answered 550 (451 for 4.x.x)
    is_cleanup_rej = pc.and_(pc.equal(event, "reject"), pc.starts_with(cols["pattern"], "cleanup."))
    enh = pc.coalesce(cols.get("enhanced_code", pa.nulls(len(event), pa.string())), "5")
    cleanup_code = pc.if_else(pc.starts_with(enh, "4"), pa.scalar(451, pa.int16()), pa.scalar(550, pa.int16()))
    cols["reply_code"] = pc.coalesce(cols["reply_code"],
                                     pc.if_else(is_cleanup_rej, cleanup_code, pa.scalar(None, pa.int16())))
    # smtpd disconnect: the command counts say whether the client sent QUIT (answered 221)
    is_disc = pc.and_(pc.equal(event, "disconnect"), pc.equal(cols["pattern"], "smtpd.disconnect"))
    detail = cols.get("detail", pa.nulls(len(event), pa.string()))
    has_counts = pc.match_substring_regex(pc.coalesce(detail, ""), r"commands=")
    sent_quit = pc.match_substring_regex(pc.coalesce(detail, ""), r"(?:^| )quit=1(?: |$)")
    quit_ = pc.if_else(pc.and_(is_disc, has_counts), sent_quit, pa.scalar(None, pa.bool_()))
    cols["quit"] = pc.coalesce(cols["quit"], quit_) if "quit" in cols else quit_
    _closed_by_quit(cols)


def _closed_by_quit(cols: dict[str, pa.Array]) -> None:
    """A session that ended with QUIT got a 221 from us: say so in stage and code."""
    q = pc.fill_null(cols["quit"], False)
    cols["smtp_stage"] = pc.if_else(q, "QUIT", cols["smtp_stage"])
    cols["reply_code"] = pc.if_else(q, pa.scalar(221, pa.int16()), cols["reply_code"])


def _exim_after(cols: dict[str, pa.Array]) -> None:
    event = cols["event"]
    n = len(event)
    is_rej = pc.equal(event, "reject")
    status = cols.get("status", pa.nulls(n, pa.string()))
    cols["status"] = pc.if_else(pc.and_(is_rej, pc.is_null(status)), "rejected", status)
    # an Exim delivery with H= went to a remote server; without, it was local
    is_del = pc.is_in(event, value_set=pa.array(["delivery", "reply", "timeout", "lost_connection", "connect_failure"]))
    has_relay = pc.is_valid(cols.get("relay_ip", pa.nulls(n, pa.string())))
    has_client = pc.is_valid(cols.get("client_ip", pa.nulls(n, pa.string())))
    direction = pc.if_else(is_del, pc.if_else(has_relay, "outbound", pc.if_else(has_client, "inbound", "local")),
                           pc.if_else(has_client, "inbound", pa.scalar(None, pa.string())))
    is_recv = pc.equal(event, "received")
    direction = pc.if_else(pc.and_(is_recv, pc.invert(has_client)), "local", direction)
    cols["direction"] = pc.coalesce(cols["direction"], direction) if "direction" in cols else direction
    if "quit" in cols:
        _closed_by_quit(cols)
    _exim_reply_codes(cols)


def _exim_reply_codes(cols: dict[str, pa.Array]) -> None:
    """Fill the reply code Exim sent for its own rejects, by its documented defaults."""
    n = len(cols["event"])
    code = cols["reply_code"]
    pattern = cols["pattern"]
    fixed = pc.cast(_map(pattern, {k: str(v) for k, v in exim.FIXED_CODES.items()}), pa.int16())
    is_rej = pc.equal(cols["event"], "reject")
    status = pc.coalesce(cols.get("status", pa.nulls(n, pa.string())), "")
    stage = pc.coalesce(cols.get("smtp_stage", pa.nulls(n, pa.string())), "")
    deny = pc.coalesce(pc.cast(_map(stage, {k: str(v) for k, v in exim.ACL_DENY_CODES.items()}), pa.int16()),
                       pa.scalar(exim.ACL_DENY_DEFAULT, pa.int16()))
    text = pc.coalesce(cols.get("reply_text", pa.nulls(n, pa.string())), "")
    for needle, value in exim.TEXT_CODES:
        deny = pc.if_else(pc.match_substring(text, needle), pa.scalar(value, pa.int16()), deny)
    acl = pc.if_else(pc.equal(status, "tempfailed"), pa.scalar(exim.ACL_DEFER_CODE, pa.int16()), deny)
    acl = pc.if_else(is_rej, acl, pa.scalar(None, pa.int16()))
    cols["reply_code"] = pc.coalesce(code, fixed, acl)


@dataclass
class Split:
    """A batch after its headers are read: what :func:`finish_batch` needs, and nothing shared."""

    arr: pa.Array
    lines: Sequence[str]
    first_line: int
    headers: pa.Table
    no_header: pa.Array
    source: str
    tz: str
    panic: bool
    exim_file: bool
    nul: int = 0
    #: rows the native fast path read whole (``row`` plus the schema's columns but source and
    #: line_no), or None: they join the table :func:`finish_batch` makes, in line order
    fast: pa.Table | None = None
    columns: frozenset[str] | None = None  # FileContext.columns


def parse_batch(lines: list[str], first_line: int, ctx: FileContext) -> tuple[pa.Table, LineCounts]:
    """Parse one batch of consecutive lines of one file."""
    return finish_batch(split_batch(lines, first_line, ctx))


def arrow_lines(lines: Sequence[str]) -> tuple[pa.Array, int]:
    """The lines as an Arrow array, NUL bytes taken out, and how many lines held one."""
    arr = getattr(lines, "array", None)  # analyzer.sources.Lines: already an Arrow array
    if arr is None:
        arr = pa.array(lines, pa.string())
    n_nul = pc.sum(pc.match_substring(arr, "\x00")).as_py() or 0 if getattr(lines, "nul", True) else 0
    if n_nul:  # a NUL byte (a crash's zero fill, a broken relay) inside a line: read the line without it
        arr = pc.replace_substring(arr, "\x00", "")
    return arr, n_nul


def split_batch(lines: list[str], first_line: int, ctx: FileContext) -> Split:
    """Read the headers of a batch. Sequential per file: the year of yearless stamps carries over."""
    arr, n_nul = arrow_lines(lines)
    return _split(arr, lines, n_nul, first_line, ctx)


def _split(arr: pa.Array, lines: Sequence[str], n_nul: int, first_line: int, ctx: FileContext) -> Split:
    fast = None if ctx.panic else (_fast_split(arr, ctx.headers) or _fast_exim_split(arr, ctx.headers))
    if fast is None:
        headers, no_header = split_headers(arr, ctx.headers)
    else:
        headers, no_header, fast = fast
    return Split(arr, lines, first_line, headers, no_header, ctx.name, ctx.headers.clock.tz, ctx.panic,
                 ctx.flavour == "exim", n_nul, fast, ctx.columns)


def _fast_split(arr: pa.Array, state: HeaderState) -> tuple[pa.Table, pa.Array, pa.Table] | None:
    """The native fast path (:func:`analyzer.native.fast_postfix`): classic syslog headers read
    in Rust, and the Postfix lines it is sure of read into whole rows. Returns what
    :func:`split_headers` returns plus those rows, or None where the batch is read as before (the
    Python engine runs, a stamp the Python clock reads otherwise, the loose flavour tried first)."""
    from .. import native

    fp = native.fast_postfix()
    if fp is None or not syslog_first(state):
        return None
    offsets, data = native.string_views(arr)  # Arrow's buffers, not copied
    kind, months, days, secs, unusual, trailing, (h_rows, h_cols), (f_rows, f_cols) = fp.run(offsets, data, native.threads())
    got = classic_headers(arr, state, (kind, months, days, secs, unusual, trailing), h_rows, h_cols)
    if got is None:
        return None
    headers, no_header, ts, hdr_kind = got
    n_fast = len(f_rows) // 8
    fc = native.rows_columns(n_fast, f_cols)
    fc["row"] = pa.Array.from_buffers(pa.int64(), n_fast, [None, pa.py_buffer(f_rows)])
    fc["ts"] = pc.filter(ts, pa.array(hdr_kind == 2))
    fast = pa.table(fc)
    return headers, no_header, fast



def _fast_exim_split(arr: pa.Array, state: HeaderState) -> tuple[pa.Table, pa.Array, pa.Table] | None:
    """The native Exim readers (:mod:`.exim_fast`): lines of Exim's own log format they are sure
    of, read into whole rows; the other lines' headers as :func:`split_headers` reads them."""
    if state.forced not in (None, "exim"):
        return None
    got = read_exim_rows(arr, state.clock.tz)
    if got is None or len(got[0]) == 0:
        return None
    taken, fast = got
    headers, no_header = exim_rest_headers(arr, state, taken)
    return headers, no_header, fast


def exim_rest_headers(arr: pa.Array, state: HeaderState, taken: np.ndarray) -> tuple[pa.Table, pa.Array]:
    """What :func:`split_headers` returns for the lines of ``arr`` the native Exim readers did not
    take (``taken``: the positions of those they did), positions in ``arr``; the taken lines
    counted as Exim headers."""
    left = np.ones(len(arr), dtype=bool)
    left[taken] = False
    rest = np.flatnonzero(left)
    before = list(state.counts)
    order = sorted(FORMAT_FLAVOURS[state.forced] if state.forced else state.order, key=lambda f: -state.counts.get(f, 0))
    headers, no_header = split_headers(pc.take(arr, pa.array(rest)), state)
    headers = headers.set_column(0, "row", pa.array(rest[headers.column("row").to_numpy()]))
    no_header = pa.array(rest[np.asarray(no_header.to_numpy(), dtype=np.int64)], pa.int64())
    # the Exim lines count as split_headers counts them: in the order it tried the flavours (a tie
    # between flavours goes to the one counted first: HeaderState.flavour)
    counts = dict(state.counts)
    counts["exim"] = counts.get("exim", 0) + len(taken)
    state.counts.clear()
    state.counts.update({k: counts[k] for k in before + [f for f in order if f in counts and f not in before]})
    return headers, no_header


def finish_batch(sp: Split) -> tuple[pa.Table, LineCounts]:
    """Match the messages of a split batch. Independent of other batches: safe to run in threads."""
    lines, arr, first_line, headers, no_header, source = sp.lines, sp.arr, sp.first_line, sp.headers, sp.no_header, sp.source
    counts = LineCounts(lines=len(lines), nul=sp.nul)
    pieces: list[pa.Table] = []

    # lines without a header: blank, journal meta, Exim continuation, or unknown
    if len(no_header):
        rest = pc.take(arr, no_header)
        blank = pc.equal(pc.utf8_trim_whitespace(rest), "")
        meta = pc.starts_with(rest, "-- ")
        counts.blank += pc.sum(blank).as_py() or 0
        counts.meta += pc.sum(pc.and_(meta, pc.invert(blank))).as_py() or 0
        other = pc.invert(pc.or_(blank, meta))
        idx = pc.filter(no_header, other)
        if len(idx):
            if sp.exim_file:
                counts.continuation += len(idx)
            else:
                counts.headerless += len(idx)
                for i in idx.to_numpy()[: SAMPLES_PER_KIND - len(counts.headerless_samples)]:
                    counts.headerless_samples.append((source, first_line + int(i), lines[int(i)][:300]))

    if headers.num_rows:
        # 'YYYY-MM-DD hh:mm:ss host exim[pid]: ...' (syslog with an ISO-like stamp) looks like an
        # Exim line at first sight: take host, program and pid from the message
        headers, prog, is_pf, is_ex = programs(headers)
        # Exim splits an entry for syslog into numbered parts, "[1\\17] ..." "[2\\17] ..." (a new line of
        # the entry, e.g. a rejectlog header) or "[2/2] ..." (a long line cut): read the first part,
        # count the others as continuation lines (like a rejectlog's)
        if pc.any(is_ex).as_py():
            msgs = headers.column("msg").combine_chunks()
            later = pc.and_(is_ex, pc.fill_null(match_regex(msgs, r"^\[(?:[2-9]|\d\d+)[\\/]\d+\] "), False))
            if pc.any(later).as_py():
                counts.continuation += pc.sum(later).as_py()
                keep = pc.invert(later)
                headers, is_pf, is_ex, prog = (headers.filter(keep), pc.filter(is_pf, keep), pc.filter(is_ex, keep),
                                               pc.filter(prog, keep))
                msgs = headers.column("msg").combine_chunks()
            first_part = pc.and_(is_ex, pc.fill_null(match_regex(msgs, r"^\[1[\\/]\d+\] "), False))
            if pc.any(first_part).as_py():
                msgs = pc.if_else(first_part, pc.replace_substring_regex(msgs, r"^\[1[\\/]\d+\] ", ""), msgs)
                headers = headers.set_column(headers.schema.get_field_index("msg"), "msg", msgs)
        # Exim through syslog/journald: use Exim's own stamp when the message carries one
        if pc.any(is_ex).as_py():
            msg, ts, pid = strip_inner_exim_stamp(headers.column("msg").combine_chunks(),
                                                  headers.column("ts").combine_chunks(),
                                                  headers.column("pid").combine_chunks(), sp.tz)
            headers = headers.set_column(headers.schema.get_field_index("msg"), "msg", msg)
            headers = headers.set_column(headers.schema.get_field_index("ts"), "ts", ts)
            headers = headers.set_column(headers.schema.get_field_index("pid"), "pid", pid)
        foreign_mask = pc.invert(pc.or_(is_pf, is_ex))
        if pc.any(foreign_mask).as_py():
            # each distinct program's key made once (a regex replace a line was ~3 ms a block); the
            # names in order of first appearance, so the keys are counted in that order too
            vc = pc.value_counts(pc.filter(prog, foreign_mask))
            for key, n in zip(foreign_key(vc.field("values")).to_pylist(), vc.field("counts").to_pylist(), strict=True):
                counts.foreign[key] += n
        for mta, mask in (("postfix", is_pf), ("exim", is_ex)):
            if not pc.any(mask).as_py():
                continue
            sub = headers if pc.all(mask).as_py() else headers.filter(mask)
            counts.by_mta[mta] += sub.num_rows
            cols, unmatched = _parse_mta(mta, sub)
            if cols is not None:
                # rows with no usable time (e.g. a journal line without an inner stamp) are unknown
                ok = pc.is_valid(cols["ts"])
                if not pc.all(ok).as_py():
                    bad_rows = pc.filter(cols["row"], pc.invert(ok))
                    unmatched = pa.concat_arrays([unmatched, pc.cast(pc.index_in(bad_rows, value_set=sub.column("row").combine_chunks()),
                                                            pa.int64())])
                    cols = {k: pc.filter(v, ok) for k, v in cols.items()}
                if sp.panic:
                    cols["event"] = pa.array(["panic"] * len(cols["event"]))
                pieces.append(_table(cols))
            if len(unmatched):
                um = sub.take(unmatched)
                if sp.panic and mta == "exim":
                    cols2 = {c: um.column(c).combine_chunks() for c in ("ts", "host", "program", "pid", "row")}
                    cols2["detail"] = um.column("msg").combine_chunks()
                    cols2["event"] = pa.array(["panic"] * um.num_rows)
                    cols2["mta"] = pa.array(["exim"] * um.num_rows)
                    pieces.append(_table(cols2))
                    continue
                if mta == "postfix":
                    dbg = pc.fill_null(pc.match_substring_regex(um.column("msg"), postfix.DEBUG), False)
                    if pc.any(dbg).as_py():
                        counts.debug += pc.sum(dbg).as_py()
                        um = um.filter(pc.invert(dbg))
                        if um.num_rows == 0:
                            continue
                daemon = pc.replace_substring_regex(um.column("program").combine_chunks(), r"^.*/", "")
                kinds = pc.binary_join_element_wise(pa.array([mta + "/"] * um.num_rows), daemon,
                                                    pa.array([": "] * um.num_rows),
                                                    _mask_shape(um.column("msg").combine_chunks()), "")
                counts.add_unknown(kinds, um.column("row").combine_chunks(), arr, source, first_line)
    if sp.fast is not None and sp.fast.num_rows:
        for item in pc.value_counts(sp.fast.column("mta")).to_pylist():  # the Postfix or the Exim readers'
            counts.by_mta[item["values"]] += item["counts"]
    if pieces:
        table = pa.concat_tables(pieces, promote_options="default")
        table = table.sort_by("row")
        table = _numbered(table, source, first_line)
    else:
        table = conform(pa.table({}))
    if sp.fast is not None and sp.fast.num_rows:
        fast = _numbered(sp.fast, source, first_line)
        if table.num_rows:
            if sp.columns is not None:  # only what the consumer reads is put in line order
                keep = [c for c in fast.column_names if c in sp.columns or c == "line_no"]
                table, fast = table.select(keep), fast.select(keep)
            table = in_line_order(table, fast)
        else:
            table = fast
    counts.events = table.num_rows
    return table, counts


def programs(headers: pa.Table) -> tuple[pa.Table, pa.ChunkedArray, pa.Array, pa.Array]:
    """A batch's headers with Exim's syslog lines unwrapped, their programs, and which lines are
    Postfix's and Exim's (the rest are other programs' lines, counted in ``counts.foreign``)."""
    headers = _unwrap_syslog_in_exim(headers)
    prog = headers.column("program")
    is_pf, is_ex = _program_is(prog, _POSTFIX_RX, _EXIM_RX)
    # Exim through syslog/journald under a wrapper's or container's program name
    other = pc.invert(pc.or_(is_pf, is_ex))
    if pc.any(other).as_py():
        msgs = headers.column("msg").combine_chunks()
        wrapped = pc.and_(other, pc.fill_null(match_regex(msgs, exim.EXIM_WRAPPED), False))
        is_ex = pc.or_(is_ex, wrapped)
    return headers, prog, is_pf, is_ex


def foreign_key(prog: pa.Array) -> pa.Array:
    """The name other programs' lines are counted under: the program up to a '/' or '['."""
    return pc.replace_substring_regex(prog, r"[/\[].*$", "")


#: (regex, program name) -> whether it matches: a day has a few names, met in every batch (bounded)
_PROGRAM_MATCH: dict[tuple[str, str], bool] = {}
_PROGRAMS_HELD = 10_000


def _program_is(prog: pa.ChunkedArray | pa.Array, *regexes: str) -> list[pa.Array]:
    """``match_regex(prog, regex)`` for each regex, matched once per distinct program name (a
    batch has a few, the same in every batch: those met before are not matched again)."""
    if isinstance(prog, pa.ChunkedArray):
        prog = prog.chunk(0) if prog.num_chunks == 1 else prog.combine_chunks()
    enc = pc.dictionary_encode(prog)
    names = enc.dictionary.to_pylist()
    out = []
    for regex in regexes:
        # (this batch's answers in a dict of its own: the shared cache may be cleared meanwhile, here
        # when it is full or by another thread, and a name missing from it must not read as null)
        answers = {s: _PROGRAM_MATCH.get((regex, s)) for s in names}
        new = [s for s, a in answers.items() if a is None]
        if new:
            got = match_regex(pa.array(new, pa.string()), regex).to_pylist()
            answers.update(zip(new, got, strict=True))
            if len(_PROGRAM_MATCH) + len(new) > _PROGRAMS_HELD:
                _PROGRAM_MATCH.clear()
            _PROGRAM_MATCH.update(((regex, s), a) for s, a in zip(new, got, strict=True))
        out.append(pc.take(pa.array([answers[s] for s in names], pa.bool_()), enc.indices))
    return out


def _numbered(table: pa.Table, source: str, first_line: int) -> pa.Table:
    """The event table of some rows (``row``: the line in the batch): source, line_no, schema."""
    n = table.num_rows
    src = source.encode()
    offsets = (np.arange(n + 1, dtype=np.int32) * len(src)).tobytes()
    table = table.append_column("source", pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(src * n)))
    table = table.append_column("line_no", pc.add(table.column("row"), first_line))
    return conform(table)


_WRAPPED = r"^(?P<host>[\w.-]+) (?P<program>[^\s\[\]:]+)\[(?P<pid>\d{1,10})\]: (?:\[\d+\] )?(?P<msg>.*)$"


def _unwrap_syslog_in_exim(headers: pa.Table) -> pa.Table:
    flav = headers.column("flavour").combine_chunks()
    is_exim_flav = pc.equal(flav, "exim")
    if not pc.any(is_exim_flav).as_py():
        return headers
    msg = headers.column("msg").combine_chunks()
    maybe = pc.and_(is_exim_flav, pc.match_substring(msg, "]: "))
    if not pc.any(maybe).as_py():
        return headers
    g = pc.extract_regex(pc.if_else(maybe, msg, ""), pattern=_WRAPPED)
    ok = pc.and_(maybe, g.is_valid())
    if not pc.any(ok).as_py():
        return headers
    for name in ("host", "program", "msg"):
        col = headers.column(name).combine_chunks()
        headers = headers.set_column(headers.schema.get_field_index(name), name, pc.if_else(ok, g.field(name), col))
    pid = headers.column("pid").combine_chunks()
    headers = headers.set_column(headers.schema.get_field_index("pid"), "pid",
                                 pc.if_else(ok, pid_column(g.field("pid")), pid))
    return headers


def _table(cols: dict[str, pa.Array]) -> pa.Table:
    n = len(cols["event"])
    clean = {}
    for k, v in cols.items():
        if isinstance(v, pa.ChunkedArray):
            v = v.combine_chunks()
        if len(v) != n:
            raise AssertionError(f"column {k} has {len(v)} rows, expected {n}")
        clean[k] = v
    return pa.table(clean)

