"""Classification of a stream of batches that equals classifying the whole table at once.

:class:`analyzer.pipeline.Classifier` answers each distinct classification key once (a cache
shared across batches). What it cannot do per batch is the attribution of retry-wait and give-up
lines (:mod:`analyzer.attribution`): such a line takes the cause of the last real error of the same
message, else the same recipient domain, which may be in an earlier batch. :class:`StreamClassifier`
carries those errors across batches: the last one per queue id and per recipient domain (a few
columns each), put in front of the next batch's waiting and failed lines when they are attributed.
A message's errors are dropped from the carry once a line ends it (``removed``, Exim's
``Completed``: :func:`analyzer.attribution.message_ends`; a queue id seen after that names
another message). Memory: the cache and one row per failing message still queued and per
failing domain, not per line or per message of the day.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .attribution import (
    ATTEMPT_EVENTS,
    FAILED,
    NOT_A_REASON,
    WAITING_ACTIONS,
    WAITING_CAUSES,
    _domains,
    _key_codes,
    bare_columns,
    scatter,
    wait_columns,
)
from .class_cache import CLASS_KEY, Answered, append_columns
from .class_codes import CLASS_NAMES, RowCodes, pick
from .schema import CLASS_SCHEMA

#: The columns :func:`analyzer.attribution.attribute` reads.
_READS = ["ts", "queue_id", "recipient", "reply_text", "source", "line_no", "event", "outcome", "action", "cause",
          "fix_id", "severity"]
#: The columns the attribution of bare rejects reads.
_BARE_READS = ["ts", "source", "line_no", "reply_text", "event", "cause", "fix_id", "severity", "cause_ref"]
#: The columns it writes.
_WRITES = ["cause", "fix_id", "severity", "cause_ref"]
#: Of those it reads, the classification's (a batch's codes give them: RowCodes).
_CODED = frozenset(_READS) & frozenset(CLASS_NAMES)


def _as_text(schema: pa.Schema) -> pa.Schema:
    """``schema`` with its dictionaries of text as text."""
    for i, f in enumerate(schema):
        if pa.types.is_dictionary(f.type):
            schema = schema.set(i, f.with_type(f.type.value_type))
    return schema


def _isin(col: Any, values: frozenset[str] | tuple[str, ...]) -> np.ndarray:
    """Whether each value of ``col`` is one of ``values`` (null: no); also the summary's (fast_summary.py)."""
    return pc.fill_null(pc.is_in(col, value_set=_value_set(values)), False).to_numpy(zero_copy_only=False)


@lru_cache(maxsize=32)
def _value_set(values: frozenset[str] | tuple[str, ...]) -> pa.Array:
    return pa.array(sorted(values), pa.string())


