"""Classification with a cache shared across batches: each distinct classification key is matched
against the rules once per run.

The key of a row (:func:`class_key`) is a 64-bit hash of what :func:`analyzer.classify.classify`
reads of the columns :data:`CLASS_KEY` (reply text and detail masked as classify masks them, the
detail only where classify reads it, the relay host's provider): a 1M-line Postfix day has ~1.9k
keys (38.8k before the opaque tokens of success replies were masked). Worker processes compute
it beside the rows they parse (:mod:`analyzer.parallel`), so the main process only looks keys up, classifies the rows of keys it
has not seen (one call for several batches) and takes the answers by position: its work grows
with the distinct keys, not with the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .class_codes import RowCodes, pick
from .lazy import lazy_module
from .rowhash import row_hash
from .rule_sets import join_ahead
from .schema import CLASS_SCHEMA, to_pandas

pd = lazy_module("pandas")  # imported when first used (analyzer.lazy)

__all__ = ["CLASS_KEY", "KEY_VERBATIM", "Answered", "Classifier", "Groups", "RowCodes", "append_columns", "class_key", "folded_key"]

#: The columns :func:`analyzer.classify.classify` reads: its answer depends on nothing else.
CLASS_KEY = ["event", "status", "smtp_stage", "mta", "dsn", "enhanced_code", "reply_code", "quit",
             "relay_host", "reply_text", "detail", "direction"]
#: Of those, the ones a key holds as they are (both :func:`class_key` and the native fold's key):
#: equal within a group of rows of one key. Not the texts (masked) nor the relay host (its provider only).
KEY_VERBATIM = frozenset(CLASS_KEY) - {"relay_host", "reply_text", "detail"}


def class_key(table: pa.Table, kb: Any = None) -> np.ndarray:
    """The classification key of every row (uint64): rows with equal keys classify alike. Only
    within one run (the cache's lifetime): the native engine hashes otherwise than pandas.

    It hashes what classify reads of the :data:`CLASS_KEY` columns, no more: the reply text and
    detail as classify masks them (:func:`analyzer.classify.mask_texts`), the detail only where
    classify reads it (no reply text, an event whose detail is a reason), and of the relay host
    only the provider it names (``kb``'s signatures; default: the shipped rules')."""
    from .classify import DETAIL_IGNORED, _provider_of_hosts, default_rules, mask_texts

    kb = kb or default_rules()
    hash_strings = native.hash_strings()

    def providers(hosts: pa.Array) -> pa.Array:
        return pa.array(_provider_of_hosts(kb, hosts.to_pylist()), pa.string())

    transforms = {"reply_text": mask_texts, "detail": mask_texts, "relay_host": providers}
    h = np.zeros(table.num_rows, dtype=np.uint64)
    for name in CLASS_KEY:
        col = table.column(name)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            hc = row_hash(table.select([name]), [name])
        elif name in transforms:  # worked out per distinct value, then hashed
            if name == "detail":  # read only where there is no reply text and the event's detail is a reason
                event = table.column("event")
                ignored = pc.fill_null(pc.is_in(event, value_set=pa.array(DETAIL_IGNORED, event.type)), True)
                read = pc.and_(pc.is_null(table.column("reply_text")), pc.invert(ignored))
                col = pc.if_else(read, col, pa.scalar(None, col.type))  # (the others are not masked)
            hc = _dict_hash(hash_strings, col, transforms[name])
        elif hash_strings is None:
            hc = row_hash(table.select([name]), [name])
        else:
            hc = _hash(hash_strings, col)
        with np.errstate(over="ignore"):
            h = h * np.uint64(1000003) ^ hc
    return h


def folded_key(ckey: np.ndarray, relay_host: pa.Array | pa.ChunkedArray, kb: Any = None) -> np.ndarray:
    """The classification key of rows whose key without the relay host ``ckey`` the native fold
    computed (native/src/classkey.rs: the texts masked as :func:`analyzer.classify.mask_texts`
    masks them, the detail where classify reads it), with the provider ``relay_host`` names by
    ``kb``'s signatures mixed in: rows with equal keys classify alike. Another hash than
    :func:`class_key`'s (an equal row may have two keys, which classify alike), within one run."""
    from .classify import _provider_of_hosts, default_rules

    kb = kb or default_rules()

    def providers(hosts: pa.Array) -> pa.Array:
        return pa.array(_provider_of_hosts(kb, hosts.to_pylist()), pa.string())

    hp = _dict_hash(native.hash_strings(), relay_host, providers)
    with np.errstate(over="ignore"):
        return (np.asarray(ckey, np.uint64) * np.uint64(0x100000001B3)) ^ hp ^ np.uint64(_FOLDED)


_FOLDED = 0x5BD1E9955BD1E995  # (keeps the two hashes' values apart)


class Groups:
    """A block's rows grouped by their classification keys, as a worker sends them: the distinct
    keys (``uniq``), each row's group (``codes``, int32) and one row of each group (``reps``).
    The main process then looks up and classifies the groups, not the rows, and gives each row
    its group's answers by position (:meth:`Classifier.classify_many`)."""

    __slots__ = ("codes", "reps", "uniq")

    def __init__(self, uniq: np.ndarray, codes: np.ndarray, reps: np.ndarray) -> None:
        self.uniq, self.codes, self.reps = uniq, codes, reps

    @classmethod
    def of(cls, key: np.ndarray) -> Groups:
        """The groups of rows' keys (:func:`class_key`): hashed in Arrow, no sort."""
        enc = pc.dictionary_encode(pa.array(np.asarray(key, np.uint64), pa.uint64()))
        uniq = enc.dictionary.to_numpy(zero_copy_only=False)
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        reps = np.zeros(len(uniq), np.int32)
        reps[codes] = np.arange(len(codes), dtype=np.int32)  # any row of a group will do: they classify alike
        return cls(uniq, codes, reps)

    def __len__(self) -> int:
        return len(self.codes)

    def rows(self) -> np.ndarray:
        """Each row's key."""
        return self.uniq[self.codes]

    def to_bytes(self) -> bytes:
        n = np.array([len(self.uniq), len(self.codes)], np.int64)
        return b"".join(a.tobytes() for a in (n, self.uniq.astype(np.uint64, copy=False),
                                              self.reps.astype(np.int32, copy=False), self.codes.astype(np.int32, copy=False)))

    @classmethod
    def from_bytes(cls, data: bytes) -> Groups:
        u, n = (int(x) for x in np.frombuffer(data, np.int64, 2))
        uniq = np.frombuffer(data, np.uint64, u, 16)
        reps = np.frombuffer(data, np.int32, u, 16 + 8 * u)
        return cls(uniq, np.frombuffer(data, np.int32, n, 16 + 12 * u), reps)


def _dict_hash(hash_strings: Any, col: pa.Array | pa.ChunkedArray, transform: Any) -> np.ndarray:
    """The hash of ``transform`` of each value of a string column, worked out once per distinct
    value (nulls stay null; a value transformed to null hashes as null)."""
    enc = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    values = transform(enc.dictionary)
    if hash_strings is not None:
        hv = _hash(hash_strings, values)
    else:
        hv = pd.util.hash_array(values.to_numpy(zero_copy_only=False), categorize=False)
        if values.null_count:
            hv[pc.is_null(values).to_numpy(zero_copy_only=False)] = np.uint64(_NULL)
    hv = np.append(hv, np.uint64(_NULL))
    return hv[pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False)]


