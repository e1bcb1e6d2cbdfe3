"""Per-key sums, maxima and minima of the peers' folds, kept as numpy arrays indexed by a key code.

:class:`KeyAgg` computes a group-by of every row folded so far (keys in first-seen order, null keys
left out), without a pandas DataFrame or group-by per batch, nor a Python object per row or per
distinct key: each key column is coded by a
:class:`HashVocab` (a string's native 64-bit hash found in a :class:`SortedTable`, checked against
the strings kept in Arrow), a pair of columns by the pair of codes, and the values are added with
``numpy.add.at`` (``fmax.at``, ``fmin.at``) into arrays indexed by code. Memory is bounded by the
distinct keys, never by the lines. Measured on the 1M-line days: the peers' group-bys were a sixth
of their fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .keyed import QidTable, key_hash
from .peer_vocab import NativeVocab, native_vocab

__all__ = ["HashVocab", "KeyAgg", "SortedTable", "Vocab", "new_vocab", "texts"]

#: NaN left out of maxima and minima, as pandas' group-by leaves it out
_UFUNC = {"sum": np.add, "max": np.fmax, "min": np.fmin}


def _identity(how: str, dtype: np.dtype) -> Any:
    if how == "sum":
        return 0
    if np.issubdtype(dtype, np.floating):
        return -np.inf if how == "max" else np.inf
    info = np.iinfo(dtype)
    return info.min if how == "max" else info.max


class SortedTable(QidTable):
    """:class:`analyzer.keyed.QidTable` whose lookups search the keys in sorted order: numpy's
    binary search then walks each run once instead of a cache miss per step (measured: 50,000
    lookups in 150,000 keys 22 ms unsorted, 3.5 ms sorted, the sort included)."""

    def locate(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(h) < 64 or self._map is not None:  # (a native map has no runs to search)
            return super().locate(h)
        order = np.argsort(h)
        run_sorted, pos_sorted = super().locate(h[order])
        run, pos = np.empty_like(run_sorted), np.empty_like(pos_sorted)
        run[order], pos[order] = run_sorted, pos_sorted
        return run, pos


def _strings(values: Any) -> pa.Array:
    """A column of texts as one Arrow ``string`` array (null for None/NaN)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values if values.type == pa.string() else values.cast(pa.string())


#: Values from which :meth:`HashVocab.encode` tries coding the distinct ones only.
_DISTINCT_FIRST = 256


