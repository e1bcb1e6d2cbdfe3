"""The summary of ``maillens parse`` (no -o) folded from blocks summarised where they are parsed.

The general path (:class:`analyzer.sinks.SummaryFold` over a classified :class:`EventStream`)
sends every block's event rows (the ~25 columns classification and attribution read) from the
worker processes to the main process, which classifies every row (through the key cache) and
attributes retry-waits (:class:`analyzer.classify_stream.StreamClassifier`) before the fold
counts a few columns. Here the stream's classifier is a :class:`BlockSummariser`, which runs
where the block is parsed (a worker process, or in-process for small inputs) and replaces the
block's table by what the summary still needs of it:

* the block's *groups*: its rows grouped by the exact raw values of :data:`CLASS_KEY` (what
  classify reads, before it masks texts), one representative row each with its row count;
* the counts by event, reply code and status, and the first and last stamp;
* per event only its group and the five columns attribution reads that are not the group's.

A summarised block (what a producer of another MTA's fold hands on, see :func:`_packed`): a table
of :data:`ROW_COLUMNS` and ``gid`` (one row per event) whose schema metadata holds :data:`META`
(counts, JSON), :data:`REPS` (the groups' :data:`CLASS_KEY` columns and ``n``, an Arrow IPC
stream) and, where the producer computed classification keys (a :data:`CKEY` column on the
groups it passes to :func:`_packed`), :data:`RAW`: the raw groups are then merged by key in the
worker (:func:`_classes`) and ``gid`` numbers raw groups, each with its class and reply text.
Without keys the main process computes them (:func:`analyzer.class_cache.class_key`).

The main process (:class:`FastSummaryFold`) classifies the groups of a few consecutive blocks in
one call of the :class:`analyzer.class_cache.Classifier` (a call costs ~0.03 CPU-s whatever its
size, so classifying in each worker cost more: one call per block and worker with new keys),
counts the failures' causes per group, and runs the same ``StreamClassifier`` attribution, in
block order, on the rows it reads (errors, waits, ends of messages, rejects without a reason and
the line above each, the block's last line), built from the group answers: the same causes as
the general path, since attribution reads only those rows and writes only the waits and bare
rejects, which are counted after it (tests/test_native_summary.py compares the summaries).

Not handled here (the general path runs, decided when the stream is read): several sets of
files or secondary logs in one run (their merging hashes whole event rows, see
:mod:`analyzer.pipeline`).

**The Rust fold** (:func:`fold_batch`, the stream's producer here when the native fast path is
on): a block's Postfix lines that the fast path reads whole are grouped in Rust
(native/src/fold.rs: no event row is built for them, threads over line ranges, the GIL
released); the block's other lines are parsed by :func:`analyzer.parsers.finish_batch` and
grouped as above; the block comes out already summarised. It runs wherever
:func:`analyzer.parsers._fast_split` would (classic syslog headers tried first, every stamp one
the Rust reader reads as the Python clock does, not a panic log), for files and stdin, plain or
compressed, with --strict too (the same counts are checked); elsewhere (``MAILLENS_ENGINE=python``,
``MAILLENS_FAST=0``, Exim's own format: its native readers build whole rows) the block is parsed
whole and summarised by :class:`BlockSummariser`, as before.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import early_fold
from .ahead import waiting
from .attribution import ATTEMPT_EVENTS, FAILED, NOT_A_REASON, WAITING_ACTIONS, WAITING_CAUSES
from .class_cache import CLASS_KEY, Classifier, class_key, folded_key
from .classify_stream import _REJECT, _REMOVED, StreamClassifier, _isin
from .fold_attribution import attributed_in_order
from .schema import CLASS_SCHEMA, SCHEMA
from .sinks import FAILURES, SummaryFold
from .summary_blocks import bigger_blocks, classified, expected_blocks
from .summary_hand import _HAND_TO, _HANDED, _TOKENS, HAND, handing
from .summary_rows import _AFTER, _BARE, _ERROR, _GONE, _READ, ROW_COLUMNS, _error_ids, _kept_ends, _Marked, _taken

__all__ = ["META", "BlockSummariser", "FastSummaryFold"]

#: the schema metadata key of a summarised block's counts (JSON)
META = b"maillens.summary"
_CLASS = [f.name for f in CLASS_SCHEMA]


def groups(table: pa.Table, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group) of the rows' exact values in ``names``
    (null a value of its own). Groups are numbered in order of their first row."""
    n = table.num_rows
    key = np.zeros(n, np.int64)
    span = 1
    for name in names:
        col = table.column(name)
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        enc = pc.dictionary_encode(col)
        codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
        card = len(enc.dictionary) + 1
        if span * card >= 1 << 62:  # renumber the tuples so far densely before they overflow
            uniq, key = np.unique(key, return_inverse=True)
            span = len(uniq)
        key = key * card + codes
        span *= card
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    # renumber by first row, so that the representatives are in line order
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)], first[order]


