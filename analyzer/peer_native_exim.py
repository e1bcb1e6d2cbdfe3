"""eximstats' fold step in the native core: :class:`analyzer.peer_folds.ExFold` with its
per-message state and aggregates in Rust (native/src/peerfold_exim.rs).

:class:`NativeExFold` folds a flush of Exim lines in one native call (the GIL released): the counts
of ``ExFold._count``, each message's first size, arrival and sending host, the sending and
destination hosts, local addresses, transports and relayed pairs, the 'Completed' lines (a
message's state dropped at its end, the flush cut where ``message_ends.end_cuts`` cuts it). The
texts reach Rust as the flush's own Arrow columns; where a column the relayed pairs lower-case
holds non-ASCII text, its values come lower-cased by Python's ``str.lower`` (each distinct value
once). The tables and totals are ``ExFold``'s, made from the native state
(``tests/test_peer_native_exim.py`` holds them equal to the Python fold's, flushes cut anywhere).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .message_ends import QueueCounts
from .peer_folds import _TRANSPORTS, ExFold, _Fold, _lower, _per_value
from .peer_vocab import _strings, _texts
from .totals import col, valid

__all__ = ["NativeExFold", "native_ex_fold"]

#: The columns the native step reads, in its order (native/src/peerfold_exim_py.rs ``add``);
#: the last eight are those it lower-cases (peerfold_exim.rs ``LOW``)
_TEXTS = ("event", "status", "detail", "direction", "reply_text", "client_host", "helo", "client_ip", "sender",
          "relay_host", "relay_ip", "recipient", "orig_recipient", "queue_id")
_LOW = _TEXTS[5:13]
#: The native vocabularies (peerfold_exim.rs ``W_*``) and tables
_W_SOURCES, _W_DEST, _W_LOCAL, _W_FROM, _W_TO = range(5)


class _Table:
    """A native table (sources, destinations, local destinations, transports) as ``KeyAgg.result`` gives it."""

    def __init__(self, key: str, keys: pa.Array, columns: dict[str, np.ndarray]) -> None:
        self.key, self.keys, self.columns = key, keys, columns

    def result(self) -> pd.DataFrame:
        keys = pd.Series(pd.arrays.ArrowExtensionArray(self.keys)) if len(self.keys) else pd.Series([], dtype=object)
        return pd.DataFrame({self.key: keys, **self.columns})


def _words(step: Any, which: int, codes: np.ndarray) -> pa.Array:
    """The strings of ``codes`` in the native step's vocabulary ``which``."""
    off, data, wide = step.words(which, np.ascontiguousarray(codes, dtype=np.int64))
    kind = pa.large_string() if wide else pa.string()
    return pa.Array.from_buffers(kind, len(codes), [None, pa.py_buffer(off), pa.py_buffer(data)])


