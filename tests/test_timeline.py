"""The report's time table: hour, day, week or month by the span of the window, rows only where there is data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.report.build import _iso
from analyzer.report.timeline import granularity, rows_for_display, timeline


def _ts(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True))


@pytest.mark.parametrize(("span", "expected"), [
    (pd.Timedelta(hours=20), "hour"), (pd.Timedelta(days=2), "hour"), (pd.Timedelta(days=2, hours=1), "day"),
    (pd.Timedelta(days=28), "day"), (pd.Timedelta(weeks=9), "week"), (pd.Timedelta(weeks=300), "month")])
def test_granularity_follows_the_span(span, expected):
    """Up to two days per hour, up to eight weeks per day, up to two years per week, beyond per month."""
    first = pd.Timestamp("2026-11-01T00:00:00Z")
    assert granularity(first, first + span) == expected


def test_day_rows_only_where_there_is_data():
    """28 days with mail on three of them: three day rows, counted per UTC day, no rows of zeros."""
    ts = _ts("2026-11-01T23:59:59Z", "2026-11-01T08:00:00Z", "2026-11-10T00:00:00Z", "2026-11-29T12:00:00Z")
    kinds = {"received": np.array([1, 1, 0, 1], dtype=bool), "rejected": np.array([0, 0, 1, 0], dtype=bool)}
    tl = timeline(ts, kinds, iso=_iso)
    assert tl["granularity"] == "day"
    assert tl["rows"] == [{"start": "2026-11-01T00:00:00Z", "received": 2, "rejected": 0},
                          {"start": "2026-11-10T00:00:00Z", "received": 0, "rejected": 1},
                          {"start": "2026-11-29T00:00:00Z", "received": 1, "rejected": 0}]
    assert tl["omitted"] == 0


def test_weeks_start_on_monday_and_rows_are_capped():
    """Weekly rows start on the ISO Monday; beyond max_rows the rest is counted, not shown."""
    ts = _ts("2026-11-04T10:00:00Z", "2026-11-08T23:00:00Z", "2027-01-20T10:00:00Z")  # Wed, Sun, Wed
    tl = timeline(ts, {"received": np.ones(3, dtype=bool)}, iso=_iso, max_rows=1)
    assert tl["granularity"] == "week"
    assert tl["rows"] == [{"start": "2026-11-02T00:00:00Z", "received": 2}]
    assert tl["omitted"] == 1


def test_display_labels_days_and_counts_omitted_rows():
    """A renderer gets the period in the header, dates as labels, and the count of rows left out."""
    volumes = {"timeline": {"granularity": "day", "omitted": 3,
                            "rows": [{"start": "2026-11-01T00:00:00Z", "received": 5, "delivered": 4,
                                      "deferred": 0, "bounced": 1, "rejected": 2}]}}
    head, rows, omitted = rows_for_display(volumes)
    assert (head, [label for label, _ in rows], omitted) == ("day (UTC)", ["2026-11-01"], 3)