def _counted(values: pa.Array | pa.ChunkedArray, n: np.ndarray) -> list[list[Any]]:
    """[value, rows] of groups' values weighted by their rows (nulls and zero counts left out)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values)
    idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    ok = idx >= 0
    sums = np.bincount(idx[ok], weights=np.asarray(n)[ok], minlength=len(enc.dictionary)).astype(np.int64)
    words = enc.dictionary.to_pylist()
    return [[words[i], int(sums[i])] for i in np.flatnonzero(sums)]


class BlockSummariser:
    """The stream's classifier on the summary's path, run where a block is parsed (a worker
    process: it carries no state, so the pipeline runs it there): a block's table in, its
    summary out. It groups the rows by their raw :data:`CLASS_KEY` values and sends back the
    groups' representatives with their rows (:data:`REPS`, in the schema metadata), the counts
    by event, reply code and status and the first and last stamp (:data:`META`), and one small
    row per event (:data:`ROW_COLUMNS`: its group and the columns attribution reads that are
    not the group's). The main process classifies the groups (:class:`FastSummaryFold`)."""

    #: the event table's columns it reads (and the column it adds: the stream keeps only these)
    reads = (*StreamClassifier.reads, "gid")

    def __call__(self, table: pa.Table, keys: np.ndarray | None = None) -> pa.Table:
        if META in (table.schema.metadata or {}):  # summarised where it was parsed (fold_batch)
            return table
        if table.num_rows == 0:
            return _packed(table, np.zeros(0, np.int64), table)
        gid, first = groups(table, CLASS_KEY)
        return _packed(table.select(ROW_COLUMNS), gid, table.select(CLASS_KEY).take(pa.array(first)))


def _packed(rows: pa.Table, gid: np.ndarray, reps: pa.Table,
            classes: tuple[np.ndarray, pa.Array] | None = None) -> pa.Table:
    """A block's summary (see :class:`BlockSummariser`): ``rows`` (:data:`ROW_COLUMNS`, one a
    row), each row's group ``gid`` and the groups' representatives ``reps`` (:data:`CLASS_KEY`).
    ``classes``: the raw groups already merged by key (each raw group's class and reply text,
    as :func:`_classes` gives them), ``reps`` then the classes'."""
    meta: dict[str, Any] = {"event": [], "code": [], "status": [], "ts": None}
    if rows.num_rows == 0:
        return pa.table({}).replace_schema_metadata({META: json.dumps(meta)})
    md: dict[bytes, Any] = {}
    raw = None
    if classes is None and CKEY in reps.column_names:  # raw groups of equal classification keys sent as one
        reps, cid, texts = _classes(reps)
        classes = (cid, texts)
    if classes is not None:
        cid, texts = classes
        raw = pa.table({"cid": pa.array(cid, pa.uint32()), "reply_text": texts})
        n = np.bincount(cid[gid], minlength=reps.num_rows)
    else:
        n = np.bincount(gid, minlength=reps.num_rows)
    reps = reps.append_column("n", pa.array(n, pa.int64()))
    meta["event"] = _counted(reps.column("event"), n)
    meta["code"] = _counted(reps.column("reply_code"), n)
    meta["status"] = _counted(reps.column("status"), n)
    lo, hi = pc.min_max(rows.column("ts")).values()
    if lo.is_valid:
        meta["ts"] = [lo.cast(pa.int64()).as_py(), hi.cast(pa.int64()).as_py()]
    out = rows.append_column("gid", pa.array(gid.astype(np.uint32)))
    if _HAND_TO[0] == os.getpid():  # for a fold of this process: the groups as they are
        token = next(_TOKENS)
        _HANDED[token] = (meta, reps, raw)
        return out.replace_schema_metadata({META: json.dumps({HAND: token})})
    if raw is not None:
        md[RAW] = _ipc(raw)
    return out.replace_schema_metadata({META: json.dumps(meta), REPS: _ipc(reps), **md})


def carries_raw(table: pa.Table) -> bool:
    """Whether a summarised block not yet taken holds raw groups (:data:`RAW`), sent or handed over."""
    md = table.schema.metadata or {}
    if RAW in md:
        return True
    meta = json.loads(md.get(META, b"{}"))
    return HAND in meta and meta[HAND] in _HANDED and _HANDED[meta[HAND]][2] is not None


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _classes(reps: pa.Table) -> tuple[pa.Table, np.ndarray, pa.Array]:
    """Raw groups (``reps``, with :data:`CKEY`) merged by their classification key: the classes'
    representatives (each one's first raw group, numbered in that order), each raw group's class,
    and the raw groups' reply texts (attribution reads a wait line's own text). A raw group
    without a key (Python-parsed rows) is a class of its own."""
    ck = reps.column(CKEY).combine_chunks()
    valid = pc.is_valid(ck).to_numpy(zero_copy_only=False)
    key = pc.fill_null(ck, 0).to_numpy(zero_copy_only=False)
    vi, ni = np.flatnonzero(valid), np.flatnonzero(~valid)
    _, first, inverse = np.unique(key[vi], return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    cid = np.empty(reps.num_rows, np.int64)
    cid[vi] = rank[inverse.reshape(-1)]
    cid[ni] = len(order) + np.arange(len(ni))
    firsts = np.concatenate([vi[first[order]], ni])
    return reps.take(pa.array(firsts)), cid, reps.column("reply_text").combine_chunks()


#: the schema metadata key of a summarised block's groups (an Arrow IPC stream)
REPS = b"maillens.groups"
#: the schema metadata key of a summarised block's raw groups where :data:`REPS` holds classes
#: (rows of equal classification keys, :func:`_classes`): each raw group's class (``cid``) and
#: reply text, an Arrow IPC stream; the rows' ``gid`` then numbers raw groups. Absent: the
#: rows' ``gid`` numbers the groups of :data:`REPS` directly.
RAW = b"maillens.raw"
#: the groups' column of their classification keys computed by the fold, but the relay host's
#: provider (uint64, native/src/classkey.rs; null: a group of Python-parsed rows, keyed in the
#: main process by :func:`analyzer.class_cache.class_key`). A producer without it is keyed so too.
CKEY = "ckey"
#: the schema's fields of the :data:`CLASS_KEY` columns (as :func:`analyzer.schema.conform` gives them)
CLASS_FIELDS = [SCHEMA.field(c) for c in CLASS_KEY]


class FastSummaryFold(SummaryFold):
    """:class:`SummaryFold` of a stream whose classifier is :attr:`summariser`: classifies the
    summarised blocks' groups (a few consecutive blocks in one call, as
    :func:`analyzer.pipeline.classify_grouped` does), counts the failures' causes, and runs the
    retry-wait attribution on the rows it reads; a stream it cannot fold so (see the module doc)
    is classified and folded as on the general path."""

    #: consecutive blocks' groups classified in one call up to this many groups (a call has a
    #: fixed cost: 80k, ~20 blocks of a Postfix day, two or three calls a 1M day, saved ~0.13
    #: main-process CPU-s against 24k; what is held stays bounded by it, not by the input)
    GROUPS = 80_000
    #: the first call's groups: each next call's limit doubles, up to :data:`GROUPS` (the early
    #: calls, which meet most of the day's keys, run while the workers parse; what is left for
    #: after the last block is a fraction of the input, not all of a day under GROUPS)
    FIRST_GROUPS = 2_000
    #: ... and up to this many held event rows (a Postfix block has ~250 groups to ~28k rows:
    #: by groups alone a call held ~320 blocks, nearly 9M rows, the whole of a 3M-10M day, and
    #: the main process grew with the input, 205 -> 456 MiB PSS from 1M to 10M; ~500k rows is
    #: ~20 MB of rows and their blocks, and a 1M day makes the same three calls as before)
    HELD_ROWS = 500_000
    #: the input's last blocks (as many as its plain files' sizes make, :meth:`_expected`) each
    #: classified as it comes: what is held when the last block comes is classified after it,
    #: alone on the run's critical path (a 1M Exim day's last call held 18 blocks, ~0.2 CPU-s
    #: after its last block; a call of one block ~0.02), unless the next block is made already
    #: (:func:`analyzer.ahead.waiting`: then it joins the call). One: the last block alone;
    #: :data:`HALF_WAY` brings the calls before it down to it (4 with it: two calls more a 1M
    #: day, ~0.02 CPU-s, for no shorter end)
    LAST_BLOCKS = 1
    #: a call that is due takes at most this many blocks made already before it runs (:func:`waiting`)
    JOIN_BLOCKS = 3
    #: where the blocks expected are known, a call is due too half-way from the last call to the
    #: input's last block (a 1M Postfix day's 18 blocks: calls of blocks 1-6, 7-12, 13-15, 16-17
    #: and 18, not 1-6, 7-15, 16-17 and 18): the calls keep up with the blocks, and what is left
    #: when the last block comes is its own call, not the end of a call of nine (the main
    #: thread's CPU after the last block ~0.055 -> ~0.03 s; False: off)
    HALF_WAY = True

    def __init__(self, classifier: StreamClassifier | Callable[[], StreamClassifier]) -> None:
        """``classifier``: the general path's (its knowledge base is the fold's), or a function
        that makes it, called at the first block the stream yields, once its workers have forked
        (`maillens parse FILE` loads the shipped rules so, ~0.035 CPU-s, while they parse rather
        than before they start)."""
        super().__init__()
        self._make = None if isinstance(classifier, StreamClassifier) else classifier
        if isinstance(classifier, StreamClassifier):
            self._use(classifier)
        self.summariser = BlockSummariser()
        self._lo: int | None = None
        self._hi: int | None = None
        self._attributed_to: int | None = None  # the last stamp attribution has seen (fold_attribution)

    def _use(self, classifier: StreamClassifier) -> None:
        self.general = classifier
        self.kb = classifier.kb
        self.classifier = Classifier(self.kb, attributing=False)

    def _ready(self) -> None:
        """The general classifier made, where it was given as a function."""
        if self._make is not None:
            from .rule_sets import join_ahead

            join_ahead()  # (where it loads the same rules: once; joined already where workers forked)
            make, self._make = self._make, None
            self._use(make())

    @staticmethod
    def eligible(stream: Any) -> bool:
        from .pipeline import is_secondary
        from .sources import rotation_key

        names = [i.name for i in stream.inputs]
        return not any(is_secondary(n) for n in names) and len({rotation_key(n)[0] for n in names}) <= 1

    def fold(self, stream: Any) -> SummaryFold:
        if not self.eligible(stream):
            early_fold.drop(wait=True)  # (the general path's workers may fork)
            self._ready()
            stream.classifier = self.general
            return super().fold(stream)
        from . import native

        bigger_blocks(stream)
        stream.block_threads = True
        if stream.producer is None and native.fold_postfix() is not None:
            stream.producer = fold_batch  # the fast path's Postfix rows grouped in Rust
        with handing(), early_fold.dropped():  # (what no job took let go of at the end)
            self._fold_blocks(stream)
        return self

    def _fold_blocks(self, stream: Any) -> None:
        # a block summarised in a worker is counted by the stream as its table's rows, which are
        # its events; one summarised here (small inputs) was counted from its LineCounts: the same
        attribution: StreamClassifier | None = None
        held: list[tuple[pa.Table, pa.Table]] = []
        size, rows, limit = 0, 0, min(self.FIRST_GROUPS, self.GROUPS)
        warm = True
        expected, seen, joined, called = self._expected(stream), 0, 0, 0
        for b in stream:
            seen += 1
            if attribution is None:  # the first block: a big input's workers have forked
                self._ready()
                attribution = StreamClassifier(self.kb)
                warm = hasattr(self.classifier, "prepare")
            if warm and getattr(stream, "_pool", None) is not None:
                warm = False
                # the classifier's one-time loads on a thread while the workers parse (the stream
                # does it only for a classifier of its own): once its pool has forked, never before
                # (a fork while the thread imports would leave the workers' import lock held)
                self.classifier.prepare()
            table, reps, raw = self._open(b.table)
            if reps is None:
                continue
            held.append((table, reps, raw))
            size += reps.num_rows
            rows += table.num_rows
            due = size >= limit or (expected is not None and (
                seen > expected - self.LAST_BLOCKS or (self.HALF_WAY and 2 * (seen - called) >= expected - called)))
            joined = joined + 1 if due else 0  # blocks taken since the call fell due
            # (blocks made already join a due call, up to JOIN_BLOCKS: not a call each, ~0.01-0.02
            # CPU-s; the input's last blocks come together; HELD_ROWS and GROUPS call at once)
            if rows >= self.HELD_ROWS or size >= self.GROUPS or (due and not (waiting() and joined < self.JOIN_BLOCKS)):
                classified(self._classified, held, attribution, seen)
                held, size, rows, limit, joined, called = [], 0, 0, min(2 * limit, self.GROUPS), 0, seen
        if attribution is not None:
            classified(self._classified, held, attribution, seen)
        if self._lo is not None:  # datetimes, as SummaryFold's (no pandas)
            ts_type = SCHEMA.field("ts").type
            self.first = pa.scalar(self._lo, pa.int64()).cast(ts_type).as_py()
            self.last = pa.scalar(self._hi, pa.int64()).cast(ts_type).as_py()

    #: how many blocks the stream's inputs make (None: not known)
    _expected = staticmethod(expected_blocks)

    def _open(self, table: pa.Table) -> tuple[pa.Table, pa.Table | None, pa.Table | None]:
        """A summarised block's rows, groups (None: no events) and raw groups (:data:`RAW`, None:
        the rows' groups are the groups); its counts added."""
        md = table.schema.metadata or {}
        meta = json.loads(md[META])
        handed = _HANDED.pop(meta[HAND]) if HAND in meta else None
        if handed is not None:
            meta = handed[0]
        for into, name in ((self.by_event, "event"), (self.by_code, "code"), (self.by_status, "status")):
            for k, v in meta[name]:
                into[k] += v
        if meta["ts"] is not None:
            lo, hi = meta["ts"]
            self._lo = lo if self._lo is None else min(self._lo, lo)
            self._hi = hi if self._hi is None else max(self._hi, hi)
        if handed is not None:
            return table.replace_schema_metadata(None), handed[1], handed[2]
        if REPS not in md:
            return table, None, None
        raw = pa.ipc.open_stream(md[RAW]).read_all() if RAW in md else None
        return table.replace_schema_metadata(None), pa.ipc.open_stream(md[REPS]).read_all(), raw

    def _classified(self, held: list[tuple[pa.Table, pa.Table, pa.Table | None]], attribution: StreamClassifier) -> None:
        if not held:
            return
        tables = [reps.drop_columns([c for c in (CKEY, "n") if c in reps.column_names]) for _, reps, _ in held]
        answers = self.classifier.classify_many(tables, self._keys([reps for _, reps, _ in held], tables))
        marked = self._fold(held, [ans.select(_CLASS) for ans in answers])
        ends = _kept_ends(marked, _error_ids(marked, attribution.carry))
        attributed_in_order(self, [_taken(m, e) for m, e in zip(marked, ends, strict=True)], attribution)

    def _keys(self, reps: list[pa.Table], tables: list[pa.Table]) -> list[np.ndarray]:
        """The classification keys of blocks' groups (``tables``: their :data:`CLASS_KEY`
        columns), one call for all: from the fold's (:data:`CKEY`) where it computed them, the
        relay host's provider mixed in (:func:`analyzer.class_cache.folded_key`); by
        :func:`analyzer.class_cache.class_key` for the others."""
        ck = pa.chunked_array([r.column(CKEY).combine_chunks() if CKEY in r.column_names
                               else pa.nulls(r.num_rows, pa.uint64()) for r in reps], pa.uint64()).combine_chunks()
        both = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        if ck.null_count == len(ck):
            key = class_key(both, self.kb)
        else:
            key = folded_key(pc.fill_null(ck, 0).to_numpy(zero_copy_only=False), both.column("relay_host"), self.kb)
            if ck.null_count:
                rows = np.flatnonzero(pc.is_null(ck).to_numpy(zero_copy_only=False))
                key[rows] = class_key(both.take(pa.array(rows)), self.kb)
        return np.split(key, np.cumsum([t.num_rows for t in tables])[:-1])

    def _fold(self, held: list[tuple[pa.Table, pa.Table, pa.Table | None]], answers: list[pa.Table]) -> list[_Marked]:
        """Blocks ``held`` (rows, groups, raw groups) and their groups' ``answers``: the causes of
        their failures that no attribution changes counted; each block's rows marked (in line
        order) by what attribution makes of them (:func:`_taken` takes them). The groups' tests
        are made once for all the blocks (a dozen kernels a call, not a block)."""
        def joined(tables: list[pa.Table], name: str) -> pa.ChunkedArray:
            # (blocks of one run summarised by fold_batch and by BlockSummariser: cast alike)
            t0 = tables[0].schema.field(name).type
            return pa.chunked_array([c if c.type == t0 else c.cast(t0) for t in tables for c in t.column(name).chunks], t0)

        reps = [r for _, r, _ in held]
        event, reply_text = joined(reps, "event"), joined(reps, "reply_text")
        outcome, cause, action = (joined(answers, c) for c in ("outcome", "cause", "action"))
        g_failed = _isin(outcome, FAILURES)
        g_target = _isin(cause, WAITING_CAUSES) & _isin(action, WAITING_ACTIONS)
        g_source = (_isin(outcome, FAILED) & _isin(event, ATTEMPT_EVENTS) & ~_isin(cause, NOT_A_REASON)
                    & ~g_target)
        g_bare = _isin(event, _REJECT) & pc.is_null(reply_text).to_numpy(zero_copy_only=False)
        g_removed = _isin(event, _REMOVED)
        # the failures whose cause no attribution changes: counted by group
        kept = np.concatenate([r.column("n").to_numpy() for r in reps]) * (g_failed & ~g_target & ~g_bare)
        for k, v in _counted(cause, kept):
            self.by_cause[k] += v
        # each group's flags as bits (:data:`_READ` ...), gathered once a row
        flags = (((g_target | g_source | g_bare) * _READ) | (g_bare * _BARE) | (g_removed * _GONE)
                 | (((g_target | g_bare) & g_failed) * _AFTER) | ((g_target | g_source) * _ERROR)).astype(np.uint8)
        cuts = np.cumsum([r.num_rows for r in reps])[:-1]
        return [_marked(block, ans, f) for block, ans, f in zip(held, answers, np.split(flags, cuts), strict=True)]


def _marked(block: tuple[pa.Table, pa.Table, pa.Table | None], answers: pa.Table, flags: np.ndarray) -> _Marked:
    """A block (rows, groups, raw groups) marked: its rows in line order, each its raw group,
    group and flags (its group's ``flags``)."""
    table, reps, raw = block
    rid = table.column("gid").to_numpy()
    # rows come in line order, or (fold_batch) the Python-parsed ones before the folded ones
    line = table.column("line_no").to_numpy()
    order = None if np.all(line[1:] >= line[:-1]) else np.argsort(line, kind="stable")
    if order is not None:
        rid = rid[order]
    # each row's group (its class where the raw groups were merged by key)
    gid = rid if raw is None else raw.column("cid").to_numpy()[rid]
    return _Marked(table, reps, raw, answers, rid, order, gid, flags[gid])


def fold_batch(lines: Any, first_line: int, ctx: Any) -> tuple[pa.Table, Any]:
    """The stream's producer on the summary's path (:func:`analyzer.parsers.parse_batch`'s
    place): the Postfix lines the native fast path reads whole are grouped in Rust
    (``analyzer._native.fold_postfix``, native/src/fold.rs: no event rows are built for them),
    the other lines are parsed as :func:`~analyzer.parsers.finish_batch` parses them, and the
    block comes back summarised as :class:`BlockSummariser` summarises a table (which then
    passes it on). Where the fast path does not run (see :func:`_fold_split`), the block is
    parsed whole as before and summarised by the :class:`BlockSummariser`."""
    from .parsers import Split, _split, arrow_lines, finish_batch

    arr, n_nul = arrow_lines(lines)
    folded = None if ctx.panic else _fold_split(arr, ctx.headers, classes=True)
    if folded is None:  # Exim's own format: its readers' lines grouped in Rust too (fast_summary_exim)
        from .fast_summary_exim import fold_exim_batch

        got = fold_exim_batch(arr, lines, n_nul, first_line, ctx)
        return got if got is not None else finish_batch(_split(arr, lines, n_nul, first_line, ctx))
    headers, no_header, fast = folded
    sp = Split(arr, lines, first_line, headers, no_header, ctx.name, ctx.headers.clock.tz, ctx.panic,
               ctx.flavour == "exim", n_nul, None, ctx.columns)
    table, counts = finish_batch(sp)
    n_fast = len(fast["row"])
    if n_fast:
        counts.by_mta["postfix"] += n_fast  # as finish_batch counts a fast table's rows
    counts.events = table.num_rows + n_fast
    if fast["foreign"]:
        counts.foreign = _foreign(fast["foreign"], counts.foreign, headers, fast["n_slow"])
    return _merged(table, fast, ctx.name, first_line), counts


def _foreign(native: list[tuple[str, int, int]], python: Counter, headers: pa.Table, n_slow: int) -> Counter:
    """A block's lines of other programs by program: those the fold counted (``native``:
    program, lines, first line) and those ``finish_batch`` did (``python``, from ``headers``,
    whose first ``n_slow`` rows are the fold's classic-header lines, in line order), in the order
    ``finish_batch`` alone would have met them (the fold's lines sit among those rows)."""
    if not python:
        return Counter({k: n for k, n, _ in native})
    from .parsers import foreign_key, programs

    h, prog, is_pf, is_ex = programs(headers)
    mask = pc.invert(pc.or_(is_pf, is_ex)).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(mask)
    keys = foreign_key(pc.filter(prog, pa.array(mask))).to_pylist()
    lines = h.column("row").to_numpy()[at]
    first: dict[str, tuple[int, int]] = {}
    for p, line, k in zip(at.tolist(), lines.tolist(), keys, strict=True):
        first.setdefault(k, (0, line) if p < n_slow else (1, p))
    total = Counter(python)
    for k, n, line in native:
        first[k] = min(first.get(k, (1, 1 << 62)), (0, line))
        total[k] += n
    return Counter({k: total[k] for k in sorted(total, key=lambda k: first.get(k, (2, 0)))})


def _fold_split(arr: pa.Array, state: Any, classes: bool = False) -> tuple[pa.Table, pa.Array, dict[str, Any]] | None:
    """:func:`analyzer.parsers._fast_split` with the fast rows folded: the headers as it reads
    them, and of the rows read whole their line (``row``), stamp, group, queue id and recipient
    and the groups' representatives (``reps``, :data:`CLASS_KEY` columns). None where the batch
    is read as before (no native fold, a stamp the Python clock reads otherwise, not syslog).
    ``classes`` (with the native masker): the groups merged by classification key in Rust
    (native/src/fold.rs ``classes``, as :func:`_classes` merges them): ``reps`` holds the classes'
    and ``classes`` (each group's class, the groups' reply texts); without, ``classes`` is None."""
    from . import native
    from .parsers import classic_headers, syslog_first
    fold = native.fold_postfix()
    if fold is None or not syslog_first(state):
        return None
    offsets, data = native.string_views(arr)
    objects = (native.fast_postfix(), native.masker(), native.foreign(), classes)
    got = early_fold.taken(fold, offsets, data, objects)  # folded while the command started
    if got is None:
        got = fold(objects[0], offsets, data, native.threads(), *objects[1:])
    head, (h_rows, h_cols), (f_rows, gid, (g_rows, g_cols), qid, rcpt, ckeys), foreign, merged = got
    got = classic_headers(arr, state, head, h_rows, h_cols)
    if got is None:
        return None
    headers, no_header, ts, hdr_kind = got
    n = len(f_rows) // 8
    cols = native.rows_columns(len(g_rows) // 8, g_cols)
    reps = pa.Table.from_arrays([cols[c].cast(f.type) for c, f in zip(CLASS_KEY, CLASS_FIELDS, strict=True)],
                                schema=pa.schema(CLASS_FIELDS))  # conform(...).select(CLASS_KEY), 12 columns of 36
    merged = native_classes(merged)
    fast = {"row": np.frombuffer(f_rows, np.int64), "gid": np.frombuffer(gid, np.uint32).astype(np.int64),
            "ts": pc.filter(ts, pa.array(hdr_kind == 2)), "queue_id": native.string_column(n, qid),
            "recipient": native.string_column(n, rcpt), "reps": with_ckeys(reps, ckeys), "foreign": foreign,
            "n_slow": len(h_rows) // 8, "classes": merged}
    return headers, no_header, fast


def native_classes(merged: tuple[bytes, Any] | None) -> tuple[np.ndarray, pa.Array] | None:
    """The Rust fold's classes (``classes=True``: each raw group's class as uint32 bytes, the
    classes' reply texts) as class ids and a string column; None for None."""
    if merged is None:
        return None
    from . import native

    cid, texts = merged
    return np.frombuffer(cid, np.uint32).astype(np.int64), native.string_column(len(cid) // 4, texts)


def with_ckeys(reps: pa.Table, ckeys: bytes) -> pa.Table:
    """A fold's groups (``reps``) with their classification keys but the relay host's provider
    (:data:`CKEY`, :func:`analyzer.class_cache.folded_key`) where it computed them (``ckeys``:
    uint64 bytes, empty without a masker): :func:`_packed` then merges them by key (:func:`_classes`)."""
    return reps.append_column(CKEY, pa.array(np.frombuffer(ckeys, np.uint64))) if ckeys else reps


def _merged(table: pa.Table, fast: dict[str, Any], source: str, first_line: int) -> pa.Table:
    """The summary of a block (:func:`_packed`) from its Python-parsed rows ``table`` (all
    columns) and its folded rows ``fast``: groups of both (the Python rows' numbered after the
    fast ones'; a key in both has two groups, which classify alike); the Python rows first, then
    the folded ones: :meth:`FastSummaryFold._fold` puts the few rows it reads in line order."""
    if table.num_rows:
        gid_s, first_s = groups(table, CLASS_KEY)
        reps_s = table.select(CLASS_KEY).take(pa.array(first_s))
        line_s = table.column("line_no").to_numpy()
    else:
        gid_s, reps_s, line_s = np.zeros(0, np.int64), fast["reps"].slice(0, 0), np.zeros(0, np.int64)
    reps_f = fast["reps"]
    merged = fast.get("classes")
    n_f = reps_f.num_rows if merged is None else len(merged[0])  # the fast raw groups
    if CKEY in reps_f.column_names and CKEY not in reps_s.column_names:  # the Python-parsed groups have none (computed in the main process)
        reps_s = reps_s.append_column(CKEY, pa.nulls(reps_s.num_rows, pa.uint64()))
    line_no = np.concatenate([line_s, fast["row"] + first_line]) if len(line_s) else fast["row"] + first_line
    n = len(line_no)
    cols: dict[str, Any] = {"line_no": pa.array(line_no, table.schema.field("line_no").type)}
    # every row is the block's file: one dictionary entry, not the name once a row (the main
    # process reads it for the few rows attribution reads: FastSummaryFold._fold)
    cols["source"] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([source], pa.string()))
    for c in ("ts", "queue_id", "recipient"):
        t = table.schema.field(c).type
        f = fast[c] if fast[c].type == t else fast[c].cast(t)
        cols[c] = pa.chunked_array([table.column(c).combine_chunks(), f], t).combine_chunks() if table.num_rows else f
    rows = pa.table({c: cols[c] for c in ROW_COLUMNS})
    gid = np.concatenate([gid_s + n_f, fast["gid"]]) if len(gid_s) else fast["gid"]
    reps = pa.concat_tables([reps_f, reps_s.cast(reps_f.schema)]) if reps_s.num_rows else reps_f
    if merged is None:
        return _packed(rows, gid, reps)
    # the Python-parsed groups have no key: a class each, after the fold's (as _classes numbers them)
    cid, texts = merged
    t = reps.schema.field("reply_text").type
    texts = texts.cast(t)
    if reps_s.num_rows:
        cid = np.concatenate([cid, reps_f.num_rows + np.arange(reps_s.num_rows)])
        texts = pa.concat_arrays([texts, reps_s.column("reply_text").combine_chunks().cast(t)])
    return _packed(rows, gid, reps, (cid, texts))
