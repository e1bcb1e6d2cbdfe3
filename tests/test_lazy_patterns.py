"""The rules' text patterns are compiled when the screen in front of them first lets a text
through (native/src/rulematch.rs): the warm-up (``classify.compile_patterns``) builds the screen,
its literals read without compiling, and compiles only the patterns it cannot screen. The screen so built equals the one built after
compiling every pattern, and the classification with patterns compiled on first use equals the
Python engine's, over the project's logs and replies."""

from __future__ import annotations

import importlib

import numpy as np
import pyarrow as pa
import pytest

from analyzer import native, rule_sets
from analyzer.classify import classify, default_rules
from analyzer.rulematch import runner_patterns
from analyzer.schema import to_pandas

from .test_native_rulematch import _frames, _record_texts, _with_engine

pytestmark = pytest.mark.skipif(not native.available() or not hasattr(native._module()[0], "RuleWalk"),
                                reason="the native engine is not built (no cargo at install)")

C = importlib.import_module("analyzer.classify")


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return _frames(tmp_path_factory.mktemp("lazy"))


def _fresh(pats: tuple[str | None, ...]):
    return native._module()[0].RuleSet(["" if p is None else p for p in pats], True)


def test_the_screen_compiles_nothing_and_lets_through_what_the_compiled_one_does(frames, monkeypatch):
    monkeypatch.setenv(native.ENV, "native")
    seen = _record_texts(monkeypatch)
    for frame in frames.values():
        classify(to_pandas(frame) if isinstance(frame, pa.Table) else frame)
    texts = pa.concat_arrays([t.cast(pa.string()) for t in seen]).unique()
    assert len(texts) > 500
    pats = runner_patterns(default_rules())
    lazy, eager = _fresh(pats), _fresh(pats)
    lazy.prepare_screen()
    assert lazy.compiled() == 0
    assert eager.compile_all() > 500 and eager.compiled() == len(pats)
    eager.prepare_screen()
    held = native._module()[0].Texts(*native.string_buffers(texts))
    assert lazy.screen_marks(held) == eager.screen_marks(held)
    assert lazy.compiled() == 0
    marks = np.frombuffer(lazy.screen_marks(held), np.uint8).reshape(len(texts), len(pats))
    assert 0 < marks.mean() < 0.5  # (it keeps most pairs out)


def test_patterns_compiled_on_first_use_classify_as_the_python_engine(frames, monkeypatch):
    kb = default_rules()
    pats = runner_patterns(kb)
    fresh = _fresh(pats)
    monkeypatch.setattr(importlib.import_module("analyzer.rulematch"), "_rule_set",
                        lambda p: fresh if p == pats else _fresh(p))
    monkeypatch.setattr(rule_sets, "rule_set", lambda p: fresh if p == pats else _fresh(p))
    _with_engine(monkeypatch, "native", lambda: C.compile_patterns(kb))
    # the warm-up compiles only the patterns the screen cannot screen (a text of any kind reaches them)
    warm = fresh.compiled()
    assert 0 < warm < len(pats) // 4
    every = native._module()[0].Texts(*native.string_buffers(pa.array(["zz"])))
    assert int(np.frombuffer(_fresh(pats).screen_marks(every), np.uint8).sum(dtype=np.int64)) >= warm
    for name, frame in frames.items():
        df = to_pandas(frame) if isinstance(frame, pa.Table) else frame
        py = _with_engine(monkeypatch, "python", lambda df=df: classify(df, rule_ids=True))
        nat = _with_engine(monkeypatch, "native", lambda df=df: classify(df, rule_ids=True))
        for col in ("cause", "fix_id", "outcome", "severity", "provider", "action", "rule_id"):
            assert py[col].astype(object).tolist() == nat[col].astype(object).tolist(), (name, col)
    assert 0 < fresh.compiled() < len(pats)  # only the patterns a text reached
