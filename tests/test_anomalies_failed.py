"""Quiet failures (DNSBL hits, protocol errors: :mod:`analyzer.anomalies.failed`) counted per hour
give the detectors the same findings as the same lines held as rows: with a burst of one cause
injected (the cause-spike detector fires on folded lines), signatures first seen late in the
window (the new-signature detector, its learning cut inside an hour: a key across the cut is
learnt, one after it new) and a history whose failures are folded too (new reply texts)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies import detect_anomalies
from analyzer.anomalies import failed as fa
from analyzer.anomalies.aggregates import ORDER_COLUMN, BulkFold, row_order
from analyzer.classify import classify
from analyzer.reader import parse_logs
from bench.generate_logs import generate


def _day(tmp_path, mta: str, seed: int = 5) -> pd.DataFrame:
    path = tmp_path / f"{mta}-{seed}.log"
    generate(mta=mta, lines=8000, seed=seed, out=path, incidents=["sasl_bruteforce:198.51.100.66@6h+1h"])
    return classify(parse_logs([str(path)], year=2026, tz="UTC").events)


def _copies(ev: pd.DataFrame, rows: pd.DataFrame, at: pd.Timestamp, n: int, step: float, **values) -> pd.DataFrame:
    """``n`` copies of ``rows`` (cycled) from ``at``, ``step`` seconds apart, with ``values`` set."""
    out = rows.sample(n=n, replace=True, random_state=n).reset_index(drop=True)
    out["ts"] = pd.Series([at + pd.Timedelta(seconds=i * step) for i in range(n)]).astype(ev["ts"].dtype)
    for k, v in values.items():
        out[k] = pd.Series([v] * n, dtype=object).astype(ev[k].dtype) if not isinstance(ev[k].dtype, pd.CategoricalDtype) \
            else v
    return out


def _with(ev: pd.DataFrame, *extra: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat([ev, *extra], ignore_index=True)
    both["line_no"] = np.arange(len(both), dtype=np.int64) + 1
    both = both.sort_values("ts", kind="stable", ignore_index=True)
    return both.astype({c: ev[c].dtype for c in ev.columns})


def _folded(events: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    """``events`` as the weekly's fold leaves them: the quiet failures counted, the other lines rows."""
    order = row_order(events)
    fails = fa.is_quiet_failure(events)
    fold = BulkFold()
    fold.add(events, mask=fails)
    counts, examples = fa.failure_counts(events[fails], 3600, order[fails])
    assert int(counts["n"].sum()) == int(fails.sum())
    assert (examples.groupby(fa.FAIL_KEYS, dropna=False).size() <= 5).all()
    bulk = dataclasses.replace(fold.result(), failures=counts, failure_examples=examples)
    rows = events.assign(**{ORDER_COLUMN: order})[~fails].reset_index(drop=True)
    assert not fa.is_quiet_failure(rows).any()
    return rows, bulk


def _quiet(ev: pd.DataFrame) -> pd.DataFrame:
    q = ev[fa.is_quiet_failure(ev)]
    assert len(q) >= 20
    return q


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_folded_quiet_failures_give_the_rows_findings(tmp_path, mta):
    ev = _day(tmp_path, mta)
    q, start = _quiet(ev), ev["ts"].min().floor("h")
    events = _with(ev,
                   # a burst of one cause at 10h (above info: the cause-spike detector's)
                   _copies(ev, q, start + pd.Timedelta(hours=10, minutes=3), 150, 2.0, cause="protocol.syntax",
                           severity="warning"),
                   # a provider first seen at 20h, in two hours' keys
                   _copies(ev, q, start + pd.Timedelta(hours=20, minutes=50), 12, 30.0, provider="newlist"))
    want = [f.to_dict() for f in detect_anomalies(events)]
    assert {"cause_spike", "new_signature"} <= {f["detector"] for f in want}
    rows, bulk = _folded(events)
    got = [f.to_dict() for f in detect_anomalies(rows, bulk=bulk)]
    assert got == want
    spike = next(f for f in got if f["detector"] == "cause_spike")
    assert spike["evidence"] and spike["title"] == next(f for f in want if f["detector"] == "cause_spike")["title"]


def test_learning_cut_inside_an_hour(tmp_path):
    """A 3-day window learns up to its last line less a day: a provider seen on both sides of the
    cut within one hour is learnt, one seen only after the cut (the same hour) is new."""
    day = _day(tmp_path, "postfix")
    days = [day.assign(ts=day["ts"] + pd.Timedelta(days=i)) for i in range(3)]
    ev = _with(*days)
    q = _quiet(day)
    cut = ev["ts"].max() - pd.Timedelta(days=1)
    hour = cut.floor("h")
    assert cut > hour  # the cut lies inside its hour
    early = (cut - hour).total_seconds()
    one = q.iloc[[0]]  # one line's copies: one key per provider and hour
    both = _copies(ev, one, hour, 10, early / 5, provider="acrosscut")  # half before the cut, half after
    after = _copies(ev, one, cut + pd.Timedelta(seconds=1), 6, 1.0, provider="aftercut")
    events = _with(ev, both, after)
    want = [f.to_dict() for f in detect_anomalies(events)]
    new = {f["entity"] for f in want if f["detector"] == "new_signature"}
    assert "aftercut" in new and "acrosscut" not in new
    rows, bulk = _folded(events)
    assert [f.to_dict() for f in detect_anomalies(rows, bulk=bulk)] == want


def test_history_folded_too(tmp_path):
    """With a baseline whose quiet failures are folded (the weekly's baseline weeks): reply texts
    and providers the history never had, from the rows and from the folded counts of both."""
    hist = _day(tmp_path, "exim", seed=5)
    cur = _day(tmp_path, "exim", seed=6)
    cur = cur.assign(ts=cur["ts"] + (hist["ts"].max().ceil("D") - cur["ts"].min().floor("D")))
    q = _quiet(cur)
    cur = _with(cur, _copies(cur, q, cur["ts"].min() + pd.Timedelta(hours=5), 8, 60.0,
                             reply_text="550 listed at newlist.example for 192.0.2.1", provider="newlist"))
    want = [f.to_dict() for f in detect_anomalies(cur, baseline=hist)]
    assert any(f["detector"] == "new_signature" and f["entity"] == "newlist" for f in want)
    rows, bulk = _folded(cur)
    hrows, hbulk = _folded(hist)
    got = [f.to_dict() for f in detect_anomalies(rows, baseline=hrows, bulk=bulk, bulk_history=hbulk)]
    assert got == want
