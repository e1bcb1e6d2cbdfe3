"""The weekly report's day-by-day fold (:mod:`analyzer.weekly.events`) gives the findings that the
whole week read as one table of rows (every line a row, nothing folded) gives, on stores cut
awkwardly: incidents across midnight, a destination and an attacker seen on one day only, a day
without any line inside the week and one in the history week, two servers."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.store import ingest, read_events
from analyzer.weekly import build_weekly, render_weekly
from bench.generate_logs import generate

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
WEEK = "2026-W48"


def _store(tmp: Path, mta: str) -> Path:
    """W47 and W48 of two servers, 2026-11-20 and 2026-11-26 without a line."""
    spans = [("a", "2026-11-16T00:00:00", 96), ("b", "2026-11-21T00:00:00", 120), ("c", "2026-11-27T00:00:00", 72)]
    incidents = {
        # across midnight 24/25 (the week's second and third day)
        "b": ["521_burst:example.org@95h+3h", "sasl_bruteforce:198.51.100.66@71h30m+1h",
              "deferral_buildup:slow.example@94h+4h"],
        # on one day only: a destination that is deferred, then a silence, then a brute force from another IP
        "c": ["deferral_buildup:oneday.example@10h+3h", "silence@30h+2h", "sasl_bruteforce:203.0.113.9@50h+1h"],
    }
    names = []
    for host, seed0 in (("mx1", 50), ("mx2", 60)):
        for i, (part, start, hours) in enumerate(spans):
            name = f"{host}-{part}.log"
            generate(mta, 5000 if part != "c" else 4000, seed=seed0 + i, out=str(tmp / name), start=start,
                     hours=hours, host=host, incidents=incidents.get(part, []) if host == "mx1" else [])
            names.append(name)
    cwd = os.getcwd()
    os.chdir(tmp)  # relative names: evidence does not name the temporary directory
    try:
        for name in names:
            ingest([name], tmp / "store", tz="UTC", year=2026)
    finally:
        os.chdir(cwd)
    return tmp / "store"


def whole_week(store: Path, since: dt.date, until: dt.date) -> tuple[pd.DataFrame, None]:
    """The reference: every line of ``[since, until)`` a row, read at once, in the rows' order."""
    from analyzer.anomalies.aggregates import ORDER_COLUMN
    from analyzer.weekly.events import ORDER, READ_COLUMNS

    ev = read_events(store, since=since, until=until, columns=READ_COLUMNS)
    ev = ev.sort_values(ORDER, kind="stable", ignore_index=True)
    return ev.assign(**{ORDER_COLUMN: np.arange(len(ev), dtype=np.int64)}), None


@pytest.fixture(scope="module", params=["postfix", "exim"])
def store(request, tmp_path_factory) -> Path:
    return _store(tmp_path_factory.mktemp(f"fold-{request.param}"), request.param)


def test_day_by_day_fold_gives_the_whole_weeks_findings(store, monkeypatch):
    import analyzer.weekly.build as build

    days = set(pd.Series(read_events(store, columns=["ts"])["ts"]).dt.strftime("%Y-%m-%d"))
    assert "2026-11-26" not in days and "2026-11-20" not in days and "2026-11-25" in days
    folded = build_weekly(store, WEEK, now=NOW)
    monkeypatch.setattr(build, "week_events", whole_week)
    reference = build_weekly(store, WEEK, now=NOW)
    assert folded["findings"], "the incidents make findings"
    detectors = {f["detector"] for f in folded["findings"]}
    assert {"abuse", "deferral_buildup"} <= detectors
    assert folded == reference
    assert render_weekly(folded, "markdown") == render_weekly(reference, "markdown")


def test_fold_keeps_fewer_rows_and_counts_every_line(store):
    """Rows plus folded lines are every line of the week; the folded ones are most of them."""
    from analyzer.weekly.build import week_events

    since, until = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    rows, bulk = week_events(store, since, until)
    n = len(read_events(store, since=since, until=until, columns=["ts"]))
    assert len(rows) + len(bulk) == n
    assert len(bulk) > len(rows)
    # every failure, reject, authentication failure, abnormal session end and delivery stays a row,
    # but the sent outbound deliveries: counted per hour, domain and provider (Bulk.sent)
    from analyzer.anomalies.aggregates import DELIVERED, _eq
    from analyzer.anomalies.sent import is_local_sent, is_sent
    from analyzer.weekly.events import READ_COLUMNS

    ev = read_events(store, since=since, until=until, columns=READ_COLUMNS)
    for df in (ev, rows):
        df["_read"] = (_eq(df["outcome"], ("transient_failure", "permanent_failure"))
                       | _eq(df["event"], ("reject", "auth_failure", "lost_connection", "timeout", "delivery"))
                       | df["sasl_username"].notna().to_numpy(dtype=bool))
    sent, local = is_sent(ev), is_local_sent(ev)
    assert ev["_read"].sum() > 1000 and sent.sum() > 100
    assert not is_sent(rows).any() and not is_local_sent(rows).any()
    assert rows["_read"].sum() == ev["_read"].sum() - sent.sum() - local.sum()
    assert int(bulk.sent["n"].sum()) == int(sent.sum())
    assert int(bulk.table.loc[bulk.table["kind"] == DELIVERED, "n"].sum()) == int(sent.sum() + local.sum())
    assert (bulk.sent["sec"] % 3600 == 0).all()
    # a message's first time is kept once per queue id and day
    q = bulk.qids.assign(day=bulk.qids["sec"] // 86400)
    assert not q.duplicated(["qid", "day"]).any()


def test_folded_first_seen_is_each_messages_first_line(store):
    """Cut per day, the folded queue ids still give each message's first time among its folded lines."""
    from analyzer.anomalies.aggregates import counted_apart, is_bulk, qid_hash
    from analyzer.anomalies.sent import is_local_sent, is_sent
    from analyzer.weekly.build import week_events
    from analyzer.weekly.events import READ_COLUMNS, traffic_only

    since, until = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    _, bulk = week_events(store, since, until)
    ev = read_events(store, since=since, until=until, columns=READ_COLUMNS)
    folded = ev[(is_bulk(ev) | counted_apart(ev) | traffic_only(ev) | is_sent(ev) | is_local_sent(ev))
                & ev["queue_id"].notna().to_numpy(dtype=bool)]
    ns = folded["ts"].astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]").astype(np.int64)
    want = pd.Series(ns).groupby(qid_hash(folded["queue_id"])).min()
    got = bulk.first_seen()
    assert len(want) > 100
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
