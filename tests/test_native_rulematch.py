"""Differential tests: the knowledge base's text patterns run by the native core
(analyzer/rulematch.py, native/src/rulematch.rs) match exactly what pyarrow's RE2 matches, and
classification is the same with either engine, over the project's replies and logs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings

from analyzer import native
from analyzer.classify import check_examples, classify, default_rules, example_frame
from analyzer.pipeline import EventStream
from analyzer.rulematch import TextRunner, runner
from analyzer.schema import to_pandas
from analyzer.sources import expand_inputs

from .conftest import CORPUS, ROOT, SAMPLES

pytestmark = pytest.mark.skipif(not native.available(), reason="the native engine is not built (no cargo at install)")

C = importlib.import_module("analyzer.classify")


def _events(paths: list[str]) -> pa.Table:
    tables = [b.table for b in EventStream(expand_inputs(paths), tz="UTC", workers=1) if b.table.num_rows]
    return pa.concat_tables(tables)


def _reply_rows() -> list[dict]:
    rows = []
    for name in ("dev.jsonl", "heldout.jsonl"):
        path = ROOT / "bench" / "replies" / name
        if path.exists():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{"text": r["text"], "direction": r.get("direction")} for r in rows if r.get("text")]


def _generated_day(tmp_path, mta: str) -> str:
    out = tmp_path / f"{mta}.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_logs.py"), "--mta", mta, "--lines", "6000",
                    "--seed", "11", "-q", "-o", str(out), "--incident", "microsoft_block@6h+2h"],
                   check=True, timeout=120)
    return str(out)


def _frames(tmp_path) -> dict[str, object]:
    """Event tables to classify: sample logs, the shared corpus, generated days, the dev and
    held-out replies, the rules' own examples."""
    kb = default_rules()
    frames = {"samples": _events([str(SAMPLES)])}
    if CORPUS.exists():
        frames["corpus"] = _events([str(CORPUS)])
    for mta in ("postfix", "exim"):
        frames[mta] = _events([_generated_day(tmp_path, mta)])
    frames["replies"] = example_frame(_reply_rows())
    frames["examples"] = example_frame([ex for r in kb.rules for ex in r.examples])
    return frames


def _with_engine(monkeypatch, engine: str, fn):
    monkeypatch.setenv(native.ENV, engine)
    assert native.engine() == engine
    return fn()


def _record_texts(monkeypatch) -> list[pa.Array]:
    """The distinct texts every _match call of the test is given, as they come."""
    seen: list[pa.Array] = []
    orig = C._match

    def recording(kb, u, v, texts):
        seen.append(texts)
        return orig(kb, u, v, texts)

    monkeypatch.setattr(C, "_match", recording)
    return seen


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return _frames(tmp_path_factory.mktemp("rulematch"))


def test_classification_identical(frames, monkeypatch):
    """Every table: the same classification columns and deciding rule, row for row, with the
    rules' patterns run natively or by pyarrow."""
    seen = _record_texts(monkeypatch)
    for name, frame in frames.items():
        df = to_pandas(frame) if isinstance(frame, pa.Table) else frame
        py = _with_engine(monkeypatch, "python", lambda df=df: classify(df, rule_ids=True))
        nat = _with_engine(monkeypatch, "native", lambda df=df: classify(df, rule_ids=True))
        assert len(py) > 0, name
        for col in ("rule_id", "cause", "outcome", "action", "provider", "severity", "fix_id", "reply_class"):
            assert py[col].astype(object).tolist() == nat[col].astype(object).tolist(), (name, col)
    assert sum(len(t) for t in seen) > 1000


def test_every_pattern_on_every_text(frames, monkeypatch):
    """Every rule's pattern against every distinct text classify matched (not only the
    candidates the precedence leaves): the same hits as pyarrow's."""
    monkeypatch.setenv(native.ENV, "native")
    seen = _record_texts(monkeypatch)
    for frame in frames.values():
        classify(to_pandas(frame) if isinstance(frame, pa.Table) else frame)
    texts = pc.unique(pa.chunked_array(seen).combine_chunks())
    _assert_all_patterns(texts)


