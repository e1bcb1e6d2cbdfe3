"""Differential tests: the rule walk in one native call (analyzer/rulematch.py's ``match`` with
the core's ``RuleWalk``, native/src/rulewalk.rs) picks the same rule for every combination as
the walk in Python (``rulematch.walk``, the specification), over the project's logs, replies and
rules' examples, and over generated combinations of the values the rules name."""

from __future__ import annotations

import importlib
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings

from analyzer import native, rulematch
from analyzer.classify import classify, default_rules, example_frame
from analyzer.rulematch import runner
from analyzer.rules import load_rules
from analyzer.schema import to_pandas

from .test_native_rulematch import _TRICKY, _frames, _record_texts

pytestmark = pytest.mark.skipif(not native.available() or not hasattr(native._module()[0], "RuleWalk"),
                                reason="the native engine is not built (no cargo at install)")

C = importlib.import_module("analyzer.classify")


def _native(kb, u, v, texts) -> np.ndarray:
    prep = rulematch._prepared(kb)
    got = rulematch._native_walk(kb, prep, u, v, texts)
    assert got is not None  # every pattern of these rules runs in the core
    return got


def _both(kb, u, v, texts) -> np.ndarray:
    want = rulematch.walk(kb, u, v, texts)
    got = _native(kb, u, v, texts)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
    return got


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return _frames(tmp_path_factory.mktemp("rulewalk"))


def test_every_call_of_the_project_logs_and_replies(frames, monkeypatch):
    """Each classification call over the sample logs, the shared corpus, generated days, the dev
    and held-out replies and the rules' examples: the same winning rule per combination."""
    monkeypatch.setenv(native.ENV, "native")
    calls: list[int] = []

    def checked(kb, u, v, texts):
        calls.append(len(u["event"]))
        return _both(kb, u, v, texts)

    monkeypatch.setattr(C, "_match", checked)
    for frame in frames.values():
        classify(to_pandas(frame) if isinstance(frame, pa.Table) else frame)
    assert len(calls) >= len(frames) and sum(calls) > 1000


def _rule_values(kb) -> dict[str, list]:
    """The values the rules name, per condition (and a few no rule names)."""
    out: dict[str, set] = {"event": set(), "status": set(), "stage": set(), "mta": set(), "provider": set()}
    for r in kb.rules:
        for key in out:
            out[key] |= set(getattr(r, key) or ())
    return {key: [*sorted(vals), f"other-{key}"] for key, vals in out.items()}


KB = None


def _kb():
    global KB
    if KB is None:
        KB = default_rules()
    return KB


_STATUS = ["5.1.1", "4.7.0", "5.7.606", "5.7.26", "4.2.2", "2.0.0", "5.0.0", "4.4.1", "5.7.1", "9.9.9", "x.y"]
_TEXTS = ["550 5.1.1 user unknown", "mailbox full", "452 4.2.2 Mailbox FULL, quota exceeded", "Access denied",
          "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "greylisted, try later",
          "5.7.606 Access denied, banned sending IP", "", "relay access denied", "TLS handshake failed",
          "Message rejected as spam", "Recipient address rejected: User unknown in local recipient table"]


@st.composite
def _calls(draw):
    kb = _kb()
    vals = _rule_values(kb)
    v = {key: draw(st.lists(st.sampled_from(vals[key]), min_size=1, max_size=6, unique=True)) for key in vals}
    v["enh"] = draw(st.lists(st.sampled_from(_STATUS), max_size=5, unique=True))
    v["dsn"] = draw(st.lists(st.sampled_from(_STATUS), max_size=5, unique=True))
    examples = [ex["text"] for r in kb.rules[:400] for ex in r.examples if ex.get("text")]
    texts = draw(st.lists(st.sampled_from(_TEXTS + examples[::7]) | st.none() | st.text(max_size=12),
                          max_size=12))
    codes = sorted({c for r in kb.rules if r.codes for c in r.codes})
    n = draw(st.integers(1, 60))

    def col(hi):
        return np.array(draw(st.lists(st.integers(0, hi), min_size=n, max_size=n)), dtype=np.int64)

    u = {key: col(len(v[key])) for key in ("event", "status", "stage", "mta", "provider", "enh", "dsn")}
    u["quit"] = col(2)
    u["text"] = col(len(texts))
    u["code"] = np.array(draw(st.lists(st.sampled_from(codes) | st.integers(-1, 999), min_size=n, max_size=n)),
                         dtype=np.int64)
    return u, v, pa.array(texts, pa.string())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=_calls())
def test_generated_combinations(call, monkeypatch):
    """Combinations drawn from every value the rules name (and values none names), reply codes,
    enhanced and DSN codes, texts from the rules' examples, arbitrary texts and nulls."""
    monkeypatch.setenv(native.ENV, "native")
    u, v, texts = call
    _both(_kb(), u, v, texts)


_SITE = '''
[[rules]]
id = "site.nonspace"
cause = "mailbox.full"
text = 'mailbox[\\S]full'
examples = ["452 mailbox-full"]
'''


