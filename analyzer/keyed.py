"""State that folds grow batch by batch, compact and keyed by entity (queue id, sender, domain …).

The peers' totals and sections (:mod:`analyzer.totals`, :mod:`analyzer.report.peers`) fold a
day's events batch by batch; what they keep between batches is bounded by the distinct
entities, never by the lines:

* :class:`QidTable`: per queue id (a 64-bit hash of it, :func:`key_hash`), a few int64 (or
  narrower) fields, the keys in a native map to dense slots (native/src/keymap.rs), or in sorted
  runs merged while they grow where the Python engine runs (binary-search lookups).

(Sums, maxima and minima per key: :class:`analyzer.peer_agg.KeyAgg`.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["QidTable", "key_hash", "key_map"]


def key_hash(values: pa.Array) -> np.ndarray:
    """A stable 64-bit hash per string; callers drop nulls first. The native core hashes every
    value in one call (measured: a third of the cost of hashing the distinct values through
    pandas, the peers' fold's largest step); without it (or with nulls), each distinct value is
    hashed once through pandas."""
    from . import native

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    hash_strings = native.hash_strings()
    if hash_strings is None or arr.null_count or not len(arr):
        return _pandas_hash(arr)
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    _, off, data = arr.buffers()
    offsets = off.to_pybytes()[arr.offset * 4:(arr.offset + len(arr) + 1) * 4]
    return np.frombuffer(hash_strings(offsets, b"" if data is None else data.to_pybytes()), dtype=np.uint64)


def _pandas_hash(arr: pa.Array) -> np.ndarray:
    """:func:`key_hash` through pandas: each distinct value hashed once."""
    if not len(arr):
        return np.zeros(0, dtype=np.uint64)
    enc = pc.dictionary_encode(arr.cast(pa.string()))
    words = pd.util.hash_array(enc.dictionary.to_numpy(zero_copy_only=False).astype(object))
    return words[pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False)]


def key_map() -> Any:
    """A new native map of 64-bit keys to dense slots (``analyzer._native.KeyMap``,
    native/src/keymap.rs), or None where the Python engine runs (or the build has none)."""
    from . import native

    return native._built("KeyMap") if native.engine() == "native" else None


def _slots(got: Any) -> np.ndarray:
    """A native call's little-endian int64 bytes as a numpy array (no copy)."""
    return np.frombuffer(got, dtype=np.int64)