_NULL = 0x9E3779B97F4A7C15  # a null's hash (as native/src/hash.rs)


def _hash(hash_strings: Any, col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The native hash of each value of a string column (uint64; nulls hash to _NULL)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.type != pa.string():
        col = col.cast(pa.string())
    n = len(col)
    bitmap, off, data = col.buffers()
    if off is None:  # an empty array may come without buffers
        return np.empty(0, np.uint64)
    offsets = off.to_pybytes()[col.offset * 4:(col.offset + n + 1) * 4]
    valid = (bitmap.to_pybytes(), col.offset) if col.null_count and bitmap is not None else None
    return np.frombuffer(hash_strings(offsets, b"" if data is None else data.to_pybytes(), valid), dtype=np.uint64)


class Classifier:
    """Classify batches; answers are cached by the distinct classification key (the masked reply
    text and the other columns classify reads), so a reply seen in an earlier batch is not matched
    against the rules again. The cache holds at most ``limit`` keys (then starts afresh).

    ``keys`` (optional everywhere) are the batches' :func:`class_key` values when a worker
    computed them already."""

    #: it takes the rows' keys from the workers (EventStream asks them to compute the keys)
    uses_keys = True

    def __init__(self, kb: Any = None, limit: int = 200_000, attributing: bool = True) -> None:
        from .classify import default_rules, host_patterns

        self.kb = kb or default_rules()
        # keys computed elsewhere (a worker's, with the shipped rules) name the relay host's provider
        # by the shipped signatures: with other signatures the keys are computed here
        self._own_keys = self.kb is not default_rules() and host_patterns(self.kb) != host_patterns(default_rules())
        self.limit = limit
        self.attributing = attributing  # see __call__
        self._keys = _Keys()
        self._store = _Answers()
        self._warming: Any = None  # the thread of prepare(), joined before the first call

    def __call__(self, table: pa.Table, keys: np.ndarray | None = None) -> pa.Table:
        from .classify import classify

        if table.num_rows == 0:
            return append_columns(table, CLASS_SCHEMA.empty_table())
        if isinstance(keys, Groups):
            if not self.attributing and not self._own_keys:
                return self._grouped([table], [keys])[0]
            keys = keys.rows()
        if self.attributing:
            # classify() gives retry-wait and give-up lines the cause of the message's last real
            # error (analyzer.attribution): rows are not independent, so no per-key cache
            cols = [f.name for f in CLASS_SCHEMA]
            return append_columns(table, pa.Table.from_pandas(classify(to_pandas(table), self.kb)[cols],
                                                              schema=CLASS_SCHEMA, preserve_index=False))
        return append_columns(table, self._answers(table, keys))

    def classify_many(self, tables: list[pa.Table], keys: list[np.ndarray | None] | None = None,
                      answered: list[Answered | None] | None = None,
                      coded: list[RowCodes | None] | None = None) -> list[pa.Table]:
        """Classify several batches at once (one lookup, one call for the keys none has seen):
        the same tables as calling the classifier on each. ``answered``: a list as long as
        ``tables`` where the batches' :class:`Answered` go, when their rows came grouped.
        ``coded``: such a list for the batches' answers as :class:`RowCodes`; a batch whose
        codes go there comes back without the classification columns (its caller appends
        ``RowCodes.table()``, once it has changed what it changes), the others with them."""
        keys = keys if keys is not None else [None] * len(tables)
        if not self.attributing and not self._own_keys and tables and all(
                isinstance(k, Groups) or not t.num_rows for t, k in zip(tables, keys, strict=True)):
            return self._grouped(tables, keys, answered, coded)
        keys = [k.rows() if isinstance(k, Groups) else k for k in keys]
        if self.attributing or len(tables) < 2:
            return [self(t, k) for t, k in zip(tables, keys, strict=True)]
        full = [(t, k) for t, k in zip(tables, keys, strict=True) if t.num_rows]
        if not full:
            return [self(t) for t in tables]
        both = pa.concat_tables([t for t, _ in full]) if len(full) > 1 else full[0][0]
        key = None
        if all(k is not None for _, k in full):
            key = np.concatenate([k for _, k in full]) if len(full) > 1 else full[0][1]
        answers = self._answers(both, key)
        out, at = [], 0
        for t in tables:
            out.append(append_columns(t, answers.slice(at, t.num_rows)))
            at += t.num_rows
        return out

    def prepare(self) -> None:
        """Load, on a thread, what the first call for new keys needs once (the index of known
        replies ~0.1 CPU-s, the rules' text patterns compiled ~0.15: the first call reaches
        nearly all of them): the stream starts it when its workers fork, while they parse the
        first blocks and this process has nothing else to do. The first call waits for it."""
        import threading

        if self._warming is None:
            self._warming = threading.Thread(target=_warm_up, args=(self.kb,), name="maillens-warm", daemon=True)
            self._warming.start()

    def _grouped(self, tables: list[pa.Table], groups: list[Groups | None],
                 answered: list[Answered | None] | None = None,
                 coded: list[RowCodes | None] | None = None) -> list[pa.Table]:
        """classify_many of batches whose rows a worker grouped by key (:class:`Groups`; None
        for an empty table): the groups are looked up and the new ones classified (one call),
        then each row takes its group's answers by position: nothing here is per row but that take."""
        from .classify import classify_table

        live = [i for i, (t, g) in enumerate(zip(tables, groups, strict=True)) if t.num_rows and g is not None]
        full = [(tables[i], groups[i]) for i in live]
        if not full:
            return [append_columns(t, CLASS_SCHEMA.empty_table()) for t in tables]
        everyone = np.concatenate([g.uniq for _, g in full]) if len(full) > 1 else full[0][1].uniq
        pos = self._keys.positions(everyone)
        new = pos < 0
        if new.any():
            if self._warming is not None:
                self._warming.join()
                self._warming = None
            uniq, first = np.unique(everyone[new], return_index=True)
            which = np.flatnonzero(new)[first]  # a group of each new key, in uniq's order
            starts = np.cumsum([0] + [len(g.uniq) for _, g in full])
            of = np.searchsorted(starts, which, side="right") - 1  # the batch of each
            have = set(full[0][0].column_names)  # (a list made per call of .column_names: once)
            cols = [c for c in CLASS_KEY if c in have]
            parts, order = [], []
            for i in np.unique(of):
                at = np.flatnonzero(of == i)
                t, g = full[i]
                parts.append(t.select(cols).take(pa.array(g.reps[which[at] - starts[i]])))
                order.append(at)
            sample = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
            if len(parts) > 1:  # back in uniq's order
                sample = sample.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))
            answers = classify_table(sample, self.kb)
            pos[new] = len(self._keys) + np.searchsorted(uniq, everyone[new])
            self._store.append(answers)
            store, codes = self._store, self._store.codes[pos]  # the groups' answers, before a full cache starts afresh
            self._keys.add(uniq)
            if len(self._keys) > self.limit:
                self._keys, self._store = _Keys(), _Answers()
                self._keys.add(uniq[: self.limit])
                self._store.append(answers.slice(0, self.limit))
        else:
            store, codes = self._store, self._store.codes[pos]
        codes = np.ascontiguousarray(codes.T)  # per column, the groups' answer codes
        out = [t if i in live else append_columns(t, CLASS_SCHEMA.empty_table()) for i, t in enumerate(tables)]
        at = 0
        for i, (t, g) in zip(live, full, strict=True):
            if coded is not None:  # the answers as codes per row: the strings are made by the caller
                coded[i] = RowCodes(np.take(codes[:, at: at + len(g.uniq)], g.codes, axis=1), store.words, g)
                out[i] = t
            else:
                out[i] = append_columns(t, store.columns(codes[:, at: at + len(g.uniq)], g.codes))
            if answered is not None:
                answered[i] = Answered(codes[:, at: at + len(g.uniq)], g, store.words)
            at += len(g.uniq)
        return out

    def _answers(self, table: pa.Table, key: np.ndarray | None = None) -> pa.Table:
        """The classification columns of a non-empty table, from the cache and one call for the rest."""
        from .classify import classify_table

        if key is None or self._own_keys:
            key = class_key(table, self.kb)
        pos = self._keys.positions(key)
        new = pos < 0
        if not new.any():
            return self._store.take(pos)
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        join_ahead()
        uniq, first = np.unique(key[new], return_index=True)
        rows = np.flatnonzero(new)[first]
        # classify reads only the key's columns (on Arrow: no pandas, ~0.3 CPU-s to import)
        sample = table.select([c for c in CLASS_KEY if c in table.column_names]).take(pa.array(rows))
        answers = classify_table(sample, self.kb)
        at = pos.copy()  # the new keys come after the known ones, in uniq's order
        at[new] = len(self._keys) + np.searchsorted(uniq, key[new])
        self._store.append(answers)
        got = self._store.take(at)
        self._keys.add(uniq)
        if len(self._keys) > self.limit:  # full: start afresh with this call's new keys (at most limit)
            self._keys, self._store = _Keys(), _Answers()
            self._keys.add(uniq[: self.limit])
            self._store.append(answers.slice(0, self.limit))
        return got


