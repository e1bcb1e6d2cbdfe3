"""A batch's classification answers as a small code per row and column, beside (or before) the
strings.

The classification cache (:mod:`analyzer.class_cache`) holds its answers as codes into a list of
words per column; a batch whose rows came grouped by key gets each row's code by one gather.
:class:`RowCodes` keeps those codes for the batch: the stream's attribution changes them in place
(a few rows a batch: no copy of a string column to change them), the strings per row are made
from them once (:meth:`RowCodes.table`), and the report's masks read them (:meth:`RowCodes.coded`)
instead of dictionary-encoding the strings again. The codes always name the strings the batch's
rows have: the strings are made from them, and whatever changes a string afterwards changes its
code too (:meth:`RowCodes.recode`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .native import string_column
from .schema import CLASS_SCHEMA

__all__ = ["CLASS_NAMES", "DICTIONARY", "RowCodes", "dictionary_array", "pick"]

#: The classification columns, in :data:`analyzer.schema.CLASS_SCHEMA`'s order (a code row each).
CLASS_NAMES = tuple(CLASS_SCHEMA.names)
_INDEX = {name: j for j, name in enumerate(CLASS_NAMES)}
#: The type of a classification column handed over as its codes (:meth:`RowCodes.dictionaries`)
DICTIONARY = pa.dictionary(pa.int32(), pa.string())
#: Dictionaries kept per list of words (:func:`dictionary_array`) up to this many, then dropped
_SHARED = 256


#: :func:`pick` compares the codes with each of up to this many hit codes (else takes)
_COMPARES = 3


def pick(hit: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``hit[codes]`` (a new writable bool array): whether each row's code (``codes``, indices
    into ``hit``, none negative) is one that hits. Where few codes hit (or few miss) the codes
    are compared with them, else taken (numpy's fancy index of a 28k-row batch's codes costs
    ~3x its ``take`` and ~10-25x a comparison: the masks of a batch make dozens of these)."""
    at = np.flatnonzero(hit)
    if len(at) == 0:
        return np.zeros(len(codes), dtype=bool)
    if len(at) == len(hit):
        return np.ones(len(codes), dtype=bool)
    if len(at) <= _COMPARES:
        out = codes == int(at[0])
        for a in at[1:]:
            out |= codes == int(a)
        return out
    miss = np.flatnonzero(~hit)
    if len(miss) <= _COMPARES:
        out = codes != int(miss[0])
        for a in miss[1:]:
            out &= codes != int(a)
        return out
    return np.asarray(hit, dtype=bool).take(codes)


def dictionary_array(codes: np.ndarray, words: list[str | None], shared: dict[tuple, pa.Array] | None = None
                     ) -> pa.DictionaryArray:
    """A column's ``codes`` (a row each: the word ``words[code]``, code 0 null) as a dictionary
    array of the words: the codes' own buffer is the indices (no copy), code 0 a null index, its
    slot in the dictionary (which holds no null) taken by a word no row has. ``shared``: the
    dictionaries made so far, by their words: columns with the same words share one (a Parquet
    row group's chunks then need no unification)."""
    key = tuple(words)
    shared = {} if shared is None else shared
    values = shared.get(key)
    if values is None:
        if len(shared) > _SHARED:
            shared.clear()
        values = shared[key] = pa.array(("", *key[1:]), pa.string())
    n = len(codes)
    rows = np.ascontiguousarray(codes, dtype=np.int32)  # (as it is: the indices, not copied)
    valid = rows.astype(bool)
    nulls = n - int(np.count_nonzero(valid))
    bits = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.DictionaryArray.from_buffers(DICTIONARY, n, [bits, pa.py_buffer(rows)], values, nulls)


