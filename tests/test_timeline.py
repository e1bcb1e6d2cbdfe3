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


def test_deferred_counts_messages_and_deferrals_count_lines():
    """A message deferred 12 times in an hour is one deferred message there and 12 deferrals; a
    deferral without a queue id counts alone; the same message deferred in the next hour counts again."""
    stamps = [f"2026-11-01T10:{m:02d}:00Z" for m in range(0, 60, 5)]       # 12 deferrals of A at 10h
    stamps += ["2026-11-01T10:30:00Z", "2026-11-01T10:31:00Z"]            # B twice, no queue id once
    stamps += ["2026-11-01T11:05:00Z", "2026-11-01T11:06:00Z"]            # A again at 11h, one delivery
    ts = _ts(*stamps)
    qid = ["A"] * 12 + ["B", None] + ["A", "C"]
    deferred = np.array([True] * 15 + [False])
    delivered = ~deferred
    tl = timeline(ts, {"deferred": deferred, "delivered": delivered}, iso=_iso,
                  per_message={"deferred": (pd.Series(qid, dtype=object), "deferrals")})
    assert tl["rows"] == [
        {"start": "2026-11-01T10:00:00Z", "deferred": 3, "delivered": 0, "deferrals": 14},
        {"start": "2026-11-01T11:00:00Z", "deferred": 1, "delivered": 1, "deferrals": 1}]


def test_report_time_table_counts_deferred_messages():
    """The report's time table counts deferred messages like its totals: the rows add up to the
    messages deferred in each period, deferrals to the deferral lines."""
    from analyzer.report.build import _volumes

    n = 6
    ev = pd.DataFrame({
        "ts": _ts(*[f"2026-11-01T10:0{i}:00Z" for i in range(n)]),
        "event": ["delivery"] * n, "status": ["deferred"] * 5 + ["sent"],
        "queue_id": ["Q1"] * 4 + ["Q2", "Q1"], "action": [None] * n,
        "program": ["postfix/smtp"] * n, "direction": ["outbound"] * n, "delay": [None] * n,
    })
    v = _volumes(ev)
    assert (v["deferred"], v["deferrals"]) == (2, 5)
    assert [(r["deferred"], r["deferrals"], r["delivered"]) for r in v["timeline"]["rows"]] == [(2, 5, 1)]


@pytest.mark.parametrize("period", ["hour", "day", "week", "month"])
def test_periods_are_np_unique_of_the_period_starts(period):
    """The periods counted a slice at a time are the sorted distinct period starts and each time's
    index among them, as np.unique gives them, for dense spans and for a sparse one (sorted)."""
    from analyzer.report import timeline as tlm

    rng = np.random.default_rng(7)
    for spread in (3 * 86_400, 40 * 365 * 86_400):  # a few days; four decades (the sparse path)
        secs = np.sort(rng.integers(1_700_000_000, 1_700_000_000 + spread, 5_000))
        ts = pd.Series(pd.to_datetime(secs, unit="s", utc=True))
        old = tlm._SLICE
        tlm._SLICE = 777  # several slices
        try:
            starts, (which,) = tlm._periods([ts], period)
            # the same times in three parts, out of order: each part's indices, the same starts
            cut = rng.permutation(len(ts))
            parts = [ts.iloc[cut[:1_000]], ts.iloc[cut[1_000:1_001]], ts.iloc[cut[1_001:]]]
            starts3, which3 = tlm._periods(parts, period)
        finally:
            tlm._SLICE = old
        want, inv = np.unique(tlm._period_start(ts.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]"), period),
                              return_inverse=True)
        assert starts.dtype == want.dtype and (starts == want).all()
        assert (which == inv.reshape(-1)).all()
        assert starts3.dtype == want.dtype and (starts3 == want).all()
        assert [len(w) for w in which3] == [1_000, 1, len(ts) - 1_001]
        assert (np.concatenate(which3) == inv.reshape(-1)[cut]).all()


def test_pair_keys_as_the_concatenated_strings():
    """The cause lists' keys are ``cause + NUL + fix_id`` (the cause where no fix id), per row."""
    from analyzer.report.pair_codes import _pair_keys

    cause = pd.Series(["a.x", "b.y", "a.x", "c.z", "b.y"], dtype="category")
    fix = pd.Series(["f1", None, "f2", None, None], dtype="category")
    want = (cause.astype(str) + "\x00" + fix.astype(object).where(fix.notna(), cause).astype(str)).tolist()
    assert _pair_keys(cause, fix).tolist() == want == ["a.x\x00f1", "b.y\x00b.y", "a.x\x00f2", "c.z\x00c.z",
                                                      "b.y\x00b.y"]


@pytest.mark.parametrize("hours", [30, 24 * 20])
def test_more_parts_count_as_the_times_joined(hours):
    """Times given as further parts with their own counts (the folded seconds beside the rows)
    make the table of all the times joined, counts 0 where a part has none of a kind; missing
    times in any part are skipped; the per-message kind reads the rows' part only."""
    rng = np.random.default_rng(11)
    base = pd.Timestamp("2026-11-01T00:00:00Z")

    def times(n):
        t = pd.Series(base + pd.to_timedelta(rng.integers(0, hours * 3600, n), unit="s"))
        t[rng.random(n) < 0.05] = pd.NaT
        return t

    ts, t1, t2 = times(400), times(300), times(200)
    kinds = {"received": rng.random(400) < 0.5, "deferred": rng.random(400) < 0.3, "rejected": rng.random(400) < 0.1}
    w1 = {"received": rng.integers(0, 9, 300)}
    keys = pd.Series(rng.choice(["A", "B", "C", None], int(kinds["deferred"].sum())), dtype=object)
    per = {"deferred": (keys, "deferrals")}
    got = timeline(ts, kinds, iso=_iso, per_message=per, more=[(t1, w1), (t2, {})])
    joined = pd.concat([ts, t1, t2], ignore_index=True)
    jk = {"received": np.concatenate([kinds["received"], w1["received"], np.zeros(200)]),
          **{k: np.concatenate([kinds[k], np.zeros(500, dtype=bool)]) for k in ("deferred", "rejected")}}
    want = timeline(joined, jk, iso=_iso, per_message=per)
    assert got == want
    assert list(got["rows"][0]) == ["start", "received", "deferred", "rejected", "deferrals"]
    assert sum(r["received"] for r in got["rows"]) == int(kinds["received"][ts.notna()].sum()
                                                         + w1["received"][t1.notna()].sum())