class Answered:
    """A batch's answers by group (its rows came as :class:`Groups`): which rows have a value
    in a set, worked out per group, not per row. Good for the answers as classified and for
    the :data:`KEY_VERBATIM` columns (equal within a group), not for columns changed later."""

    __slots__ = ("_verbatim", "codes", "groups", "words")

    def __init__(self, codes: np.ndarray, groups: Groups, words: list[list[str | None]]) -> None:
        self.codes, self.groups, self.words = codes, groups, words  # codes: per answer column, per group
        self._verbatim: dict[str, tuple[list[str | None], np.ndarray]] = {}  # a KEY_VERBATIM column per group

    def isin(self, table: pa.Table, name: str, values: frozenset[str]) -> np.ndarray:
        """Per row of ``table`` (the batch), whether its ``name`` is one of ``values`` (null: no)."""
        return pick(self.group_isin(table, name, values), self.groups.codes)

    def group_isin(self, table: pa.Table, name: str, values: frozenset[str]) -> np.ndarray:
        """:meth:`isin` per group (the rows of group ``g`` all have ``[g]``): masks combined per
        group are taken to the rows once (a gather of the batch's rows per :meth:`isin`)."""
        j = _ANSWER.get(name)
        if j is not None:
            words, codes = self.words[j], self.codes[j]
        elif name in KEY_VERBATIM:
            got = self._verbatim.get(name)
            if got is None:  # the column's value at one row of each group, encoded once a batch
                col = table.column(name).take(pa.array(self.groups.reps))
                enc = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
                words = [None, *enc.dictionary.to_pylist()]  # (code 0: null)
                got = self._verbatim[name] = words, pc.fill_null(pc.add(enc.indices, 1), 0).to_numpy(
                    zero_copy_only=False)
            words, codes = got
        else:
            raise KeyError(name)
        return np.fromiter((w is not None and w in values for w in words), dtype=bool, count=len(words))[codes]