def _laid_out(words: pa.Array) -> Any:
    """``codes -> (offsets, data, validity, nulls)`` of the column whose rows are ``words[codes]``,
    laid out by the native core in one pass (Arrow's take of the words: ~10 ns a row, ~0.07
    CPU-s of the 1M report's stream); None where it does not run (the Python engine: the take)."""
    fn = getattr(native._module()[0], "words_by_code", None) if native.engine() == "native" else None
    if fn is None or words.type != pa.string():
        return None
    offsets, data = native.string_buffers(words)
    valid = pc.is_valid(words).to_numpy(zero_copy_only=False).astype(np.uint8).tobytes() if words.null_count else None
    return lambda codes: fn(offsets, data, valid, codes)


#: A list of words' Arrow array and layout (:func:`_words_of`): by the list's id, with the list itself
#: (its id is not reused while it is held) and its length when made (the lists only grow: appended to)
_MADE: dict[int, tuple[list[str | None], int, str, tuple[pa.Array, Any]]] = {}
#: ... up to this many lists, then dropped
_MADE_MOST = 64


def _words_of(words: list[str | None], typ: pa.DataType) -> tuple[pa.Array, Any]:
    """``words`` as an Arrow array of ``typ`` and :func:`_laid_out` of it, made once per list
    and length: a batch's columns share the cache's lists (``words`` of :class:`RowCodes`), which
    only grow (a word appended; a batch that adds one adds it to a copy of its own), so a list of
    the same length holds the same words; the lists of a day's batches are made ~35x each
    otherwise (~0.02 CPU-s of the 1M report's stream)."""
    got, engine = _MADE.get(id(words)), native.engine()  # (the layout is the engine's)
    if got is not None and got[0] is words and got[1] == len(words) and got[2] == engine and got[3][0].type == typ:
        return got[3]
    arr = pa.array(words, type=typ)
    made = arr, _laid_out(arr)
    if len(_MADE) >= _MADE_MOST:
        _MADE.clear()
    _MADE[id(words)] = words, len(words), engine, made
    return made


