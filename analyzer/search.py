"""Search messages: which (message, recipient) rows match an on-call engineer's filters.

``search(index, Filters(...))`` works on a :class:`analyzer.messages.MessageIndex`. Filters are of
two kinds:

* **about the message** (``sender``, ``recipient``, ``domain``, ``client_ip``, ``queue_id``,
  ``message_id``): tested on the (message, recipient) row;
* **about an event** (``code``, ``cause``, ``relay``, ``text``, ``since``/``until``): a row
  matches when one of its lines (an attempt for that recipient, or a message-level line such
  as a ``host … said`` reply) passes *all* of them, so ``--code 521 --since 10:00`` means a 521
  after 10:00, not a 521 at any time and something after 10:00.

Everything is vectorized: user regexes run in RE2 (``pyarrow.compute``, linear time whatever the
input), globs and CIDR blocks are tested on the distinct values of a column only.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .messages import MessageIndex, _arrow

__all__ = [
    "RESULT_COLUMNS",
    "Filters",
    "SearchError",
    "SearchResult",
    "parse_code",
    "parse_when",
    "raw_lines",
    "search",
]


class SearchError(ValueError):
    """A filter makes no sense (bad regex, bad address, bad time)."""

    hint = "maillens search --help"


#: Columns of a search result (one row per matching (message, recipient)).
RESULT_COLUMNS: dict[str, str] = {
    "ts": "When the matching line was logged (the deciding line when no event filter is given).",
    "queue_id": "The message's first queue id.",
    "sender": "Envelope sender.",
    "recipient": "Envelope recipient.",
    "status": "The (message, recipient)'s final status.",
    "code": "Reply code of the matching line.",
    "enhanced": "Enhanced status code of the matching line (else the MTA's dsn).",
    "relay": "Relay of the matching line.",
    "text": "Reply text (or detail) of the matching line.",
    "where": "file:line of the matching line.",
    "matches": "How many lines of this (message, recipient) matched.",
    "queue_ids": "Every queue id of the message.",
    "message_id": "Message-ID header.",
    "client_ip": "Who sent it to us.",
    "cause": "Cause of the final status (knowledge base).",
    "final_ts": "When the final status was logged.",
    "delay": "Seconds from received to final status.",
}


@dataclass
class Filters:
    """What to look for; every given filter must hold (several values of one filter: any)."""

    code: Sequence[str] = ()
    cause: Sequence[str] = ()
    sender: Sequence[str] = ()
    recipient: Sequence[str] = ()
    domain: Sequence[str] = ()
    client_ip: Sequence[str] = ()
    relay: Sequence[str] = ()
    queue_id: Sequence[str] = ()
    message_id: Sequence[str] = ()
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    text: str | None = None

    def event_level(self) -> bool:
        return bool(self.code or self.cause or self.relay or self.text or self.since is not None
                    or self.until is not None)


@dataclass
class SearchResult:
    """Matching rows (``RESULT_COLUMNS``) and the messages they belong to."""

    rows: pd.DataFrame
    msgs: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))


# --------------------------------------------------------------------------------------------
# parsing user input


def parse_when(text: str, *, now: dt.datetime, tz: str = "UTC") -> pd.Timestamp:
    """A point in time from the command line, as UTC.

    ``2026-11-29T10:00[:00][+01:00]``, ``2026-11-29 10:00``, ``2026-11-29`` (midnight), ``10:00``
    (today), ``2h``/``-2h``/``30m``/``3d`` (that long before ``now``). Stamps without an offset are
    read in ``tz``.
    """
    from .timeparse import TimeError, parse_time  # the one parser every --since/--until uses

    try:
        return pd.Timestamp(parse_time(text, now=now, tz=tz))
    except TimeError as exc:
        raise SearchError(str(exc)) from None


@dataclass(frozen=True)
class CodeFilter:
    """One --code value: an exact reply code, a class (5xx), or an enhanced-code glob (5.7.*)."""

    exact: int | None = None
    klass: int | None = None
    enhanced: str | None = None  # glob


def parse_code(text: str) -> CodeFilter:
    """``521`` (reply code), ``5xx`` (class), ``5.7.1`` or ``5.7.*`` (enhanced code or dsn)."""
    t = text.strip().lower()
    if re.fullmatch(r"[2-5]\d\d", t):
        return CodeFilter(exact=int(t))
    if re.fullmatch(r"[2-5](xx|\*\*|\*)", t):
        return CodeFilter(klass=int(t[0]))
    if re.fullmatch(r"[245](\.(\d{1,3}|\*)){0,2}(\.\*)?", t) and "." in t:
        return CodeFilter(enhanced=t)
    raise SearchError(f"{text!r} is not a reply code; use 521, 5xx, 5.7.1 or 5.7.*")


def _networks(values: Sequence[str], what: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for v in values:
        try:
            nets.append(ipaddress.ip_network(v.strip().strip("[]"), strict=False))
        except ValueError as exc:
            raise SearchError(f"{what} {v!r} is not an IP address or CIDR block (e.g. 192.0.2.0/24)") from exc
    return nets


def _looks_like_network(v: str) -> bool:
    try:
        ipaddress.ip_network(v.strip().strip("[]"), strict=False)
        return True
    except ValueError:
        return False


def check_regex(pattern: str) -> None:
    """Raise SearchError unless RE2 accepts ``pattern``."""
    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        msg = str(exc).splitlines()[0]
        raise SearchError(f"--text {pattern!r} is not a valid regular expression (RE2 syntax): {msg}") from exc


# --------------------------------------------------------------------------------------------
# vectorized tests on distinct values


def _on_uniques(arr: pa.Array, test) -> np.ndarray:
    """Apply ``test(value) -> bool`` to the distinct non-null values of ``arr``; a bool per element."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    vocab = enc.dictionary.to_pylist()
    ok = np.array([bool(test(v)) for v in vocab] + [False], dtype=bool)
    idx = pc.fill_null(enc.indices, len(vocab)).to_numpy(zero_copy_only=False)
    return ok[idx]