#: the answer columns' places in :data:`analyzer.schema.CLASS_SCHEMA`
_ANSWER = {f.name: j for j, f in enumerate(CLASS_SCHEMA)}


def _warm_up(kb: Any) -> None:
    from contextlib import suppress

    join_ahead()  # (what compile_ahead compiled is not compiled again)
    with suppress(Exception):  # only a head start: the first call loads whatever is missing
        from .classify import compile_patterns
        from .similar import default_known_replies

        default_known_replies().native_index()  # (the native core's copy of its index, where it runs)
        compile_patterns(kb)  # (the native core compiles without the GIL)


class _Keys:
    """The cached keys and their answers' positions (in the order added), sorted for a lookup by
    binary search: a few thousand keys, no pandas index (pandas is imported only if needed)."""

    def __init__(self) -> None:
        self.sorted = np.empty(0, np.uint64)
        self.at = np.empty(0, np.int64)  # the answers' position of each of ``sorted``

    def __len__(self) -> int:
        return len(self.sorted)

    def positions(self, key: np.ndarray) -> np.ndarray:
        """The position of each key's answers, -1 where the key is not known."""
        if not len(self.sorted):
            return np.full(len(key), -1, np.int64)
        i = np.minimum(np.searchsorted(self.sorted, key), len(self.sorted) - 1)
        return np.where(self.sorted[i] == key, self.at[i], -1)

    def add(self, uniq: np.ndarray) -> None:
        """Keys not known yet (distinct); their answers come next, in this order."""
        at = np.concatenate([self.at, np.arange(len(self.sorted), len(self.sorted) + len(uniq))])
        keys = np.concatenate([self.sorted, uniq.astype(np.uint64)])
        order = np.argsort(keys, kind="stable")
        self.sorted, self.at = keys[order], at[order]


