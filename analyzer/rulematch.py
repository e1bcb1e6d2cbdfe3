"""How the knowledge base's text patterns are run over the distinct reply texts of a
classification call (:func:`analyzer.classify._match`).

With the native engine the patterns run in the Rust core (``analyzer._native.RuleSet``,
native/src/rulematch.rs): each compiled once per process, when first used, instead of once per
rule and call as pyarrow's ``match_substring_regex`` compiles them, and the texts handed over
once per call. The patterns stay the knowledge base's (the Python tables are the specification;
the core holds none); they are rewritten from RE2 to the Rust dialect by the same translation
as the parser's tables (native/src/translate.rs). A pattern the core cannot take, and every
pattern when the Python engine runs (``MAILLENS_ENGINE=python``), runs with pyarrow (RE2) as
before. Both answer alike: tests/test_native_rulematch.py compares them over the rules and
replies of the project.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import native

__all__ = ["TextRunner", "runner"]


@lru_cache(maxsize=8)
def _rule_set(patterns: tuple[str | None, ...]) -> Any:
    return native._module()[0].RuleSet(["" if p is None else p for p in patterns], True)


class TextRunner:
    """The text patterns of some rules over the texts of one call."""

    def __init__(self, patterns: tuple[str | None, ...], texts: pa.Array) -> None:
        self.patterns = patterns
        self.texts = texts
        self._set = None
        self._native_texts = None
        self._valid: np.ndarray | None = None  # where texts has nulls: which are not null
        if len(texts) and native.engine() == "native" and hasattr(native._module()[0], "RuleSet"):
            self._set = _rule_set(patterns)
            self._native_texts = native._module()[0].Texts(*native.string_buffers(texts))
            if texts.null_count:
                self._valid = pc.is_valid(texts).to_numpy(zero_copy_only=False)

    def hits(self, i: int, cand: np.ndarray) -> np.ndarray:
        """Whether pattern ``i`` matches each candidate (text codes, 1-based: text ``c - 1``),
        ignoring case, as ``match_substring_regex(..., ignore_case=True)`` with nulls False."""
        if self._set is not None and self._set.usable(i):
            got = self._set.hits(self._native_texts, i, (cand - 1).astype(np.uint32).tobytes())
            hit = np.frombuffer(got, dtype=np.uint8).astype(bool)
            return hit if self._valid is None else hit & self._valid[cand - 1]
        got = pc.match_substring_regex(self.texts.take(pa.array(cand - 1)), self.patterns[i], ignore_case=True)
        return pc.fill_null(got, False).to_numpy(zero_copy_only=False)


def runner(kb: Any, texts: pa.Array) -> TextRunner:
    """A :class:`TextRunner` for ``kb``'s rules (pattern ``i`` is ``kb.rules[i].text``)."""
    return TextRunner(tuple(r.text for r in kb.rules), texts)
