"""The summary of ``maillens parse`` (no -o) folded where the blocks are parsed.

The general path (:class:`analyzer.sinks.SummaryFold` over a classified :class:`EventStream`)
sends every block's event rows from the worker processes to the main process, which classifies
them and attributes retry-waits (:class:`analyzer.classify_stream.StreamClassifier`) before the
fold counts a few columns. Here the stream's classifier is a :class:`BlockSummariser`, which runs
where the block is parsed (a worker process, or in-process for small inputs) and replaces the
block's table by what the summary still needs from it:

* counts by event, reply code, status, and by cause of the failures whose cause no later step
  changes, and the block's first and last stamp: in the table's schema metadata (:data:`META`);
* the rows the attribution reads or writes (errors that retry-waits may take their cause from,
  the waiting lines, the ends of messages, rejects without a reason and the line above each, the
  block's last line), classified, with the columns :class:`StreamClassifier` reads.

Classification is per *group* of rows with the same values of the raw :data:`CLASS_KEY` columns
(what classify reads, before it masks the texts): one representative row per group goes to the
:class:`analyzer.class_cache.Classifier` (whose cache keeps working across blocks), and every
count is a group's count times the group's answer. The main process runs the same
``StreamClassifier`` attribution on the small tables, in block order, and counts the causes of
the waiting lines and bare rejects from its answers: the same causes as the general path, since
the attribution reads only the rows it is given here and writes only waiting lines and bare
rejects (tests/test_native_summary.py compares the printed summaries).

Not handled here (the general path runs, decided when the stream is read): several sets of
files or secondary logs in one run (their merging hashes whole event rows, see
:mod:`analyzer.pipeline`).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .attribution import ATTEMPT_EVENTS, FAILED, NOT_A_REASON, WAITING_ACTIONS, WAITING_CAUSES
from .class_cache import CLASS_KEY, Classifier
from .classify_stream import _BARE_READS, _READS, StreamClassifier
from .schema import CLASS_SCHEMA
from .sinks import FAILURES, SummaryFold

__all__ = ["META", "BlockSummariser", "FastSummaryFold"]

#: the schema metadata key of a summarised block's counts (JSON)
META = b"maillens.summary"
_CLASS = [f.name for f in CLASS_SCHEMA]
#: the columns of a summarised block's rows
_OUT = sorted(set(_READS) | set(_BARE_READS))


def _isin(values: Any, of: frozenset[str] | tuple[str, ...]) -> np.ndarray:
    return pc.fill_null(pc.is_in(values, value_set=pa.array(sorted(of))), False).to_numpy(zero_copy_only=False)


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


def _counted(values: pa.Array, n: np.ndarray) -> list[list[Any]]:
    """[value, rows] of groups' values weighted by their rows (nulls and zero counts left out)."""
    t = pa.table({"v": values, "n": pa.array(n, pa.int64())}).filter(pc.and_(pc.is_valid(values),
                                                                              pc.greater(pa.array(n), 0)))
    if not t.num_rows:
        return []
    got = t.group_by("v").aggregate([("n", "sum")])
    return [[v, int(c)] for v, c in zip(got.column("v").to_pylist(), got.column("n_sum").to_pylist(), strict=True)]


