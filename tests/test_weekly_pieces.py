"""The weekly's fold of a day in pieces of whole hours (:func:`analyzer.weekly.events._pieces`):
the pieces cover the range in order, cut at hours, and the fold of a day in pieces is the fold
of the day whole (kept rows, folded seconds, counts, examples, messages' first times, findings)."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest

from analyzer.weekly import build_weekly, render_weekly
from analyzer.weekly import events as wev
from tests.test_weekly_fold import NOW, WEEK, _store

UTC = dt.UTC


@pytest.mark.parametrize("lines", [0, 1, 999_999, 1_000_000, 1_000_001, 3_000_000, 7_500_000, 10**9])
def test_pieces_cut_days_at_whole_hours_and_cover_the_range(lines):
    since, until = dt.date(2026, 11, 23), dt.date(2026, 11, 26)
    counts = {"2026-11-23": lines, "2026-11-24": 10, "2026-11-25": lines}
    got = wev._pieces(since, until, counts)
    start = lambda t: pd.Timestamp(t).tz_localize("UTC") if pd.Timestamp(t).tzinfo is None else pd.Timestamp(t)  # noqa: E731
    bounds = [(start(a), start(b)) for a, b in got]
    assert bounds[0][0] == pd.Timestamp("2026-11-23", tz="UTC")
    assert bounds[-1][1] == pd.Timestamp("2026-11-26", tz="UTC")
    for (_, b), (c, _) in itertools.pairwise(bounds):
        assert b == c  # contiguous, disjoint, in order
    for a, b in bounds:
        assert a < b and a.minute == a.second == a.microsecond == 0  # whole hours
        assert b - a <= pd.Timedelta(days=1)
    want = min(max(-(-lines // wev.PIECE_LINES), 1), 24)
    per_day = pd.Series([a.date() for a, _ in bounds]).value_counts()
    assert per_day[dt.date(2026, 11, 23)] == want and per_day[dt.date(2026, 11, 25)] == want
    assert per_day[dt.date(2026, 11, 24)] == 1
    # a day not cut is handed as the dates the whole days were
    assert (dt.date(2026, 11, 24), dt.date(2026, 11, 25)) in got


@pytest.fixture(scope="module", params=["postfix", "exim"])
def store(request, tmp_path_factory):
    return _store(tmp_path_factory.mktemp(f"pieces-{request.param}"), request.param)


def _frames_equal(a: pd.DataFrame | None, b: pd.DataFrame | None) -> None:
    if a is None or b is None:
        assert a is None and b is None
        return
    # (a piece whose lines have no value in a column gives it as objects, None for null: the
    # values are compared, every null as one)
    def plain(df: pd.DataFrame) -> pd.DataFrame:
        df = df.reset_index(drop=True).astype(object)
        return df.where(df.notna(), None)

    pd.testing.assert_frame_equal(plain(a), plain(b))


def test_a_day_folded_in_pieces_is_the_day_folded_whole(store, monkeypatch):
    since, until = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    deferred = wev.deferred_qids(store, dt.date(2026, 11, 16), until)
    whole_rows, whole = wev.week_events(store, since, until, deferred)
    # every day of the test store cut into hours (its days are a few thousand lines)
    monkeypatch.setattr(wev, "PIECE_LINES", 50)
    assert len(wev._pieces(since, until, wev._day_lines(store))) > 7 * 12
    rows, bulk = wev.week_events(store, since, until, deferred)
    pd.testing.assert_frame_equal(rows, whole_rows)
    # the folded seconds: the same rows, in the same order of their last lines within their seconds
    # (``last_order``); rows of different seconds whose keys tie come in the pieces' read order
    # (this store's two servers' logs are parts side by side in time)
    keys = list(bulk.table.columns)
    pd.testing.assert_frame_equal(bulk.table.astype({c: object for c in ("source", "host", "kind")}).sort_values(keys, ignore_index=True),
                                  whole.table.astype({c: object for c in ("source", "host", "kind")}).sort_values(keys, ignore_index=True))
    from analyzer.anomalies.bulk_narrow import last_orders

    got, want = last_orders(bulk.table), last_orders(whole.table)
    assert (got[1:] >= got[:-1]).all() and (want[1:] >= want[:-1]).all()
    for name in ("sent", "ends", "end_examples", "logins", "failures", "failure_examples"):
        _frames_equal(getattr(bulk, name), getattr(whole, name))
    # a message's first time: kept per piece (some messages twice), the first the same
    assert len(bulk.qids) >= len(whole.qids)
    pd.testing.assert_series_equal(bulk.first_seen().sort_index(), whole.first_seen().sort_index())


def test_the_weekly_of_days_in_pieces_is_the_same(store, monkeypatch):
    whole = build_weekly(store, WEEK, now=NOW)
    monkeypatch.setattr(wev, "PIECE_LINES", 300)
    cut = build_weekly(store, WEEK, now=NOW)
    assert whole["findings"]
    assert cut == whole
    for fmt in ("json", "markdown", "text", "html"):
        assert render_weekly(cut, fmt) == render_weekly(whole, fmt)
