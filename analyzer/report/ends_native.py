"""The report's abnormal session ends folded in the native core (#12): :class:`NativeEndsFold`
gives what :class:`.ends_fold.EndsFold` (the specification, which ``MAILLENS_ENGINE=python``
runs) gives, its state held in Rust (``analyzer._native.EndsFold``, native/src/endsfold.rs).

Each batch is two calls. The first hands the batch's whole string columns (Arrow buffers, no
take nor copy) with the rows folded and the numbers worked out here as the Python fold works
them out (side of the window, step, time, input order, line number, client hash); the fold codes
the strings at those rows (each column's codes in the order first folded, as the Python fold's)
and counts what it can, GIL released. It answers with the failed lines, whose reply texts are
masked here (each distinct text once: :func:`analyzer.anomalies.delivery._masked_text`, the
masks of the texts seen lately kept), and the lines that became example candidates, whose texts
are looked at here (:func:`.ends_fold._meaningful_text`): a few hundred a day, not the first 200
of each entry in every batch. The second call hands those texts over.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..anomalies.aggregates import _order_base
from ..anomalies.arrow_columns import _decoded, _one_array, as_arrow, as_string
from ..anomalies.context import FAILURES
from ..peer_vocab import _strings, _texts, _valid
from .ends_fold import ABNORMAL, CANDIDATES, DETECTED, EXAMPLES, _column_at, _meaningful_text
from .sent_fold import SENT_STEP, _named

__all__ = ["NativeEndsFold"]

#: The columns coded in Rust, in the native fold's order (its vocabularies' numbers but severity's).
_COLUMNS = ("event", "smtp_stage", "cause", "fix_id", "outcome", "provider", "source", "host", "severity", "client_ip")
_NAMES = ("event", "smtp_stage", "cause", "fix_id", "outcome", "provider", "source", "host", "text")
#: The detector tables' key columns after side and step (ends, failures).
_KEYS = (("event", "smtp_stage", "cause"), ("cause", "provider", "text", "spike"))


def _column(batch: pd.DataFrame, name: str) -> pa.Array:
    """The whole column ``name`` in Arrow: a stream batch's own (a dictionary kept encoded)."""
    table = batch.__dict__.get("arrow")
    return _one_array(table.column(name)) if table is not None else as_arrow(batch[name])


def _col_args(arr: pa.Array) -> tuple[Any, ...]:
    """A string column's buffers as ``analyzer._native.EndsFold`` takes them (a dictionary's
    strings and signed indices, or the decoded strings)."""
    if pa.types.is_dictionary(arr.type):
        idx = arr.indices
        if pa.types.is_signed_integer(idx.type) and idx.buffers()[1] is not None:
            width = idx.type.bit_width // 8
            raw = idx.buffers()[1].slice(idx.offset * width, len(idx) * width)
            off, data, wide, dvalid = _strings(_texts(arr.dictionary))
            return off, data, wide, dvalid, raw, width, _valid(idx)
        arr = _decoded(arr)
    off, data, wide, valid = _strings(as_string(arr))
    return off, data, wide, valid, None, 0, None


def _times(arr: pa.Array) -> tuple[Any, Any, int]:
    """A time column as the native fold reads it: (int64 values, validity, nanoseconds a unit);
    other than a timestamp with a zone cast as :func:`seconds_ns_arrow` casts it."""
    t = arr.type
    if not (pa.types.is_timestamp(t) and t.tz is not None):
        arr, t = pc.cast(arr, pa.timestamp("ns", "UTC")), pa.timestamp("ns", "UTC")
    unit = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1000, "ns": 1}[t.unit]
    return _values(arr, 8), _valid(arr), unit


def _numbers(arr: pa.Array) -> tuple[Any, Any, bool]:
    """A number column as the native fold reads it: (int64 or float64 values, validity, float);
    other than those cast to float64."""
    if not (pa.types.is_int64(arr.type) or pa.types.is_float64(arr.type)):
        arr = pc.cast(arr, pa.float64())
    return _values(arr, 8), _valid(arr), pa.types.is_float64(arr.type)


def _values(arr: pa.Array, width: int) -> Any:
    """The values buffer of a fixed-width array, sliced to it (empty where it has none)."""
    data = arr.buffers()[1]
    return b"" if data is None else data.slice(arr.offset * width, len(arr) * width)


class _Masks:
    """Masked failure texts (:func:`analyzer.anomalies.delivery._masked_text`), those of the last
    :data:`SIZE` distinct texts kept (a day's failures repeat their texts batch after batch)."""

    SIZE = 1 << 15

    def __init__(self) -> None:
        self.held: dict[str, str] = {}

    def __call__(self, texts: pa.Array) -> pa.Array:
        """The masked texts of ``texts`` (null: null), as a dictionary array."""
        from ..anomalies.delivery import _masked_text

        enc = pc.dictionary_encode(as_string(texts))
        distinct = enc.dictionary.to_pylist()
        new = [t for t in dict.fromkeys(distinct) if t not in self.held]
        if new:
            if len(self.held) + len(new) > self.SIZE:
                self.held = {}
            masked = _masked_text(pd.Series(new, dtype="string[pyarrow]")).tolist()
            self.held.update(zip(new, masked, strict=True))
        return pa.DictionaryArray.from_arrays(enc.indices, pa.array([self.held[t] for t in distinct], pa.string()))


