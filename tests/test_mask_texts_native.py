"""classify.mask_texts by the native masker (native/src/pclass3_mask.rs) equals the pyarrow
passes (the specification, what the Python engine runs): on generated days' and the sample
logs' texts, and on made texts with addresses, IPs, ids, the opaque tokens' places, non-ASCII,
nulls, empty and sliced arrays."""

from __future__ import annotations

import importlib

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from bench.generate_logs import generate
from tests.conftest import SAMPLES
from tests.test_stream_joined import _events

classify = importlib.import_module("analyzer.classify")  # (the package's name `classify` is the function)

pytestmark = pytest.mark.skipif(native.masker() is None or not hasattr(native._module()[0], "mask_texts"),
                                reason="no native masker")


def _both(texts: pa.Array, monkeypatch) -> tuple[pa.Array, pa.Array]:
    assert classify._masked_natively(texts) is not None  # (the native way runs)
    got = classify.mask_texts(texts)
    with monkeypatch.context() as mp:
        mp.setenv("MAILLENS_ENGINE", "python")
        assert classify._masked_natively(texts) is None
        want = classify.mask_texts(texts)
    return got, want


def _texts(table: pa.Table) -> pa.Array:
    cols = [table.column(c).combine_chunks() for c in ("reply_text", "detail") if c in table.column_names]
    return pc.unique(pa.concat_arrays([c.cast(pa.string()) for c in cols]))


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_generated_and_sample_texts(tmp_path, mta, monkeypatch):
    generate(mta, 4000, seed=5, out=str(tmp_path / "day.log"), start="2026-11-25T20:00:00", hours=20, host="mx1",
             incidents=["deferral_buildup@4h+6h"])
    sample = SAMPLES / ("exim/mainlog" if mta == "exim" else "postfix/mail.log")
    for path in (tmp_path / "day.log", sample):
        texts = _texts(_events(path))
        assert len(texts) > 5
        got, want = _both(texts, monkeypatch)
        assert got.equals(want)
        assert got.null_count == texts.null_count


_PIECE = st.sampled_from([
    "bob@example.com", "<a.b@c.d>", "x@y", "192.0.2.1", "[198.51.100.23]", "10.0.0.256", "2001:db8::1", "fe80::1:2:3",
    "abc123def4", "A1b2C3", "1234567", "12345", "queued as 4ABC12", "queued as ", "<~> Cw+Q/92=_- Saved",
    "<~> x Saved", "2000 bytes in 0.074, 165.734 KB/sec", "7 bytes in 1, 2 KB/sec", " KB/sec", "550", "5.1.1",
    "Ünïcödé", "пользователь", "邮件", "İstanbul", "\t", "  ", ":", ";", "'", '"', "(", ")", "[", "]", ",", "~", "-", ".",
])
_TEXT = st.one_of(st.none(), st.lists(st.one_of(_PIECE, st.text(max_size=6)), max_size=8).map(" ".join),
                  st.lists(_PIECE, max_size=6).map("".join))


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_TEXT, max_size=12), cut=st.integers(0, 3))
def test_made_texts(texts, cut):
    arr = pa.array(texts, pa.string())
    for a in (arr, arr.slice(min(cut, len(arr)))):
        with pytest.MonkeyPatch.context() as mp:
            got, want = _both(a, mp)
        assert got.equals(want), (a, got, want)


def test_not_a_string_array_goes_the_python_way():
    assert classify._masked_natively(pa.chunked_array([pa.array(["a@b"])])) is None
    assert classify._masked_natively(pa.array(["a@b"], pa.large_string())) is None
    assert classify.mask_texts(pa.array([], pa.string())).equals(pa.array([], pa.string()))
