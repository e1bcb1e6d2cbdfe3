"""The summary's blocks (analyzer.summary_blocks): bigger where every input is a big plain file,
the stream's elsewhere; the summary the same whatever the cuts."""

from __future__ import annotations

import gzip
import shutil

import pytest

from analyzer import summary_blocks
from analyzer.pipeline import EventStream
from analyzer.sources import expand_inputs
from tests.test_native_summary import _summaries, days  # noqa: F401  (days: a fixture)


def _stream(*paths, **kw) -> EventStream:
    return EventStream(expand_inputs([str(p) for p in paths]), tz="UTC", **kw)


def test_big_plain_files_get_the_bigger_blocks(days, monkeypatch):  # noqa: F811
    size = days["postfix"].stat().st_size
    monkeypatch.setattr(summary_blocks, "BLOCK_BYTES", size // 3)
    stream = _stream(days["postfix"], days["exim"], block_bytes=size // 6)
    summary_blocks.bigger_blocks(stream)
    assert stream.block_bytes == size // 3
    bigger = _stream(days["postfix"], block_bytes=size // 2)  # already as big: left
    summary_blocks.bigger_blocks(bigger)
    assert bigger.block_bytes == size // 2
    monkeypatch.setattr(summary_blocks, "BLOCK_BYTES", size)  # fewer than two blocks of it: left
    small = _stream(days["postfix"], block_bytes=size // 6)
    summary_blocks.bigger_blocks(small)
    assert small.block_bytes == size // 6


def test_stdin_compressed_and_batches_keep_the_streams_blocks(days, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setattr(summary_blocks, "BLOCK_BYTES", 1 << 16)
    gz = tmp_path / "day.log.gz"
    with open(days["postfix"], "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    for stream in (_stream(days["postfix"], gz, block_bytes=1 << 14),
                   _stream(days["postfix"], block_bytes=1 << 14, batch_lines=1000)):
        summary_blocks.bigger_blocks(stream)
        assert stream.block_bytes == 1 << 14


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_the_summary_is_the_same_with_the_bigger_blocks(days, monkeypatch, mta):  # noqa: F811
    size = days[mta].stat().st_size
    monkeypatch.setattr(summary_blocks, "BLOCK_BYTES", size // 5)
    fast, general = _summaries([days[mta]], workers=2, block_bytes=size // 40)
    assert fast == general


def test_a_long_runs_calls_give_the_heap_back_around_them(monkeypatch):
    events = []
    monkeypatch.setattr(summary_blocks, "trim", lambda: events.append("trim"))

    def call(held, attribution):
        events.append(("call", held, attribution))

    for seen in (1, summary_blocks.LONG_RUN_BLOCKS):  # a 1M-line day's calls: none given back
        summary_blocks.classified(call, [seen], "a", seen)
    assert events == [("call", [1], "a"), ("call", [summary_blocks.LONG_RUN_BLOCKS], "a")]
    events.clear()
    summary_blocks.classified(call, ["b"], None, summary_blocks.LONG_RUN_BLOCKS + 1)
    assert events == ["trim", ("call", ["b"], None), "trim"]


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_the_summary_is_the_same_with_the_heap_given_back(days, monkeypatch, mta):  # noqa: F811
    from analyzer import heap

    trims = []
    monkeypatch.setattr(summary_blocks, "trim", lambda: (trims.append(1), heap.trim()))
    size = days[mta].stat().st_size
    monkeypatch.setattr(summary_blocks, "BLOCK_BYTES", size // 12)
    monkeypatch.setattr(summary_blocks, "LONG_RUN_BLOCKS", 3)  # every call after the third block
    fast, general = _summaries([days[mta]], workers=2, block_bytes=size // 40)
    assert trims
    assert fast == general
