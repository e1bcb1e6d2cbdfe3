"""The abuse detectors' lines made without copies (r28-wkexim): a Categorical's codes at some lines
(:func:`analyzer.anomalies.client_counts.categorical_codes`) equal ``pd.factorize`` of the column
taken at them, in both orders and whatever the categories' order; the lines' times read from the
column's one chunk equal those of a take, for every unit and a sliced chunk; the step numbers made
a slice at a time equal the whole quotient's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import client_counts as cc


@st.composite
def _categorical(draw: st.DrawFn) -> tuple[pd.Series, np.ndarray]:
    ncat = draw(st.integers(0, 12))
    names = draw(st.lists(st.text("abcz09.:", min_size=1, max_size=6), min_size=ncat, max_size=ncat, unique=True))
    n = draw(st.integers(0, 80))
    codes = np.array(draw(st.lists(st.integers(-1, max(ncat - 1, -1)), min_size=n, max_size=n)), dtype=np.int64)
    s = pd.Series(pd.Categorical.from_codes(codes, categories=names))  # categories in the drawn order
    pos = np.flatnonzero(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool))
    return s, pos.astype(np.int32)


@settings(max_examples=300, deadline=None)
@given(_categorical(), st.booleans())
def test_categorical_codes_as_factorize(case: tuple[pd.Series, np.ndarray], sort: bool) -> None:
    s, pos = case
    codes, names = cc.categorical_codes(s, pos, sort=sort)
    want, uniq = pd.factorize(s.iloc[pos], sort=sort, use_na_sentinel=True)
    assert np.array_equal(codes, want.astype(np.int64))
    assert list(names) == list(np.asarray(uniq, dtype=object))


def test_lines_codes_of_a_categorical_as_of_its_strings() -> None:
    """``Lines.codes`` (the client codes every abuse detector reads) of a Categorical column equal
    those of the same column as strings, sorted."""
    rng = np.random.default_rng(7)
    ips = np.array([f"10.0.{i}.{j}" for i in range(3) for j in range(5)], dtype=object)
    values = ips[rng.integers(0, len(ips), 400)].astype(object)
    values[rng.random(400) < 0.2] = None
    cat = pd.DataFrame({"client_ip": pd.Categorical(values, categories=sorted(set(ips)))})
    text = pd.DataFrame({"client_ip": pd.Series(values, dtype="string[pyarrow]")})
    lines = cc.Lines(np.flatnonzero(rng.random(400) < 0.6).astype(np.int32), np.zeros(0, np.int64))
    a, b = lines.codes(cat, "client_ip", sort=True), lines.codes(text, "client_ip", sort=True)
    assert np.array_equal(a[0], b[0]) and list(a[1]) == list(b[1])


def test_times_at_from_the_chunk() -> None:
    rng = np.random.default_rng(3)
    raw = rng.integers(1_700_000_000, 1_800_000_000, 1000) * 10**6 + rng.integers(0, 10**6, 1000)
    for unit, per in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)):
        arr = pa.array(raw // (10**9 // per) if unit != "ns" else raw).cast(pa.timestamp(unit, tz="UTC"))
        for chunk in (arr, arr.slice(17)):  # (a chunk with an offset: read from it)
            s = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([chunk])))
            pos = np.sort(rng.choice(len(chunk), 300, replace=False)).astype(np.int32)
            want = chunk.take(pa.array(pos)).cast(pa.int64()).to_numpy() * per
            got = cc.times_at(s, pos)
            assert got.dtype == np.int64 and np.array_equal(got, want)
            got[:] = 0  # (its own array: the column is not written)
            assert np.array_equal(chunk.take(pa.array(pos)).cast(pa.int64()).to_numpy() * per, want)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(1 << 62), 1 << 62), max_size=50), st.sampled_from([7, 3600 * 10**9, 86_400 * 10**9]),
       st.integers(0, 3))
def test_step_index_as_the_quotient(values: list[int], step: int, repeat: int) -> None:
    ns = np.array(values * (1 + repeat * 30000 // max(len(values), 1)), dtype=np.int64)  # (past one slice)
    got, want = cc.step_index(ns, step), cc.narrow(ns // step)
    assert got.dtype == want.dtype and np.array_equal(got, want)
