"""``TextRunner.hits_every`` (one native call for every pattern over every text, each pattern run
only where the screen lets a text through) answers as ``TextRunner.hits`` of each pattern and as
pyarrow's RE2 (the specification), nulls matching nothing; and the classification's per-text
lookups made with it (``classify._text_patterns``) are those made pattern by pattern."""

from __future__ import annotations

import importlib

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings

from analyzer import native
from analyzer.rulematch import TextRunner

C = importlib.import_module("analyzer.classify")

_PATTERNS = (*(p for _, p in C._provider_texts(C.default_rules())), C.WAIT_TEXT, C.EXPIRE_TEXT,
             r"mailbox (is )?full", r"\bOFR(_|\d)", r"quota|спам", r"^550 ", r"blocked$", r"[^;]{0,20}denied")
_WORDS = ["retry time not reached", "Mailbox is FULL", "gmail.com", "outlook.com", "spam", "СПАМ", "550 ", "OFR_7",
          "blocked", "denied", "have been failing for a long time", "quota", "yahoo", "mimecast", "x", " ", ";"]


def _reference(patterns: tuple[str, ...], texts: pa.Array) -> np.ndarray:
    return np.stack([pc.fill_null(pc.match_substring_regex(texts, p, ignore_case=True), False).to_numpy(
        zero_copy_only=False) for p in patterns])


_texts = st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_WORDS), max_size=6).map("".join), st.text(max_size=30)),
                  max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts)
def test_hits_every_is_each_pattern_s_hits_and_re2_s(values: list[str | None]) -> None:
    texts = pa.array(values, pa.string())
    run = TextRunner(_PATTERNS, texts)
    got = run.hits_every()
    assert got.shape == (len(_PATTERNS), len(values)) and got.dtype == bool
    every = np.arange(1, len(values) + 1)
    if len(values):
        assert np.array_equal(got, np.stack([run.hits(i, every) for i in range(len(_PATTERNS))]))
    assert np.array_equal(got, _reference(_PATTERNS, texts).reshape(got.shape))


def test_hits_every_finds_what_the_words_hold() -> None:
    texts = pa.array(["Mailbox is FULL", None, "retry time not reached", "nothing"], pa.string())
    got = TextRunner(_PATTERNS, texts).hits_every()
    full = _PATTERNS.index(r"mailbox (is )?full")
    wait = _PATTERNS.index(C.WAIT_TEXT)
    assert got[full].tolist() == [True, False, False, False]
    assert got[wait].tolist() == [False, False, True, False]
    assert not got[:, 1].any()  # a null matches nothing


@pytest.mark.skipif(not native.available(), reason="the native engine is not built")
def test_a_pattern_the_core_cannot_run_is_run_as_hits_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = pa.array(["abc", "xbz", None], pa.string())
    run = TextRunner(("b", r"(unclosed"), texts)  # the second compiles nowhere: pyarrow raises, as hits does
    with pytest.raises(pa.ArrowInvalid):
        run.hits_every()
    run = TextRunner(("b", "z"), texts)
    monkeypatch.setattr(run, "_set", None)  # the Python engine's path: pyarrow, pattern by pattern
    assert run.hits_every().tolist() == [[True, True, False], [False, True, False]]


def test_text_patterns_as_pattern_by_pattern() -> None:
    kb = C.default_rules()
    texts = pa.array(["Delivery to gmail.com failed: retry time not reached", "mx.outlook.com said no", None,
                      "message expired", "have been failing for a long time", "plain"], pa.string())
    found, wait, expire = C._text_patterns(kb, texts)
    provs = C._provider_texts(kb)
    ref = _reference((*(p for _, p in provs), C.WAIT_TEXT, C.EXPIRE_TEXT), texts)
    want = [next((pid for i, (pid, _) in enumerate(provs) if ref[i, j]), None) for j in range(len(texts))]
    assert found == want
    assert wait[1:].tolist() == ref[len(provs)].tolist() and wait[0] == 0 and wait[1:].any()
    assert expire[1:].tolist() == ref[len(provs) + 1].tolist() and expire[1:].any()
