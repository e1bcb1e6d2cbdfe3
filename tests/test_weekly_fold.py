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


def whole_week(store: Path, since: dt.date, until: dt.date, deferred: object = None) -> tuple[pd.DataFrame, None]:
    """The reference: every line of ``[since, until)`` a row, read at once, in the rows' order
    (``deferred``, the queue ids the fold keeps, is not needed: nothing is folded)."""
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
    # and the session ends and SASL logins: counted per hour (Bulk.ends, Bulk.logins)
    from analyzer.anomalies.folded import is_login, is_session_end

    ends, logins = is_session_end(ev), is_login(ev)
    # and the quiet failures (DNSBL hits, protocol errors): counted per hour (Bulk.failures)
    from analyzer.anomalies.failed import is_quiet_failure

    fails = is_quiet_failure(ev)
    assert ev["_read"].sum() > 1000 and sent.sum() > 100 and ends.sum() > 100 and logins.sum() > 10
    assert fails.sum() > 100
    assert not is_sent(rows).any() and not is_local_sent(rows).any()
    assert not is_session_end(rows).any() and not is_login(rows).any() and not is_quiet_failure(rows).any()
    assert rows["_read"].sum() == (ev["_read"].sum() - sent.sum() - local.sum() - ends.sum() - logins.sum()
                                   - fails.sum())
    assert int(bulk.failures["n"].sum()) == int(fails.sum())
    assert int(bulk.ends["n"].sum()) == int(ends.sum())
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
    from analyzer.anomalies.folded import is_login, is_quiet_disconnect, is_session_end

    also = is_login(ev) | is_quiet_disconnect(ev) | is_session_end(ev)
    folded = ev[(is_bulk(ev) | counted_apart(ev) | traffic_only(ev) | is_sent(ev) | is_local_sent(ev) | also)
                & ev["queue_id"].notna().to_numpy(dtype=bool)]
    ns = folded["ts"].astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]").astype(np.int64)
    want = pd.Series(ns).groupby(qid_hash(folded["queue_id"])).min()
    got = bulk.first_seen()
    assert len(want) > 100
    assert got.sort_index().to_dict() == want.sort_index().to_dict()


def test_only_the_deferred_messages_queue_ids_are_kept(store):
    """The fold keeps the first time of the deferred messages only (all the deferral detector looks
    up): fewer queue ids, the same first time for each deferred one."""
    from analyzer.anomalies.aggregates import qid_hash
    from analyzer.weekly.events import deferred_qids, week_events

    lo, hi = dt.date(2026, 11, 16), dt.date(2026, 11, 30)
    wanted = deferred_qids(store, lo, hi)
    ev = read_events(store, since=lo, until=hi, columns=["event", "status", "queue_id"])
    m = (ev["event"] == "delivery").fillna(False) & (ev["status"] == "deferred").fillna(False) & ev["queue_id"].notna()
    assert len(wanted) and set(wanted.tolist()) == set(qid_hash(ev.loc[m, "queue_id"]).tolist())
    _, every = week_events(store, dt.date(2026, 11, 23), hi)
    _, kept = week_events(store, dt.date(2026, 11, 23), hi, wanted)
    assert 0 < len(kept.qids) < len(every.qids)
    assert set(kept.qids["qid"].tolist()) == set(every.qids["qid"].tolist()) & set(wanted.tolist())
    pd.testing.assert_series_equal(kept.first_seen(), every.first_seen().loc[kept.first_seen().index])


def test_kept_rows_hold_the_texts_as_the_detectors_read_them(store):
    """The kept rows' reply texts are masked as the new-signature detector masks them (masking
    again changes nothing) but on our own lines; details and recipients only where a detector
    reads them."""
    from analyzer.anomalies.aggregates import _eq
    from analyzer.anomalies.delivery import _masked_text
    from analyzer.weekly.build import week_events
    from analyzer.weekly.events import READ_COLUMNS

    since, until = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    rows, _ = week_events(store, since, until)
    own = ~_eq(rows["direction"], ("outbound", "inbound"))
    text = rows["reply_text"].astype(object)
    assert text[~own].notna().sum() > 100
    again = _masked_text(rows["reply_text"]).astype(object)
    assert (text[~own].dropna() == again[~own].dropna()).all()
    ev = read_events(store, since=since, until=until, columns=READ_COLUMNS)
    fails = _eq(ev["outcome"], ("transient_failure", "permanent_failure"))
    kept = _eq(rows["outcome"], ("transient_failure", "permanent_failure"))
    assert set(_masked_text(ev["reply_text"][fails]).dropna()) >= set(rows["reply_text"][kept & ~own].dropna().astype(str))
    read = own | _eq(rows["cause"], "local.resource") | _eq(rows["event"], ("fatal", "panic"))
    assert rows["detail"][~read].isna().all()
    unknown = _eq(rows["event"], "reject") & _eq(rows["cause"], ("mailbox.unknown", "client.recipient_unknown"))
    assert rows["recipient"][unknown].notna().any()
    assert rows["recipient"][_eq(rows["event"], ("reject", "auth_failure")) & ~unknown].isna().all()