class _Answers:
    """The cached answers, one row per key, held as small integer codes per column of
    :data:`CLASS_SCHEMA` (its columns have few distinct values), in an array grown by doubling:
    ~32 bytes per key instead of a string table copied whole on every call with new keys."""

    def __init__(self) -> None:
        self.names = [f.name for f in CLASS_SCHEMA]
        self.words: list[list[str | None]] = [[None] for _ in self.names]  # code 0 is null
        self.codes_of: list[dict[str, int]] = [{} for _ in self.names]
        self.codes = np.zeros((0, len(self.names)), np.int32)
        self.n = 0

    def append(self, answers: pa.Table) -> None:
        """Add the rows of ``answers`` (:func:`analyzer.classify.classify_table`'s, one row per new
        key, in key order)."""
        need = self.n + len(answers)
        if need > len(self.codes):
            grown = np.zeros((max(need, 2 * len(self.codes), 1024), len(self.names)), np.int32)
            grown[: self.n] = self.codes[: self.n]
            self.codes = grown
        for j, name in enumerate(self.names):
            col = answers.column(name).combine_chunks().cast(pa.string())
            enc = pc.dictionary_encode(col)  # (a few distinct words: no pandas Categorical, ~20x cheaper)
            codes_of, words = self.codes_of[j], self.words[j]
            for word in enc.dictionary.to_pylist():
                if word not in codes_of:
                    codes_of[word] = len(words)
                    words.append(word)
            to_global = np.array([codes_of[w] for w in enc.dictionary.to_pylist()] + [0], np.int32)
            at = pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False)
            self.codes[self.n: need, j] = to_global[at]
        self.n = need

    def take(self, at: np.ndarray) -> pa.Table:
        """The answers of the keys at positions ``at`` (a table of :data:`CLASS_SCHEMA`)."""
        return self.columns(self.codes[: self.n].T, at)

    def columns(self, codes: np.ndarray, rows: np.ndarray) -> pa.Table:
        """The answers of rows of groups (``codes``: per column, each group's answer code; ``rows``:
        each row's group), a table of :data:`CLASS_SCHEMA`."""
        # the words taken by code (~1.6x cheaper than a dictionary array cast to its values' type);
        # a column no group has a value in (cause_ref always, provider often): nulls, nothing taken
        cols = [pa.array(self.words[j], type=f.type).take(pa.array(codes[j].take(rows))) if codes[j].any()
                else pa.nulls(len(rows), f.type) for j, f in enumerate(CLASS_SCHEMA)]
        return pa.Table.from_arrays(cols, schema=CLASS_SCHEMA)


def append_columns(table: pa.Table, values: pa.Table) -> pa.Table:
    """``table`` with ``values``' columns appended (replacing columns of the same names)."""
    if table.num_columns and not set(values.column_names) & set(table.column_names):
        # (a stream batch's: one table made, not one a column with its names listed each time)
        return pa.Table.from_arrays([*table.columns, *values.columns],
                                    schema=pa.schema([*table.schema, *values.schema], metadata=table.schema.metadata))
    for name in values.column_names:
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(values.schema.field(name), values.column(name))
    return table
