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


def _pair_sums_by_unique(key: np.ndarray, bucket: np.ndarray, step: int, weights: list[np.ndarray]) -> tuple:
    """pair_sums as it was: np.unique of the packed pairs, then bincount."""
    has = key >= 0
    key, bucket, weights = key[has], bucket[has], [w[has] for w in weights]
    if not len(key):
        return key, bucket, [np.zeros(0, np.int64) for _ in weights]
    lo = int(bucket.min())
    at = (bucket - lo) // step
    uniq, inv = np.unique(key.astype(np.int64) * (int(at.max()) + 1) + at, return_inverse=True)
    span = int(at.max()) + 1
    return uniq // span, (uniq % span) * step + lo, [np.bincount(inv, weights=w, minlength=len(uniq)).astype(np.int64)
                                                     for w in weights]


@settings(max_examples=25, deadline=None)
@given(st.integers(1 << 16, 200_000), st.integers(1, 40), st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_pair_sums_dense_as_by_unique(n: int, nkeys: int, seed: int, sparse_keys: bool, wide: bool) -> None:
    """The sums per (key, bucket) counted per pair number, a slice at a time, equal the sort's:
    the same pairs in the same order, the same sums (int32 and int64 weights), nulls left out;
    buckets spread too wide for a table take the sort."""
    from analyzer.anomalies.bucket_counts import pair_sums

    rng = np.random.default_rng(seed)
    step = 3600 * 10**9
    key = rng.integers(-1, nkeys, n).astype(np.int32 if seed % 2 else np.int64)
    if sparse_keys:
        key[rng.random(n) < 0.99] = -1
    hours = rng.integers(0, 10**7 if wide else 7 * 24, n)
    bucket = (1_764_000_000 // 3600 + hours) * step
    weights = [rng.integers(0, 2, n).astype(np.int32), rng.integers(1, 10**6, n)]
    got, want = pair_sums(key, bucket, step, weights), _pair_sums_by_unique(key, bucket, step, weights)
    for a, b in zip([*got[:2], *got[2]], [*want[:2], *want[2]], strict=True):
        assert a.dtype == np.int64 and np.array_equal(a, b)


def test_among_as_isin() -> None:
    from analyzer.anomalies.longwindow import _among

    rng = np.random.default_rng(11)
    for size in (1, 5, 300):
        codes = rng.integers(-1, size, 5000).astype(np.int32)
        for wanted in (np.zeros(0, np.int64), rng.integers(0, size, 3), np.arange(size), np.array([-1, 0])):
            assert np.array_equal(_among(codes, wanted, size), np.isin(codes, wanted[wanted >= 0]))


def test_joint_codes_of_large_strings_as_of_python_strings() -> None:
    """The outbound domains (pandas' Arrow strings are large_string) coded by Arrow with the folded
    keys equal a group-by's codes of them as Python strings (sorted by code point)."""
    from analyzer.anomalies.bucket_counts import group_codes
    from analyzer.anomalies.outbound import _joint_codes

    rng = np.random.default_rng(5)
    names = np.array(["b.com", "a.org", "ä.de", "Z.net", "ß.at", "a.org2", ""], dtype=object)
    for typ in (pa.large_string(), pa.string()):
        for trial in range(30):
            rows = names[rng.integers(0, len(names), 50)].astype(object)
            rows[rng.random(50) < 0.2] = None
            folded = names[rng.integers(0, len(names), 9)].astype(object)
            folded[rng.random(9) < 0.2] = None
            s = pd.Series(pd.arrays.ArrowStringArray(pa.array(list(rows), type=typ)))
            fs = pd.Series(folded, dtype=object) if trial % 3 else None
            got = _joint_codes(s, fs)
            both = np.concatenate([rows, folded if fs is not None else np.zeros(0, dtype=object)])
            want = group_codes(pd.Series(both, dtype=object))
            assert np.array_equal(got[0], want[0]) and list(got[1]) == list(want[1])