def test_a_days_rows_are_codes_in_order(store):
    """A day's kept rows come out of its fold with the few-value columns as Categoricals (codes,
    never a string per row) of the values seen only, sorted; the rows in ORDER as their strings sort."""
    from analyzer.store import iter_event_batches
    from analyzer.weekly.events import _FEW, ORDER, READ_COLUMNS, _Day, _range_keys

    lo, hi = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
    day = _Day(_range_keys(store, lo, hi)[0])
    for t in iter_event_batches(store, since=lo, until=hi, columns=READ_COLUMNS):
        day.add(t.to_pandas(types_mapper=pd.ArrowDtype))
    rows = day.rows_result()
    assert len(rows) > 100
    for c in _FEW:
        if c not in rows.columns:
            continue
        col = rows[c]
        assert isinstance(col.dtype, pd.CategoricalDtype), c
        cats = list(col.cat.categories)
        assert cats == sorted(cats) and set(cats) == set(col.dropna().astype(str)), c
    as_str = rows[ORDER].astype({c: object for c in ("host", "source")})
    again = as_str.sort_values(ORDER, kind="stable", ignore_index=True)
    assert as_str.equals(again)


def _folded_day(rng: np.random.Generator, day: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A day's folded seconds as the fold gives them, and each row's (host, source) rank, of which
    (with its last time and line) its ``last_order`` is made."""
    from analyzer.anomalies.bulk_narrow import order_key

    sec = np.sort(rng.integers(0, 86_400, n)) + 1_795_000_000 + day * 86_400
    ts_min = sec * 10**9 + rng.integers(0, 10**9, n)
    ts_max = np.maximum(ts_min, sec * 10**9 + rng.integers(0, 10**9, n))
    pairs = rng.integers(0, 3, n)
    line = rng.integers(0, 5_000_000, n).astype(float)
    line[rng.random(n) < 0.1] = np.nan  # a line without a number
    return pd.DataFrame({
        "sec": sec, "source": np.array(["mail.log", "mail.warn"], dtype=object)[rng.integers(0, 2, n)],
        "host": "mx1", "reply_class": None, "kind": np.array(["", "received"], dtype=object)[rng.integers(0, 2, n)],
        "n": rng.integers(1, 9, n), "sessions": 0, "closed": rng.integers(0, 3, n), "unclosed": 0,
        "ts_min": ts_min, "ts_max": ts_max,
        "last_order": order_key(ts_max // 1000, pairs, np.nan_to_num(line, nan=0).astype(np.int64)),
        "last_line": line}), pairs


def _same_as_fold(got: pd.DataFrame, days: list[pd.DataFrame]) -> None:
    want = pd.concat(days, ignore_index=True).drop(columns=["reply_class", "sessions", "unclosed"])
    want = want.iloc[np.argsort(want["last_order"].to_numpy(), kind="stable")].reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        if c in ("sec", "ts_min", "ts_max", "last_order", "last_line"):
            assert got[c].dtype == want[c].dtype, c
        assert got[c].astype(object).equals(want[c].astype(object)), c


def test_held_folded_seconds_narrow_come_back_whole():
    """The days' folded seconds held narrow (int32 seconds and times within them, float32 line
    numbers, the pair rank for the order key) come back as the fold gave them (every column, in
    ``last_order``), read whole through the readers' accessors without being widened."""
    from analyzer.anomalies.bulk_narrow import last_orders, ns, widen_times
    from analyzer.weekly.events import _compact, _concat_compact

    rng = np.random.default_rng(7)
    made = [_folded_day(rng, d, 500) for d in range(3)]
    days = [t for t, _ in made]
    held = [_compact(t.copy(), p) for t, p in made]
    assert all("ts_max" not in h.columns and h["ts_max_sub"].dtype == np.int32 and h["sec"].dtype == np.int32
               and h["last_pair"].dtype == np.int16 and h["last_line"].dtype == np.float32 for h in held)
    got = _concat_compact(held)
    assert "last_order" not in got.columns
    want = pd.concat(days, ignore_index=True)
    want = want.iloc[np.argsort(want["last_order"].to_numpy(), kind="stable")].reset_index(drop=True)
    assert (ns(got, "ts_min") == want["ts_min"].to_numpy()).all()
    assert (ns(got, "ts_max", [3, 7]) == want["ts_max"].to_numpy()[[3, 7]]).all()
    assert (last_orders(got) == want["last_order"].to_numpy()).all()
    _same_as_fold(widen_times(got), days)


@pytest.mark.parametrize("odd_at", ["time", "line", "second"])
def test_held_folded_seconds_that_do_not_fit_are_held_whole(odd_at):
    """A day whose times or line numbers do not fit the narrow form (a time outside its row's
    second, a line number float32 does not hold exactly, a second past 2038) is held whole, and
    then the week's table is whole, the same as the fold gave it."""
    from analyzer.weekly.events import _compact, _concat_compact

    rng = np.random.default_rng(11)
    made = [_folded_day(rng, d, 300) for d in range(2)]
    odd, pairs = _folded_day(rng, 2, 20)
    if odd_at == "time":
        odd.loc[5, "ts_min"] = odd.loc[5, "sec"] * 10**9 - 1
    elif odd_at == "line":
        odd.loc[5, "last_line"] = float((1 << 24) + 1)
    else:
        odd.loc[19, "sec"] = 1 << 31
        odd.loc[19, ["ts_min", "ts_max"]] = (1 << 31) * 10**9
    made.append((odd, pairs))
    days = [t for t, _ in made]
    held = [_compact(t.copy(), p) for t, p in made]
    assert ["last_order" in h.columns for h in held] == [False, False, True]
    _same_as_fold(_concat_compact(held), days)
