"""Two passes over an event stream for `search` and `trace`: hold only the messages that can match.

Pass 1 streams the batches and keeps, per batch, the keys of the events that can make a message
match (``wanted(table) -> bool mask``, see :func:`search_wanted` and :func:`trace_wanted`): their
``(host, queue id)``, or the line itself for events without a queue id (NOQUEUE rejects are
messages of their own), and every link between queue ids that a line names (``related_id``:
a content filter's re-injection, a bounce notice). The keys are closed over those links, so a
message's every hop is kept. Pass 2 streams the batches again and keeps the lines of those keys.
Linking (:func:`analyzer.messages.link`) and the search then run on that small table as they would
on the whole one: every line of a kept message is there, and nothing else is needed.

Memory is bounded by the batch size, the number of links and the matches, not by the log.
A store is narrowed the same way (:func:`collect_store_matching`), its day partitions read twice.

``search`` goes further (:func:`search_stream`): the matches themselves are not all held. Pass 1
over files also notes the last row at which each queue id was seen (:class:`_LastSeen`, 12 bytes per
queue id); over a store, a read of the ``host`` and ``queue_id`` columns alone finds the last row of
each matched queue id instead (:func:`_last_rows`: nothing per queue id of the store). So each kept message (with every message linked to it: a component of the links) is known
complete at a point of pass 2. Complete messages are linked and searched a group of about
:data:`FLUSH_ROWS` lines at a time, and a :class:`SearchFold` keeps their result rows — all of them
for CSV/JSON lines, only the last ``--limit`` for the table — with the keys that put them in the
order the search of all the matches at once gives (the matching line's time, then the message's
first line in time order, then the row's place in its message). Memory: the batch, 12 bytes per
queue id of a log (none for a store), the messages still open, one group, and the rows kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .heap import shed
from .narrow_links import LinkRuns, closure
from .narrow_sets import _key, _LineSet, _member, _Sorted
from .parsers import LineCounts
from .pipeline import EventStream
from .schema import empty_table, to_pandas

__all__ = ["KEY_COLUMNS", "SearchFold", "collect_matching", "collect_store_matching", "read_store_matching",
           "search_files_stream", "search_store_stream", "search_stream", "search_wanted", "trace_wanted",
           "wanted_columns"]

Wanted = Callable[[pa.Table], np.ndarray]


def _closure(keys: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``keys`` and every key linked to them through ``edges`` (pairs), transitively; sorted, unique.
    Vectorised: each round adds the far ends of the edges that touch the set (hop chains are short)."""
    keys = np.unique(keys)
    while len(edges) and len(keys):
        a, b = _member(edges[:, 0], keys), _member(edges[:, 1], keys)
        new = np.setdiff1d(np.concatenate([edges[b & ~a, 0], edges[a & ~b, 1]]), keys)
        edges = edges[~(a & b)]  # both ends in: nothing more to learn from it
        if not len(new):
            break
        keys = np.union1d(keys, new)
    return keys


def _components(keys: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """For each of the sorted ``keys``, the smallest index of a key linked to it through ``edges``
    (pairs of keys; those with an end outside ``keys`` are ignored): its component's label."""
    label = np.arange(len(keys))
    if not len(edges) or not len(keys):
        return label
    ia, ib = np.searchsorted(keys, edges[:, 0]), np.searchsorted(keys, edges[:, 1])
    ok = (ia < len(keys)) & (ib < len(keys))
    ok[ok] &= (keys[ia[ok]] == edges[ok, 0]) & (keys[ib[ok]] == edges[ok, 1])
    ia, ib = ia[ok], ib[ok]
    while True:
        low = np.minimum(label[ia], label[ib])
        nxt = label.copy()
        np.minimum.at(nxt, ia, low)
        np.minimum.at(nxt, ib, low)
        nxt = nxt[nxt]  # jump to the label's label
        if np.array_equal(nxt, label):
            return label
        label = nxt


class _LastSeen:
    """The last row each key was seen at: sorted runs of (key, row), 12 bytes per entry. A run is
    merged with the one before it while that one is at most twice its size and the two hold at
    most :attr:`MERGE_MAX` entries (a merge keeps each key's last row), so no merge ever copies
    more than that: the transient memory stays a few MiB whatever the log's size. A log in time
    order names a queue id in a few consecutive batches only, so runs seldom repeat a key."""

    MERGE_MAX = 1 << 20

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(k) for k, _ in self.runs)

    def add(self, keys: np.ndarray, row: int) -> None:
        u = np.unique(keys)
        if not len(u):
            return
        self.runs.append((u, np.full(len(u), row, np.int32 if row < 1 << 31 else np.int64)))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]) \
                and len(self.runs[-2][0]) + len(self.runs[-1][0]) <= self.MERGE_MAX:
            (k2, v2), (k1, v1) = self.runs.pop(), self.runs.pop()
            k, v = np.concatenate([k1, k2]), np.concatenate([v1, v2])
            o = np.argsort(k, kind="stable")  # two sorted runs: a merge; the later run's rows come last
            k, v = k[o], v[o]
            last = np.r_[k[1:] != k[:-1], True]
            self.runs.append((k[last], v[last]))

    def of(self, keys: np.ndarray) -> np.ndarray:
        """The last row of each of ``keys`` (-1 for a key never seen)."""
        out = np.full(len(keys), -1, dtype=np.int64)
        for k, v in self.runs:
            i = np.minimum(np.searchsorted(k, keys), len(k) - 1)
            out = np.maximum(out, np.where(k[i] == keys, v[i], -1))
        return out


