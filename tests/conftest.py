"""Shared fixtures: where the shared corpus and the sample logs are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_path(*parts: str) -> Path:
    """A path in ../shared/corpus, skipping the test when the corpus is not beside the checkout."""
    p = CORPUS.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared corpus not found at {CORPUS} (CI has it; a bare clone may not)")
    return p


@pytest.fixture
def corpus() -> Path:
    return corpus_path()
