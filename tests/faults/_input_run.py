"""Run the maillens CLI in a child process, under a timeout (a hang fails the test, never the suite)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_logs"


def maillens(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
             **kwargs) -> subprocess.CompletedProcess[str]:
    """``python -m analyzer ARGS`` from the checkout; output as text."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True,
                          timeout=timeout, env=full, cwd=ROOT, check=False, **kwargs)