def _glob_test(patterns: Sequence[str]):
    rx = re.compile("|".join(fnmatch.translate(p.strip().lower()) for p in patterns))
    return lambda v: rx.match(v.lower()) is not None


def _in_networks(nets):
    def test(v: str) -> bool:
        try:
            ip = ipaddress.ip_address(v.split("%", 1)[0])
        except ValueError:
            return False
        return any(ip.version == n.version and ip in n for n in nets)
    return test


def _col(df: pd.DataFrame, name: str, typ: pa.DataType = pa.string()) -> pa.Array:
    return _arrow(df, name, typ)


def _domain(arr: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(arr, r"^.*@", "")


# --------------------------------------------------------------------------------------------
# the search


def _row_mask(m: pd.DataFrame, f: Filters) -> np.ndarray:
    ok = np.ones(len(m), dtype=bool)
    if f.sender:
        ok &= _on_uniques(_col(m, "sender"), _glob_test(f.sender))
    if f.recipient:
        t = _glob_test(f.recipient)
        ok &= _on_uniques(_col(m, "recipient"), t) | _on_uniques(_col(m, "orig_recipient"), t)
    if f.domain:
        t = _glob_test(f.domain)
        ok &= (_on_uniques(_domain(_col(m, "recipient")), t) | _on_uniques(_domain(_col(m, "orig_recipient")), t)
               | _on_uniques(_domain(_col(m, "sender")), t))
    if f.client_ip:
        ok &= _on_uniques(_col(m, "client_ip"), _in_networks(_networks(f.client_ip, "--client-ip")))
    if f.queue_id:
        alt = "|".join(re.escape(q.strip()) for q in f.queue_id)
        ids = pc.fill_null(_col(m, "queue_ids"), "")
        hit = pc.match_substring_regex(ids, f"(?:^| )(?:{alt})(?: |$)").to_numpy(zero_copy_only=False)
        ok &= hit
    if f.message_id:
        t = _glob_test([p.strip().strip("<>") for p in f.message_id])
        ok &= _on_uniques(pc.replace_substring_regex(_col(m, "message_id"), r"^<|>$", ""), t)
    return ok


def _event_mask(ix: MessageIndex, f: Filters, candidates: np.ndarray) -> np.ndarray:
    """Which of the candidate events pass every event-level filter (vectorized over them)."""
    ev = ix.events.iloc[candidates]
    ok = np.ones(len(candidates), dtype=bool)
    if f.since is not None or f.until is not None:
        ts = _col(ev, "ts", pa.timestamp("us", tz="UTC"))
        if f.since is not None:
            ok &= pc.fill_null(pc.greater_equal(ts, pa.scalar(f.since.to_pydatetime(), ts.type)), False) \
                .to_numpy(zero_copy_only=False)
        if f.until is not None:
            ok &= pc.fill_null(pc.less(ts, pa.scalar(f.until.to_pydatetime(), ts.type)), False) \
                .to_numpy(zero_copy_only=False)
    if f.code:
        codes = [parse_code(c) for c in f.code]
        rc = pc.fill_null(_col(ev, "reply_code", pa.int64()), -1).to_numpy(zero_copy_only=False)
        hit = np.zeros(len(ev), dtype=bool)
        enh_globs = [c.enhanced for c in codes if c.enhanced]
        for c in codes:
            if c.exact is not None:
                hit |= rc == c.exact
            elif c.klass is not None:
                hit |= rc // 100 == c.klass
        if enh_globs:
            t = _glob_test(enh_globs)
            hit |= _on_uniques(_col(ev, "enhanced_code"), t) | _on_uniques(_col(ev, "dsn"), t)
        ok &= hit
    if f.relay:
        nets = [r for r in f.relay if _looks_like_network(r)]
        names = [r for r in f.relay if not _looks_like_network(r)]
        hit = np.zeros(len(ev), dtype=bool)
        if nets:
            hit |= _on_uniques(_col(ev, "relay_ip"), _in_networks(_networks(nets, "--relay")))
            hit |= _on_uniques(_col(ev, "relay_host"), _in_networks(_networks(nets, "--relay")))
        if names:
            hit |= _on_uniques(_col(ev, "relay_host"), _glob_test(names))
        ok &= hit
    if f.text:
        check_regex(f.text)
        hit = np.zeros(len(ev), dtype=bool)
        for name in ("reply_text", "detail"):
            hit |= pc.fill_null(pc.match_substring_regex(_col(ev, name), f.text), False) \
                .to_numpy(zero_copy_only=False)
        ok &= hit
    if f.cause and ok.any():
        from .classify import classify

        sub = np.flatnonzero(ok)
        cl = classify(ev.iloc[sub].reset_index(drop=True))
        hit = _on_uniques(_col(cl, "cause"), _glob_test(f.cause))
        ok[sub] &= hit
    return ok


def search(ix: MessageIndex, f: Filters) -> SearchResult:
    """The (message, recipient) rows matching every filter, in time order of the matching line."""
    if f.text:
        check_regex(f.text)
    for c in f.code:
        parse_code(c)
    m = ix.messages
    nrow = len(m)
    rowmask = _row_mask(m, f)
    row_msg = m["msg"].to_numpy()
    # rows of one message are contiguous: map message -> (first row, count)
    starts = np.r_[0, np.flatnonzero(row_msg[1:] != row_msg[:-1]) + 1] if nrow else np.array([], dtype=np.int64)
    counts = np.diff(np.r_[starts, nrow])
    nmsg_all = int(ix.msg.max()) + 1 if len(ix.msg) and ix.msg.max() >= 0 else 0
    msg_start = np.full(nmsg_all, -1, dtype=np.int64)
    msg_count = np.zeros(nmsg_all, dtype=np.int64)
    msg_start[row_msg[starts]] = starts
    msg_count[row_msg[starts]] = counts

    match_ev = np.full(nrow, -1, dtype=np.int64)
    nmatch = np.zeros(nrow, dtype=np.int64)
    if f.event_level():
        wanted_msgs = np.zeros(nmsg_all, dtype=bool)
        wanted_msgs[row_msg[rowmask]] = True
        cand = np.flatnonzero(ix.msg >= 0)
        cand = cand[wanted_msgs[ix.msg[cand]]]
        hit = cand[_event_mask(ix, f, cand)]
        # events of one recipient -> that row; message-level events -> every row of the message
        direct = hit[ix.row[hit] >= 0]
        spread = hit[ix.row[hit] < 0]
        reps = msg_count[ix.msg[spread]]
        ev_rows = np.concatenate([ix.row[direct],
                                  np.repeat(msg_start[ix.msg[spread]], reps)
                                  + _ranges(reps)]).astype(np.int64)
        ev_idx = np.concatenate([direct, np.repeat(spread, reps)]).astype(np.int64)
        keep = rowmask[ev_rows] if len(ev_rows) else np.array([], dtype=bool)
        ev_rows, ev_idx = ev_rows[keep], ev_idx[keep]
        if len(ev_rows):
            o = np.lexsort((ix.rank[ev_idx], ev_rows))
            r, e = ev_rows[o], ev_idx[o]
            last = np.r_[r[1:] != r[:-1], True]
            match_ev[r[last]] = e[last]
            nmatch[:] = np.bincount(r, minlength=nrow)
        sel = np.flatnonzero(match_ev >= 0)
    else:
        sel = np.flatnonzero(rowmask)
        nmatch[sel] = 1
    return SearchResult(rows=_result_rows(ix, sel, match_ev), msgs=np.unique(row_msg[sel]))


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each c, concatenated."""
    if len(counts) == 0:
        return np.array([], dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


def _result_rows(ix: MessageIndex, sel: np.ndarray, match_ev: np.ndarray) -> pd.DataFrame:
    m = ix.messages.iloc[sel].reset_index(drop=True)
    ev_i = match_ev[sel]
    use_ev = ev_i >= 0
    ev = ix.events.iloc[np.maximum(ev_i, 0)].reset_index(drop=True) if len(sel) else ix.events.iloc[:0]
    ue = pd.Series(use_ev)

    def pick(ev_name: str, row_name: str | None):
        a = ev[ev_name] if len(sel) else pd.Series([], dtype=object)
        if row_name is None:
            return a.where(ue, other=None)
        b = m[row_name]
        return a.where(ue, other=b) if len(sel) else b

    text = pick("reply_text", "reply_text")
    if len(sel):
        text = text.where(text.notna() | ~ue, other=ev["detail"])
    enhanced = pick("enhanced_code", "enhanced_code")
    if len(sel):
        enhanced = enhanced.where(enhanced.notna(), other=pick("dsn", "dsn"))
    where_src = pick("source", "source").astype("string")
    where_line = pick("line_no", "line_no").astype("Int64").astype("string")
    where = (where_src.fillna("?") + ":" + where_line.fillna("?")) if len(sel) else pd.Series([], dtype="string")
    ts = pick("ts", "final_ts")
    if len(sel):
        ts = ts.where(ts.notna(), other=m["received"])
    out = pd.DataFrame({
        "ts": ts,
        "queue_id": m["queue_id"],
        "sender": m["sender"],
        "recipient": m["recipient"].where(m["recipient"].notna(), other=m["orig_recipient"]),
        "status": m["status"],
        "code": pick("reply_code", "reply_code"),
        "enhanced": enhanced,
        "relay": pick("relay_host", "relay"),
        "text": text,
        "where": where,
        "matches": pd.Series(np.ones(len(sel), dtype=np.int64)),
        "queue_ids": m["queue_ids"],
        "message_id": m["message_id"],
        "client_ip": m["client_ip"],
        "cause": m["cause"],
        "final_ts": m["final_ts"],
        "delay": m["delay"],
    })
    out["_msg"] = m["msg"].to_numpy()
    if len(out):
        out = out.sort_values("ts", kind="stable", na_position="first").reset_index(drop=True)
    return out


def matched_events(ix: MessageIndex, msgs: np.ndarray) -> pd.DataFrame:
    """Every line of the given messages (all hops), in time order: what ``--raw`` prints."""
    sel = np.flatnonzero(np.isin(ix.msg, msgs))
    sel = sel[np.argsort(ix.rank[sel], kind="stable")]
    return ix.events.iloc[sel]


def raw_lines(events: pd.DataFrame) -> Iterator[tuple[str, int, str]]:
    """The original text of each event's line, by (source, line_no), in the events' order.

    Files are re-read (compressed ones too) and only the wanted lines kept. Raises SearchError for
    stdin ('-'), which cannot be read twice.
    """
    from pathlib import Path

    from .sources import Input, iter_batches

    src = events["source"].astype(object).to_numpy()
    lines = events["line_no"].astype("int64").to_numpy()
    wanted: dict[str, set[int]] = {}
    for s_, n_ in zip(src, lines, strict=False):
        wanted.setdefault(s_, set()).add(int(n_))
    if "-" in wanted:
        raise SearchError("--raw cannot show lines read from stdin (they cannot be read again); "
                          "save the input to a file and search that")
    text: dict[tuple[str, int], str] = {}
    for name, nums in wanted.items():
        p = Path(name)
        if not p.exists():
            raise SearchError(f"{name}: the log file is no longer there, so its lines cannot be shown")
        hi = max(nums)
        for batch in iter_batches(Input(name, p), lambda _msg: None):
            first, last = batch.first_line, batch.first_line + len(batch.lines) - 1
            for n_ in nums:
                if first <= n_ <= last:
                    text[(name, n_)] = batch.lines[n_ - first]
            if last >= hi:
                break
    for s_, n_ in zip(src, lines, strict=False):
        yield s_, int(n_), text.get((s_, int(n_)), "")
