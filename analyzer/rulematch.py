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

With the native engine the whole walk is one call into the core (``analyzer._native.RuleWalk``,
native/src/rulewalk.rs; a walk in Python cost ~500 numpy passes and native pattern calls, ~0.013
CPU-s a call): the rules' steps handed over once per rule list (:func:`_walk_of`), each call's
columns as buffers, the enhanced and DSN code patterns answered here per distinct value
(:func:`_status_table`). There a screen (native/src/rulematch_screen.rs: the patterns' literal
prefixes, case folded, in one Aho-Corasick automaton) tells from one scan of each text which
patterns may match it, and a pattern's automaton runs only on those: the 1M Postfix parse's
calls ran ~700k (pattern, text) pairs for ~1,000 matches. :func:`walk` stays the specification,
and what runs with the Python engine or where a pattern cannot run in the core;
tests/test_native_rulewalk.py compares the two (and the screen with RE2's matches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .rule_sets import compile_all, compile_screened, runner_patterns
from .rule_sets import rule_set as _rule_set
from .rule_sets import usable as _rule_sets_usable
from .rules._load import parse_status

__all__ = ["TextRunner", "compile_all", "match", "prepare", "runner", "runner_patterns", "walk"]


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

    def hits_every(self) -> np.ndarray:
        """:meth:`hits` of every pattern over every text: (patterns, texts) booleans, in one call
        into the native core where it runs them all (the GIL let go of once, not once a pattern)."""
        n = len(self.texts)
        every = np.arange(1, n + 1)
        if not self.patterns or not n:
            return np.zeros((len(self.patterns), n), dtype=bool)
        got = None  # (None from the core too where a pattern does not run there: each then as hits runs it)
        if self._set is not None and hasattr(self._set, "hits_every"):
            got = self._set.hits_every(self._native_texts, np.arange(len(self.patterns), dtype="<u4").tobytes())
        if got is None:
            return np.stack([self.hits(i, every) for i in range(len(self.patterns))])
        hit = np.frombuffer(got, dtype=np.uint8).astype(bool).reshape(len(self.patterns), n)
        return hit if self._valid is None else hit & self._valid


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
    #: the native walk of the steps (:func:`_walk_of`): the core's RuleWalk, the ids of the values
    #: its condition sets name per key, its enhanced and DSN pattern groups; None until first used
    native: tuple[Any, dict[str, dict[Any, int]], list[Any], list[Any]] | None = None
    #: False once a pattern could not run in the core (this rule list is walked in Python)
    native_ok: bool = True
    #: per enhanced / DSN value: which pattern groups accept it (:func:`_status_table`)
    status_rows: dict[tuple[str, Any], np.ndarray] = field(default_factory=dict)


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


def prepare(kb: Any) -> None:
    """Work out now what :func:`match` works out once per rule list (the classifier's warm-up, on its thread):
    the rules' order and conditions, their native walk, the screen of their patterns and the patterns it cannot
    screen compiled (each is compiled by the first call that reaches its rule with any text: 79 of the 646
    shipped, ~0.025 CPU-s, of which the 1M Postfix day's first call compiles 63, the Exim day's 78;
    native/src/rulematch.rs). The screened ones are compiled when the screen first lets a text through to them."""
    prep = _prepared(kb)
    if not _rule_sets_usable():
        return
    patterns = runner_patterns(kb)
    rules = _rule_set(patterns)
    if hasattr(rules, "compile_unscreened"):
        compile_screened(patterns)  # (the screen from the literals kept for these patterns where it can)
    elif hasattr(rules, "compiled"):  # (an older core: the screen only, or every pattern for it)
        rules.prepare_screen()
    else:
        compile_all(patterns)
    if hasattr(native._module()[0], "RuleWalk"):
        _walk_of(prep)


def match(kb: Any, u: dict[str, np.ndarray], v: dict[str, list[Any]], texts: pa.Array) -> np.ndarray:
    """Index of the winning rule for each unique combination of :func:`analyzer.classify.classify`
    (``u``: codes per condition, ``v``: their values; -1 where nothing matched): :func:`walk`,
    in one call into the native core where it runs."""
    prep = _prepared(kb)
    if prep.native_ok and _rule_sets_usable() and hasattr(native._module()[0], "RuleWalk"):
        got = _native_walk(kb, prep, u, v, texts)
        if got is not None:
            return got
        prep.native_ok = False  # a pattern the core cannot take: walked here from now on
    return walk(kb, u, v, texts)


#: the keys of the condition sets, in the core's order (native/src/rulewalk.rs)
_KEYS = ("event", "status", "stage", "mta", "provider")
#: the columns of a call handed to the core, in its order
_COLUMNS = (*_KEYS, "quit", "code", "enh", "dsn", "text")


def _walk_of(prep: _Prepared) -> tuple[Any, dict[str, dict[Any, int]], list[Any], list[Any]]:
    """The native walk of a rule list, made once: each step's condition sets (by value id, one
    per distinct set), code set, enhanced and DSN pattern groups (one per distinct tuple)."""
    if prep.native is not None:
        return prep.native
    ids: dict[str, dict[Any, int]] = {key: {} for key in _KEYS}
    sets: dict[tuple[str, frozenset[Any]], int] = {}
    code_sets: dict[frozenset[int], int] = {}
    groups: dict[str, dict[Any, int]] = {"enh": {}, "dsn": {}}
    steps = []
    for i, conds, quit, _, code_set, enhanced, dsn, text in prep.steps:
        held = []
        for key, values in conds:
            if (key, values) not in sets:
                for x in values:
                    ids[key].setdefault(x, len(ids[key]))
                sets[(key, values)] = len(sets)
            held.append(sets[(key, values)])
        code = -1 if code_set is None else code_sets.setdefault(code_set, len(code_sets))
        enh = groups["enh"].setdefault(enhanced, len(groups["enh"])) if enhanced else -1
        dsn_at = groups["dsn"].setdefault(dsn, len(groups["dsn"])) if dsn else -1
        steps.append((i, held, -1 if quit is None else quit, code, enh, dsn_at, text is not None))
    walker = native._module()[0].RuleWalk(
        steps, [(_KEYS.index(key), sorted(ids[key][x] for x in values)) for key, values in sets],
        [sorted(c) for c in code_sets])
    prep.native = (walker, ids, list(groups["enh"]), list(groups["dsn"]))
    return prep.native


def _status_table(prep: _Prepared, kind: str, groups: list[Any], values: list[Any]) -> tuple[bytes, int]:
    """Which of the pattern ``groups`` accepts each of ``values`` (enhanced or DSN codes; code 0
    is the null row), as the core's lookup table: value-major bytes. Each value's row is worked
    out once per rule list (a call has a few dozen, a run a few hundred)."""
    rows = prep.status_rows
    if len(rows) > 10_000:
        rows.clear()
    table = np.zeros((len(values) + 1, len(groups)), dtype=np.uint8)
    for at, e in enumerate(values, 1):
        row = rows.get((kind, e))
        if row is None:
            parsed = parse_status(e)
            row = rows[(kind, e)] = np.array([any(p.matches(parsed) for p in g) for g in groups], dtype=np.uint8)
        table[at] = row
    return table.tobytes(), len(groups)


def _native_walk(kb: Any, prep: _Prepared, u: dict[str, np.ndarray], v: dict[str, list[Any]],
                 texts: pa.Array) -> np.ndarray | None:
    """:func:`walk` in one call into the core (without the GIL); None where a pattern it reached
    cannot run there."""
    walker, ids, enh_groups, dsn_groups = _walk_of(prep)
    n = len(u["event"])
    cols = np.empty((len(_COLUMNS), n), dtype=np.int64)
    for j, key in enumerate(_COLUMNS):
        cols[j] = u[key]
    id_maps = [np.array([-1] + [ids[key].get(x, -1) for x in v[key]], dtype=np.int64) for key in _KEYS]
    offsets, data = native.string_buffers(texts)
    valid = None
    if texts.null_count:
        valid = pc.is_valid(texts).to_numpy(zero_copy_only=False).astype(np.uint8).tobytes()
    got = walker.run(_rule_set(runner_patterns(kb)), n, cols, id_maps,
                     _status_table(prep, "enh", enh_groups, v["enh"]), _status_table(prep, "dsn", dsn_groups, v["dsn"]),
                     offsets, data, valid)
    return None if got is None else np.frombuffer(got, dtype=np.int64).copy()


def walk(kb: Any, u: dict[str, np.ndarray], v: dict[str, list[Any]], texts: pa.Array) -> np.ndarray:
    """:func:`match` walked here (the specification of the native walk): the rules in order
    (:func:`_prepared`), a rule whose conditions name none of the call's values (events,
    statuses ..., codes) passed over without array work (most are)."""
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
