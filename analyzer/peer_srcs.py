"""The relayed pairs' sending hosts of :class:`analyzer.peer_folds.ExFold`, coded only when a pair reads one.

eximstats' "relayed" pairs name each message's sending host and sender (its first remote arrival's).
Coded into the pairs' vocabulary at every remote arrival, the day's every such message stayed
there to the end, though most are never relayed on (the 1M-line Exim day: 91k coded, 22k in a
pair). :class:`HeldSources` holds a message's text by its queue-id hash until the first pair of
the message codes it, or its message ends (:meth:`analyzer.message_ends.ExEnds._end`); a code's
number is no part of the result (the pairs are read as strings, in their first line's order), so
the result is the same. The native step does the same (native/src/peerfold_exim.rs, ``src_text``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["HeldSources"]


class HeldSources:
    """Texts held per queue-id hash, coded into ``vocab`` on first use."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self._text: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._text)

    def hold(self, h: np.ndarray, text: pa.Array) -> None:
        """Hold ``text`` (an Arrow string array) of each queue-id hash ``h`` (distinct)."""
        self._text.update(zip(h.tolist(), text.to_pylist(), strict=True))

    def code(self, h: np.ndarray) -> np.ndarray:
        """The codes in ``vocab`` of the texts held for ``h`` (each given once held; a hash may
        repeat), coded now and let go of."""
        uniq, inv = np.unique(h, return_inverse=True)
        got = self.vocab.encode(pa.array([self._text.pop(k) for k in uniq.tolist()], pa.string()))
        return np.asarray(got, dtype=np.int64)[inv.reshape(-1)]

    def drop(self, h: np.ndarray) -> None:
        """Let go of the texts of ``h`` (their messages ended), those held."""
        for k in h.tolist():
            self._text.pop(k, None)