class _Pairs:
    """The native relayed pairs as ``ExFold.relayed_pairs`` reads its ``KeyAgg`` (it holds the
    native step, not the fold: no reference cycle, the fold's tables freed when it goes)."""

    def __init__(self, step: Any) -> None:
        self.step = step
        self.src, self.to, count, first = (np.frombuffer(b, dtype=np.int64) for b in step.pairs())
        self.vals = {"count": count, "first": first}

    def __len__(self) -> int:
        return len(self.src)

    def values(self, name: str) -> np.ndarray:
        return self.vals[name]

    def codes_of(self, i: int, at: np.ndarray) -> np.ndarray:
        """The sending hosts' (``i`` 0) or recipients' (1) codes of the pairs ``at``."""
        return (self.src if i == 0 else self.to)[at]

    def strings_of(self, i: int, codes: np.ndarray) -> pa.Array:
        return _words(self.step, _W_TO if i else _W_FROM, codes)

    def result(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        at = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        if not len(at):
            empty = pd.Series([], dtype=object)
            return pd.DataFrame({"from": empty, "to": empty, **{k: v[:0] for k, v in self.vals.items()}})
        return pd.DataFrame({"from": pd.Series(pd.arrays.ArrowExtensionArray(_words(self.step, _W_FROM, self.src[at]))),
                             "to": pd.Series(pd.arrays.ArrowExtensionArray(_words(self.step, _W_TO, self.to[at]))),
                             **{k: v[at] for k, v in self.vals.items()}})


class NativeExFold(ExFold):
    """:class:`ExFold` whose :meth:`add` runs in Rust (``analyzer._native.ExFold``)."""

    def __init__(self, step: Any) -> None:
        _Fold.__init__(self)
        self.n = dict.fromkeys(self.COUNTS, 0)
        self.ended = {"delayed": 0, "failed": 0}
        self.step = step
        self._totals: dict[str, int] = {}

    def add(self, ev: Any, f: dict[str, Any] | None = None, sel: np.ndarray | None = None) -> dict[str, Any]:
        """Fold a flush of Exim events (``sel``: its rows folded, None: all; the others are read as
        no line); returns what the rejects read of it (``rejected``: the rows of our rejects,
        :func:`analyzer.peer_ex_rejects.ex_reject_rows`)."""
        assert not self.done, "a fold gives its result once"
        cols = {n: col(ev, n) for n in _TEXTS}
        has = valid(cols["queue_id"])
        if sel is not None:
            sel = np.ascontiguousarray(sel, dtype=bool)
            has &= sel
        # the queue ids hashed by the native step where it reads them (h empty: keyed.key_hash's
        # hash of each row ``has`` marks; no column filtered and copied out for it here)
        h = np.zeros(0, dtype=np.uint64)
        ts = pc.fill_null(pc.cast(col(ev, "ts"), pa.int64()), 0).to_numpy(zero_copy_only=False)
        size = pc.fill_null(col(ev, "size"), 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        texts = [_strings(_texts(cols[n])) for n in _TEXTS]
        rows = (has.view(np.uint8), h, np.ascontiguousarray(size, dtype=np.int64), np.ascontiguousarray(ts, dtype=np.int64))
        picked = None if sel is None else sel.view(np.uint8)
        need, rejected = self.step.add(texts, [None] * len(_LOW), *rows, picked)
        if need:  # columns with non-ASCII text: lower-cased by Python (the native step folded nothing)
            low = [_strings(_texts(_per_value(cols[n], _lower))) if need >> i & 1 else None for i, n in enumerate(_LOW)]
            _, rejected = self.step.add(texts, low, *rows, picked)
        return {"rejected": np.frombuffer(rejected, dtype=np.bool_)}

    def words(self, which: int, codes: np.ndarray) -> pa.Array:
        """The strings of ``codes`` in the native vocabulary ``which``."""
        return _words(self.step, which, codes)

    def _table(self, which: int, key: str, names: tuple[str, ...]) -> _Table:
        codes, vals = self.step.table(which)
        codes = np.frombuffer(codes, dtype=np.int64)
        keys = _TRANSPORTS.take(pa.array(codes)) if which == 3 else self.words(which, codes)
        return _Table(key, keys, {n: np.frombuffer(v, dtype=np.int64) for n, v in zip(names, vals, strict=True)})

    def _finish_more(self) -> None:
        s = self.step
        s.finish()
        counts = s.counts()
        self.n = dict(zip(self.COUNTS, counts, strict=False))
        self._totals = {"delayed": counts[-2], "failed": counts[-1]}
        self.sources = self._table(0, "host", ("messages", "bytes"))  # type: ignore[assignment]
        self.dest = self._table(1, "host", ("messages", "addresses", "bytes"))  # type: ignore[assignment]
        self.local = self._table(2, "recipient", ("messages", "addresses", "bytes"))  # type: ignore[assignment]
        self.transports = self._table(3, "transport", ("messages", "bytes"))  # type: ignore[assignment]
        self.relayed = _Pairs(s)  # type: ignore[assignment]
        self.queued = QueueCounts()
        self.queued.all, self.queued.remote = (np.array(v, dtype=np.int64) for v in s.queue())

    def queue_times(self) -> pd.DataFrame:
        """eximstats' "Time spent on the queue" (every time counted in Rust by the end)."""
        return self.queued.table(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))

    def totals(self) -> dict[str, int]:
        t = self.tables()
        n = self.n
        return {
            "received": n["received"], "received_bytes": n["received_bytes"], "delivered": n["delivered"],
            "delivered_addresses": n["delivered_addresses"],
            "delivered_bytes": int(t["destinations"]["bytes"].sum()),
            **self._totals,
            **{k: n[k] for k in ("errors", "rejects", "temporary_rejects", "remote_reject_mentions")},
        }


def native_ex_fold() -> NativeExFold | None:
    """A new :class:`NativeExFold` where the native engine runs (and the build has it), else None."""
    if native.engine() != "native":
        return None
    step = native._built("ExFold")
    return None if step is None else NativeExFold(step)
