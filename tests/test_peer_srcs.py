"""The relayed pairs' sending hosts coded only when a pair reads them (analyzer/peer_srcs.py, the
Python ExFold; native/src/peerfold_exim.rs has its own test): the pairs' vocabulary holds the
sending hosts of pairs only, not every remote arrival's, and what is held goes at the message's end."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.peer_agg import new_vocab
from analyzer.peer_folds import ExFold
from analyzer.peer_srcs import HeldSources
from analyzer.reader import parse_logs
from tools.peers import generated_day


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    log = generated_day(tmp_path_factory.mktemp("srcs") / "ex.log", "exim", lines=8000, seed=7)
    return parse_logs([str(log)], tz="UTC", year=2026).events


def test_the_pairs_vocabulary_holds_the_pairs_sending_hosts_only(day):
    f = ExFold()
    for lo in range(0, len(day), 1500):
        f.add(day.iloc[lo:lo + 1500].reset_index(drop=True))
    pairs, _ = f.relayed_pairs()
    remote = day["event"].eq("received") & day["client_host"].notna() & day["client_host"].ne("local")
    arrivals = day.loc[remote, "queue_id"].nunique()
    assert 0 < pairs["from"].nunique() < arrivals, "a day whose remote arrivals are not all relayed on"
    assert f.srcs.n == pairs["from"].nunique(), "coded: the pairs' sending hosts, each once"
    assert len(f.held_srcs) <= len(f.qids.column("flags")), "held: the messages not ended only"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["hold", "code", "drop"]), st.lists(st.integers(0, 5), min_size=1,
                                                                               max_size=4)), max_size=30))
def test_held_texts_are_coded_once_each_and_let_go_of(ops):
    """Against a plain reference: a hash's text, coded, is the text held for it; the same text has
    one code; the vocabulary holds the texts coded only; a text coded or dropped is held no more."""
    held, vocab = HeldSources(new_vocab()), new_vocab()
    held.vocab = vocab
    ref: dict[int, str] = {}
    coded: dict[str, int] = {}
    for op, hs in ops:
        if op == "hold":
            hs = sorted(set(hs) - set(ref))
            texts = [f"host{h % 3} <s{h % 2}>" for h in hs]
            held.hold(np.array(hs, dtype=np.uint64), pa.array(texts, pa.string()))
            ref.update(zip(hs, texts, strict=True))
        elif op == "code":
            hs = [h for h in hs if h in ref]
            got = held.code(np.array(hs, dtype=np.uint64)).tolist()
            for h, c in zip(hs, got, strict=True):
                assert coded.setdefault(ref[h], c) == c
            for h in hs:
                ref.pop(h, None)
        else:
            held.drop(np.array(hs, dtype=np.uint64))
            for h in hs:
                ref.pop(h, None)
        assert len(held) == len(ref)
    assert vocab.n == len(coded)
    assert sorted(vocab.take(np.arange(vocab.n)).to_pylist()) == sorted(coded)