def test_a_pattern_the_core_cannot_take_walks_in_python(tmp_path: Path, monkeypatch):
    """A site rule whose pattern the core refuses (a negated class inside brackets): the native
    walk gives up on it, and the rule list is walked in Python from then on, with the same answer."""
    monkeypatch.setenv(native.ENV, "native")
    site = tmp_path / "site.toml"
    site.write_text(_SITE)
    kb = load_rules([site])
    frame = example_frame([{"text": "452 mailbox-full"}, {"text": "550 5.1.1 user unknown"}])
    got = classify(frame, kb, rule_ids=True, attribute_causes=False)["rule_id"].tolist()
    assert got[0] == "site.nonspace"
    prep = rulematch._prepared(kb)
    assert prep.native is not None and not prep.native_ok
    monkeypatch.setenv(native.ENV, "python")
    assert classify(frame, kb, rule_ids=True, attribute_causes=False)["rule_id"].tolist() == got


def test_python_engine_walks_in_python(monkeypatch):
    """MAILLENS_ENGINE=python: the core's walk is not used (nor built for a new rule list)."""
    monkeypatch.setenv(native.ENV, "python")
    kb = load_rules([])
    frame = example_frame([{"text": "550 5.1.1 user unknown", "code": 550}])
    out = classify(frame, kb, rule_ids=True, attribute_causes=False)
    assert out["cause"].iloc[0] != "unknown"
    assert rulematch._prepared(kb).native is None


def test_status_tables_as_the_patterns_say():
    """The enhanced / DSN lookup table: row 0 (null) accepts nothing, each value's row says
    which groups accept it, as StatusPattern.matches."""
    kb = _kb()
    prep = rulematch._prepared(kb)
    _, _, groups, _ = rulematch._walk_of(prep)
    values = ["5.1.1", "4.7.0", "nonsense", "5.7.606"]
    raw, g = rulematch._status_table(prep, "enh", groups, values)
    table = np.frombuffer(raw, dtype=np.uint8).reshape(len(values) + 1, g)
    assert g == len(groups) > 10 and not table[0].any()
    for at, e in enumerate(values, 1):
        want = [any(p.matches(rulematch.parse_status(e)) for p in grp) for grp in groups]
        assert table[at].astype(bool).tolist() == want
    assert table[1].any() and not table[3].any()


def _assert_screen_keeps_every_match(texts: pa.Array) -> int:
    """Where a rule's pattern matches a text (pyarrow, RE2), the screen in front of the native
    walk (native/src/rulematch_screen.rs) lets the text through to it; the pairs it keeps out."""
    kb = _kb()
    run = runner(kb, texts)
    marks = np.frombuffer(run._set.screen_marks(run._native_texts), dtype=np.uint8).reshape(len(texts), len(kb.rules))
    kept_out = 0
    for i, rule in enumerate(kb.rules):
        if rule.text is None:
            continue
        want = pc.fill_null(pc.match_substring_regex(texts, rule.text, ignore_case=True), False).to_numpy(
            zero_copy_only=False)
        assert marks[want, i].all(), (rule.id, texts.filter(pa.array(want & (marks[:, i] == 0))).to_pylist()[:3])
        kept_out += int((marks[:, i] == 0).sum())
    return kept_out


def test_the_screen_keeps_every_match(frames, monkeypatch):
    """Every distinct text of the project's logs and replies against every rule: the screen
    keeps out most (text, pattern) pairs, never one that matches."""
    monkeypatch.setenv(native.ENV, "native")
    seen = _record_texts(monkeypatch)
    for frame in frames.values():
        classify(to_pandas(frame) if isinstance(frame, pa.Table) else frame)
    texts = pc.unique(pa.chunked_array(seen).combine_chunks())
    assert _assert_screen_keeps_every_match(texts) > len(texts) * len(_kb().rules) // 4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(st.sampled_from(_TRICKY + _TEXTS) | st.text(max_size=6), max_size=8).map("".join),
                      min_size=1, max_size=20))
def test_the_screen_on_generated_texts(texts, monkeypatch):
    """Texts of the characters where case folding is odd (Kelvin sign, long s, dotted I ...),
    reply pieces and arbitrary text: the screen never keeps out a match."""
    monkeypatch.setenv(native.ENV, "native")
    _assert_screen_keeps_every_match(pa.array(texts, pa.string()))


def _foreign_words() -> list[str]:
    """The rules' words outside ASCII (Cyrillic, Greek, accented Latin, CJK ...), as their patterns spell them."""
    import re

    words = {w for r in _kb().rules if r.text for w in re.findall(r"[^\W\d_]{2,}(?: [^\W\d_]{2,})?", r.text)}
    return sorted(w for w in words if not w.isascii())


_FOREIGN = _foreign_words()
_CASED = (st.sampled_from(_FOREIGN) | st.sampled_from(_TRICKY)).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.lower(), w.title(), w.swapcase(), w.casefold()]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(_CASED | st.sampled_from(_TEXTS) | st.text(max_size=4), max_size=6).map(" ".join),
                      min_size=1, max_size=30))
def test_the_screen_on_words_outside_ascii(texts, monkeypatch):
    """The rules' own words outside ASCII in other cases (r25: the screen folds them by their
    case-folding orbits, where it read only ASCII before), with arbitrary text and nulls'
    neighbours: the screen never keeps out a match."""
    monkeypatch.setenv(native.ENV, "native")
    _assert_screen_keeps_every_match(pa.array(texts, pa.string()))


def test_few_patterns_are_left_unscreened():
    """The shipped patterns the screen cannot screen (r24: 79 of them, alternatives in other
    scripts; r25: a handful whose every alternative may start and end anywhere)."""
    rules = rulematch._rule_set(rulematch.runner_patterns(_kb()))
    if not hasattr(rules, "compile_unscreened"):
        pytest.skip("an older core")
    assert rules.compile_unscreened() <= 10
