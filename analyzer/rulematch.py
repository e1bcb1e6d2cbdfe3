"""How the knowledge base's rules are matched against the distinct combinations of a
classification call (:func:`match`, for :func:`analyzer.classify.classify`), and how their text
patterns are run over the call's distinct reply texts (:class:`TextRunner`).

:func:`match` walks the rules in order, worked out once per rule list (:func:`_prepared`: their
order by score and each one's conditions, ~0.03 CPU-s a call before), and passes over, without
array work, every rule whose conditions name none of the call's values (most of them).

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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .rule_sets import compile_all, runner_patterns
from .rule_sets import rule_set as _rule_set
from .rules._load import parse_status

__all__ = ["TextRunner", "compile_all", "match", "runner", "runner_patterns"]


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
    return TextRunner(runner_patterns(kb), texts)


def _lut(vocab: list[Any], allowed: frozenset[str] | None) -> np.ndarray:
    """Boolean lookup over codes 0..len(vocab): which values a condition accepts (0 = null)."""
    if allowed is None:
        return np.ones(len(vocab) + 1, dtype=bool)
    return np.array([False] + [v in allowed for v in vocab], dtype=bool)


@dataclass
class _Prepared:
    """A knowledge base's rules as :func:`_match` walks them, worked out once per rule list:
    their order (score, then place) and each one's conditions."""

    rules: list[Any]  # the list it was made from (kept: its id is the cache's key)
    #: (index, conditions on event/status/stage/mta/provider as (key, set), quit (None or the
    #: code it needs), codes (int64 array or None), the codes as a set, enhanced, dsn, text)
    steps: list[tuple[int, tuple[tuple[str, frozenset[str]], ...], int | None, np.ndarray | None,
                      frozenset[int] | None, Any, Any, str | None]]


_PREPARED: dict[int, _Prepared] = {}


def _prepared(kb: Any) -> _Prepared:
    got = _PREPARED.get(id(kb.rules))
    if got is not None and got.rules is kb.rules and len(got.steps) == len(kb.rules):
        return got
    if len(_PREPARED) > 16:
        _PREPARED.clear()
    order = sorted(range(len(kb.rules)), key=lambda i: (-kb.rules[i].score, i))
    steps = []
    for i in order:
        r = kb.rules[i]
        conds = tuple((key, frozenset(values)) for key, values in (
            ("event", r.event), ("status", r.status), ("stage", r.stage), ("mta", r.mta), ("provider", r.provider))
            if values is not None)
        codes = None if r.codes is None else frozenset(int(c) for c in r.codes)
        steps.append((i, conds, None if r.quit is None else (2 if r.quit else 1),
                      None if codes is None else np.fromiter(codes, dtype=np.int64), codes,
                      r.enhanced, r.dsn, r.text))
    got = _PREPARED[id(kb.rules)] = _Prepared(kb.rules, steps)
    return got


def match(kb: Any, u: dict[str, np.ndarray], v: dict[str, list[Any]], texts: pa.Array) -> np.ndarray:
    """Index of the winning rule for each unique combination of :func:`analyzer.classify.classify`
    (``u``: codes per condition, ``v``: their values; -1 where nothing matched).

    The rules are walked in order (:func:`_prepared`); a rule whose conditions name none of the
    call's values (events, statuses ..., codes) is passed over without array work: most are."""
    n = len(u["event"])
    best = np.full(n, -1, dtype=np.int64)
    free = np.ones(n, dtype=bool)  # best < 0
    left = n
    run = runner(kb, texts)  # each rule's pattern over the distinct texts (native core or pyarrow)
    enh_parsed = [parse_status(e) for e in v["enh"]]
    dsn_parsed = [parse_status(e) for e in v["dsn"]]
    present = {key: set(v[key]) for key in ("event", "status", "stage", "mta", "provider")}
    present_codes = set(np.unique(u["code"]).tolist())
    present_quit = set(np.unique(u["quit"]).tolist())
    # a condition's rows, once per call (many rules share their event, status ... sets)
    held: dict[tuple[str, Any], np.ndarray] = {}

    def rows_where(key: str, values: Any) -> np.ndarray:
        got = held.get((key, values))
        if got is None:
            got = held[(key, values)] = _lut(v[key], values)[u[key]]
        return got

    for i, conds, quit, codes, code_set, enhanced, dsn, text in _prepared(kb).steps:
        if not left:
            break
        if (any(values.isdisjoint(present[key]) for key, values in conds)
                or (quit is not None and quit not in present_quit)
                or (code_set is not None and code_set.isdisjoint(present_codes))):
            continue  # nothing of this call can match it
        m = free.copy()
        for key, values in conds:
            m &= rows_where(key, values)
        if quit is not None:
            got = held.get(("quit", quit))
            if got is None:
                got = held[("quit", quit)] = u["quit"] == quit
            m &= got
        if codes is not None:
            got = held.get(("code", code_set))
            if got is None:
                got = held[("code", code_set)] = np.isin(u["code"], codes)
            m &= got
        if enhanced:
            lut = np.array([False] + [any(p.matches(e) for p in enhanced) for e in enh_parsed])
            m &= lut[u["enh"]]
        if dsn:
            lut = np.array([False] + [any(p.matches(e) for p in dsn) for e in dsn_parsed])
            m &= lut[u["dsn"]]
        if text is None:
            k = int(np.count_nonzero(m))
            if k:
                best[m] = i
                free[m] = False
                left -= k
            continue
        rows = np.flatnonzero(m)
        if not len(rows):
            continue
        # the regex runs only on the distinct texts still undecided for this rule
        t = u["text"][rows]
        cand = np.zeros(len(texts) + 1, dtype=bool)
        cand[t] = True
        cand[0] = False
        cand = np.flatnonzero(cand)
        if not len(cand):
            continue
        hits = np.zeros(len(texts) + 1, dtype=bool)
        hits[cand] = run.hits(i, cand)
        rows = rows[hits[t]]
        best[rows] = i
        free[rows] = False
        left -= len(rows)
    return best
