"""KeyAgg (analyzer.peer_agg): per-key sums, maxima and minima folded batch by batch equal one
pandas group-by of all the rows (keys in first-seen order, null keys left out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer import peer_agg
from analyzer.peer_agg import HashVocab, KeyAgg


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["a", "b", "Ä", "", "c d", "e:f", None], dtype=object)
    return pd.DataFrame({"k": words[rng.integers(0, len(words), n)], "j": words[rng.integers(0, 3, n)],
                         "n": rng.integers(0, 1000, n), "x": rng.random(n).round(2), "first": rng.permutation(n)})


def _expected(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.groupby(keys, sort=False).agg(n=("n", "sum"), x=("x", "max"), first=("first", "min")).reset_index()


@pytest.mark.parametrize("cut", [1, 7, 50, 1000])
@pytest.mark.parametrize("keys", [["k"], ["k", "j"]])
@pytest.mark.parametrize("arrow", [False, True])
def test_keyagg_equals_one_groupby(cut: int, keys: list[str], arrow: bool) -> None:
    df = _rows(cut, 300)
    agg = KeyAgg(keys, {"n": "sum", "x": "max", "first": "min"})
    for at in range(0, len(df), cut):
        part = df.iloc[at:at + cut]
        cols = [pa.array(part[k].tolist(), pa.string(), from_pandas=True) if arrow else part[k].to_numpy() for k in keys]
        agg.add(cols, n=part["n"].to_numpy(), x=part["x"].to_numpy(), first=part["first"].to_numpy())
    got = agg.result()
    want = _expected(df, keys)
    assert list(got.columns) == [*keys, "n", "x", "first"]
    assert got[keys].astype(object).values.tolist() == want[keys].astype(object).values.tolist()  # first-seen order
    for c in ("n", "first"):
        assert got[c].tolist() == want[c].tolist()
    assert np.allclose(got["x"].to_numpy(), want["x"].to_numpy())
    assert len(agg) == len(want)


def test_keyagg_scalar_values_and_empty() -> None:
    agg = KeyAgg(["k"], {"count": "sum"})
    assert agg.result().empty and list(agg.result().columns) == ["k", "count"]
    agg.add([np.array(["x", None, "x", "y"], dtype=object)], count=1)
    agg.add([pa.array([], pa.string())], count=1)
    agg.add([pa.array(["y", "z"])], count=1)
    assert agg.result().to_dict("list") == {"k": ["x", "y", "z"], "count": [2, 2, 1]}


def test_keyagg_column_given_as_codes_of_a_vocabulary() -> None:
    """A key column passed as codes of a shared Vocab (Exim's relayed pairs: the sending host's code)
    gives the same table as the strings themselves."""
    df = _rows(3, 200)
    vocab = HashVocab()
    coded = KeyAgg(["k", "j"], {"n": "sum", "x": "max", "first": "min"}, vocabs={"k": vocab})
    plain = KeyAgg(["k", "j"], {"n": "sum", "x": "max", "first": "min"})
    df = df[df["k"].notna()]
    for at in range(0, len(df), 30):
        part = df.iloc[at:at + 30]
        values = {"n": part["n"].to_numpy(), "x": part["x"].to_numpy(), "first": part["first"].to_numpy()}
        coded.add([vocab.encode(pa.array(part["k"].tolist(), pa.string())), part["j"].to_numpy()], **values)
        plain.add([part["k"].to_numpy(), part["j"].to_numpy()], **values)
    assert coded.result().to_dict("list") == plain.result().to_dict("list")
    assert len(coded) == len(_expected(df, ["k", "j"]))


@pytest.mark.parametrize("weak", [False, True])
def test_hashvocab_codes_in_first_seen_order_even_when_hashes_collide(weak: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """One code per distinct string, the same in every batch, in first-seen order; with a hash that
    collides for every string of one length, the strings are still told apart (the kept strings
    are compared; a colliding string's code then comes after its batch's others)."""
    if weak:
        monkeypatch.setattr(peer_agg, "key_hash", lambda a: np.array([len(v) for v in a.to_pylist()], dtype=np.uint64))
    vocab = HashVocab()
    batches = [["ab", "cd", None, "ab", "e"], ["cd", "xy", "e", "xy"], [], ["zz", "ab"]]
    seen: dict[str, int] = {}
    given: dict[str, int] = {}
    for words in batches:
        codes = vocab.encode(pa.array(words, pa.string()))
        want = [-1 if w is None else seen.setdefault(w, len(seen)) for w in words]
        assert (codes < 0).tolist() == [w is None for w in words]
        for w, c in zip(words, codes.tolist(), strict=True):
            if w is not None:
                assert given.setdefault(w, c) == c  # the same code in every batch
        if not weak:
            assert codes.tolist() == want
    assert sorted(given.values()) == list(range(len(seen))) and vocab.n == len(seen)
    assert vocab.decode(np.array(list(given.values()))).tolist() == list(given)


def test_hashvocab_held_in_pieces_codes_and_decodes_as_one() -> None:
    """Strings added a few at a time are held in pieces (a new one does not copy all held:
    O(log n) pieces); codes, decoding in any order and ``words()`` are those of one array."""
    rng = np.random.default_rng(5)
    vocab = HashVocab()
    everything: list[str] = []
    for size in rng.integers(1, 40, 300):
        words = [f"w{int(i)}" for i in rng.integers(0, 5000, size)]
        codes = vocab.encode(pa.array(words, pa.string()))
        for w in words:
            if w not in everything:
                everything.append(w)
        assert codes.tolist() == [everything.index(w) for w in words]
        assert len(vocab._parts) <= 2 * int(np.log2(max(vocab.n, 2))) + 1
    assert len(vocab._parts) > 1
    picks = rng.integers(0, vocab.n, 2000)
    assert vocab.decode(picks).tolist() == [everything[i] for i in picks]
    assert vocab.words().to_pylist() == everything and len(vocab._parts) == 1


def test_hashvocab_keeps_only_the_colliding_strings_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a hash collision only the strings that collided are held in the dict (not all)."""
    monkeypatch.setattr(peer_agg, "key_hash", lambda a: np.array([0 if v in ("", "twin") else 1 + int(v[1:])
                                                                   for v in a.to_pylist()], dtype=np.uint64))
    vocab = HashVocab()
    plain = [f"w{i:03d}" for i in range(200)]
    assert vocab.encode(pa.array(["", *plain[:1]], pa.string())).tolist() == [0, 1]
    assert vocab.encode(pa.array(["twin", "", "w000", "twin"], pa.string())).tolist() == [2, 0, 1, 2]
    assert vocab.encode(pa.array(plain, pa.string())).tolist() == [1, *range(3, 202)]
    assert vocab._exact == {"twin": 2}
    assert vocab.decode(np.array([0, 1, 2, 3])).tolist() == ["", "w000", "twin", "w001"]