class RowCodes:
    """``codes`` (int32, one row per column of :data:`CLASS_NAMES`, one column per table row):
    the word of each is ``words[j][code]`` (code 0: null). ``words`` are the cache's lists,
    shared: a word added here (:meth:`put`) goes into a copy of the column's list. ``groups``
    (:class:`analyzer.class_cache.Groups`, optional): the rows' groups by classification key,
    whose rows have equal :data:`analyzer.class_cache.KEY_VERBATIM` columns (:meth:`coded` reads
    those per group)."""

    __slots__ = ("_arrays", "_coded", "_own", "codes", "groups", "words")

    def __init__(self, codes: np.ndarray, words: list[list[str | None]], groups: Any = None) -> None:
        self.codes = np.ascontiguousarray(codes, dtype=np.int32)
        self.words = list(words)
        self.groups = groups
        self._own = [False] * len(self.words)  # a column's list copied (a word added to it)
        self._arrays: dict[int, tuple[pa.Array, Any]] = {}  # a column's words as Arrow strings (and laid out), once
        self._coded: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def __len__(self) -> int:
        return self.codes.shape[1]

    def codes_of(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Column ``name``'s codes of ``rows``."""
        return self.codes[_INDEX[name]].take(rows)

    def shares(self, other: RowCodes, name: str) -> bool:
        """Whether column ``name``'s codes name the same words here as in ``other``."""
        j = _INDEX[name]
        return self.words[j] is other.words[j]

    def column(self, name: str, rows: np.ndarray | None = None, codes: np.ndarray | None = None) -> pa.Array:
        """Column ``name``'s strings (of ``rows``, or all), as :meth:`table` has them; ``codes``:
        the strings of these codes of the column instead (:meth:`codes_of`, of rows that
        :meth:`shares` its words)."""
        j = _INDEX[name]
        typ = CLASS_SCHEMA.field(j).type
        if codes is None:
            codes = self.codes[j] if rows is None else self.codes[j].take(rows)
        if not codes.any():  # (no row has a value: no dictionary taken)
            return pa.nulls(len(codes), typ)
        got = self._arrays.get(j)
        if got is None:
            got = self._arrays[j] = _words_of(self.words[j], typ)
        words, lay = got
        if lay is not None:  # laid out by the native core (native/src/pclass_words.rs)
            return string_column(len(codes), lay(np.ascontiguousarray(codes, np.int32)))
        # the words taken by code (~1.6x cheaper than a dictionary array cast to its values' type)
        return words.take(pa.array(codes))

    def table(self) -> pa.Table:
        """The classification columns' strings per row (a table of :data:`analyzer.schema.CLASS_SCHEMA`)."""
        return pa.Table.from_arrays([self.column(name) for name in CLASS_NAMES], schema=CLASS_SCHEMA)

    def dictionaries(self, shared: dict[tuple, pa.Array] | None = None) -> pa.Table:
        """The classification columns as dictionaries of their words (:func:`dictionary_array`,
        type :data:`DICTIONARY`): the strings :meth:`table` has, without making them."""
        return pa.Table.from_arrays([dictionary_array(self.codes[j], self.words[j], shared)
                                     for j in range(len(CLASS_NAMES))], names=list(CLASS_NAMES))

    def _own_words(self, j: int) -> list[str | None]:
        """Column ``j``'s own list of words (copied once, when a word is first added to it: a list
        still shared keeps its Arrow array made once, :func:`_words_of`)."""
        if not self._own[j]:
            self.words[j] = list(self.words[j])
            self._own[j] = True
        return self.words[j]

    def _encode(self, j: int, values: list[str | None]) -> np.ndarray:
        words = self.words[j]
        index = {w: i for i, w in reversed(list(enumerate(words)))}
        out = np.empty(len(values), np.int32)
        for i, v in enumerate(values):
            code = 0 if v is None else index.get(v)
            if code is None:
                words = self._own_words(j)
                code = index[v] = len(words)
                words.append(v)
                self._arrays.pop(j, None)
            out[i] = code
        return out

    def put(self, name: str, at: np.ndarray, values: pa.Array | pa.ChunkedArray) -> None:
        """Rows ``at`` of column ``name`` take ``values`` (strings or nulls, one per row)."""
        if len(at):
            self.codes[_INDEX[name]][np.asarray(at)] = self._encode(_INDEX[name], values.to_pylist())
            self._coded.pop(name, None)

    def recode(self, name: str, column: pa.Array | pa.ChunkedArray) -> None:
        """Column ``name`` takes the strings of ``column`` (one per row): after something changed
        the batch's strings (the bare rejects' attribution), its codes follow."""
        j = _INDEX[name]
        data = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        enc = pc.dictionary_encode(data)
        local = np.append(self._encode(j, enc.dictionary.to_pylist()), np.int32(0))  # (null: code 0)
        self.codes[j] = local[pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False)]
        self._coded.pop(name, None)

    def coded(self, name: str, table: pa.Table | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(distinct values as objects, None the null's; each row's index into them) of column
        ``name``: a classification column's from its codes; a string column the classification
        key holds as it is (:data:`analyzer.class_cache.KEY_VERBATIM`) of ``table`` (the batch,
        its rows in this order) from one row per group; else None."""
        if name in self._coded:
            return self._coded[name]
        got = None
        j = _INDEX.get(name)
        if j is not None:
            got = np.asarray(self.words[j], dtype=object), self.codes[j]
        elif self.groups is not None and table is not None and name in table.column_names:
            from .class_cache import KEY_VERBATIM

            col = table.column(name)
            if name in KEY_VERBATIM and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                # equal within a group (the key hashes it): its value at one row of each group
                reps = col.take(pa.array(self.groups.reps))
                reps = reps.combine_chunks() if isinstance(reps, pa.ChunkedArray) else reps
                enc = pc.dictionary_encode(reps, null_encoding="encode")
                distinct = np.asarray(enc.dictionary.to_pylist(), dtype=object)
                got = distinct, enc.indices.to_numpy(zero_copy_only=False).take(self.groups.codes)
        self._coded[name] = got
        return got