class HashVocab:
    """Distinct strings and their codes (0, 1, 2 ... in first-seen order), without a Python string
    per value: a string is found by its 64-bit hash (:func:`analyzer.keyed.key_hash`, native) in a
    :class:`SortedTable`, and every row's string is checked against the one kept under its code
    (Arrow); two strings of one hash (never seen) are told apart by a dict. The strings are held in
    pieces, in code order, each larger than the next (a new piece is joined with those before it
    no larger than it, as a binary counter carries): a string is copied O(log n) times over the
    day, not at every call (the day's distinct senders, hosts or recipients, hundreds of thousands
    at 10M lines). (Joining while the piece before was at most twice the last copied the whole
    vocabulary at nearly every call of a day's batches of like size: r17-foldcpu.)"""

    def __init__(self) -> None:
        self.table = SortedTable({"code": -1}, {"code": np.int32})
        self.n = 0
        self._parts: list[pa.Array] = []
        self._exact: dict[str, int] | None = None  # the strings that collided (_collided)
        self._calls = self._distinct_since = 0  # encode's calls; the last whose values were mostly distinct

    def words(self) -> pa.Array:
        """Every string held, in code order (one array: the pieces joined, once)."""
        if len(self._parts) != 1:
            self._parts = [pa.concat_arrays(self._parts) if self._parts else pa.array([], pa.string())]
        return self._parts[0]

    def _take(self, codes: np.ndarray) -> pa.Array:
        """The strings of ``codes`` (none negative), taken from each piece and put back in order."""
        if len(self._parts) <= 1:
            return self.words().take(pa.array(codes))
        starts = np.cumsum([0, *(len(p) for p in self._parts)])
        part = np.searchsorted(starts, codes, side="right") - 1
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(len(self._parts) + 1))
        grouped = pa.concat_arrays([p.take(pa.array(codes[order[lo:hi]] - start))
                                    for p, start, lo, hi in zip(self._parts, starts[:-1], bounds[:-1], bounds[1:], strict=True)])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return grouped.take(pa.array(back))

    def encode(self, values: Any) -> np.ndarray:
        """The code of each string (-1 for null), new strings added in first-seen order. Where the
        values repeat (a batch's domains, hosts, senders) each distinct one is coded once: Arrow's
        dictionary encoding lists them in first-seen order, so the codes given are the same."""
        arr = _strings(values)
        self._calls += 1
        # a vocabulary whose last values were mostly distinct (a day's sending hosts and senders,
        # one a message) skips the encoding that would not pay, trying it again every 8th call
        if len(arr) >= _DISTINCT_FIRST and (not self._distinct_since or self._calls - self._distinct_since >= 8):
            enc = pc.dictionary_encode(arr)
            if 2 * len(enc.dictionary) <= len(arr):
                self._distinct_since = 0
                codes = np.append(self._encode(enc.dictionary), -1)
                return codes[pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)]
            self._distinct_since = self._calls
        return self._encode(arr)

    def _encode(self, arr: pa.Array) -> np.ndarray:
        ok = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        out = np.full(len(arr), -1, dtype=np.int64)
        vals = arr if ok.all() else arr.filter(pa.array(ok))
        if not len(vals):
            return out
        h = key_hash(vals)
        run, pos = self.table.locate(h)
        codes = self.table.get("code", run, pos, default=-1)
        new = run < 0
        check = np.ones(len(vals), dtype=bool)  # the rows whose string is compared with its code's
        if new.any():
            uniq, first = np.unique(h[new], return_index=True)
            order = np.argsort(first, kind="stable")  # first-seen order
            code = np.empty(len(uniq), dtype=np.int64)
            code[order] = self.n + np.arange(len(uniq))
            r, p = self.table.ensure(uniq)
            self.table.put("code", r, p, code)
            kept = np.flatnonzero(new)[first[order]]  # the rows whose strings are kept: theirs by definition
            self._add(vals.take(pa.array(kept)))
            codes[new] = code[np.searchsorted(uniq, h[new])]
            check[kept] = False
        if check.all():
            same = pc.equal(self._take(codes), vals).to_numpy(zero_copy_only=False)
        else:
            same = np.ones(len(vals), dtype=bool)
            if check.any():
                at = np.flatnonzero(check)
                same[at] = pc.equal(self._take(codes[at]), vals.take(pa.array(at))).to_numpy(zero_copy_only=False)
        if not same.all():
            codes[~same] = self._collided(vals.filter(pa.array(~same)))
        out[ok] = codes
        return out

    def _add(self, words: pa.Array) -> None:
        base = self.n
        self._parts.append(words)
        while len(self._parts) > 1 and len(self._parts[-2]) <= len(self._parts[-1]):
            last = self._parts.pop()
            self._parts[-1] = pa.concat_arrays([self._parts[-1], last])
        self.n = base + len(words)

    def _collided(self, words: pa.Array) -> np.ndarray:
        """The codes of strings whose hash is held under another string: only those strings are
        kept in a dict (every other string owns its hash's entry of the table, so it is found
        there). A dict of every string held was 59 MiB at 10M Exim lines, after one collision among
        the day's ~400,000 sending hosts and senders (of the native hash before stop 31's fix:
        collisions are now chance alone, but a 64-bit hash can still collide)."""
        exact = self._exact = self._exact or {}
        out = []
        for w in words.to_pylist():
            if w not in exact:
                exact[w] = self.n
                self._add(pa.array([w], pa.string()))
            out.append(exact[w])
        return np.array(out, dtype=np.int64)

    def take(self, codes: np.ndarray) -> pa.Array:
        """The strings of ``codes`` (none negative), as an Arrow array."""
        return self._take(np.asarray(codes, dtype=np.int64)) if len(codes) else pa.array([], pa.string())

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The strings of ``codes``, as Python objects."""
        return self._take(np.asarray(codes, dtype=np.int64)).to_numpy(zero_copy_only=False) \
            if len(codes) else np.zeros(0, dtype=object)


#: A vocabulary of either engine: the same codes
Vocab = HashVocab | NativeVocab


def new_vocab() -> Vocab:
    """A new vocabulary: strings held and coded in Rust where the native engine runs
    (:class:`analyzer.peer_vocab.NativeVocab`), else in Arrow (:class:`HashVocab`)."""
    v = native_vocab()
    return v if v is not None else HashVocab()


def texts(vocab: Vocab, codes: np.ndarray) -> pd.Series:
    """The strings of ``codes`` as a pandas column of Arrow strings: no Python string per key (a
    table of a day's recipients or senders is ranked to its top rows, and only the rows shown
    become Python strings; as objects they were ~8 MiB of each 1M-line day's result)."""
    return pd.Series(pd.arrays.ArrowExtensionArray(vocab.take(np.asarray(codes, dtype=np.int64))))


class KeyAgg:
    """Per key (one or two columns), ``sum``/``max``/``min`` of value columns, folded batch by batch.

    Each key column's values are coded by a vocabulary (:func:`new_vocab`: its own, or one given in
    ``vocabs``: that column is then passed as the vocabulary's codes); a key of two columns is the
    pair of codes, found in a :class:`SortedTable` (no Python object per pair): where the native
    engine runs, the pair's slot in its key map is its code (pairs held once, in the map)."""

    def __init__(self, keys: Sequence[str], how: dict[str, str], vocabs: dict[str, Vocab] | None = None) -> None:
        assert 1 <= len(keys) <= 2, "one or two key columns"
        self.keys, self.how = list(keys), how
        vocabs = vocabs or {}
        self.coded = [k in vocabs for k in self.keys]
        self.vocabs = [vocabs[k] if k in vocabs else new_vocab() for k in self.keys]
        self.pairs = SortedTable({"code": -1}, {"code": np.int32}) if len(keys) == 2 or any(self.coded) else None
        self.key_codes: list[list[np.ndarray]] = [[] for _ in self.keys]  # per column, each key's code (int32)
        self.n = 0
        self.vals: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.n

    def _column(self, i: int, values: Any) -> np.ndarray:
        """A key column's codes in its vocabulary (-1 for null)."""
        if self.coded[i]:
            return np.asarray(values, dtype=np.int64)
        return self.vocabs[i].encode(values)

    def encode(self, keys: Sequence[Any]) -> np.ndarray:
        """The code of each row's key (-1 where a key column is null), new keys added in first-seen order."""
        cols = [self._column(i, k) for i, k in enumerate(keys)]
        if self.pairs is None:  # one column, its own vocabulary: a key's code is its value's
            self.n = self.vocabs[0].n
            return cols[0]
        ok = np.logical_and.reduce([c >= 0 for c in cols])
        out = np.full(len(ok), -1, dtype=np.int64)
        if not ok.any():
            return out
        key = cols[0][ok].astype(np.uint64)
        if len(cols) == 2:
            key = (key << np.uint64(32)) | cols[1][ok].astype(np.uint64)
        if self.pairs._map is not None:
            # a native map gives each new pair the next slot, in first-seen order: its code; and
            # it holds the pairs themselves (the key columns' codes, read back in result())
            out[ok] = np.frombuffer(self.pairs._map.ensure(np.ascontiguousarray(key)), dtype=np.int64)
            self.n = len(self.pairs._map)
            return out
        run, pos = self.pairs.locate(key)
        got = self.pairs.get("code", run, pos, default=-1)
        new = run < 0
        if new.any():
            uniq, first = np.unique(key[new], return_index=True)
            order = np.argsort(first, kind="stable")  # first-seen order
            run_new, pos_new = self.pairs.ensure(uniq)
            codes = np.empty(len(uniq), dtype=np.int64)
            codes[order] = self.n + np.arange(len(uniq))
            self.pairs.put("code", run_new, pos_new, codes)
            rows = np.flatnonzero(new)[first[order]]
            for i, c in enumerate(cols):
                self.key_codes[i].append(c[ok][rows].astype(np.int32))  # (a vocabulary's codes fit)
            self.n += len(uniq)
            got[new] = codes[np.searchsorted(uniq, key[new])]  # the new keys' codes, not looked up again
        out[ok] = got
        return out

    def add(self, keys: Sequence[Any], **values: Any) -> None:
        """Fold rows: ``keys`` one array per key column, ``values`` one array (or scalar) per value column."""
        codes = self.encode(keys)
        ok = codes >= 0
        if not ok.all():
            codes = codes[ok]
        n = self.n
        for name, how in self.how.items():
            v = np.asarray(values[name])
            v = np.broadcast_to(v, ok.shape)[ok]  # a scalar, or one value per row
            have = self.vals.get(name)
            if have is None:
                have = np.full(max(n, 16), _identity(how, v.dtype), dtype=v.dtype if v.dtype != bool else np.int64)
            elif len(have) < n:
                grown = np.full(max(n, 2 * len(have)), _identity(how, have.dtype), dtype=have.dtype)
                grown[:len(have)] = have
                have = grown
            self.vals[name] = have
            if len(codes):
                _UFUNC[how].at(have, codes, v.astype(have.dtype, copy=False))

    def values(self, name: str) -> np.ndarray:
        """One value column, one entry per key in first-seen order."""
        have = self.vals.get(name)
        return have[:self.n] if have is not None else np.zeros(self.n, dtype=np.int64)

    def codes_of(self, i: int, at: np.ndarray) -> np.ndarray:
        """Key column ``i``'s codes (in its vocabulary) of the keys ``at``."""
        return at if self.pairs is None else self._key_codes(i, at)

    def strings_of(self, i: int, codes: np.ndarray) -> pa.Array:
        """The strings of key column ``i``'s ``codes``."""
        return self.vocabs[i].take(np.asarray(codes, dtype=np.int64)) if len(codes) else pa.array([], pa.string())

    def _key_codes(self, i: int, at: np.ndarray) -> np.ndarray:
        """Key column ``i``'s codes of the keys ``at``."""
        if self.pairs is not None and self.pairs._map is not None:
            key = np.frombuffer(self.pairs._map.keys(), dtype=np.uint64)[at]
            if len(self.keys) == 1:
                return key.astype(np.int64)
            return (key >> np.uint64(32) if i == 0 else key & np.uint64(0xFFFFFFFF)).astype(np.int64)
        return np.concatenate(self.key_codes[i])[at]

    def result(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The key columns (Arrow strings: :func:`texts`), then the value columns, one row per key
        in first-seen order; ``rows``: only the keys of these codes, in this order."""
        n = self.n
        at = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
        cols: dict[str, Any] = {}
        for i, k in enumerate(self.keys):
            if not len(at):
                cols[k] = pd.Series([], dtype=object)
            else:
                cols[k] = texts(self.vocabs[i], at if self.pairs is None else self._key_codes(i, at))
        for name in self.how:
            cols[name] = self.values(name)[at]
        return pd.DataFrame(cols)


def rank(df: pd.DataFrame, by: list[str], key: str, top: int | None = None) -> pd.DataFrame:
    """Largest first; ties by ``key`` (the peers break ties by name too). With ``top``, only the
    first ``top`` rows, ``attrs["rows_total"]`` saying how many there were: the rows whose first
    measure reaches the ``top``-th largest are sorted, not the whole table (the report shows ten
    rows of tables of every recipient; the same rows in the same order, the sort being stable)."""
    if top is not None and 0 < top < len(df):
        v = df[by[0]].to_numpy()
        kth = np.partition(v, len(v) - top)[len(v) - top]  # the top-th largest
        out = rank(df[v >= kth], by, key).head(top)
        out.attrs["rows_total"] = len(df)
        return out
    return df.sort_values([*by, key], ascending=[False] * len(by) + [True], kind="stable").reset_index(drop=True)
