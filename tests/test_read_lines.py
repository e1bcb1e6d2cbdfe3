"""A worker's block of a file read and cut in one native pass (``native.read_lines``, used by
:func:`analyzer.parallel.run_block`): the same lines, NUL flag and byte count as the Python
reading (:func:`analyzer.sources.read_range`) cut by :func:`analyzer.lines.block_array`, and
None wherever that reading must run (a CR, bytes that are not UTF-8, nothing read)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.lines import block_array
from analyzer.parallel import BlockJob, Start, _read_lines, run_block
from analyzer.sources import plan_blocks, read_range

from .conftest import SAMPLES

pytestmark = pytest.mark.skipif(native.read_lines() is None if native.available() else True,
                                reason="the native engine (with read_lines) is not built")


def _job(path, start: int, end: int) -> BlockJob:
    return BlockJob(os.path.basename(str(path)), str(path), start, end, None, True, "UTC", 2026, None, None, False,
                    Start(), True)


def _python(path, start: int, end: int):
    return block_array(read_range(path, start, end))


def _same(path, start: int, end: int) -> None:
    got, want = _read_lines(_job(path, start, end)), _python(path, start, end)
    if got is None:  # left to Python: only where it cuts otherwise (a list) or there is nothing
        data = read_range(path, start, end)
        assert not data or b"\r" in data or not _utf8(data)
        return
    assert got.array.equals(want.array) and got.nul == want.nul and got.nbytes == want.nbytes
    assert got.array.validate(full=True) is None


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_the_sample_logs_blocks_read_alike():
    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".gz", ".bz2", ".xz", ".zst"))
    assert files
    for path in files:
        size = path.stat().st_size
        for start, end in plan_blocks(path, 4096, size):
            _same(path, start, end)
        _same(path, 0, size)
        _same(path, 0, size + 100)  # past the end: what is there


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=40) | st.text(alphabet="ab \n\r\u00e9\u20ac\U0001f600\x00", max_size=60).map(
    str.encode), max_size=40), st.integers(0, 50), st.integers(0, 50))
def test_any_bytes_and_ranges_read_alike(tmp_path_factory, parts, lo, cut):
    path = tmp_path_factory.mktemp("rl") / "block.log"
    data = b"".join(parts)
    path.write_bytes(data)
    start = min(lo, len(data))
    _same(path, start, max(start, len(data) - cut))


def test_big_blocks_cut_across_the_native_reads(tmp_path):
    """Lines and multi-byte characters cut by the 256 KiB reads (lines.rs READ_CHUNK)."""
    line = "queued as ABC123 \u00e9\u20ac\U0001f600 " + "x" * 70 + "\n"
    data = (line * 20_000).encode() + "tail \u20ac".encode()
    path = tmp_path / "big.log"
    path.write_bytes(data)
    for start, end in [(0, len(data)), (3, len(data) - 1), (len(line) * 7 + 1, len(data) - 2)]:
        _same(path, start, end)


def test_a_missing_file_is_read_by_python_which_reports_it(tmp_path):
    job = _job(tmp_path / "gone.log", 0, 100)
    assert _read_lines(job) is None
    r = run_block(job)
    assert r.warning and "read error at byte 0" in r.warning and r.lines == 0


def test_the_python_engine_reads_as_before(monkeypatch):
    monkeypatch.setenv(native.ENV, "python")
    path = next(p for p in SAMPLES.rglob("*.log") if p.is_file())
    assert _read_lines(_job(path, 0, path.stat().st_size)) is None
