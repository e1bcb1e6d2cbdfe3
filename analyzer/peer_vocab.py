"""The peers' vocabulary in the native core: distinct strings and their dense codes.

:class:`NativeVocab` holds the strings in Rust (``analyzer._native.Vocab``, native/src/vocab.rs):
one call per column hashes each row, looks it up, adds it when new and compares it with the
string held, over the Arrow column's own buffers (string, large_string, or dictionary of
either: no copy, no Python object per row, the GIL released). Its codes are those of
:class:`analyzer.peer_agg.HashVocab`, the pure-Python engine's vocabulary (0, 1, 2 ... in
first-seen order, -1 for null: ``tests/test_peer_vocab.py`` compares the two), which it replaces
where the native engine runs (:func:`analyzer.peer_agg.new_vocab`). r17-foldcpu measured
HashVocab's encoding (its native hash, a sorted table's lookups, the strings' comparison and
the joins of its Arrow pieces, each a kernel of its own) at about a quarter of the Exim peers'
fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from . import native

__all__ = ["NativeVocab", "native_vocab"]


def _array(values: Any) -> pa.Array:
    """``values`` as one Arrow array (a column of texts: None/NaN null)."""
    if isinstance(values, pa.ChunkedArray):
        values = native.one_chunk(values)
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True)
    return values


def _texts(arr: pa.Array) -> pa.Array:
    """A string or large_string array of ``arr`` (cast as :class:`HashVocab` casts)."""
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else arr.cast(pa.string())


def _valid(arr: pa.Array) -> tuple[Any, int] | None:
    """The validity bitmap of ``arr`` and its first row's bit, None when no row is null."""
    bits = arr.buffers()[0]
    return (bits, arr.offset) if arr.null_count and bits is not None else None


def _strings(arr: pa.Array) -> tuple[Any, Any, bool, tuple[Any, int] | None]:
    """(offsets sliced to the array, data, wide, validity) of a string or large_string array."""
    off, data = native._string_views_of(arr)
    return off, data, pa.types.is_large_string(arr.type), _valid(arr)


class NativeVocab:
    """:class:`analyzer.peer_agg.HashVocab`'s codes, the strings held and compared in Rust."""

    def __init__(self, vocab: Any) -> None:
        self._v = vocab  # analyzer._native.Vocab

    @property
    def n(self) -> int:
        """Strings held (the next new string's code)."""
        return len(self._v)

    @property
    def nbytes(self) -> int:
        return int(self._v.nbytes)

    def encode(self, values: Any) -> np.ndarray:
        """The code of each string (int64, -1 for null), new strings added in first-seen order."""
        arr = _array(values)
        if not len(arr):
            return np.zeros(0, dtype=np.int64)
        if pa.types.is_dictionary(arr.type):
            idx = arr.indices
            if not pa.types.is_signed_integer(idx.type):
                return self.encode(arr.dictionary_decode())
            width = idx.type.bit_width // 8
            raw = idx.buffers()[1].slice(idx.offset * width, len(idx) * width)
            off, data, wide, dvalid = _strings(_texts(arr.dictionary))
            got = self._v.encode_dict(off, data, wide, dvalid, raw, width, _valid(idx))
        else:
            off, data, wide, valid = _strings(_texts(arr))
            got = self._v.encode(off, data, wide, valid)
        return np.frombuffer(got, dtype=np.int64)

    def take(self, codes: np.ndarray) -> pa.Array:
        """The strings of ``codes`` (none negative) as one Arrow array."""
        raw = np.ascontiguousarray(codes, dtype="<i8")
        off, data, wide = self._v.take(raw)
        kind = pa.large_string() if wide else pa.string()
        return pa.Array.from_buffers(kind, len(raw), [None, pa.py_buffer(off), pa.py_buffer(data)])

    def words(self) -> pa.Array:
        """Every string held, in code order."""
        return self.take(np.arange(self.n, dtype=np.int64))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The strings of ``codes``, as Python objects."""
        return self.take(np.asarray(codes, dtype=np.int64)).to_numpy(zero_copy_only=False) \
            if len(codes) else np.zeros(0, dtype=object)


def native_vocab() -> NativeVocab | None:
    """A new :class:`NativeVocab`, or None where the Python engine runs (or the build has none)."""
    if native.engine() != "native":
        return None
    v = native._built("Vocab")
    return None if v is None else NativeVocab(v)
