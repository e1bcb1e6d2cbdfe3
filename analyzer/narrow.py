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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .parsers import LineCounts
from .pipeline import EventStream, row_hash
from .schema import empty_table, to_pandas

__all__ = ["collect_matching", "collect_store_matching", "read_store_matching", "search_wanted", "trace_wanted"]

Wanted = Callable[[pa.Table], np.ndarray]


def _key(table: pa.Table, qid: str = "queue_id") -> np.ndarray:
    return row_hash(pa.table({"host": table.column("host"), "q": table.column(qid)}), ["host", "q"])


def _line(table: pa.Table) -> np.ndarray:
    return row_hash(table, ["source", "line_no"])


def _closure(keys: set[int], edges: np.ndarray) -> np.ndarray:
    """``keys`` and every key linked to them through ``edges`` (pairs), transitively."""
    if not len(edges) or not keys:
        return np.fromiter(keys, dtype=np.uint64, count=len(keys))
    adj: dict[int, list[int]] = {}
    for a, b in edges.tolist():
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    todo = [k for k in keys if k in adj]
    while todo:
        k = todo.pop()
        for n in adj.get(k, ()):
            if n not in keys:
                keys.add(n)
                todo.append(n)
    return np.fromiter(keys, dtype=np.uint64, count=len(keys))


def collect_matching(stream: EventStream, wanted: Wanted) -> Any:
    """The lines of every message that can match ``wanted``, read in two passes over ``stream``'s
    inputs; a :class:`analyzer.reader.ParseResult` (counts and warnings of the first pass)."""
    from .reader import ParseResult

    def again() -> Iterator[tuple[int, pa.Table]]:
        rerun = dataclasses.replace(stream, files=[], counts=LineCounts(), warnings=[], progress=None)
        return ((b.index, b.table) for b in rerun)

    pieces = _two_passes(((b.index, b.table) for b in stream), again, wanted)
    pieces.sort(key=lambda it: it[0])  # input order (secondary logs may be read last)
    table = pa.concat_tables([t for _, t in pieces]) if pieces else _empty_like(stream)
    return ParseResult(to_pandas(table), stream.counts, stream.files, stream.warnings)


def collect_store_matching(scan: Iterable[pa.Table], wanted: Wanted) -> pa.Table | None:
    """The rows of a store scan (:func:`analyzer.store.iter_event_batches`, read twice) of every
    message that can match ``wanted``, in the scan's order; None when nothing can match."""
    pieces = _two_passes(((0, t) for t in scan), lambda: ((0, t) for t in scan), wanted)
    return pa.concat_tables([t for _, t in pieces]) if pieces else None


def read_store_matching(store: Any, wanted: Wanted, since: Any = None, until: Any = None) -> Any:
    """The events of ``store`` (``since <= ts < until``) of every message that can match ``wanted``,
    as :func:`analyzer.store.read_events` would give them (same columns, same order), read batch
    by batch in two passes: only the matches are held."""
    from .store import iter_event_batches, scan_frame

    scan = iter_event_batches(store, since=since, until=until)
    table = collect_store_matching(scan, wanted)
    return scan_frame(table if table is not None else scan.schema.empty_table(), scan)


def _two_passes(first: Iterable[tuple[int, pa.Table]], second: Callable[[], Iterable[tuple[int, pa.Table]]],
                wanted: Wanted) -> list[tuple[int, pa.Table]]:
    """Pass 1 over ``first`` finds the keys (and links) of matching messages; pass 2 over ``second()``
    keeps their lines, as (input index, table) pieces in the order read."""
    keys: set[int] = set()
    lines: list[np.ndarray] = []
    edges: list[np.ndarray] = []
    for _, t in first:
        if not t.num_rows:
            continue
        has_q = pc.is_valid(t.column("queue_id")).to_numpy(zero_copy_only=False)
        rel = pc.and_(pc.is_valid(t.column("related_id")), pc.is_valid(t.column("queue_id")))
        if pc.any(rel).as_py():
            r = t.filter(rel)
            edges.append(np.stack([_key(r), _key(r, "related_id")], axis=1))
        hit = np.asarray(wanted(t), dtype=bool)
        if hit.any():
            k = _key(t)
            keys.update(np.unique(k[hit & has_q]).tolist())
            if (hit & ~has_q).any():
                lines.append(_line(t)[hit & ~has_q])
                # and the line above (an MTA error explains a reject logged right after it: attribution)
                above = pa.table({"source": t.column("source"), "line_no": pc.subtract(t.column("line_no"), 1)})
                lines.append(_line(above)[hit & ~has_q])
    keep_keys = _closure(keys, np.concatenate(edges) if edges else np.empty((0, 2), np.uint64))
    keep_lines = np.unique(np.concatenate(lines)) if lines else np.empty(0, np.uint64)
    del edges, lines, keys
    pieces: list[tuple[int, pa.Table]] = []
    if len(keep_keys) or len(keep_lines):
        for index, t in second():
            if not t.num_rows:
                continue
            m = np.isin(_key(t), keep_keys) & pc.is_valid(t.column("queue_id")).to_numpy(zero_copy_only=False)
            if len(keep_lines):
                m |= np.isin(_line(t), keep_lines)
            if m.any():
                pieces.append((index, t.filter(pa.array(m))))
    return pieces


def _empty_like(stream: EventStream) -> pa.Table:
    if stream.classifier is not None:
        return stream.classifier(empty_table())
    return empty_table()


def search_wanted(filters: Any) -> Wanted:
    """The events that can make a message match ``filters`` (an :class:`analyzer.search.Filters`):
    with filters about a line, the lines passing them all; else the lines that satisfy any one
    filter about the message by their own columns (a sender on qmgr's line, a recipient on a
    delivery's)."""
    from .search import Filters, _event_mask, _row_mask

    def wanted(table: pa.Table) -> np.ndarray:
        ev = to_pandas(table)
        if filters.event_level():
            return _event_mask(SimpleNamespace(events=ev), filters, np.arange(len(ev)))
        given = [n for n in ("sender", "recipient", "domain", "client_ip", "queue_id", "message_id")
                 if getattr(filters, n)]
        if not given:  # no filter: every message
            return np.ones(len(ev), dtype=bool)
        ev = ev.assign(queue_ids=ev["queue_id"])
        hit = np.zeros(len(ev), dtype=bool)
        for name in given:
            hit |= _row_mask(ev, Filters(**{name: getattr(filters, name)}))
        return hit

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

    return wanted