def _second_pass(stream: EventStream) -> Callable[[], Iterator[tuple[int, pa.Table]]]:
    """The stream's inputs read again, as ``(input index, table)`` (both callers hand what the first
    pass freed back, :func:`analyzer.heap.shed`, just before: the second pass forks its workers)."""
    def again() -> Iterator[tuple[int, pa.Table]]:
        rerun = dataclasses.replace(stream, files=[], counts=LineCounts(), warnings=[], progress=None)
        return ((b.index, b.table) for b in rerun)
    return again


def collect_matching(stream: EventStream, wanted: Wanted) -> Any:
    """The lines of every message that can match ``wanted``, read in two passes over ``stream``'s
    inputs; a :class:`analyzer.reader.ParseResult` (counts and warnings of the first pass)."""
    from .reader import ParseResult

    pieces = _two_passes(((b.index, b.table) for b in stream), _second_pass(stream), wanted)
    pieces.sort(key=lambda it: it[0])  # input order (secondary logs may be read last)
    table = pa.concat_tables([t for _, t in pieces]) if pieces else _empty_like(stream)
    return ParseResult(to_pandas(table), stream.counts, stream.files, stream.warnings)


def collect_store_matching(scan: Iterable[pa.Table], wanted: Wanted,
                           first: Iterable[pa.Table] | None = None) -> pa.Table | None:
    """The rows of a store scan (:func:`analyzer.store.iter_event_batches`) of every message that can
    match ``wanted``, in the scan's order; None when nothing can match. Pass 1 reads ``first`` (the
    same rows, in the same order, of the columns ``wanted`` needs) or else ``scan``; pass 2 ``scan``."""
    first = scan if first is None else first
    pieces = _two_passes(((0, t) for t in first), lambda: ((0, t) for t in scan), wanted)
    return pa.concat_tables([t for _, t in pieces]) if pieces else None


def read_store_matching(store: Any, wanted: Wanted, since: Any = None, until: Any = None) -> Any:
    """The events of ``store`` (``since <= ts < until``) of every message that can match ``wanted``,
    as :func:`analyzer.store.read_events` would give them (same columns, same order), read batch
    by batch in two passes: only the matches are held."""
    from .store import iter_event_batches, scan_frame

    scan = iter_event_batches(store, since=since, until=until)
    cols = wanted_columns(wanted)  # pass 1: only what it tests (Parquet projection)
    first = iter_event_batches(store, since=since, until=until, columns=cols) if cols is not None else None
    table = collect_store_matching(scan, wanted, first)
    return scan_frame(table if table is not None else scan.schema.empty_table(), scan)


