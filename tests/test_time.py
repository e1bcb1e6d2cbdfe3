"""Time stamps: yearless syslog years, New Year roll-over, zones, and every header flavour."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

from analyzer.reader import parse_lines, parse_logs

REMOVED = "postfix/qmgr[7]: ABCDEF0123: removed"


def _ts(res):
    return [t.isoformat() for t in res.events["ts"]]


def test_new_year_rollover_with_year_option():
    """--year is the first line's year; December to January moves to the next year."""
    res = parse_lines([f"Dec 31 23:59:59 mx {REMOVED}", f"Jan  1 00:00:01 mx {REMOVED}"], year=2025, tz="UTC")
    assert _ts(res) == ["2025-12-31T23:59:59+00:00", "2026-01-01T00:00:01+00:00"]


def test_year_from_modification_time(tmp_path):
    """Without --year, a file modified in January whose first line is in December starts last year."""
    p = tmp_path / "mail.log"
    p.write_text(f"Dec 31 23:59:59 mx {REMOVED}\nJan  1 00:00:01 mx {REMOVED}\n")
    mtime = dt.datetime(2027, 1, 1, 6, 0, tzinfo=dt.UTC).timestamp()
    os.utime(p, (mtime, mtime))
    res = parse_logs([str(p)], tz="UTC")
    assert _ts(res) == ["2026-12-31T23:59:59+00:00", "2027-01-01T00:00:01+00:00"]


def test_zone_applies_to_zoneless_stamps_only():
    """--tz places stamps without an offset; RFC 3339 offsets are kept exactly."""
    res = parse_lines([f"Jul  1 12:00:00 mx {REMOVED}",
                       f"2026-07-01T12:00:00.250+02:00 mx {REMOVED}",
                       "2026-07-01 12:00:00 1rKqXY-000ABC-1x Completed",
                       "2026-07-01 12:00:00 +0000 1rKqXY-000ABC-1x Completed"], year=2026, tz="Europe/Berlin")
    assert _ts(res) == ["2026-07-01T10:00:00+00:00", "2026-07-01T10:00:00.250000+00:00",
                        "2026-07-01T10:00:00+00:00", "2026-07-01T12:00:00+00:00"]


def test_journalctl_short_iso_and_meta_lines():
    """journalctl -o short-iso(-precise) lines parse; '-- Boot …' lines are meta, not errors."""
    res = parse_lines(["-- Boot 0123456789abcdef --",
                       f"2026-11-29T10:00:00+0000 mx {REMOVED}",
                       f"2026-11-29T10:00:00.123456+0100 mx {REMOVED}"], tz="UTC")
    assert _ts(res) == ["2026-11-29T10:00:00+00:00", "2026-11-29T09:00:00.123456+00:00"]
    assert res.counts.meta == 1 and res.counts.unrecognised == 0


def test_single_space_day_and_fractions():
    """'Mar 7 02:09:33' (one space) and fractional seconds are read too."""
    res = parse_lines([f"Mar 7 02:09:33 mx {REMOVED}", f"Mar  7 02:09:33.5 mx {REMOVED}"], year=2026, tz="UTC")
    assert _ts(res) == ["2026-03-07T02:09:33+00:00", "2026-03-07T02:09:33.500000+00:00"]
    assert isinstance(res.events["ts"].iloc[0], pd.Timestamp)


def test_dst_gap_and_overlap_do_not_fail():
    """Local times that DST skips or repeats still get a time (the earliest reading)."""
    res = parse_lines([f"Mar 29 02:30:00 mx {REMOVED}", f"Oct 25 02:30:00 mx {REMOVED}"], year=2026,
                      tz="Europe/Berlin")
    assert res.events["ts"].notna().all()


def test_rollover_across_batches(tmp_path):
    """The year carries over from batch to batch (batches are matched on worker threads)."""
    p = tmp_path / "mail.log"
    lines = [f"Dec 31 23:59:5{i} mx {REMOVED}" for i in range(5)] + [f"Jan  1 00:00:0{i} mx {REMOVED}" for i in range(5)]
    p.write_text("\n".join(lines) + "\n")
    res = parse_logs([str(p)], tz="UTC", year=2025, batch_lines=3)
    years = [t.year for t in res.events["ts"]]
    assert years == [2025] * 5 + [2026] * 5
    assert list(res.events["line_no"]) == list(range(1, 11))
