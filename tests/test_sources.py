"""Inputs: compression by content, truncated streams, rotation order, globs, directories, stdin."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.reader import parse_logs
from analyzer.sources import SourceError, cut_blocks, expand_inputs, iter_batches, rotation_key

LINES = [f"Nov 29 10:00:{i:02d} mx postfix/qmgr[7]: ABCDEF{i:04X}: removed" for i in range(50)]
TEXT = ("\n".join(LINES) + "\n").encode()


def _read(path):
    warnings = []
    inp = expand_inputs([str(path)])[0]
    lines = [ln for b in iter_batches(inp, warnings.append) for ln in b.lines]
    return lines, warnings


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress,
                                      lambda b: zstandard.ZstdCompressor().compress(b)],
                         ids=["gzip", "bzip2", "xz", "zstd"])
def test_compression_detected_by_content(tmp_path, compress):
    """A compressed log is read whatever its name says."""
    p = tmp_path / "mail.log"  # no telling suffix
    p.write_bytes(compress(TEXT))
    lines, warnings = _read(p)
    assert lines == LINES and warnings == []


def test_truncated_gzip_read_up_to_break(tmp_path):
    """A truncated gzip yields the lines before the break and a warning, not an exception."""
    blob = gzip.compress(TEXT * 200)
    p = tmp_path / "mail.log.2.gz"
    p.write_bytes(blob[: len(blob) // 2])
    lines, warnings = _read(p)
    assert 0 < len(lines) < 50 * 200
    assert lines[0] == LINES[0]
    assert any("truncated" in w or "corrupt" in w for w in warnings)


def test_multi_member_gzip(tmp_path):
    """Concatenated gzip members (as `cat a.gz b.gz` makes) are all read."""
    p = tmp_path / "both.gz"
    p.write_bytes(gzip.compress(TEXT) + gzip.compress(TEXT))
    lines, warnings = _read(p)
    assert lines == LINES + LINES and not warnings


def test_rotation_order_oldest_first(tmp_path):
    """A directory's rotated set is read oldest first, the live file last."""
    for name in ["mail.log", "mail.log.1", "mail.log.2.gz", "mail.log.10.gz", "README.md"]:
        (tmp_path / name).write_bytes(b"")
    names = [os.path.basename(i.name) for i in expand_inputs([str(tmp_path)])]
    assert names == ["mail.log.10.gz", "mail.log.2.gz", "mail.log.1", "mail.log"]
    assert rotation_key("x/mail.log-20261127.gz") < rotation_key("x/mail.log-20261128")


def test_glob_and_missing(tmp_path):
    """Globs expand; a name that matches nothing is a SourceError naming it."""
    (tmp_path / "a.log").write_bytes(TEXT)
    assert len(expand_inputs([str(tmp_path / "*.log")])) == 1
    with pytest.raises(SourceError, match=r"nothing\.log"):
        expand_inputs([str(tmp_path / "nothing.log")])
    with pytest.raises(SourceError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.gz")])


def test_crlf_and_invalid_utf8(tmp_path):
    """CRLF endings are stripped and undecodable bytes are replaced, never fatal."""
    p = tmp_path / "m.log"
    p.write_bytes(LINES[0].encode() + b"\r\n" + b"Nov 29 10:00:01 mx postfix/smtpd[1]: connect from \xff\xfe[192.0.2.1]\r\n")
    res = parse_logs([str(p)], tz="UTC", year=2026)
    assert list(res.events["event"]) == ["removed", "connect"]
    assert res.events["client_ip"].iloc[1] == "192.0.2.1"


def test_batches_keep_line_numbers(tmp_path):
    """Line numbers stay right across batch boundaries."""
    p = tmp_path / "m.log"
    p.write_bytes(TEXT)
    res = parse_logs([str(p)], tz="UTC", year=2026, batch_lines=7)
    assert list(res.events["line_no"]) == list(range(1, 51))
    assert res.events["queue_id"].iloc[33] == "ABCDEF0021"


def test_exim_rejectlog_counted_once_with_mainlog(tmp_path):
    """A rejection in both mainlog and rejectlog is one event; header-dump lines are continuation."""
    reject = ("2024-01-01 10:00:00 H=(helo.test) [192.0.2.9] F=<a@b.test> rejected RCPT <x@ours.test>: "
              "relay not permitted")
    (tmp_path / "mainlog").write_text(
        "2024-01-01 09:59:59 SMTP connection from (helo.test) [192.0.2.9] lost\n" + reject + "\n")
    (tmp_path / "rejectlog").write_text(reject + "\nEnvelope-from: <a@b.test>\nEnvelope-to: <x@ours.test>\n"
                                        "P Received: from [192.0.2.9]\n  by ours.test\n")
    res = parse_logs([str(tmp_path)], tz="UTC")
    assert list(res.events["event"]) == ["lost_connection", "reject"]
    assert res.counts.duplicates == 1
    assert res.counts.continuation == 4
    alone = parse_logs([str(tmp_path / "rejectlog")], tz="UTC")
    assert list(alone.events["event"]) == ["reject"]  # read alone, nothing is dropped


def test_syslog_severity_copies_counted_once(tmp_path):
    """mail.warn repeats mail.log's warnings (rsyslog's default): read together, each counts once."""
    warn = "Nov 29 10:00:01 mx postfix/smtpd[5]: warning: hostname x.test does not resolve to address 192.0.2.3"
    (tmp_path / "mail.log").write_text(LINES[0] + "\n" + warn + "\n")
    (tmp_path / "mail.warn").write_text(warn + "\n")
    res = parse_logs([str(tmp_path)], tz="UTC", year=2026)
    assert sorted(res.events["event"]) == ["dns", "removed"]
    assert res.counts.duplicates == 1
    assert len(parse_logs([str(tmp_path / "mail.warn")], tz="UTC", year=2026).events) == 1


def test_rotation_ranks_put_a_rotated_set_oldest_first_and_no_name_last():
    from analyzer.sources import rotation_ranks

    assert rotation_ranks(["mail.log", "mail.log.2.gz", "mail.log.1"]) == [2, 0, 1, 3]
    assert rotation_ranks([]) == [0]


def _cut_in_one_buffer(chunks, block_bytes):
    """cut_blocks' rule written the plain way (one growing buffer), to hold the real one to."""
    buf, base, mark = bytearray(), 0, block_bytes
    for chunk in chunks:
        buf += chunk
        while base + len(buf) >= mark:
            p = buf.rfind(b"\n", 0, mark - base)
            if p >= 0:
                yield bytes(buf[: p + 1])
                del buf[: p + 1]
                base += p + 1
            mark += block_bytes
    if buf:
        yield bytes(buf)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"\n", b"bb", b"\n\n", b"x" * 37, b"\xc3\xa9"]), max_size=80),
       st.lists(st.integers(0, 400), max_size=8), st.integers(1, 60))
def test_cut_blocks_cuts_any_chunking_as_one_buffer(pieces, cuts, block_bytes):
    """The blocks are bytes, the same however the stream came in chunks (empty ones too), and
    the same as one growing buffer cut at the last newline before each multiple of the size."""
    data = b"".join(pieces)
    at = sorted(min(c, len(data)) for c in cuts)
    chunks = [data[a:b] for a, b in zip([0, *at], [*at, len(data)], strict=True)]
    got = list(cut_blocks(iter(chunks), block_bytes))
    assert got == list(_cut_in_one_buffer(chunks, block_bytes))
    assert got == list(cut_blocks([data], block_bytes)) and b"".join(got) == data
    assert all(type(b) is bytes and b for b in got)
