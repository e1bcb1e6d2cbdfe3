"""similar.kept_nearest, the classifier's question to the known replies (asked in slices, the texts
normalised once, answers kept per text as the table reads it) answers as one call of the table's
own ``nearest`` over all the texts."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import similar
from analyzer.similar import default_known_replies

KNOWN = default_known_replies()
SEEDS = [r["text"] for r in KNOWN.rows[::97]] + [
    "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
    "452 4.2.2 Mailbox full", "421 4.7.0 Try again later, closing connection.", "", "zzz qqq",
    "host mx.example.net[192.0.2.7] said: 554 5.7.1 Service unavailable; Client host blocked using zen",
]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=60), st.integers(1, 40))
def test_sliced_answers_equal_one_call(texts, step):
    similar._NEAR.clear()
    with mock.patch.object(similar, "_NEAR_STEP", step):
        got = similar.kept_nearest(KNOWN, texts)
    want = KNOWN.nearest(texts)
    assert np.array_equal(got.index, want.index)
    assert np.array_equal(got.similarity, want.similarity)  # bit for bit


def test_more_texts_than_a_slice_and_answers_kept():
    texts = SEEDS * 2
    similar._NEAR.clear()
    first = similar.kept_nearest(KNOWN, texts)
    assert len(set(texts)) > similar._NEAR_STEP
    want = KNOWN.nearest(texts)
    assert np.array_equal(first.index, want.index) and np.array_equal(first.similarity, want.similarity)
    again = similar.kept_nearest(KNOWN, texts[::-1])  # from what is kept
    assert np.array_equal(again.index, want.index[::-1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["mx.a.example", "b-7.example.org", "relay", "~", "x"]), min_size=1, max_size=8),
       st.sampled_from(SEEDS[-6:-3]))
def test_texts_read_alike_are_scored_once(hosts, reply):
    """Replies in wrappers that name other hosts (read alike: the wrapper removed) are scored once,
    each answered as the table answers it alone."""
    texts = [f"host {h}[~] said: {reply} (in reply to RCPT TO command)" for h in hosts] + [reply]
    similar._NEAR.clear()
    with mock.patch.object(KNOWN, "nearest", wraps=KNOWN.nearest) as asked:
        got = similar.kept_nearest(KNOWN, texts)
    assert sum(len(c.args[0]) for c in asked.call_args_list) == 1
    want = KNOWN.nearest(texts)
    assert np.array_equal(got.index, want.index) and np.array_equal(got.similarity, want.similarity)


def test_answers_kept_past_the_bound_are_dropped_and_asked_again():
    """Past :data:`similar._NEAR_HELD` texts the kept answers are dropped: a call that asks for a
    kept text and enough new ones to pass the bound still answers every text it asked for."""
    similar._NEAR.clear()
    with mock.patch.object(similar, "_NEAR_HELD", 4):
        similar.kept_nearest(KNOWN, SEEDS[:3])  # kept: 3
        texts = SEEDS[:5]  # 3 kept, 2 new: 5 > 4
        got = similar.kept_nearest(KNOWN, texts)
    want = KNOWN.nearest(texts)
    assert np.array_equal(got.index, want.index) and np.array_equal(got.similarity, want.similarity)
