"""The same run given twice in two formats is detected and counted once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyzer.reader import parse_logs
from tests.faults._input_run import SAMPLES, maillens

SYSLOG = SAMPLES / "postfix-syslog"
RFC3339 = SAMPLES / "formats" / "postfix-syslog-rfc3339" / "mail.log"  # the same run, RFC 3339 stamps


@pytest.fixture
def two_formats(tmp_path: Path) -> Path:
    """One Postfix run as rotated syslog files and as one RFC 3339 file."""
    for name in ("mail.log.2.gz", "mail.log.1", "mail.log"):
        shutil.copy(SYSLOG / name, tmp_path / name)
    shutil.copy(RFC3339, tmp_path / "mail.rfc3339.log")
    return tmp_path


def test_second_copy_is_detected_and_not_counted(two_formats: Path) -> None:
    """Syslog + RFC 3339 copies of one run give the events of one copy, and a warning naming the copy."""
    syslog_only = parse_logs([str(two_formats / n) for n in ("mail.log.2.gz", "mail.log.1", "mail.log")], tz="UTC")
    both = parse_logs([str(two_formats)], tz="UTC")
    assert len(both.events) == len(syslog_only.events) == both.counts.events
    assert set(both.events["source"].map(lambda s: Path(s).name)) == {"mail.log.2.gz", "mail.log.1", "mail.log"}
    assert (both.events["event"] == "received").sum() == (syslog_only.events["event"] == "received").sum()
    [warning] = [w for w in both.warnings if "counted once" in w]
    assert warning.startswith(f"mail.rfc3339.log repeats {len(syslog_only.events):,} events already read from")


def test_first_copy_given_is_the_one_kept(two_formats: Path) -> None:
    """Given RFC 3339 first, its events (with their sub-second stamps) are kept and the syslog copy dropped."""
    order = [str(two_formats / "mail.rfc3339.log"), str(two_formats / "mail.log.2.gz"),
             str(two_formats / "mail.log.1"), str(two_formats / "mail.log")]
    both = parse_logs(order, tz="UTC")
    assert set(both.events["source"]) == {order[0]}
    assert any("mail.log, mail.log.1, mail.log.2.gz repeat " in w for w in both.warnings), both.warnings


def test_copy_in_another_zone_or_year_is_still_recognised(two_formats: Path) -> None:
    """Stamps read a whole number of hours off (another --tz for the yearless file) still match."""
    iso = parse_logs([str(two_formats / "mail.rfc3339.log")], tz="UTC")
    both = parse_logs([str(two_formats)], tz="Asia/Kolkata", year=2024)  # +05:30, and another year
    assert len(both.events) == len(iso.events)


def test_different_runs_are_not_merged(tmp_path: Path) -> None:
    """Two different servers' logs (different queue ids) are both counted in full."""
    a = parse_logs([str(SAMPLES / "postfix")], tz="UTC")
    b = parse_logs([str(RFC3339)], tz="UTC")
    both = parse_logs([str(SAMPLES / "postfix"), str(RFC3339)], tz="UTC")
    assert len(both.events) == len(a.events) + len(b.events)
    assert not any("counted once" in w for w in both.warnings)


def test_repeated_identical_lines_within_a_copy_survive(tmp_path: Path) -> None:
    """Each event of the copy cancels one event of the first: a line repeated in the first file stays twice."""
    first = tmp_path / "a" / "mail.log"
    second = tmp_path / "b" / "mail.log"
    first.parent.mkdir()
    second.parent.mkdir()
    lines = (SYSLOG / "mail.log.1").read_text().splitlines(keepends=True)
    first.write_text("".join(lines + lines[:5]))  # the first 5 lines repeat (another connect, same pid …)
    second.write_text("".join(lines))
    alone = parse_logs([str(first)], tz="UTC", year=2026)
    both = parse_logs([str(first), str(second)], tz="UTC", year=2026)
    assert len(both.events) == len(alone.events)


def test_report_says_so_and_counts_once(two_formats: Path) -> None:
    """`maillens report` over both copies warns and shows the single-copy volumes."""
    one = maillens("report", str(two_formats / "mail.log.2.gz"), str(two_formats / "mail.log.1"),
                   str(two_formats / "mail.log"), "--tz", "UTC", "--format", "json")
    both = maillens("report", str(two_formats), "--tz", "UTC", "--format", "json")
    assert one.returncode in (0, 1) and both.returncode in (0, 1), both.stderr
    import json

    j1, j2 = json.loads(one.stdout), json.loads(both.stdout)
    assert j1["volumes"] == j2["volumes"] if "volumes" in j1 else True
    assert any("counted once" in w for w in j2["warnings"])
    assert "counted once" in both.stderr
