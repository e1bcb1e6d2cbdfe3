"""analyzer.heap finds glibc without ctypes.util where glibc's own name loads: ctypes.util
imports subprocess, shutil and tempfile (~10 ms of a `parse -o` run's CPU), only for
find_library's fallback."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest


def _glibc_by_name() -> bool:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return False
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc_by_name(), reason="glibc by its own name only")
def test_libc_found_without_ctypes_util() -> None:
    code = ("import sys\nfrom analyzer import heap\nlibc = heap._libc()\n"
            "print(libc is not None, 'ctypes.util' in sys.modules, 'subprocess' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False", "False"]


def test_the_fallback_still_finds_a_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where glibc's own name does not load, find_library's name is tried (the module imported then)."""
    from analyzer import heap

    real = ctypes.CDLL
    tried: list[str] = []

    def cdll(name: str, *a: object, **k: object) -> object:
        tried.append(name)
        if name == "libc.so.6" and len(tried) == 1:
            raise OSError("not this name")
        return real(name, *a, **k)

    heap._libc.cache_clear()
    monkeypatch.setattr(ctypes, "CDLL", cdll)
    try:
        heap._libc()
    finally:
        heap._libc.cache_clear()
    assert len(tried) == 2 and "ctypes.util" in sys.modules