def _first_pass(first: Iterable[tuple[int, pa.Table]], wanted: Wanted, seen: _LastSeen | None = None,
                links_too: bool = True) -> tuple[np.ndarray, _LineSet, np.ndarray | None]:
    """Pass 1: the keys of every message that can match (closed over the links between queue ids),
    the lines that match without a queue id (and the line above each), and the links themselves
    (distinct pairs; None without ``links_too``: then each batch's links are only kept for the
    closure, :mod:`analyzer.narrow_links`). With ``seen``, where each key was last seen (rows counted
    in the order read)."""
    keys, lines = _Sorted(), _LineSet()
    edges: _Sorted | LinkRuns = _Sorted(2) if links_too else LinkRuns()
    done = 0
    for _, t in first:
        if not t.num_rows:
            continue
        has_q = pc.is_valid(t.column("queue_id")).to_numpy(zero_copy_only=False)
        rel = pc.and_(pc.is_valid(t.column("related_id")), pc.is_valid(t.column("queue_id")))
        if pc.any(rel).as_py():
            r = t.filter(rel)
            edges.add(np.stack([_key(r), _key(r, "related_id")], axis=1))
        k = _key(t)
        if seen is not None:
            seen.add(k[has_q], done + t.num_rows - 1)
        done += t.num_rows
        hit = np.asarray(wanted(t), dtype=bool)
        if hit.any():
            keys.add(k[hit & has_q])
            lone = hit & ~has_q
            if lone.any():
                # the line, and the line above (an MTA error explains a reject logged right after it: attribution)
                lines.add(t, lone)
    if isinstance(edges, LinkRuns):
        return closure(keys.take(), edges), lines.done(), None
    links = edges.take()
    keep_keys = _closure(keys.take(), links)
    return keep_keys, lines.done(), links