@pytest.mark.parametrize("weak", [False, True])
def test_hashvocab_codes_alike_whether_it_encodes_the_distinct_values_first_or_not(weak: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of mostly distinct strings (the dictionary encode skipped after one that did not
    pay), then of a few repeated ones (tried again every 8th call): the codes are the first-seen
    numbering throughout, with a hash that collides within and across batches too."""
    if weak:
        monkeypatch.setattr(peer_agg, "key_hash", lambda a: np.array([len(v) % 7 for v in a.to_pylist()], dtype=np.uint64))
    rng = np.random.default_rng(11)
    vocab = HashVocab()
    seen: dict[str, int] = {}
    for i in range(24):
        pool = 100_000 if i < 12 else 40  # distinct, then repeated
        words = [f"s{int(v)}" for v in rng.integers(0, pool, 300)]
        words[::50] = [None] * len(words[::50])
        codes = vocab.encode(pa.array(words, pa.string()))
        want = [-1 if w is None else seen.setdefault(w, len(seen)) for w in words]
        if weak:  # colliding strings are coded after their batch's others: the same code each time
            assert len(set(codes.tolist())) == len({w for w in words}) and (codes < 0).tolist() == [w is None for w in words]
        else:
            assert codes.tolist() == want
    assert vocab.n == len(seen)
    assert sorted(vocab.decode(np.arange(vocab.n)).tolist()) == sorted(seen)
