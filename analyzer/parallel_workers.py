"""How many blocks are parsed side by side (without pyarrow: :mod:`analyzer.head_start` asks
before the run imports it)."""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """Worker processes for parsing: ``$MAILLENS_WORKERS``, else the number of cores."""
    env = os.environ.get("MAILLENS_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