def _kept(t: pa.Table, keep_keys: np.ndarray, keep_lines: _LineSet) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 on one table: which rows to keep, and each row's key (0 for rows without a queue id).
    ``keep_keys`` is sorted and unique."""
    k = np.where(pc.is_valid(t.column("queue_id")).to_numpy(zero_copy_only=False), _key(t), 0).astype(np.uint64)
    m = _member(k, keep_keys) & (k != 0)
    if len(keep_lines):
        m |= keep_lines.member(t)
    return m, k


def _two_passes(first: Iterable[tuple[int, pa.Table]], second: Callable[[], Iterable[tuple[int, pa.Table]]],
                wanted: Wanted) -> list[tuple[int, pa.Table]]:
    """Pass 1 over ``first`` finds the keys (and links) of matching messages; pass 2 over ``second()``
    keeps their lines, as (input index, table) pieces in the order read."""
    keep_keys, keep_lines, _ = _first_pass(first, wanted, links_too=False)
    shed()  # pass 1's transients back before pass 2 (and before a stream's second read forks its workers)
    pieces: list[tuple[int, pa.Table]] = []
    if len(keep_keys) or len(keep_lines):
        for index, t in second():
            if t.num_rows:
                m, _ = _kept(t, keep_keys, keep_lines)
                if m.any():
                    pieces.append((index, t.filter(pa.array(m))))
    return pieces


def _empty_like(stream: EventStream) -> pa.Table:
    if stream.classifier is not None:
        return stream.classifier(empty_table())
    return empty_table()


#: Columns pass 1 reads besides those a filter tests: the keys (:func:`_key`, :func:`_line`) and the links.
KEY_COLUMNS = ("host", "queue_id", "related_id", "source", "line_no")
_EVENT_COLUMNS = {"code": ("reply_code", "enhanced_code", "dsn"), "relay": ("relay_ip", "relay_host"),
                  "text": ("reply_text", "detail")}
_MESSAGE_COLUMNS = {"sender": ("sender",), "recipient": ("recipient", "orig_recipient"),
                    "domain": ("recipient", "orig_recipient", "sender"), "client_ip": ("client_ip",),
                    "queue_id": (), "message_id": ("message_id",)}


def wanted_columns(wanted: Wanted) -> list[str] | None:
    """The columns ``wanted`` (and pass 1) reads, for a store read to project on; None: every column."""
    cols = getattr(wanted, "columns", None)
    return None if cols is None else list(dict.fromkeys((*KEY_COLUMNS, *cols)))


def search_wanted(filters: Any) -> Wanted:
    """The events that can make a message match ``filters`` (an :class:`analyzer.search.Filters`):
    with filters about a line, the lines passing them all; else the lines that satisfy any one
    filter about the message by their own columns (a sender on qmgr's line, a recipient on a
    delivery's). Its ``columns``: the columns it tests (None with ``cause``: classification reads them all)."""
    from .search import Filters, _event_mask, _row_mask

    given = [n for n in ("sender", "recipient", "domain", "client_ip", "queue_id", "message_id")
             if getattr(filters, n)]

    def wanted(table: pa.Table) -> np.ndarray:
        ev = to_pandas(table)
        if filters.event_level():
            return _event_mask(SimpleNamespace(events=ev), filters, np.arange(len(ev)))
        if not given:  # no filter: every message
            return np.ones(len(ev), dtype=bool)
        ev = ev.assign(queue_ids=ev["queue_id"])
        hit = np.zeros(len(ev), dtype=bool)
        for name in given:
            hit |= _row_mask(ev, Filters(**{name: getattr(filters, name)}))
        return hit

    if filters.event_level():
        cols = [] if not (filters.since is not None or filters.until is not None) else ["ts"]
        cols += [c for name, names in _EVENT_COLUMNS.items() if getattr(filters, name) for c in names]
        wanted.columns = None if filters.cause else cols  # type: ignore[attr-defined]
    else:
        wanted.columns = [c for name in given for c in _MESSAGE_COLUMNS[name]]  # type: ignore[attr-defined]
    return wanted


def trace_wanted(query: str) -> Wanted:
    """The events naming ``query`` as :func:`analyzer.trace.find_messages` reads it (a queue id,
    a Message-ID, an address)."""
    q = query.strip()
    bare = q.strip("<>").lower()

    def wanted(table: pa.Table) -> np.ndarray:
        hit = pc.equal(pc.fill_null(table.column("queue_id"), ""), q)
        hit = pc.or_(hit, pc.equal(pc.fill_null(table.column("related_id"), ""), q))
        mid = pc.utf8_lower(pc.replace_substring_regex(pc.fill_null(table.column("message_id"), ""), r"^<|>$", ""))
        hit = pc.or_(hit, pc.equal(mid, bare))
        if "@" in q:
            for name in ("sender", "recipient", "orig_recipient"):
                hit = pc.or_(hit, pc.equal(pc.utf8_lower(pc.fill_null(table.column(name), "")), bare))
        return hit.to_numpy(zero_copy_only=False)

    wanted.columns = ["message_id"] + (["sender", "recipient", "orig_recipient"] if "@" in q else [])  # type: ignore[attr-defined]
    return wanted


# --------------------------------------------------------------------------------------------
# search, streamed: matches linked and searched a group of whole messages at a time

#: Rows of whole messages gathered before they are linked and searched together. Linking and
#: searching a group costs ~4 KiB a row for a moment (pandas frames of every column): 5,000 rows
#: hold ~20 MiB where 20,000 held ~80 MiB (1M-line Postfix day, search --code 5xx: summed PSS
#: 322 -> 260 MiB), for ~20% more CPU (more, smaller link and search calls).
FLUSH_ROWS = 5_000
#: Rows per batch of ``search --store``'s pass 2 (every column read): 5,000 rows of 46 columns hold
#: ~9 MiB of Arrow where the store's default 20,000 held ~35 MiB.
STORE_PASS2_ROWS = 5_000
_ORDER = ["_k_ts", "_k_first", "_k_src", "_k_line", "_k_pos", "_k_row"]


@dataclass
class SearchFold:
    """The result rows of a streamed search (:func:`search_stream`), in the order
    :func:`analyzer.search.search` gives them on the whole table; ``keep``: only the last that
    many (0: all). ``nrows`` and ``nmsgs`` count every match."""

    keep: int = 0
    trim: int = 2_000  # with keep: sort and cut the rows held back to keep once they pass this many
    nrows: int = 0
    nmsgs: int = 0
    warnings: list[str] = field(default_factory=list)
    parts: list[pd.DataFrame] = field(default_factory=list)
    held: int = 0
    empty: pd.DataFrame = field(default_factory=pd.DataFrame)  # the rows of no match, typed

    def add(self, rows: pd.DataFrame, nmsgs: int) -> None:
        self.nrows += len(rows)
        self.nmsgs += nmsgs
        if len(rows):
            self.parts.append(rows)
            self.held += len(rows)
        if self.keep and self.held > max(4 * self.keep, self.trim):
            self.parts = [self._sorted().tail(self.keep)]
            self.held = len(self.parts[0])

    def _sorted(self) -> pd.DataFrame:
        from .sources import rotation_ranks

        if not self.parts:
            return self.empty
        df = pd.concat(self.parts, ignore_index=True) if len(self.parts) > 1 else self.parts[0]
        codes, names = pd.factorize(df["_k_src"], use_na_sentinel=True)
        src_rank = np.asarray(rotation_ranks(list(names)), dtype=np.int64)[codes]  # no source: last
        o = np.lexsort((df["_k_row"].to_numpy(), df["_k_pos"].to_numpy(), df["_k_line"].to_numpy(), src_rank,
                        df["_k_first"].to_numpy(), df["_k_ts"].to_numpy()))
        return df.iloc[o].reset_index(drop=True)

    @property
    def rows(self) -> pd.DataFrame:
        """The rows kept, in order, as ``search(...).rows`` (with ``_msg`` numbering each message)."""
        df = self._sorted()
        if self.keep:
            df = df.tail(self.keep).reset_index(drop=True)
        return df.drop(columns=_ORDER)


def _ordered(ix: Any, rows: pd.DataFrame, pos: np.ndarray, msg_base: int) -> pd.DataFrame:
    """``rows`` (a search of ``ix``, one group of whole messages) with the keys that order them as a
    search of all the matches would: the row's time (none first), then its message's first line in
    time order (time, file in rotation order, line, place in the input), then the row's place."""
    from .messages import _ts_ns

    ev = ix.events
    nmsg = int(ix.msg.max()) + 1 if len(ix.msg) else 0
    order = np.argsort(ix.rank, kind="stable")
    order = order[ix.msg[order] >= 0]
    uniq, at = np.unique(ix.msg[order], return_index=True)
    first = np.full(max(nmsg, 1), 0, dtype=np.int64)
    first[uniq] = order[at]
    e = first[rows["_msg"].to_numpy(dtype=np.int64)] if len(rows) else np.empty(0, np.int64)
    ts = pd.to_datetime(rows["ts"], utc=True).dt.tz_localize(None)
    line = pd.to_numeric(ev["line_no"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    return rows.assign(
        _msg=rows["_msg"].to_numpy(dtype=np.int64) + msg_base,
        _k_ts=ts.to_numpy(dtype="datetime64[ns]").astype(np.int64),
        _k_first=_ts_ns(ev)[e], _k_src=ev["source"].astype(object).to_numpy()[e],
        _k_line=line[e], _k_pos=pos[e], _k_row=np.arange(len(rows)))


def _last_rows(ids: Iterable[pa.Table], keys: np.ndarray) -> np.ndarray:
    """The last row (counted over the tables ``ids`` holds, in order) naming each of the sorted,
    unique ``keys``; -1 for a key never named. ``ids``: tables of ``host`` and ``queue_id`` with
    the rows of the scan that pass 2 reads, in the same order."""
    out = np.full(len(keys), -1, dtype=np.int64)
    done = 0
    for t in ids:
        if not len(keys) or not t.num_rows:
            done += t.num_rows
            continue
        k = _key(t)
        hit = _member(k, keys) & pc.is_valid(t.column("queue_id")).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(hit)
        np.maximum.at(out, np.searchsorted(keys, k[rows]), done + rows)
        done += t.num_rows
    return out


def search_stream(first: Iterable[tuple[int, pa.Table]], second: Callable[[], Iterable[tuple[int, pa.Table]]],
                  filters: Any, to_frame: Callable[[pa.Table], pd.DataFrame], fold: SearchFold,
                  empty: pa.Table, flush_rows: int = FLUSH_ROWS,
                  ids: Callable[[], Iterable[pa.Table]] | None = None) -> SearchFold:
    """:func:`analyzer.search.search` of the messages in two passes over a stream of (input index,
    table), never holding all the matches: pass 1 also notes where each queue id was last seen (or,
    given ``ids``, a read of the queue ids alone finds where each matched one was last seen), so
    pass 2 hands a group of messages (closed over their links) to ``link`` and the search as soon as
    all their lines are read, and ``fold`` keeps the result rows (or only the last ones). The rows
    and their order are those of the search over all the matched lines at once (``--cause`` excepted:
    its retry-wait attribution reads other messages; the CLI searches it whole)."""
    from .messages import link
    from .search import search

    ix = link(to_frame(empty))
    fold.empty = _ordered(ix, search(ix, filters).rows, np.empty(0, np.int64), 0)
    seen = _LastSeen() if ids is None else None
    keep_keys, keep_lines, links = _first_pass(first, search_wanted(filters), seen)
    if not len(keep_keys) and not len(keep_lines):
        return fold
    label = _components(keep_keys, links)
    del links
    comp_last = np.full(len(keep_keys), -1, dtype=np.int64)
    last_of = seen.of(keep_keys) if seen is not None else _last_rows(ids(), keep_keys)  # type: ignore[misc]
    np.maximum.at(comp_last, label, last_of.astype(np.int64))
    key_last = comp_last[label]
    del seen, label, comp_last, last_of
    shed()  # pass 1's transients (the concatenated keys, lines and links) back before pass 2
    pending: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []  # rows, their place, when complete
    counts: dict[int, int] = {}
    done, ready, msg_base = 0, 0, 0

    def flush(upto: int) -> None:
        nonlocal pending, ready, msg_base
        tables = [t.filter(pa.array(last <= upto)) for t, _, last in pending]
        pos = np.concatenate([p[last <= upto] for _, p, last in pending]) if pending else np.empty(0, np.int64)
        pending = [(t.filter(pa.array(last > upto)), p[last > upto], last[last > upto])
                   for t, p, last in pending if (last > upto).any()]
        if len(pending) > 1:  # the rows still open as one piece: not a table of 46 columns per batch read
            pending = [(pa.concat_tables([t for t, _, _ in pending]).combine_chunks(),
                        np.concatenate([p for _, p, _ in pending]), np.concatenate([la for _, _, la in pending]))]
        ready = 0
        if not len(pos):
            return
        o = np.argsort(pos, kind="stable")  # input order, as collect_matching
        ix = link(to_frame(pa.concat_tables(tables).take(pa.array(o))))
        res = search(ix, filters)
        fold.add(_ordered(ix, res.rows, pos[o], msg_base), len(res.msgs))
        msg_base += int(ix.msg.max()) + 1 if len(ix.msg) else 0

    for index, t in second():
        if not t.num_rows:
            continue
        m, k = _kept(t, keep_keys, keep_lines)
        base = counts.get(index, 0)
        counts[index] = base + t.num_rows
        where = done + np.arange(t.num_rows)
        done += t.num_rows
        if not m.any():
            continue
        sel = np.flatnonzero(m)
        i = np.minimum(np.searchsorted(keep_keys, k[sel]), max(len(keep_keys) - 1, 0))
        by_key = (keep_keys[i] == k[sel]) & (k[sel] != 0) if len(keep_keys) else np.zeros(len(sel), bool)
        last = np.where(by_key, key_last[i] if len(keep_keys) else 0, where[sel])  # a line of its own: now
        pending.append((t.take(pa.array(sel)), (np.int64(index) << 40) + base + sel, last))
        ready += int((last <= done - 1).sum())
        if ready >= flush_rows:
            flush(done - 1)
    flush(np.iinfo(np.int64).max)
    return fold


def search_files_stream(stream: EventStream, filters: Any, keep: int = 0, flush_rows: int = FLUSH_ROWS) -> SearchFold:
    """:func:`search_stream` over log files (``stream`` is read twice): what ``maillens search``
    does without ``--store``."""
    fold = search_stream(((b.index, b.table) for b in stream), _second_pass(stream), filters, to_pandas, SearchFold(keep),
                         _empty_like(stream), flush_rows)
    fold.warnings = list(stream.warnings)
    return fold


def search_store_stream(store: Any, filters: Any, since: Any = None, until: Any = None, keep: int = 0,
                        flush_rows: int = FLUSH_ROWS, batch_rows: int | None = None,
                        fold: SearchFold | None = None) -> SearchFold:
    """:func:`search_stream` over the days of a store (``since <= ts < until``), read batch by batch
    twice: what ``maillens search --store`` does."""
    from .store import iter_event_batches, scan_frame

    rows = {"batch_rows": batch_rows} if batch_rows else {}
    # pass 2 reads every column: smaller batches (a 20,000-row batch of 46 columns is ~35 MiB of Arrow)
    scan = iter_event_batches(store, since=since, until=until, batch_rows=batch_rows or STORE_PASS2_ROWS)
    # where each matched message was last seen: a third read, of two columns only (no index of
    # every queue id of the store)
    ids = iter_event_batches(store, since=since, until=until, columns=["host", "queue_id"], **rows)
    # pass 1 reads only the columns the filters test and the keys (Parquet projection): a batch of
    # 5-10 columns, not 46
    cols = wanted_columns(search_wanted(filters))
    first = iter_event_batches(store, since=since, until=until, columns=cols, **rows) if cols is not None else scan
    return search_stream(((0, t) for t in first), lambda: ((0, t) for t in scan), filters,
                         lambda t: scan_frame(t, scan), fold or SearchFold(keep), scan.schema.empty_table(),
                         flush_rows, ids=lambda: iter(ids))
