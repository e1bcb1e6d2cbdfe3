"""bench/week_shift.py: a store of one ingested log copied into seven days, each a valid store day."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.week_shift import shift_store  # noqa: E402


def test_each_copy_is_the_day_moved_by_whole_days(tmp_path):
    from analyzer.store import ingest, read_events
    from analyzer.store._layout import Root
    from analyzer.store._manifest import check_parts, load_manifest

    src, week = tmp_path / "one", tmp_path / "week"
    ingest([str(ROOT / "sample_logs" / "postfix" / "mail.log")], src, tz="UTC", year=2026)
    one = read_events(src)
    days = sorted({t.date() for t in pd.to_datetime(one["ts"]).dropna()})
    shift_store(src, week, 3)
    m = load_manifest(week)
    check_parts(Root(week), m)  # every listed part there, with the rows the manifest says
    assert len(m.days()) >= 3 and len(m.sources) == 3 * len(load_manifest(src).sources)
    for k in range(3):
        lo = dt.datetime.combine(days[0] + dt.timedelta(days=k), dt.time(), dt.UTC)
        hi = dt.datetime.combine(days[-1] + dt.timedelta(days=k + 1), dt.time(), dt.UTC)
        got = read_events(week, since=lo, until=hi)
        got = got[got["source"].str.endswith(f"#+{k}d") if k else ~got["source"].str.contains("#")]
        assert len(got) == len(one)
        moved = pd.to_datetime(got["ts"]).reset_index(drop=True)
        assert (moved - pd.to_datetime(one["ts"]).reset_index(drop=True) == pd.Timedelta(days=k)).all()
        same = [c for c in one.columns if c not in ("ts", "source")]
        pd.testing.assert_frame_equal(got[same].reset_index(drop=True), one[same].reset_index(drop=True))
