"""The abuse detectors' counts made in place (r26-rejrec): ``per_key`` over the lines a mask keeps
equals ``per_key`` over copies of them, the first and last line per key equal a stable sort's,
the step numbers equal the step starts, and the cause codes of the cause-spike detector (a
Categorical read on its codes, joined with the folded causes) equal a group-by's codes of the
values as strings. The detectors' findings themselves are held to the group-by reference in
``tests/test_client_counts.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import client_counts as cc
from analyzer.anomalies.aggregates import _values
from analyzer.anomalies.bucket_counts import group_codes
from analyzer.anomalies.delivery import _joint_codes
from analyzer.anomalies.longwindow import _first_last

_INT = st.integers(-3, 40)


@st.composite
def _columns(draw: st.DrawFn) -> tuple[list[np.ndarray], np.ndarray | None, np.ndarray]:
    n = draw(st.integers(0, 300))
    nkeys = draw(st.integers(1, 3))
    wide = draw(st.booleans())  # values far apart: a common step taken out, or the lexsort
    keys = []
    for _ in range(nkeys):
        v = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=np.int64)
        if wide and draw(st.booleans()):
            v = v * draw(st.sampled_from([3_600 * 10**9, 10**18 // 64, 1 << 17]))
        keys.append(v.astype(draw(st.sampled_from([np.int64, np.int32]))) if v.max(initial=0) < 1 << 31 else v)
    distinct = None
    if draw(st.booleans()):
        distinct = np.array(draw(st.lists(st.integers(-1, 30), min_size=n, max_size=n)), dtype=np.int64)
    sel = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return keys, distinct, sel


def _reference(keys: list[np.ndarray], distinct: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    if not len(keys[0]):
        return [k[:0] for k in keys], np.zeros(0, dtype=np.int64)
    return cc._per_key_lexsort([k.astype(np.int64) for k in keys], distinct)


@settings(max_examples=300, deadline=None)
@given(_columns(), st.sampled_from([7, 64, 1 << 16]))
def test_per_key_in_place_equals_per_key_of_copies(cols, chunk):
    keys, distinct, sel = cols
    old = cc._CHUNK
    cc._CHUNK = chunk  # (slices of a few lines: the packing across slices)
    try:
        got = cc.per_key(keys, distinct, sel=sel)
        want = _reference([k[sel] for k in keys], None if distinct is None else distinct[sel])
        whole = cc.per_key(keys, distinct)
        whole_want = _reference(keys, distinct)
    finally:
        cc._CHUNK = old
    for (gk, gn), (wk, wn) in ((got, want), (whole, whole_want)):
        assert len(gk) == len(wk)
        for a, b in zip(gk, wk, strict=True):
            assert np.array_equal(a, b)
        assert np.array_equal(gn, wn)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 20), st.booleans()), max_size=200), st.booleans())
def test_first_and_last_line_per_key_equal_a_stable_sort(rows, monotonic):
    key = np.array([r[0] for r in rows], dtype=np.int32)
    ns = np.array([r[1] for r in rows], dtype=np.int64)
    if monotonic:
        ns = np.sort(ns)
    sel = np.array([r[2] for r in rows], dtype=bool)
    first, last = _first_last(ns, key, sel, 7)
    at = np.flatnonzero(sel)
    for k in range(7):
        mine = at[key[at] == k]
        if not len(mine):
            assert first[k] == -1 and last[k] == -1
            continue
        order = mine[np.argsort(ns[mine], kind="stable")]
        assert first[k] == order[0]
        assert last[k] == mine[np.flatnonzero(ns[mine] == ns[mine].max())[-1]]


@given(st.lists(st.integers(-(10**18), 10**18), max_size=50), st.sampled_from([10**9, 3_600 * 10**9, 86_400 * 10**9]))
def test_step_numbers_are_the_step_starts(ns, step):
    ns = np.array(ns, dtype=np.int64)
    assert np.array_equal(cc.step_index(ns, step).astype(np.int64) * step, cc.step_of(ns, step))


_CAUSES = ["B", "a.x", "mailbox.unknown", "relay.denied", "z", "é.q"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_CAUSES), unique=True), st.lists(st.integers(-1, 5), max_size=60),
       st.lists(st.one_of(st.none(), st.sampled_from([*_CAUSES, "q.q"])), max_size=6), st.data())
def test_joint_cause_codes_equal_a_group_by_of_the_strings(cats, codes, more, data):
    cats = sorted(cats)
    vals = [cats[c] if 0 <= c < len(cats) else None for c in codes]
    col = pd.Series(pd.Categorical(vals, categories=cats))
    pos = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(vals) - 1, 0)), max_size=len(vals)))), dtype=np.int64)
    pos = pos[pos < len(vals)]
    more = np.array(more, dtype=object)
    want = group_codes(pd.Series(np.concatenate([_values(col.iloc[pos]), more])))
    got = _joint_codes(col, pos, more)
    assert np.array_equal(want[0], got[0])
    assert list(want[1]) == list(got[1])
    plain = _joint_codes(col.astype(object), pos, more)  # (not a Categorical: the values as they are)
    assert np.array_equal(want[0], plain[0])


def test_lines_hold_narrow_codes():
    df = pd.DataFrame({"ts": pd.to_datetime([1, 2, 3], unit="s", utc=True),
                       "client_ip": ["10.0.0.1", None, "10.0.0.2"], "event": ["reject", "reject", "auth_failure"],
                       "recipient": ["a@x", "b@x", None]})

    class Ctx:
        events = df

    lines, names = cc.client_lines(Ctx(), df)
    assert lines.pos.dtype == np.int32 and lines.client.dtype == np.int32
    assert list(names) == ["10.0.0.1", "10.0.0.2"] and lines.pos.tolist() == [0, 2]
    assert lines.coded(df, "recipient").dtype == np.int32
    assert cc.narrow(np.array([1 << 40])).dtype == np.int64


def _closes_by_unique(tables: list[pd.DataFrame], step: int) -> pd.Series:
    secs = [t["sec"].to_numpy()[t["closed"].to_numpy() > 0] for t in tables]
    counts = [t["closed"].to_numpy()[t["closed"].to_numpy() > 0] for t in tables]
    buckets, at = np.unique((np.concatenate(secs) // step) * step, return_inverse=True)
    sums = np.bincount(at, weights=np.concatenate(counts), minlength=len(buckets)).astype(np.int64)
    return pd.Series(sums, index=pd.to_datetime(buckets, unit="s", utc=True), name="closed")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(1_700_000_000, 1_700_000_000 + 30 * 86_400), st.integers(0, 5)),
                         min_size=1, max_size=40), min_size=1, max_size=2),
       st.sampled_from([60, 3_600, 86_400]), st.booleans())
def test_folded_closes_summed_by_bucket_number_equal_a_unique(parts, step, far):
    from types import SimpleNamespace

    from analyzer.anomalies.health import _folded_closes

    tables = [pd.DataFrame({"sec": np.array([p[0] for p in part], dtype=np.int64),
                            "closed": np.array([p[1] for p in part], dtype=np.int32)}) for part in parts]
    if far:  # (a second far from the others: the sort's way)
        tables[0].loc[0, ["sec", "closed"]] = [10**9, 1]
    ctx = SimpleNamespace(bulk_history=None, bulk=None, bucket=pd.Timedelta(seconds=step))
    ctx.bulk = SimpleNamespace(table=tables[-1])
    if len(tables) > 1:
        ctx.bulk_history = SimpleNamespace(table=tables[0])
    pd.testing.assert_series_equal(_folded_closes(ctx), _closes_by_unique(tables, step))
