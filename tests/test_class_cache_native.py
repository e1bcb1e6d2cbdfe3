"""The fold's classification keys computed in Rust (native/src/classkey.rs) against the Python
specification: the masks equal :func:`analyzer.classify.mask_texts` (pyarrow's RE2) text for
text, and the fold's groups with equal keys are exactly those with equal
:func:`analyzer.class_cache.class_key` (what the classifier caches on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.class_cache import CLASS_KEY, class_key, folded_key
from analyzer.classify import mask_texts
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def masker():
    m = native.masker()
    if m is None:
        pytest.skip("no native masker in this build")
    return m


def _py_mask(texts: list[str]) -> list[str]:
    return mask_texts(pa.array(texts, pa.string())).to_pylist()


def _same_masks(masker, texts: list[str]) -> None:
    want = _py_mask(texts)
    got = [masker.mask(t.encode()).decode() for t in texts]
    assert got == want


#: pieces the masks look at (addresses, IPs, hex and digit runs, the opaque tokens' anchors),
#: and characters where RE2 and the regex crate could differ (\v, Unicode case folding, spaces)
PIECES = st.sampled_from([
    "bob@example.com", "<a.b@c-d.org>", "10.1.2.3", "1.2.3.4.5", "2001:db8::1", "fe80::1:2", "a1b2c3",
    "X9y8", "1234567", "12345", "queued as F83037DEDEA", "<~> CwKQ92SG/jPb Saved", "<~> a+b= Saved",
    "2000 bytes in 0.074, 165.734 KB/sec", "1 bytes in 2, 3 KB/sec", " KB/sec", "Ok: ", "550 5.1.1 ",
    "host mx1.example[10.0.0.1] said:", "\u212a1k2", "\u017f1s2", "é1a2", "\u00a0", "\u2028", "\v", "\f", "\t",
    "~", "_", "-", ".", ":", ";", "'", '"', "(", ")", "[", "]", ",", "@", " ",
])
TEXTS = st.lists(st.one_of(PIECES, st.text(alphabet="aZk09f:.@<>~ _-\v\u212a\u017fé", max_size=6)),
                 max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=20))
def test_masks_equal_the_python_masks(masker, texts):
    _same_masks(masker, texts)


#: ASCII texts without the IPv6 shape: what native/src/maskhand.rs masks by hand
ASCII_PIECES = st.sampled_from([
    "bob@example.com", "<a.b@c-d.org>", "@", "a@", "@b", "10.1.2.3", "1.2.3.4.5", "01.2.3.4_", "1.2.3.4a", "a1.2.3.4",
    "a1b2c3", "X9y8", "1a", "a1", "1234567", "123456", "12345", "9-8.7_x", "queued as F83037DEDEA", "queued as ",
    "xqueued as A1", "<~> CwKQ92SG/jPb Saved", "<~> a+b= Saved", "<~> a Savedx", "<~>  Saved", "Ok: ", "550 5.1.1 ",
    "host mx1.example[10.0.0.1] said:", "\v", "\f", "\t", "~", "_", "-", ".", ";", "'", '"', "(", ")", "[", "]",
    ",", " ", "+", "/", "=",
])
ASCII_TEXTS = st.lists(st.one_of(ASCII_PIECES, st.text(alphabet="aZkq09fF.@<>~ _-+/=\v;", max_size=6)),
                       max_size=12).map("".join)


def test_the_shipped_masker_reads_by_hand(masker):
    """classify's MASK and first OPAQUE pass are maskhand.rs's, verbatim (if this fails, a pattern
    changed: update native/src/maskhand.rs; the regexes mask meanwhile)."""
    assert masker.by_hand


@settings(max_examples=300, deadline=None)
@given(st.lists(ASCII_TEXTS, min_size=1, max_size=20))
def test_masks_read_by_hand_equal_the_python_masks(masker, texts):
    _same_masks(masker, texts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=10))
def test_masks_of_arbitrary_text(masker, texts):
    _same_masks(masker, texts)


def test_masks_of_sample_and_known_reply_texts(masker):
    import json

    texts = []
    for p in (ROOT / "sample_logs").rglob("*"):
        if p.is_file() and p.suffix in (".log", ""):
            texts += p.read_text(errors="replace").splitlines()
    for line in (ROOT / "analyzer" / "rules" / "known_replies.jsonl").read_text().splitlines():
        texts += [v for v in json.loads(line).values() if isinstance(v, str)]
    assert len(texts) > 100
    _same_masks(masker, texts)


def test_masks_are_linear_in_the_text(masker):
    """A long text of near-matches (what backtracks in a backtracking engine) is masked at once."""
    for piece in ("a1", "1a", "1.", "a@", "f:", "<~> a"):
        text = piece * 20000
        assert masker.mask(text.encode()).decode() == _py_mask([text])[0]


def test_fold_keys_group_as_class_key(tmp_path):
    """The fold's groups: equal folded keys exactly where the Python class keys are equal."""
    from analyzer.fast_summary import _fold_split
    from analyzer.parsers import arrow_lines
    from analyzer.parsers.syslog import Clock, HeaderState

    if native.fold_postfix() is None or native.masker() is None:
        pytest.skip("no native fold in this build")
    p = tmp_path / "mail.log"
    generate("postfix", 6000, seed=11, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    arr, _ = arrow_lines(p.read_text().splitlines())
    got = _fold_split(arr, HeaderState(Clock(tz="UTC")))
    assert got is not None
    _same_partition(got[2]["reps"])


def test_exim_fold_keys_group_as_class_key(tmp_path):
    """The Exim fold's groups (native/src/fold_exim.rs: the same Masker over the Exim readers'
    rows): equal folded keys exactly where the Python class keys are equal."""
    from analyzer import fast_summary_exim

    if fast_summary_exim.fold_exim() is None or native.masker() is None:
        pytest.skip("no native Exim fold in this build")
    p = tmp_path / "mainlog"
    generate("exim", 6000, seed=11, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    got = fast_summary_exim._folded(fast_summary_exim.fold_exim(), pa.array(p.read_text().splitlines()), "UTC")
    assert got is not None
    _same_partition(got["reps"])


def _same_partition(reps: pa.Table) -> None:
    """A fold's groups (with their CKEY) keyed by folded_key and by class_key: the same partition."""
    from analyzer.fast_summary import CKEY

    assert CKEY in reps.column_names and reps.num_rows > 50
    table = reps.select(CLASS_KEY)
    fk = folded_key(reps.column(CKEY).to_numpy(), table.column("relay_host"))
    ck = class_key(table)
    # the same partition of the groups (each side's distinct keys map one to one)
    pairs = np.unique(np.stack([fk, ck], axis=1), axis=0)
    assert len(pairs) == len(np.unique(fk)) == len(np.unique(ck))
    assert len(np.unique(ck)) < reps.num_rows  # the raw groups do share masked keys


def test_raw_groups_merged_by_key():
    """_classes: raw groups of equal keys are one class (numbered by first raw group), a raw
    group without a key (Python-parsed) a class of its own; each raw group keeps its text."""
    from analyzer.fast_summary import CKEY, _classes

    reps = pa.table({"event": ["a", "b", "c", "d", "e", "f"],
                     "reply_text": ["t1", "t2", "t3", None, "t5", "t6"],
                     CKEY: pa.array([7, 3, 7, None, 3, None], pa.uint64())})
    classes, cid, texts = _classes(reps)
    assert cid.tolist() == [0, 1, 0, 2, 1, 3]
    assert classes.column("event").to_pylist() == ["a", "b", "d", "f"]
    assert texts.to_pylist() == reps.column("reply_text").to_pylist()


def test_summary_with_and_without_native_keys(tmp_path, monkeypatch):
    """Blocks summarised with the fold's keys (classes, RAW) and without (raw groups keyed in
    the main process) give the general path's summary, cut into small blocks."""
    from analyzer import fast_summary
    from tests.test_native_summary import _summaries

    if native.fold_postfix() is None or native.masker() is None:
        pytest.skip("no native fold in this build")
    p = tmp_path / "mail.log"
    generate("postfix", 4000, seed=3, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    raw = []
    packed = fast_summary._packed
    monkeypatch.setattr(fast_summary, "_packed", lambda *a: (lambda t: raw.append(
        fast_summary.carries_raw(t)) or t)(packed(*a)))
    on, general = _summaries([p], workers=1, block_bytes=8192)
    assert any(raw)
    raw.clear()
    monkeypatch.setattr(native, "masker", lambda: None)
    off, _ = _summaries([p], workers=1, block_bytes=8192)
    assert not any(raw)
    assert on == off == general