class QidTable:
    """``fields`` (int64, or narrower ``dtypes``) per 64-bit key; keys are added once (:meth:`ensure`)
    and found with :meth:`locate` as (run, position) pairs that :meth:`get` and :meth:`put` read and
    write.

    Where the native engine runs, the keys are held in a native map (:func:`key_map`: one call
    looks a column of keys up, or adds the new ones, each key given a dense slot in first-seen
    order) and each field is one numpy array indexed by slot: ``run`` is 0, or -1 for a key not
    held, and ``position`` the slot (r17-foldcpu/r18-peers measured the runs' binary searches
    and merges at about a fifth of the Exim peers' fold). Without it, the keys are held in sorted
    runs, merged while they grow (binary-search lookups, one run after the other)."""

    def __init__(self, fields: dict[str, int], dtypes: dict[str, Any] | None = None) -> None:
        self.defaults = fields  # field -> value of a new key
        # field -> its numpy dtype where narrower than int64 (flags, codes, sizes: a few bytes a
        # key fewer, and the keys are a day's messages); get() gives int64 whatever the field's
        # dtype, and put() widens a field to int64 when a value does not fit (_widen)
        self.dtypes = {f: np.dtype((dtypes or {}).get(f, np.int64)) for f in fields}
        self.keys: list[np.ndarray] = []
        self.cols: list[dict[str, np.ndarray]] = []
        self._map = key_map()
        self._n = 0  # keys in the map; its fields' arrays hold room for more (an eighth spare at most)
        self._fields = {f: np.zeros(0, dtype=self.dtypes[f]) for f in fields}

    def __len__(self) -> int:
        return self._n if self._map is not None else sum(len(k) for k in self.keys)

    def locate(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(run, position) of each key; run -1 for a key not held."""
        if self._map is not None:
            slot = _slots(self._map.locate(np.ascontiguousarray(h, dtype="<u8")))
            return np.minimum(slot, 0), np.maximum(slot, 0)
        run = np.full(len(h), -1, dtype=np.int64)
        pos = np.zeros(len(h), dtype=np.int64)
        for i, k in enumerate(self.keys):
            at = np.minimum(np.searchsorted(k, h), len(k) - 1)
            hit = (run < 0) & (k[at] == h)
            run[hit], pos[hit] = i, at[hit]
        return run, pos

    def ensure(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`locate`, after adding the keys not held yet (with the default field values)."""
        if self._map is not None:
            slot = _slots(self._map.ensure(np.ascontiguousarray(h, dtype="<u8")))
            self._grow(len(self._map))
            return np.zeros(len(slot), dtype=np.int64), slot
        run, _ = self.locate(h)
        new = np.unique(h[run < 0])
        if len(new):
            self.keys.append(new)
            self.cols.append({f: np.full(len(new), v, dtype=self.dtypes[f]) for f, v in self.defaults.items()})
            while len(self.keys) > 1 and len(self.keys[-2]) <= 2 * len(self.keys[-1]):
                k2, c2 = self.keys.pop(), self.cols.pop()
                k1, c1 = self.keys.pop(), self.cols.pop()
                keys = np.concatenate([k1, k2])
                order = np.argsort(keys, kind="stable")
                self.keys.append(keys[order])
                self.cols.append({f: np.concatenate([c1[f], c2[f]])[order] for f in self.defaults})
        return self.locate(h)

    def remove(self, h: np.ndarray) -> None:
        """Forget the keys ``h`` (a message whose last line was read): a key added again later
        starts from the default field values, as a new one. In a native map its slot is freed and
        given to a later new key (the fields' arrays hold the keys held at once, not every key
        ever added); the slots freed get their defaults back now, so :meth:`column` reads a free
        slot as a key given nothing. In sorted runs the key stays, its fields set to the defaults
        (the same values read; :meth:`locate` still finds it there and not in a native map, so a
        caller reads a removed key's fields, never whether it is held)."""
        if not len(h):
            return
        if self._map is not None:
            slot = _slots(self._map.remove(np.ascontiguousarray(h, dtype="<u8")))
            slot = slot[slot >= 0]
            for f, v in self.defaults.items():
                self._fields[f][slot] = v
            return
        run, pos = self.locate(h)
        for f, v in self.defaults.items():
            self.put(f, run, pos, v, run >= 0)

    def _grow(self, n: int) -> None:
        """The fields' arrays made room for ``n`` keys, the new ones given their defaults."""
        if n <= self._n:
            return
        for f, v in self.defaults.items():
            arr = self._fields[f]
            if len(arr) < n:
                grown = np.empty(max(n, len(arr) + len(arr) // 8, 1024), dtype=arr.dtype)
                grown[:self._n] = arr[:self._n]
                arr = self._fields[f] = grown
            arr[self._n:n] = v
        self._n = n

    def get(self, field: str, run: np.ndarray, pos: np.ndarray, default: int = 0) -> np.ndarray:
        if self._map is not None:
            held = self._fields[field]
            hit = run >= 0
            if hit.all():
                return held[pos].astype(np.int64)
            out = np.full(len(run), default, dtype=np.int64)
            out[hit] = held[pos[hit]]
            return out
        out = np.full(len(run), default, dtype=np.int64)
        for i, cols in enumerate(self.cols):
            sel = run == i
            if sel.any():
                out[sel] = cols[field][pos[sel]]
        return out

    def put(self, field: str, run: np.ndarray, pos: np.ndarray, values: np.ndarray | int,
            where: np.ndarray | None = None) -> None:
        vals = np.broadcast_to(np.asarray(values, dtype=np.int64), run.shape)
        self._widen(field, vals if where is None else vals[where])
        if self._map is not None:
            sel = run >= 0 if where is None else (run >= 0) & where
            self._fields[field][pos[sel]] = vals[sel]
            return
        for i, cols in enumerate(self.cols):
            sel = run == i if where is None else (run == i) & where
            if sel.any():
                cols[field][pos[sel]] = vals[sel]

    def _widen(self, field: str, vals: np.ndarray) -> None:
        """``field`` made int64 where ``vals`` do not fit its narrower dtype (a size or a time of
        int32 beyond 2^31: held as given, never wrapped)."""
        kind = self.dtypes[field]
        if kind == np.int64 or not len(vals):
            return
        info = np.iinfo(kind)
        if info.min <= vals.min() and vals.max() <= info.max:
            return
        self.dtypes[field] = np.dtype(np.int64)
        self._fields[field] = self._fields[field].astype(np.int64)
        for cols in self.cols:
            cols[field] = cols[field].astype(np.int64)

    def flag(self, bit: int, run: np.ndarray, pos: np.ndarray, where: np.ndarray | None = None) -> None:
        """Set ``bit`` of the ``flags`` field."""
        if self._map is not None:
            sel = run >= 0 if where is None else (run >= 0) & where
            at = pos[sel]
            held = self._fields["flags"]
            held[at] = held[at] | bit  # (a key given twice: both write the same value)
            return
        for i, cols in enumerate(self.cols):
            sel = run == i if where is None else (run == i) & where
            if sel.any():
                np.bitwise_or.at(cols["flags"], pos[sel], bit)

    def column(self, field: str) -> np.ndarray:
        """One field of every key held (in no particular order, the same for every field)."""
        if self._map is not None:
            return self._fields[field][:self._n]
        return np.concatenate([c[field] for c in self.cols]) if self.cols else np.zeros(0, dtype=self.dtypes[field])
