"""What /var/log really holds, item 13: many small files are parsed together, each keeping its own identity."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.reader import parse_logs

from ._input_run import SAMPLES

ODD = ("Nov 29 15:51:40 vm postfix/smtpd[999]: something no pattern knows about 42\n"
       "this line has no header at all\n"
       "\n")


def _cut(src: Path, dest: Path, stem: str, size: int) -> None:
    lines = src.read_text().splitlines(keepends=True)
    pieces = [lines[i:i + size] for i in range(0, len(lines), size)]
    for n, piece in enumerate(pieces):
        (dest / f"{stem}.{len(pieces) - n}").write_text("".join(piece))


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Small files of three formats (syslog, RFC 3339, Exim), one with unknown and headerless lines."""
    (tmp_path / "pf").mkdir()
    (tmp_path / "iso").mkdir()
    (tmp_path / "ex").mkdir()
    _cut(SAMPLES / "postfix" / "mail.log.1", tmp_path / "pf", "mail.log", 9)
    _cut(SAMPLES / "formats" / "postfix-syslog-rfc3339" / "mail.log", tmp_path / "iso", "mail.log", 13)
    _cut(SAMPLES / "exim" / "mainlog.1", tmp_path / "ex", "mainlog", 11)
    (tmp_path / "pf" / "odd.log").write_text(ODD * 3)
    return tmp_path


def test_many_small_files_equal_each_file_alone(many: Path) -> None:
    """Every event keeps its file, line number, year and flavour: a joined parse equals parsing each file alone."""
    together = parse_logs([str(many)], tz="UTC", year=2026)
    names = [f.name for f in together.files]
    assert len(names) > 60
    alone = [parse_logs([n], tz="UTC", year=2026) for n in names]
    key = ["source", "line_no"]
    want = pd.concat([r.events for r in alone], ignore_index=True).sort_values(key, ignore_index=True)
    got = together.events.sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    for f, r in zip(together.files, alone, strict=True):
        assert (f.name, f.lines, f.events, f.flavour, f.not_mail) == (
            r.files[0].name, r.files[0].lines, r.files[0].events, r.files[0].flavour, r.files[0].not_mail)
    assert together.counts.headerless == 3 and together.counts.unrecognised == 3
    odd = str(many / "pf" / "odd.log")
    assert together.counts.headerless_samples[0] == (odd, 2, "this line has no header at all")
    [samples] = [s for kind, s in together.counts.samples.items() if kind.startswith("postfix/smtpd: something")]
    assert samples[0] == (odd, 1, ODD.splitlines()[0])
