"""`parse -o x.parquet` cuts big plain files in the summary's bigger blocks
(:func:`analyzer.summary_blocks.bigger_blocks`): the file read back is the same whatever the cuts
(its row groups too; the integer columns' encodings are chosen from the first batch, as before,
so a bigger first batch may choose others); the other outputs keep the stream's blocks."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from analyzer import summary_blocks
from analyzer.cli import app
from tests.test_native_summary import days  # noqa: F401  (days: a fixture)

runner = CliRunner()


def _spy(monkeypatch: pytest.MonkeyPatch, small: int | None = None, big: int | None = None) -> list[int]:
    """``bigger_blocks`` watched: the stream's blocks set to ``small`` first (the days are small),
    then grown to ``big`` by the real one (None: not grown); the block sizes it left, a call each."""
    real = summary_blocks.bigger_blocks
    seen: list[int] = []

    def spy(stream) -> None:
        if small is not None:
            stream.block_bytes = small
        if big is not None:
            monkeypatch.setattr(summary_blocks, "BLOCK_BYTES", big)
            real(stream)
        seen.append(stream.block_bytes)

    monkeypatch.setattr(summary_blocks, "bigger_blocks", spy)
    return seen


def _parse(path, out) -> None:
    r = runner.invoke(app, ["--workers", "2", "parse", str(path), "--tz", "UTC", "--year", "2026", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_the_parquet_file_is_the_same_with_the_bigger_blocks(days, monkeypatch, tmp_path, mta):  # noqa: F811
    size = days[mta].stat().st_size
    small, big = tmp_path / "small.parquet", tmp_path / "big.parquet"
    with monkeypatch.context() as m:
        seen = _spy(m, small=size // 40)
        _parse(days[mta], small)
    assert seen == [size // 40]
    with monkeypatch.context() as m:
        seen = _spy(m, small=size // 40, big=size // 5)
        _parse(days[mta], big)
    assert seen == [size // 5]  # grown: five blocks, not forty
    a, b = pq.ParquetFile(small), pq.ParquetFile(big)
    groups = [[f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)] for f in (a, b)]
    assert groups[0] == groups[1]  # the row groups are cut by rows, not by blocks
    assert b.read().equals(a.read())
    assert b.schema_arrow.metadata == a.schema_arrow.metadata


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_other_outputs_keep_the_streams_blocks(days, monkeypatch, tmp_path, suffix):  # noqa: F811
    seen = _spy(monkeypatch)
    _parse(days["postfix"], tmp_path / f"events{suffix}")
    assert seen == []