class StreamClassifier:
    """Classify batches (``table -> table`` with the classification columns), the same answers
    as :func:`analyzer.classify.classify` of the whole stream, provided the lines come in time
    order (an error logged after the line that waits on it, in a later batch, is not seen)."""

    #: it carries errors from batch to batch, so batches must come to it in order, in one process
    carries_state = True
    #: it takes the rows' classification keys from the workers (analyzer.class_cache)
    uses_keys = True
    #: the event table's columns it reads (with the classification's, which it adds)
    reads = tuple(sorted(set(_READS) | set(_BARE_READS) | set(CLASS_KEY)))

    def __init__(self, kb: Any = None) -> None:
        from .class_cache import Classifier

        self.classifier = Classifier(kb, attributing=False)
        self.kb = self.classifier.kb
        self.carry: pa.Table | None = None  # the last error per queue id and per domain, earlier batches
        self.carry_domains = pa.nulls(0, pa.string())  # the carried errors' recipient domains (no pa.array(): see lazy.refuse_arrow_pandas)
        self.tail: pa.Table | None = None  # the previous batch's last line (a bare reject's error may be there)
        self.keep_codes = False  # keep each batch's RowCodes for codes_beside (a reader of them sets it)
        #: the consumer takes the classification columns as dictionaries of their codes (the
        #: Parquet writer): a batch with codes gets them so (RowCodes.dictionaries), its strings
        #: are not made (a batch with bare rejects, whose attribution changes strings, gets strings)
        self.as_dictionaries = False
        self._shared: dict[tuple, pa.Array] = {}  # the dictionaries' words, shared by batches
        self._beside: dict[int, tuple[Any, RowCodes]] = {}  # id(table) -> (a weak reference to it, its codes)
        self._attributed_to: int | None = None  # the last stamp attributed by classify_many (see _waits_joined)

    def __call__(self, table: pa.Table, keys: np.ndarray | None = None) -> pa.Table:
        return self.attribute(self.classifier(table, keys))

    @property
    def by_key(self) -> Any:
        """The part that answers each row by its key alone (a :class:`analyzer.class_cache.Classifier`):
        it may run anywhere, in worker processes with caches of their own
        (:class:`analyzer.pipeline.EventStream` runs it there); :meth:`attribute` then finishes
        its batches here, in order."""
        return self.classifier

    def prepare(self) -> None:
        """See :meth:`analyzer.class_cache.Classifier.prepare`."""
        self.classifier.prepare()

    def attribute(self, table: pa.Table) -> pa.Table:
        """A batch :attr:`by_key` answered, attributed (batches in order, each once)."""
        if table.num_rows:  # (its stamps count for the batches joined later: _waits_joined)
            from .fold_attribution import in_time_order

            self._attributed_to = in_time_order([table], self._attributed_to)[1]
        return self._attribute(table)

    def classify_many(self, tables: list[pa.Table], keys: list[np.ndarray | None] | None = None) -> list[pa.Table]:
        """Consecutive batches, in order: the same tables as calling the classifier on each, with
        the cache's lookups and its call for new keys made once for all of them (``keys``: the
        batches' classification keys, where a worker computed them)."""
        answered: list[Answered | None] = [None] * len(tables)  # where rows came grouped: masks per group
        coded: list[RowCodes | None] = [None] * len(tables)  # ... and their answers as codes per row
        done = self.classifier.classify_many(tables, keys, answered, coded)
        joined = self._waits_joined(done, answered, coded)
        last = max((i for i, t in enumerate(done) if t.num_rows), default=-1)  # (joined: only its tail is read)
        return [self._attribute(t, a, c, waited=joined, tail=not joined or i == last)
                for i, (t, a, c) in enumerate(zip(done, answered, coded, strict=True))]

    def _waits_joined(self, tables: list[pa.Table], answered: list[Answered | None],
                      coded: list[RowCodes | None]) -> bool:
        """The waits of consecutive batches attributed in one call of :meth:`_waits` over them all
        (their codes changed in place), where that gives what one call a batch gives: their rows
        came grouped, none is a bare reject (:meth:`_bare` takes the line above, batch by batch)
        and their stamps never go back (:func:`analyzer.fold_attribution.in_time_order`: a wait
        takes the last error before it in time, the carry keeps each key's last). The call's
        fixed cost (~40 Arrow and numpy calls: 3-7 ms a batch) is then paid once for several
        batches. Whether it did (then :meth:`_attribute` skips the batches' own)."""
        from .fold_attribution import in_time_order

        live = [i for i, t in enumerate(tables) if t.num_rows]
        if not live:
            return False
        ok, self._attributed_to = in_time_order([tables[i] for i in live], self._attributed_to)
        if not ok or len(live) < 2 or any(answered[i] is None or coded[i] is None for i in live):
            return False
        parts = [(tables[i], answered[i], coded[i]) for i in live]
        # a batch with a bare reject has a reject group (every group has rows): only such a batch's
        # rows are looked at (most have none: no row mask made, no reply text read)
        if any(a.group_isin(t, "event", _REJECT).any() and self._bare_rows(t, self._isin_of(t, a)).any()
               for t, a, _ in parts):
            return False
        if any(not t.schema.equals(parts[0][0].schema) for t, _, _ in parts):
            return False

        masks = [_wait_masks(t, a) for t, a, _ in parts]
        self._waits(pa.concat_tables([t for t, _, _ in parts]), tuple(np.concatenate(m) for m in zip(*masks, strict=True)),
                    _Parts([c for _, _, c in parts]))
        return True

    @staticmethod
    def _isin_of(table: pa.Table, answered: Answered | None) -> Any:
        """``isin(name, values)``: which rows' column ``name`` as classified is in ``values``."""
        def isin(name: str, values: frozenset[str]) -> np.ndarray:
            return _isin(table.column(name), values) if answered is None else answered.isin(table, name, values)

        return isin

    def codes_beside(self, table: pa.Table) -> RowCodes | None:
        """The classification codes of a batch this classifier gave (``table`` itself, as it came
        from :meth:`classify_many`), once: they name the strings its rows have. None where it
        has none (:attr:`keep_codes` unset, its rows did not come grouped, or taken already)."""
        got = self._beside.pop(id(table), None)
        return got[1] if got is not None and got[0]() is table else None

    def _keep(self, table: pa.Table, coded: RowCodes) -> None:
        import weakref

        key, beside = id(table), self._beside
        # dropped with the table if nobody asks for them (its id may then name another table)
        beside[key] = (weakref.ref(table, lambda _: beside.pop(key, None)), coded)

    def _attribute(self, table: pa.Table, answered: Answered | None = None, coded: RowCodes | None = None,
                   waited: bool = False, tail: bool = True) -> pa.Table:
        """``coded``: the batch's answers as codes (``table`` without the classification columns):
        the waits are attributed on the codes, then the strings are made of them. ``waited``:
        its waits were attributed already (:meth:`_waits_joined`); ``tail``: its last line kept
        for the next batch's bare rejects (not where a later batch of the same call has lines)."""
        isin = self._isin_of(table, answered)  # as classified, before attribution
        if not waited:
            table = self._waits(table, _wait_masks(table, answered), coded)
        bare = np.zeros(table.num_rows, bool) if waited else self._bare_rows(table, isin)  # (joined: none)
        dictionaries = coded is not None and self.as_dictionaries and not bare.any()
        if coded is not None:
            table = append_columns(table, coded.dictionaries(self._shared) if dictionaries else coded.table())
        if table.num_rows:
            before = table
            table = self._bare(table, bare)
            if coded is not None and table is not before:  # (rare) the codes follow the strings
                for name in _WRITES:
                    coded.recode(name, table.column(name))
            # one row made anew: a slice would hold the batch's buffers (a worker's block mapped
            # from shared memory, ~5 MiB) to the end of the process; its columns as text
            if tail:
                last = table.select(_BARE_READS).slice(table.num_rows - 1)
                self.tail = pa.Table.from_pylist(last.to_pylist(), schema=_as_text(last.schema))
        if coded is not None and self.keep_codes and not dictionaries:
            self._keep(table, coded)
        return table

    @staticmethod
    def _bare_rows(table: pa.Table, isin: Any) -> np.ndarray:
        """The rejects that log no reason (see :meth:`_bare`)."""
        if not table.num_rows:
            return np.zeros(0, bool)
        rejects = isin("event", _REJECT)
        if not rejects.any():  # (most batches: no reply text's nulls read)
            return rejects
        return rejects & pc.is_null(table.column("reply_text")).to_numpy(zero_copy_only=False)

    def _bare(self, table: pa.Table, bare: np.ndarray) -> pa.Table:
        """A reject that logs no reason (``bare``: :meth:`_bare_rows`) takes the error line just
        above it (:func:`analyzer.attribution.bare_columns`), which may be the previous batch's last line."""
        if not bare.any():
            return table
        sub = table.select(_BARE_READS)
        ahead = 0 if self.tail is None else 1
        both = sub if self.tail is None else pa.concat_tables([self.tail.cast(sub.schema), sub])
        done = bare_columns(both, self.kb)
        if done is None:
            return table
        for name in _WRITES:
            col = done[name].cast(table.schema.field(name).type).slice(ahead)
            i = table.schema.get_field_index(name)
            table = table.set_column(i, table.schema.field(name), col)
        return table

    def _waits(self, table: pa.Table, masks: tuple[np.ndarray, np.ndarray, np.ndarray],
               coded: RowCodes | None = None) -> pa.Table:
        """``masks``: the batch's :func:`_wait_masks`. ``coded``: the classification columns'
        codes (``table`` has not got them), changed in place."""
        if not table.num_rows:
            return table
        target, source, removed = masks
        ends = self._ends(table, source | target, removed)
        rows = np.flatnonzero(source | target | ends)
        if not len(rows):
            return table
        if coded is None:
            sub = _take(table.select(_READS), rows)
        else:  # the rows' classification columns from their codes (in _READS' order)
            sub = _take(table.select([c for c in _READS if c not in _CODED]), rows)
            sub = pa.Table.from_arrays([coded.column(c, rows) if c in _CODED else sub.column(c) for c in _READS],
                                       names=_READS)
        domains = None  # the recipient domains of sub's rows, when the waits need them
        if target.any():
            ahead = 0 if self.carry is None else self.carry.num_rows
            both = sub if self.carry is None else pa.concat_tables([self.carry, sub])
            # attribute()'s wait lines, sources and ends of messages, as wait_columns would find them
            # on both's strings: the batch's are its masks' (the strings are its rows' as
            # classified), the carried rows are sources (never wait lines nor ends: their
            # strings are unchanged) -- test_stream_masks_as_the_strings_say holds it
            known = np.zeros(ahead, bool)
            waiting = np.concatenate([known, target[rows]])
            sources = np.concatenate([~known, source[rows]])
            ends_of = np.concatenate([known, removed[rows] & pc.is_valid(sub.column("queue_id")).to_numpy(zero_copy_only=False)])
            # the carried errors' domains are known (carry_domains): only the batch's are worked out
            domains = _domains(sub.select(["recipient", "reply_text"]), np.arange(sub.num_rows)).cast(pa.string())
            done = wait_columns(both, self.kb, waiting,
                                domains if self.carry is None else pa.concat_arrays([self.carry_domains, domains]),
                                (sources, ends_of))
            at = rows[target[rows]]
            pick = pa.array(np.flatnonzero(target[rows]) + ahead)
            for name in _WRITES:
                if coded is not None:
                    coded.put(name, at, done[name].take(pick))
                    continue
                got = done[name].cast(table.schema.field(name).type).take(pick)
                i = table.schema.get_field_index(name)
                table = table.set_column(i, table.schema.field(name), scatter(table.column(i), at, got))
        is_src, is_end = source[rows], ends[rows]
        if is_src.any() or (is_end.any() and self.carry is not None):
            self._keep_last(sub.filter(pa.array(is_src)), rows[is_src], sub.filter(pa.array(is_end)), rows[is_end],
                            None if domains is None else domains.filter(pa.array(is_src)))
        return table

    def _ends(self, table: pa.Table, errors: np.ndarray, removed: np.ndarray) -> np.ndarray:
        """The lines that end a message (:func:`analyzer.attribution.message_ends`) whose queue id
        is one of the batch's ``errors`` (sources and targets) or of the carried errors: only
        those tell an error's message from a later one of the same queue id; the others (most
        of them: Exim's Completed lines) would only be taken, sorted and dropped."""
        qid = table.column("queue_id")
        if not removed.any():
            return removed
        ends = removed & pc.is_valid(qid).to_numpy(zero_copy_only=False)
        if not ends.any():
            return ends
        ids = [qid.filter(pa.array(errors))] if errors.any() else []
        if self.carry is not None and self.carry.num_rows:
            ids.append(self.carry.column("queue_id"))
        if not ids:
            return np.zeros(len(ends), dtype=bool)
        wanted = pc.unique(pa.chunked_array([c for i in ids for c in (i.chunks if isinstance(i, pa.ChunkedArray) else [i])],
                                            qid.type).combine_chunks().drop_null())
        # only the ends' queue ids looked up (Exim: a Completed line per message, a sixth of the
        # rows), filtered in one call over the chunks (batches joined: one a batch)
        at = np.flatnonzero(ends)
        hit = pc.fill_null(pc.is_in(qid.filter(pa.array(ends)), value_set=wanted), False).to_numpy(zero_copy_only=False)
        out = np.zeros(len(ends), dtype=bool)
        out[at[hit]] = True
        return out

    def _keep_last(self, sources: pa.Table, src_at: np.ndarray, ends: pa.Table, end_at: np.ndarray,
                   new: pa.Array | None = None) -> None:
        """Carry, per queue id and per recipient domain, the last error (by time, then line order),
        except, per queue id, an error that one of this batch's ``ends`` follows (the message is
        finished: kept only if it is its domain's last, with no queue id). ``src_at``, ``end_at``:
        the rows' places in the batch; ``new``: the sources' recipient domains, where known."""
        both = sources if self.carry is None else pa.concat_tables([self.carry, sources])
        # the domains of the new errors only (the carried ones' are kept beside them)
        if new is None:
            new = _domains(sources.select(["recipient", "reply_text"]), np.arange(sources.num_rows))
        domains = new if self.carry is None else pa.concat_arrays([self.carry_domains, new.cast(pa.string())])
        ended = None
        if ends.num_rows:
            at = np.concatenate([np.full(both.num_rows - sources.num_rows, -1, np.int64), src_at])
            ended = _after_end(both, at, ends, end_at)
        n = both.num_rows
        ts = pc.fill_null(both.column("ts").cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        pos = np.arange(n)
        keep = np.zeros(n, dtype=bool)
        for keys, gone in ((_key_codes(both.column("queue_id").combine_chunks()), ended),
                           (_key_codes(domains), None)):
            order = np.lexsort((pos, ts, keys))
            k = keys[order]
            last = np.ones(n, dtype=bool)
            last[:-1] = k[1:] != k[:-1]
            pick = last & (k >= 0)
            if gone is not None:
                pick &= ~gone[order]
            keep[order[pick]] = True
        if ended is not None and (ended & keep).any():
            # a finished message's error kept as its domain's last: no longer its queue id's (a
            # queue id seen later names another message)
            i = both.schema.get_field_index("queue_id")
            q = both.column(i).combine_chunks()
            both = both.set_column(i, both.schema.field(i), pc.if_else(pa.array(ended), pa.nulls(n, q.type), q))
        self.carry = both.filter(pa.array(keep)).combine_chunks()
        self.carry_domains = domains.filter(pa.array(keep))


def _wait_masks(table: pa.Table, answered: Answered | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(targets, sources, removed) of a batch as classified, before attribution: its wait and
    give-up lines (:func:`analyzer.attribution.attribute`'s), the failed attempts whose error
    they may take, and its lines of event removed (:meth:`StreamClassifier._ends`). Where its
    rows came grouped (``answered``) the tests are made per group and taken to the rows once."""
    if answered is None:
        def isin(name: str, values: frozenset[str]) -> np.ndarray:
            return _isin(table.column(name), values)
    else:
        def isin(name: str, values: frozenset[str]) -> np.ndarray:
            return answered.group_isin(table, name, values)
    target = isin("cause", WAITING_CAUSES) & isin("action", WAITING_ACTIONS)
    source = isin("outcome", FAILED) & isin("event", ATTEMPT_EVENTS) & ~isin("cause", NOT_A_REASON) & ~target
    removed = isin("event", _REMOVED)
    if answered is None:
        return target, source, removed
    rows = answered.groups.codes
    return pick(target, rows), pick(source, rows), pick(removed, rows)


_REMOVED = frozenset({"removed"})
_REJECT = frozenset({"reject"})


def _take(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)`` (``rows`` ascending) taken batch by batch: Arrow's take of several
    chunks' text joins them all first (the batches joined by :meth:`StreamClassifier._waits_joined`:
    ~100k rows of reply texts copied for a few hundred taken)."""
    pieces = table.to_batches()
    if len(pieces) < 2:
        return table.take(pa.array(rows, pa.int64()))
    ends = np.cumsum([len(p) for p in pieces])
    cut = np.searchsorted(rows, ends)
    got, lo, start = [], 0, 0
    for p, hi, end in zip(pieces, cut, ends, strict=True):
        if hi > lo:
            got.append(p.take(pa.array(rows[lo:hi] - start, pa.int64())))
        lo, start = hi, end
    return pa.Table.from_batches(got, table.schema)


class _Parts:
    """The codes of consecutive batches (:class:`RowCodes` each) read and changed as one batch's
    (what :meth:`StreamClassifier._waits` asks of them, rows ascending), each batch's in place."""

    def __init__(self, parts: list[RowCodes]) -> None:
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])

    def _split(self, rows: np.ndarray) -> Any:
        """(a batch's codes, its rows of ``rows``, where they are in ``rows``) per batch with some."""
        cut = np.searchsorted(rows, self.starts)
        for i, p in enumerate(self.parts):
            if cut[i + 1] > cut[i]:
                yield p, rows[cut[i]: cut[i + 1]] - self.starts[i], cut[i], cut[i + 1]

    def column(self, name: str, rows: np.ndarray) -> pa.Array:
        split = list(self._split(np.asarray(rows)))
        if not split:
            return pa.nulls(0, CLASS_SCHEMA.field(name).type)
        first = split[0][0]
        if all(p.shares(first, name) for p, _, _, _ in split[1:]):  # (most calls: one list of words)
            return first.column(name, codes=np.concatenate([p.codes_of(name, r) for p, r, _, _ in split]))
        return pa.concat_arrays([p.column(name, r) for p, r, _, _ in split])

    def put(self, name: str, at: np.ndarray, values: pa.Array | pa.ChunkedArray) -> None:
        for p, r, lo, hi in self._split(np.asarray(at)):
            p.put(name, r, values.slice(lo, hi - lo))


def _after_end(errors: pa.Table, at: np.ndarray, ends: pa.Table, end_at: np.ndarray) -> np.ndarray:
    """Which ``errors`` an end-of-message line of ``ends`` with the same queue id follows: later in
    time, or at the same time and later in the batch (``at``, ``end_at``: places in the batch,
    -1 for an error carried from an earlier batch)."""
    q = errors.column("queue_id").combine_chunks().cast(pa.string())
    both = _key_codes(pa.concat_arrays([q, ends.column("queue_id").combine_chunks().cast(pa.string())]))
    k, ek = both[: len(q)], both[len(q):]
    e_ts = pc.fill_null(ends.column("ts").cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    e_at = np.asarray(end_at, dtype=np.int64)
    o = np.lexsort((e_at, e_ts, ek))  # the last end of each queue id: its (time, place) the largest
    ek, e_ts, e_at = ek[o], e_ts[o], e_at[o]
    last = np.ones(len(ek), dtype=bool)
    last[:-1] = ek[1:] != ek[:-1]
    ek, e_ts, e_at = ek[last], e_ts[last], e_at[last]
    i = np.minimum(np.searchsorted(ek, k), max(len(ek) - 1, 0))
    hit = (ek[i] == k) & (k >= 0) if len(ek) else np.zeros(len(k), dtype=bool)
    ts = pc.fill_null(errors.column("ts").cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    return hit & ((e_ts[i] > ts) | ((e_ts[i] == ts) & (e_at[i] > at)))


__all__ = ["StreamClassifier"]
