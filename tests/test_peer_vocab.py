"""The native vocabulary (native/src/vocab.rs through analyzer/peer_vocab.py) gives the codes and
strings of the pure-Python engine's HashVocab on the same columns, of every Arrow form the peers
hand it; the peers' folds give the same tables under either engine."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.peer_agg import HashVocab, KeyAgg, new_vocab
from analyzer.peer_vocab import NativeVocab, native_vocab
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold
from tools.peers import generated_day

pytestmark = pytest.mark.skipif(native_vocab() is None, reason="the native engine (with Vocab) is not built")


def _forms(values: list[str | None], rng: np.random.Generator) -> list:
    """``values`` as each form a vocabulary is handed: string, large_string, a slice, chunks,
    dictionaries (indices int8/int32/int64, the dictionary shuffled, unused entries, a slice), a
    numpy object array with NaN for null."""
    arr = pa.array(values, pa.string())
    padded = pa.array(["pad", *values, "pad"], pa.string()).slice(1, len(values))
    enc = arr.dictionary_encode()
    dictionary = enc.dictionary
    perm = rng.permutation(len(dictionary) + 2)  # two unused entries
    words = [f"unused{i}" for i in range(2)] + dictionary.to_pylist()
    shuffled = pa.array([words[i] for i in perm], pa.string())
    where = np.argsort(perm)  # the shuffled position of each word
    ind = enc.indices.to_numpy(zero_copy_only=False)
    mask = np.array([v is None for v in values], dtype=bool)
    idx = np.where(mask, -2, np.nan_to_num(ind.astype(float))).astype(np.int64)  # a null row: an unused entry
    out = [arr, arr.cast(pa.large_string()), padded, pa.chunked_array([arr.slice(0, len(values) // 2), arr.slice(len(values) // 2)]),
           np.array([np.nan if v is None else v for v in values], dtype=object)]
    for kind in (pa.int8(), pa.int32(), pa.int64()):
        if len(shuffled) >= 127 and kind == pa.int8():
            continue
        at = pa.array(where[idx + 2], kind, mask=mask)
        out.append(pa.DictionaryArray.from_arrays(at, shuffled))
    out.append(pa.DictionaryArray.from_arrays(pa.array(where[idx + 2], pa.int32(), mask=mask), shuffled.cast(pa.large_string())))
    d = pa.array([None, *values], pa.string()).dictionary_encode().slice(1)
    out.append(d)
    return out


def _same(batches: list[list[str | None]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    py, nat = HashVocab(), native_vocab()
    assert isinstance(nat, NativeVocab)
    for values in batches:
        for form in _forms(values, rng):
            want, got = py.encode(form), nat.encode(form)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, want)
            assert nat.n == py.n
    assert nat.words().to_pylist() == py.words().to_pylist()
    codes = rng.integers(0, max(py.n, 1), size=50) if py.n else np.zeros(0, np.int64)
    assert list(nat.decode(codes)) == list(py.decode(codes))


_text = st.one_of(st.none(), st.text(alphabet="ab@.é\x00", max_size=6), st.sampled_from(["", "host.example", "a@b.test"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_text, max_size=40), max_size=5), st.integers(0, 2**32 - 1))
def test_same_codes_as_hashvocab(batches, seed):
    _same(batches, seed)


def test_many_strings_in_batches():
    """Thousands of alike strings over batches (the table grows many times; HashVocab's
    dictionary-first encoding both taken and skipped)."""
    rng = np.random.default_rng(7)
    batches = []
    for _ in range(6):
        n = int(rng.integers(300, 3000))
        vals = [None if x % 97 == 0 else f"bounce.host{x % 500}.example [198.51.100.{x % 250}] u{x}@gmail.test"
                for x in rng.integers(0, 20000, size=n)]
        batches.append(vals)
    _same(batches, 1)


def test_empty_and_all_null():
    _same([[], [None, None], ["x", None], []], 3)
    nat = native_vocab()
    assert len(nat.decode(np.zeros(0, np.int64))) == 0
    assert nat.words().to_pylist() == []
    with pytest.raises(ValueError):
        nat.decode(np.array([0]))  # no string held


def test_keyagg_the_same_under_either_engine(monkeypatch):
    """KeyAgg of two columns and one (its codes, result) with either vocabulary."""
    def run():
        agg, one = KeyAgg(["a", "b"], {"n": "sum", "m": "max"}), KeyAgg(["a"], {"n": "sum"})
        rng = np.random.default_rng(5)
        for _ in range(4):
            a = pa.array([None if x == 0 else f"k{x}" for x in rng.integers(0, 30, 200)])
            b = pa.array([f"v{x}" for x in rng.integers(0, 9, 200)]).dictionary_encode()
            agg.add([a, b], n=1, m=rng.integers(0, 100, 200))
            one.add([a], n=rng.integers(0, 5, 200))
        return agg.result(), one.result()

    got = run()
    assert isinstance(new_vocab(), NativeVocab)
    monkeypatch.setenv(native.ENV, "python")
    assert isinstance(new_vocab(), HashVocab)
    want = run()
    for g, w in zip(got, want, strict=True):
        assert g.equals(w)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_peers_fold_the_same_under_either_engine(tmp_path, monkeypatch, mta):
    """A generated day's peers' totals and sections, folded in batches, with the native
    vocabulary and with HashVocab (the events parsed once)."""
    ev = parse_logs([str(generated_day(tmp_path / "day.log", mta, lines=4000))], tz="UTC", year=2026,
                    **({"fmt": "exim"} if mta == "exim" else {})).events

    def fold():
        f = PeersFold()
        for a in range(0, len(ev), 700):
            f.add(ev.iloc[a:a + 700].reset_index(drop=True))
        return f.result()

    got = fold()
    monkeypatch.setenv(native.ENV, "python")
    want = fold()
    assert got == want
    assert got["peers"]