class NativeEndsFold:
    """:class:`.ends_fold.EndsFold`'s fold in the native core: the same ``add(batch, mask)`` and
    ``result()``."""

    def __init__(self, window: Any, fold: Any) -> None:
        self._window, self._f = window, fold
        self._masks = _Masks()

    @staticmethod
    def new_native(window: Any) -> Any:
        """``analyzer._native.EndsFold`` for ``window`` (None where the build has none)."""
        from .. import native

        limits = (None if t is None else pd.Timestamp(t).value for t in (window.since, window.until))
        return native._built("EndsFold", (list(FAILURES), list(DETECTED), list(ABNORMAL), ["ok", "info"]),
                             (EXAMPLES, CANDIDATES), (*limits, SENT_STEP))

    def add(self, batch: pd.DataFrame, mask: np.ndarray) -> None:
        if not mask.any():
            return
        at = np.flatnonzero(mask).astype(np.int64)
        cols = [_col_args(_column(batch, c)) for c in _COLUMNS]
        failed, need = self._f.add(cols, at, at + _order_base(batch),  # (row_order of the rows folded)
                                   _times(_column(batch, "ts")), _numbers(_column(batch, "line_no")))
        failed, need = np.frombuffer(failed, dtype=np.int64), np.frombuffer(need, dtype=np.int64)
        texts = pa.array([], pa.string())
        if len(failed):
            texts = self._masks(_column_at(batch, "reply_text", pa.array(at[failed], type=pa.int64())))
        said: list[Any] = []
        if len(need):
            pos = pa.array(at[need], type=pa.int64())
            said = _meaningful_text(_column_at(batch, "reply_text", pos).to_pylist(),
                                    _column_at(batch, "detail", pos).to_pylist()).tolist()
        self._f.finish(_col_args(texts), said)

    def _names(self) -> dict[str, pa.Array]:
        """Each vocabulary's strings by code (Arrow large strings, pandas' ``str`` storage)."""
        return {k: pa.array(self._f.words(i), pa.large_string()) for i, k in enumerate(_NAMES)}

    def _table(self, k: int, words: dict[str, pa.Array]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        (keys, n, lo, hi), (ekeys, ex, line, _) = self._f.steps(k)
        if not len(n):
            return None, None
        keys, ekeys = np.frombuffer(keys, np.int64).reshape(-1, 6), np.frombuffer(ekeys, np.int64).reshape(-1, 6)
        ex = np.frombuffer(ex, np.int64).reshape(-1, 4)

        def named(kk: np.ndarray) -> dict[str, Any]:
            # the strings taken in Arrow as pandas' str columns (not an object array per column,
            # then converted by pandas: measured +37 MiB RSS at 10M Postfix lines, the peak of the
            # stream's results)
            cols: dict[str, Any] = {"sec": kk[:, 1].copy()}
            for j, c in enumerate(_KEYS[k]):
                cols[c] = kk[:, 2 + j].astype(bool) if c == "spike" else _named(words[c], kk[:, 2 + j])
            return cols

        counts = pd.DataFrame({**named(keys), "n": np.frombuffer(n, np.int64).copy(),
                               "ts_min": np.frombuffer(lo, np.int64).copy(), "ts_max": np.frombuffer(hi, np.int64).copy()})
        examples = pd.DataFrame({**named(ekeys), "ts": ex[:, 0].copy(), "order": ex[:, 1].copy(),
                                 "source": _named(words["source"], ex[:, 2]),
                                 "line_no": np.frombuffer(line, np.float64).copy(),
                                 "host": _named(words["host"], ex[:, 3])})
        return counts, examples

    def result(self) -> tuple[tuple[pd.DataFrame | None, ...], dict[str, Any]]:
        """As :meth:`.ends_fold.EndsFold.result`."""
        words = self._names()
        tables = (*self._table(0, words), *self._table(1, words))
        names = {k: np.append(np.array(w.to_pylist(), dtype=object), None) for k, w in words.items()}
        part: dict[str, Any] = {"stages": {(s, e): n for s, e, n in self._f.stages()}}
        keys = self._f.keys()
        for li, name in enumerate(("states", "failed")):
            entries = {}
            for kid, n, outcomes, events, clients, (cand, line, _, _), texts in self._f.entries(li):
                st: dict[str, Any] = {"n": int(n), "outcomes": {str(names["outcome"][j]): int(m) for j, m in outcomes},
                                      "events": {str(names["event"][j]) for j in events},
                                      "clients": np.frombuffer(clients, np.uint64).copy()}
                if texts:
                    c = np.frombuffer(cand, np.int64).reshape(-1, 3)
                    st["candidates"] = (c[:, 0].copy(), c[:, 1].copy(), names["source"][c[:, 2]],
                                        np.frombuffer(line, np.float64).copy(), np.array([*texts, None], dtype=object)[:-1])
                entries[keys[kid]] = st
            part[name] = entries
        self._f = self.new_native(self._window)
        return tables, part
