"""Session ends and SASL logins counted per hour, and inbound disconnects counted in the Bulk (the
weekly report's fold, :mod:`analyzer.anomalies.folded`), give the detectors the same findings as
the same lines held as rows: with a burst of lost connections injected (the session-end detector
fires, its evidence and stage come from the folded lines) and an attacker that also logs in (the
severity policy reads the folded logins)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies import detect_anomalies
from analyzer.anomalies import folded as fo
from analyzer.anomalies.aggregates import ORDER_COLUMN, BulkFold, row_order
from analyzer.classify import classify
from analyzer.reader import parse_logs
from bench.generate_logs import generate

ATTACKER = "198.51.100.66"
INCIDENTS = [f"sasl_bruteforce:{ATTACKER}@6h+1h", "silence@15h+1h", "deferral_buildup@18h+3h"]


def _events(tmp_path, mta: str) -> pd.DataFrame:
    path = tmp_path / f"{mta}.log"
    generate(mta=mta, lines=8000, seed=5, out=path, incidents=INCIDENTS)
    ev = classify(parse_logs([str(path)], year=2026, tz="UTC").events)
    ends = ev[fo.is_session_end(ev)]
    assert len(ends) >= 3
    # a burst of lost connections at 10h: copies of the day's lost sessions, a second apart
    at = ev["ts"].min().floor("h") + pd.Timedelta(hours=10, minutes=5)
    burst = ends.sample(n=120, replace=True, random_state=1).reset_index(drop=True)
    burst["ts"] = pd.Series([at + pd.Timedelta(seconds=i) for i in range(len(burst))]).astype(ev["ts"].dtype)
    burst["line_no"] = (np.arange(len(burst)) + 10**6).astype(np.int64)
    # the attacker also logs in, after its failures: a received line with a SASL user
    login = ev[fo.is_login(ev)].head(1).copy()
    assert len(login) == 1
    login["client_ip"] = ATTACKER
    login["ts"] = pd.Series([at]).astype(ev["ts"].dtype).to_numpy()
    login["line_no"] = 2 * 10**6
    ev = pd.concat([ev, burst, login], ignore_index=True).sort_values(["ts", "line_no"], kind="stable",
                                                                       ignore_index=True)
    return ev.astype({c: ev[c].dtype for c in ev.columns})


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_session_ends_and_logins_folded_give_the_rows_findings(tmp_path, mta):
    events = _events(tmp_path, mta)
    want = [f.to_dict() for f in detect_anomalies(events)]
    detectors = {f["detector"] for f in want}
    assert "session_ends" in detectors
    assert any(f["entity"] == ATTACKER for f in want)

    order = row_order(events)
    ends, logins, disc = fo.is_session_end(events), fo.is_login(events), fo.is_quiet_disconnect(events)
    assert ends.sum() > 100 and logins.sum() > 10 and disc.sum() > 100
    folded = ends | logins | disc
    fold = BulkFold()
    fold.add(events, mask=folded)
    counts, examples = fo.end_counts(events[ends], 3600, order[ends])
    bulk = dataclasses.replace(fold.result(), ends=counts, end_examples=examples,
                               logins=fo.login_counts(events[logins], 3600))
    assert int(counts["n"].sum()) == int(ends.sum())
    assert (examples.groupby(fo.END_KEYS, dropna=False).size() <= fo.EXAMPLES).all()
    rows = events.assign(**{ORDER_COLUMN: order})[~folded].reset_index(drop=True)
    got = [f.to_dict() for f in detect_anomalies(rows, bulk=bulk)]
    assert got == want
    # the session-end finding's evidence came from the folded lines (no such row is left)
    assert not fo.is_session_end(rows).any()
    assert next(f for f in got if f["detector"] == "session_ends")["evidence"]


def test_folded_ends_combine_over_days_as_at_once(tmp_path):
    events = _events(tmp_path, "postfix")
    ends = fo.is_session_end(events)
    e, order = events[ends].reset_index(drop=True), row_order(events)[ends]
    whole = fo.end_counts(e, 3600, order)
    half = len(e) // 2
    parts = [fo.end_counts(e.iloc[:half], 3600, order[:half]), fo.end_counts(e.iloc[half:], 3600, order[half:])]
    counts, examples = fo.combine_ends(parts)
    pd.testing.assert_frame_equal(counts, whole[0])
    pd.testing.assert_frame_equal(examples, whole[1])


def test_weighted_mode_is_the_rows_mode():
    s = pd.Series(["b", "a", None, "b", "a", "c"], dtype="category")
    assert fo.weighted_mode(s, np.ones(len(s), np.int64)) == s.mode().iloc[0] == "a"
    assert fo.weighted_mode(s, np.array([1, 1, 9, 1, 1, 3])) == "c"
    assert fo.weighted_mode(pd.Series([None, None]), np.ones(2, np.int64)) is None
