"""Shared fixtures: where the shared corpus and the sample logs are; an ended process's id."""

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


def dead_pid() -> int:
    """The id of a process that has ended (for files named after a killed run's process)."""
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def corpus() -> Path:
    return corpus_path()
