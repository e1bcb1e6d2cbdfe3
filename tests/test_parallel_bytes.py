"""A block's lines built from its bytes (analyzer.sources.Lines) read as the list of str the
older way gives, and parse alike, whatever the bytes hold."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from analyzer.parsers import FileContext, parse_batch
from analyzer.parsers.syslog import Clock, HeaderState
from analyzer.pipeline import EventStream
from analyzer.reader import collect
from analyzer.sources import Lines, block_array, block_lines, expand_inputs
from bench.generate_logs import generate

AWKWARD = [
    b"", b"a", b"a\n", b"a\nb", b"\n", b"\n\n", b"ab\n\ncd\n", b"x\x00y\nz", b"caf\xc3\xa9\n", b"bad\xff\nok\n",
    b"crlf\r\nx\r\n", b"last\r", b"a\rb\n", "é€😀\nx".encode(), b"\x00\x00\n", b"\xe2\x82\n",  # a cut character
]


def _soup(seed: int, n: int = 400) -> bytes:
    rnd = random.Random(seed)
    alphabet = b"ab \n\n\r\x00\xc3\xa9\xff:[]"
    return bytes(rnd.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("data", AWKWARD + [_soup(s) for s in range(20)])
@pytest.mark.parametrize("ends_file", [True, False])
def test_block_array_reads_as_block_lines(data, ends_file):
    """Same lines, same count, same items by index (negative too) and by slice."""
    got, want = block_array(data, ends_file=ends_file), block_lines(data, ends_file=ends_file)
    assert list(got) == want and len(got) == len(want)
    if want:
        assert got[0] == want[0] and got[-1] == want[-1] and got[1:3] == want[1:3]
    if isinstance(got, Lines):  # built from the bytes: only valid UTF-8 without CR
        assert b"\r" not in data
        assert got.nul == (b"\x00" in data) and got.nbytes == len(data)
        with pytest.raises(IndexError):
            got[len(want)]


def test_plain_block_is_one_arrow_array():
    """A block of ordinary lines is not decoded line by line."""
    lines = block_array(b"one\ntwo\n\nfour")
    assert isinstance(lines, Lines) and lines.array.to_pylist() == ["one", "two", "", "four"]


def _ctx() -> FileContext:
    return FileContext("x", HeaderState(Clock(tz="UTC", year=2026)))


def _day_with_awkward_lines(path, *, crlf: bool, bad: bool = True) -> bytes:
    text = generate(mta="postfix", lines=3000, seed=11, start="2026-11-28T00:00:00", hours=24)["text"]
    lines = text.encode().split(b"\n")
    lines[100] = lines[100] + b" \x00\x00 zeros"  # NUL bytes inside a line
    if bad:
        lines[200] = lines[200] + b" \xff\xfe broken"  # not UTF-8
    lines[300] = b""
    lines[400] = b"not a syslog line at all"
    data = b"\n".join(lines).rstrip(b"\n")  # the file ends without a newline
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(("crlf", "bad"), [(False, False), (False, True), (True, False)])
def test_block_bytes_parse_as_decoded_lines(tmp_path, crlf, bad):
    """parse_batch of the Arrow lines equals parse_batch of the decoded list, row for row."""
    data = _day_with_awkward_lines(tmp_path / "mail.log", crlf=crlf, bad=bad)
    assert isinstance(block_array(data), Lines) == (not crlf and not bad)
    t1, c1 = parse_batch(block_array(data), 1, _ctx())
    t2, c2 = parse_batch(block_lines(data), 1, _ctx())
    assert t1.equals(t2) and c1 == c2
    assert c1.nul == 1 and c1.headerless >= 1 and t1.num_rows > 2500


@pytest.mark.parametrize(("crlf", "bad"), [(False, False), (False, True), (True, True)])
def test_awkward_day_alike_in_blocks_lines_and_workers(tmp_path, crlf, bad):
    """NUL bytes, a non-UTF-8 line, CR LF and no final newline: the same tables, counts and
    summaries read by lines (lists), in small blocks (Arrow lines), and in two processes."""
    _day_with_awkward_lines(tmp_path / "mail.log", crlf=crlf, bad=bad)

    def run(**kw):
        stream = EventStream(expand_inputs([str(tmp_path / "mail.log")]), tz="UTC", year=2026, **kw)
        return collect(stream)

    by_lines = run(workers=1, batch_lines=500)
    in_blocks = run(workers=1, block_bytes=16384)
    two = run(workers=2, block_bytes=16384)
    for other in (in_blocks, two):
        pd.testing.assert_frame_equal(by_lines.events, other.events)
        assert by_lines.counts == other.counts and by_lines.files == other.files
    assert by_lines.counts.nul == 1 and len(by_lines.events) > 2500