class BlockSummariser:
    """The stream's classifier on the summary's path: a block's table in, its summary out (see
    the module doc). Stateless across blocks but for the classification cache, so the pipeline
    runs it in the worker processes."""

    #: the event table's columns it reads
    reads = StreamClassifier.reads

    def __init__(self, kb: Any = None) -> None:
        self.classifier = Classifier(kb, attributing=False)
        self.kb = self.classifier.kb

    def __call__(self, table: pa.Table, keys: np.ndarray | None = None) -> pa.Table:
        n = table.num_rows
        meta: dict[str, Any] = {"event": [], "code": [], "status": [], "cause": [], "ts": None}
        if n == 0:
            return pa.table({}).replace_schema_metadata({META: json.dumps(meta)})
        gid, first = groups(table, CLASS_KEY)
        reps = table.select(CLASS_KEY).take(pa.array(first))
        answers = self.classifier(reps).select(_CLASS)
        rows = np.bincount(gid, minlength=len(first))
        event, reply_text = reps.column("event"), reps.column("reply_text")
        outcome, cause, action = answers.column("outcome"), answers.column("cause"), answers.column("action")
        g_failed = _isin(outcome, FAILURES)
        g_target = _isin(cause, WAITING_CAUSES) & _isin(action, WAITING_ACTIONS)
        g_source = (_isin(outcome, FAILED) & _isin(event, ATTEMPT_EVENTS) & ~_isin(cause, NOT_A_REASON)
                    & ~g_target)
        g_bare = _isin(event, frozenset({"reject"})) & pc.is_null(reply_text).to_numpy(zero_copy_only=False)
        g_removed = _isin(event, frozenset({"removed"}))
        # the failures whose cause no attribution changes are counted here; the others in the main process
        kept = np.bincount(gid, weights=(g_failed & ~g_target & ~g_bare)[gid], minlength=len(first)).astype(np.int64)
        meta["event"] = _counted(event, rows)
        meta["code"] = _counted(reps.column("reply_code"), rows)
        meta["status"] = _counted(reps.column("status"), rows)
        meta["cause"] = _counted(cause, kept)
        lo, hi = pc.min_max(table.column("ts")).values()
        if lo.is_valid:
            meta["ts"] = [lo.cast(pa.int64()).as_py(), hi.cast(pa.int64()).as_py()]
        bare = g_bare[gid]
        take = g_target[gid] | g_source[gid] | bare
        take |= g_removed[gid] & pc.is_valid(table.column("queue_id")).to_numpy(zero_copy_only=False)
        take[:-1] |= bare[1:]  # the line above a bare reject (its error, if it is one)
        take[-1] = True  # the block's last line: the next block's first bare reject may take its error
        at = np.flatnonzero(take)
        raw = [c for c in _OUT if c not in _CLASS]
        out = table.select(raw).take(pa.array(at))
        cls = answers.take(pa.array(gid[at]))
        for name in _CLASS:
            if name in _OUT:
                out = out.append_column(cls.schema.field(name), cls.column(name))
        return out.replace_schema_metadata({META: json.dumps(meta)})


class FastSummaryFold(SummaryFold):
    """:class:`SummaryFold` of a stream whose classifier is :attr:`summariser`: folds the
    summarised blocks; a stream it cannot fold so (see the module doc) is classified and folded
    as on the general path."""

    def __init__(self, classifier: StreamClassifier) -> None:
        super().__init__()
        self.general = classifier
        self.summariser = BlockSummariser(classifier.kb)
        self.ts_type: pa.DataType | None = None
        self._lo: int | None = None
        self._hi: int | None = None

    @staticmethod
    def eligible(stream: Any) -> bool:
        from .pipeline import is_secondary
        from .sources import rotation_key

        names = [i.name for i in stream.inputs]
        return not any(is_secondary(n) for n in names) and len({rotation_key(n)[0] for n in names}) <= 1

    def fold(self, stream: Any) -> SummaryFold:
        if not self.eligible(stream):
            stream.classifier = self.general
            return super().fold(stream)
        from .schema import SCHEMA

        self.ts_type = SCHEMA.field("ts").type
        # a block summarised in a worker is counted by the stream as its table's rows: its events
        # per input are put right here (the others were counted from their LineCounts)
        missing: Counter = Counter()
        attribution = StreamClassifier(self.kb)
        for b in stream:
            if b.classified:
                missing[b.index] += b.counts.events - b.table.num_rows
            self._take(b.table, attribution)
        for i, n in missing.items():
            stream.files[i].events += n
        if self._lo is not None:
            import pandas as pd

            self.first = pd.Timestamp(pa.scalar(self._lo, pa.int64()).cast(self.ts_type).as_py())
            self.last = pd.Timestamp(pa.scalar(self._hi, pa.int64()).cast(self.ts_type).as_py())
        return self

    @property
    def kb(self) -> Any:
        return self.summariser.kb

    def _take(self, table: pa.Table, attribution: StreamClassifier) -> None:
        meta = json.loads((table.schema.metadata or {})[META])
        for into, name in ((self.by_event, "event"), (self.by_code, "code"), (self.by_status, "status"),
                           (self.by_cause, "cause")):
            for k, v in meta[name]:
                into[k] += v
        if meta["ts"] is not None:
            lo, hi = meta["ts"]
            self._lo = lo if self._lo is None else min(self._lo, lo)
            self._hi = hi if self._hi is None else max(self._hi, hi)
        table = table.replace_schema_metadata(None)
        if not table.num_rows:
            return
        # the rows whose cause the attribution may change: counted after it
        waits = _isin(table.column("cause"), WAITING_CAUSES) & _isin(table.column("action"), WAITING_ACTIONS)
        bare = _isin(table.column("event"), frozenset({"reject"})) & pc.is_null(table.column("reply_text")).to_numpy(
            zero_copy_only=False)
        table = attribution._attribute(table)
        pick = (waits | bare) & _isin(table.column("outcome"), FAILURES)
        if pick.any():
            self._count(self.by_cause, pc.filter(table.column("cause"), pa.array(pick)))
