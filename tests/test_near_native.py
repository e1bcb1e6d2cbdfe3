"""The known replies' nearest neighbours in the native core (native/src/pclass_near.rs) answer as
the Python path (analyzer/similar.py, the specification) does, bit for bit: the tokens of ASCII
texts read there, the weights, scores, the k best rows (ties to the lower row) and their vote."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native, similar
from analyzer.similar import KnownReplies, default_known_replies, normalise

pytestmark = pytest.mark.skipif(not native.available(), reason="the native engine is not built")

KNOWN = default_known_replies()
SEEDS = [r["text"] for r in KNOWN.rows[::41]] + [
    "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
    "host mx.example.net[192.0.2.7] said: 554 5.7.1 Service unavailable; Client host blocked using zen",
    "452-4.2.2 The email account that you tried to reach is over quota", "", "zzz qqq", "5.1.1.2 x 4.1234.1",
    "\x1c421 4.07.000 try_again later", "Почтовый ящик переполнен 552 5.2.2", "メールボックスが一杯です",
]
# characters the tokens read differently: spaces (Python's \s holds \x1c-\x1f), digits, dots, ~, _
ALPHABET = st.sampled_from([*"abcz ABZ_~.-0123456789\t\n\x0b\x0c\r\x1c\x1f:;<>@[]()=é", "ü", "е", "語"])


def _both(texts: list[str]) -> tuple[similar.Nearest, similar.Nearest]:
    norm = normalise(texts)
    got = KNOWN.nearest(norm, normalised=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAILLENS_ENGINE", "python")
        assert KNOWN.native_index() is None
        want = KNOWN.nearest(norm, normalised=True)
    return got, want


def _equal(got: similar.Nearest, want: similar.Nearest) -> None:
    assert np.array_equal(got.index, want.index)
    assert np.array_equal(got.similarity, want.similarity)  # bit for bit


def test_native_index_is_used_and_the_table_texts_answer_alike():
    assert KNOWN.native_index() is not None
    got, want = _both([r["text"] for r in KNOWN.rows[::7]] + SEEDS)
    _equal(got, want)
    assert (got.index >= 0).mean() > 0.9  # (known replies find themselves or a close one)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SEEDS), st.text(ALPHABET, max_size=80),
                          st.builds(lambda a, b: a + " " + b, st.sampled_from(SEEDS), st.text(ALPHABET, max_size=30))),
                min_size=1, max_size=20))
def test_native_nearest_equals_python(texts):
    _equal(*_both(texts))


def test_ties_at_the_kth_place_go_to_the_lower_rows():
    # five copies of one reply of two causes, scored equal: the k best are the lowest rows
    text = "550 5.7.1 message refused by local policy"
    rows = [{"id": f"r{i}", "text": text, "cause": "policy.a" if i % 2 else "policy.b", "also_accept": []}
            for i in range(9)]
    table = KnownReplies(rows, neighbours=3)
    got = table.nearest([text])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAILLENS_ENGINE", "python")
        want = table.nearest([text])
    _equal(got, want)
    # rows 0, 1, 2 vote: b (0, 2) wins over a (1), speaking through row 0
    assert got.index.tolist() == [0]


def test_kept_nearest_asks_the_core_once_for_all_new_texts():
    similar._NEAR.clear()
    texts = SEEDS * 2
    got = similar.kept_nearest(KNOWN, texts)
    _equal(got, KNOWN.nearest(texts))


def test_other_features_or_the_python_engine_use_no_core(monkeypatch):
    table = KnownReplies(KNOWN.rows[:50], stop=True)
    assert table.native_index() is None
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    assert KnownReplies(KNOWN.rows[:50]).native_index() is None