def _assert_all_patterns(texts: pa.Array) -> None:
    kb = default_rules()
    run = runner(kb, texts)
    assert run._set is not None
    cand = np.arange(1, len(texts) + 1)
    for i, rule in enumerate(kb.rules):
        if rule.text is None:
            continue
        assert run._set.usable(i), rule.id  # every shipped pattern runs natively
        want = pc.fill_null(pc.match_substring_regex(texts, rule.text, ignore_case=True), False).to_numpy(
            zero_copy_only=False)
        got = run.hits(i, cand)
        assert (got == want).all(), (rule.id, texts.filter(pa.array(got != want)).to_pylist()[:3])
    # the providers' signatures and the wait / give-up phrases (classify._text_patterns) likewise
    others = [p["text"] for p in kb.providers.values() if p.get("text")] + [C.WAIT_TEXT, C.EXPIRE_TEXT]
    run = TextRunner(tuple(others), texts)
    for i, pattern in enumerate(others):
        assert run._set.usable(i), pattern
        want = pc.fill_null(pc.match_substring_regex(texts, pattern, ignore_case=True), False).to_numpy(
            zero_copy_only=False)
        assert (run.hits(i, cand) == want).all(), pattern


#: characters where case folding or the Perl classes differ between dialects, and text
#: pieces of the shipped patterns
_TRICKY = ["K", "\u212a", "k", "s", "\u017f", "S", "\u0130", "i", "\u0131", "\u00df", "ss", "\u1e9e", "_", "\u0663",
           "\u00a0", "\v", "\t", "\u2028", "~", "[~]", "5.7.1", "550", "@", "\u00e9", "\u00c9", "OFR_", "OFR1", "xOFR1"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(st.sampled_from(_TRICKY) | st.text(max_size=6), max_size=8).map("".join),
                min_size=1, max_size=20))
def test_generated_texts(texts, monkeypatch):
    """Texts built from the characters where the dialects could differ (Kelvin sign, long s,
    dotted I, Arabic digits, vertical tab ...) and arbitrary text: the same hits."""
    monkeypatch.setenv(native.ENV, "native")
    _assert_all_patterns(pa.array(texts, pa.string()))


def test_python_engine_keeps_pyarrow(monkeypatch):
    """MAILLENS_ENGINE=python: the patterns run with pyarrow, no native set is built."""
    monkeypatch.setenv(native.ENV, "python")
    kb = default_rules()
    run = runner(kb, pa.array(["550 mailbox full", "fine"]))
    assert run._set is None
    i = next(i for i, r in enumerate(kb.rules) if r.text and "mailbox" in r.text.lower())
    want = pc.match_substring_regex(pa.array(["fine", "550 mailbox full"]), kb.rules[i].text, ignore_case=True)
    assert run.hits(i, np.array([2, 1])).tolist() == want.to_pylist()


def test_pattern_the_core_cannot_take_falls_back(monkeypatch):
    """A pattern the Rust dialect cannot express (\\pL is Unicode in the crate, in RE2 too, but
    the rewrite refuses it) runs with pyarrow: the same answer as before."""
    monkeypatch.setenv(native.ENV, "native")
    texts = pa.array(["Zürich full", "plain", None, "ZURICH"])
    run = TextRunner((r"z\pL+ch", "zurich"), texts)
    assert run._set is not None and not run._set.usable(0) and run._set.usable(1)
    assert run.hits(0, np.array([1, 2, 3, 4])).tolist() == [True, False, False, True]
    assert run.hits(1, np.array([4, 1, 3])).tolist() == [True, False, False]
    # a null text never matches, even a pattern that matches the empty text
    assert TextRunner(("x*",), texts).hits(0, np.array([2, 3])).tolist() == [True, False]


def test_examples_still_end_on_their_rules(monkeypatch):
    monkeypatch.setenv(native.ENV, "native")
    assert check_examples(default_rules()) == []
