"""A column's strings coded once per distinct value, for the peers' native fold steps.

:class:`Derived` codes a column of texts by a native vocabulary (:class:`analyzer.peer_vocab.NativeVocab`:
codes 0, 1, 2 ... in first-seen order over the day) and keeps, per code, what a function of the
Python specification makes of that string (the pflogsumm forms of a sender, a client, a recipient;
a program's daemon; a reject text's reason): each distinct string goes through the Arrow/Python
function once a day, not once per flush, and each row then takes its values by its code (numpy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .peer_agg import new_vocab
from .peer_vocab import NativeVocab, _strings

__all__ = ["Derived"]


def _encode_rows(vocab: Any, values: pa.Array, rows: np.ndarray) -> np.ndarray:
    """``vocab.encode(values)`` of the ``rows`` only (-1 elsewhere): in Rust where the vocabulary is
    native (only those rows hashed, native/src/peerfold_py.rs), else the other rows made null."""
    fn = getattr(native._module()[0], "encode_rows", None)
    if isinstance(vocab, NativeVocab) and fn is not None and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return np.frombuffer(fn(vocab._v, _strings(values), np.ascontiguousarray(rows, dtype=np.uint8)), dtype=np.int64)
    return vocab.encode(pc.if_else(pa.array(rows), values, pa.scalar(None, values.type)))


#: Per-value tables of a batch of distinct strings: name -> one entry per string
Derive = Callable[[pa.Array], dict[str, Any]]


class Derived:
    """Per distinct string of a column, ``derive``'s values (each a numpy array, one entry per
    string); a null row reads the values of ``null`` (a string, or None: ``derive`` of a null).
    The values are flags or codes of vocabularies held elsewhere, so the strings need not be
    held all day: past :attr:`LIMIT` of them the vocabulary starts afresh (``new``), and a string
    seen again is derived again (the same values)."""

    #: distinct strings held at most (a day's reject texts or senders grow with its lines)
    LIMIT = 1 << 16

    def __init__(self, derive: Derive, null: str | None, new: Callable[[], Any] = new_vocab) -> None:
        self.new, self.derive = new, derive
        self.null = {k: np.asarray(v) for k, v in derive(pa.array([null], pa.string())).items()}
        self._reset()

    def _reset(self) -> None:
        self.vocab = self.new()
        self.tabs = {k: v[:0] for k, v in self.null.items()}  # per code
        self._rows = dict(self.null)  # the tables with the null's entry last (code -1)

    def codes(self, values: Any, rows: np.ndarray | None = None) -> np.ndarray:
        """Each row's code (int64, -1 for null); ``rows``: only those rows' strings are read (the
        others' code is -1). The new strings are derived when :meth:`values` is next asked (codes
        of several batches held and valued at once: each new string derived in one call)."""
        if rows is not None and len(values):
            return _encode_rows(self.vocab, values, rows)
        return self.vocab.encode(values)

    def values(self, codes: np.ndarray) -> dict[str, np.ndarray]:
        """The values of each row's code (a null row's, -1: the null's); the codes are those
        :meth:`codes` gave since the last call (past :attr:`LIMIT` strings the vocabulary starts
        afresh after it)."""
        n = len(self.tabs[next(iter(self.tabs))]) if self.tabs else 0
        if self.vocab.n > n:
            new = self.derive(self.vocab.take(np.arange(n, self.vocab.n, dtype=np.int64)))
            self.tabs = {k: np.concatenate([self.tabs[k], np.asarray(new[k], dtype=self.null[k].dtype)]) for k in self.tabs}
            self._rows = {k: np.concatenate([self.tabs[k], self.null[k]]) for k in self.tabs}
        out = {k: t[codes] for k, t in self._rows.items()}
        if self.vocab.n > self.LIMIT:
            self._reset()
        return out

    def __call__(self, values: Any, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Each row's values (a null row's, or one off ``rows``: the null's)."""
        return self.values(self.codes(values, rows))
