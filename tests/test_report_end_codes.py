"""The report end's readings on codes (r22-rend) against the pandas readings they replace:
the cause lists' per-entry modes (report/entry_modes.py), the Bulk's keys factorized by runs
(anomalies/health.py's, now also report/servers.py's), the detectors' medians a bucket at a time (anomalies/baseline.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies.baseline import _robust, robust_rows
from analyzer.anomalies.health import _run_codes
from analyzer.report.build import _directions, _unit
from analyzer.report.entry_modes import modes_of
from analyzer.report.rows_at import RowsAt

DIRECTIONS = ["inbound", "outbound", "local", "", None]
OUTCOMES = ["failed", "deferred", "rejected", "ok", None]
EVENTS = ["reject", "auth_failure", "delivery", "connect", None]


def _table(draw_rows: list[tuple], categories: dict[str, list[str]] | None = None) -> pd.DataFrame:
    t = pd.DataFrame(draw_rows, columns=["direction", "outcome", "event", "cause_ref"])
    for c in ("direction", "outcome", "event"):
        cats = (categories or {}).get(c)
        t[c] = pd.Categorical(t[c], categories=cats) if cats is not None else t[c].astype("category")
    return t


def _by_pandas(rows, at):
    """As build._cause_list read an entry before (its reference)."""
    dirs = _directions(rows, at)
    dirs = dirs[dirs != ""] if (dirs != "").any() else dirs
    outcome = rows["outcome"]
    return str(outcome.iloc[at].mode().iloc[0]), str(dirs.mode().iloc[0]) or None, _unit(rows, at, False)


row = st.tuples(st.sampled_from(DIRECTIONS), st.sampled_from(OUTCOMES[:-1]), st.sampled_from(EVENTS),
                st.sampled_from([None, None, "f:1"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(row, min_size=1, max_size=60), st.data(), st.booleans(), st.booleans())
def test_entry_modes_equal_pandas(rows, data, shuffled, apart):
    cats = None
    if shuffled:  # categories in an order of their own (not sorted), some unused
        cats = {c: data.draw(st.permutations([v for v in vals if v is not None] + ["zzz"]))
                for c, vals in (("direction", DIRECTIONS), ("outcome", OUTCOMES), ("event", EVENTS))}
    t = _table(rows, cats)
    table = RowsAt(t, np.ones(len(t), bool), t.columns) if apart else t
    at = np.array(sorted(set(data.draw(st.lists(st.integers(0, len(t) - 1), min_size=1, max_size=len(t))))))
    coded = modes_of(table, table["outcome"])
    assert coded is not None
    want = _by_pandas(table, at)
    assert (coded.outcome(at), coded.direction(at), _unit(table, at, False, coded)) == want
    # what merged_entry counts of a folded entry's rows: the same counts as of pandas' Series
    dirs = _directions(table, at)
    dirs = dirs[dirs != ""] if (dirs != "").any() else dirs
    assert dict(coded.directions(at).value_counts()) == dict(dirs.value_counts())
    said = table["outcome"].iloc[at].dropna().astype(str).value_counts()
    assert dict(coded.outcomes(at).dropna().astype(str).value_counts()) == {k: n for k, n in said.items() if n}


def test_entry_modes_need_categoricals():
    t = pd.DataFrame({"direction": ["inbound"], "outcome": ["failed"], "event": ["reject"]})
    assert modes_of(t, t["outcome"]) is None
    c = t.astype("category")
    assert modes_of(c, c["outcome"]) is not None


def test_entry_modes_no_outcome_left_to_pandas():
    t = _table([(None, None, None, None)])
    t["outcome"] = pd.Categorical([None], categories=["failed"])
    assert modes_of(t, t["outcome"]).outcome(np.array([0])) is None


values = st.lists(st.sampled_from(["/var/log/a", "/var/log/b", "mx1", None, np.nan]), max_size=80)


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from(["python", "object"]), st.booleans())
def test_factorize_by_runs_equals_pandas(vals, kind, shared):
    if shared:  # one string object per value (the Bulk's columns)
        one = {v: v for v in vals if isinstance(v, str)}
        vals = [one.get(v, v) if isinstance(v, str) else v for v in vals]
    else:  # equal strings as different objects
        vals = ["".join(list(v)) if isinstance(v, str) else v for v in vals]
    s = pd.Series(vals, dtype=pd.StringDtype("python", na_value=np.nan) if kind == "python" else object)
    codes, uniq = _run_codes(s)
    want_codes, want_uniq = pd.factorize(s, use_na_sentinel=True)
    assert np.array_equal(np.asarray(codes), np.asarray(want_codes))
    assert [str(u) for u in uniq] == [str(u) for u in want_uniq]


def test_factorize_by_runs_with_pandas_na():
    s = pd.Series(["a", pd.NA, "a", "b"], dtype=object)
    codes, uniq = _run_codes(s)
    assert list(codes) == [0, -1, 0, 1] and list(uniq) == ["a", "b"]


@pytest.mark.parametrize("seed", range(20))
def test_robust_rows_equal_robust(seed):
    rng = np.random.default_rng(seed)
    for width in (0, 1, 2, 3, 7, 24, 48):
        v = rng.choice([rng.integers(0, 40, (6, width)).astype(float), rng.random((6, width)) * 100,
                        np.zeros((6, width))])
        med, sd = robust_rows(v)
        assert [(float(m), float(s)) for m, s in zip(med, sd, strict=True)] == [_robust(r) for r in v]


def test_top_tables_on_the_free_thread(monkeypatch):
    """While the detectors still run, the main thread makes the top tables itself once its
    sections are built (run.make_report's ``tops``); while it builds, the detectors' thread does
    after them: the same report either way."""
    import threading
    from pathlib import Path

    from analyzer.reader import parse_logs
    from analyzer.report import run

    now = pd.Timestamp("2026-12-01T06:00:00Z")
    result = parse_logs([str(Path(__file__).resolve().parent.parent / "sample_logs")], tz="UTC", year=2026)
    tops: list[str] = []
    top_tables, detect, build = run.top_tables, run.detect_anomalies, run.build_report

    def top_where(*args, **kwargs):
        tops.append(threading.current_thread().name)
        return top_tables(*args, **kwargs)

    monkeypatch.setattr(run, "top_tables", top_where)
    built = threading.Event()

    def slow_detect(*args, **kwargs):  # the detectors end only once the sections are built
        assert built.wait(60)
        return detect(*args, **kwargs)

    def build_then(*args, top=None, **kwargs):
        def top_after():
            built.set()
            return top()
        return build(*args, top=top_after, **kwargs)

    monkeypatch.setattr(run, "detect_anomalies", slow_detect)
    monkeypatch.setattr(run, "build_report", build_then)
    here = run.make_report(result, now=now, generated_at=now)
    assert tops == [threading.current_thread().name]
    done = threading.Event()

    def fast_detect(*args, **kwargs):
        try:
            return detect(*args, **kwargs)
        finally:
            done.set()

    def build_late(*args, top=None, **kwargs):  # the sections end after the detectors and the top tables
        def top_late():
            assert done.wait(60)
            for _ in range(6000):  # (the detectors' thread takes the top tables: up to a minute)
                if tops[1:]:
                    break
                threading.Event().wait(0.01)
            return top()
        return build(*args, top=top_late, **kwargs)

    monkeypatch.setattr(run, "detect_anomalies", fast_detect)
    monkeypatch.setattr(run, "build_report", build_late)
    there = run.make_report(result, now=now, generated_at=now)
    assert tops[1].startswith("maillens-detect") and len(tops) == 2
    assert here == there and here["top"]["destinations"]
