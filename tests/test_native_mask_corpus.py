"""The Rust masker (native/src/classkey.rs, which keys the folds' groups) equals the Python
specification (:func:`analyzer.classify.mask_texts`) byte for byte over the shared corpus's log
files: whole lines and their messages after the syslog header (generated, sample and hypothesis
texts: tests/test_class_cache_native.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from analyzer import native
from analyzer.classify import mask_texts

from .conftest import CORPUS


def _corpus_lines() -> list[str]:
    out: list[str] = []
    for p in sorted(CORPUS.rglob("*")):
        name = p.name.lower()
        if p.is_file() and p.suffix != ".gz" and (p.suffix == ".log" or "mail" in name or "mainlog" in name):
            out += p.read_text(errors="replace").splitlines()
    return out


def test_rust_masks_equal_python_masks_over_the_corpus():
    m = native.masker()
    if m is None:
        pytest.skip("no native masker in this build")
    if not CORPUS.is_dir():
        pytest.skip("no shared corpus here")
    lines = _corpus_lines()
    assert len(lines) > 1000
    texts = lines + [line.split(": ", 1)[1] for line in lines if ": " in line]
    want = mask_texts(pa.array(texts, pa.string())).to_pylist()
    got = [m.mask(t.encode()).decode() for t in texts]
    bad = [(t, g, w) for t, g, w in zip(texts, got, want, strict=True) if g != w]
    assert not bad, bad[:3]
    assert sum(g != t for g, t in zip(got, texts, strict=True)) > 100  # the masks did mask
