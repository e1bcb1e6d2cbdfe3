"""r19-bulk: the Bulk's fold grouped by one packed sort, its counts summed side by side, its queue
ids hashed whole: each gives what the path it replaced gave (``np.lexsort``, ``np.add.reduceat``
per column, the hash of the lines' own queue ids)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import key_groups
from analyzer.anomalies.aggregates import _COUNTS, _KEYS, _aggregate, qid_hash
from analyzer.anomalies.arrow_columns import _NULL_HASH, hash_arrow
from analyzer.anomalies.bulk_read import qid_hashes
from analyzer.anomalies.key_groups import group_sums, sorted_groups
from analyzer.keyed import key_hash
from analyzer.report.fold import _Batch

_MIN = np.iinfo(np.int64).min


def _runs(keys: list[np.ndarray], idx: np.ndarray) -> np.ndarray:
    new = np.zeros(len(idx), dtype=bool)
    new[0] = True
    for k in keys:
        ks = k[idx]
        new[1:] |= ks[1:] != ks[:-1]
    return np.flatnonzero(new)


_KEY = st.sampled_from(["sec", "code", "signed", "wide", "tiny"])


def _column(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "sec":  # seconds of a day, some missing (the smallest int64)
        k = rng.integers(1_790_000_000, 1_790_000_000 + 86_400, n)
        k[rng.random(n) < 0.2] = _MIN
        return k
    if kind == "code":
        return rng.integers(0, 7, n).astype(np.int32)
    if kind == "signed":  # (null codes -1)
        return rng.integers(-1, 3, n).astype(np.int32)
    if kind == "wide":  # ranges too wide to pack with the others: np.lexsort's own path
        return rng.integers(-(2**61), 2**61, n)
    return rng.integers(0, 3, n).astype(np.int8)


@settings(max_examples=200, deadline=None)
@given(st.lists(_KEY, min_size=1, max_size=6), st.integers(1, 400), st.integers(0, 2**32), st.sampled_from([1 << 15, 50]))
def test_sorted_groups_sort_as_lexsort(kinds, n, seed, embed_rows):
    """The order and the runs of equal keys are np.lexsort's (ties in input order), packed or not,
    the row's number packed with the keys or sorted by a stable argsort (more rows)."""
    key_groups._EMBED_ROWS = embed_rows
    rng = np.random.default_rng(seed)
    keys = [_column(k, n, rng) for k in kinds]
    try:
        idx, starts = sorted_groups(keys)
    finally:
        key_groups._EMBED_ROWS = 1 << 15
    want = np.lexsort(list(reversed(keys)))
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_array_equal(starts, _runs(keys, want))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.integers(0, 2**32), st.lists(st.sampled_from(["ones", "flags", "big", "neg", "int8"]),
                                                            min_size=1, max_size=6))
def test_group_sums_as_reduceat(n, seed, kinds):
    """Each column's sums per group, and their dtype, are np.add.reduceat's, packed or not."""
    rng = np.random.default_rng(seed)
    idx, starts = sorted_groups([rng.integers(0, max(1, n // 3), n)])
    make = {"ones": lambda: np.ones(n, np.int32), "flags": lambda: rng.integers(0, 2, n).astype(np.int32),
            "big": lambda: rng.integers(0, 2**40, n), "neg": lambda: rng.integers(-5, 5, n),
            "int8": lambda: rng.integers(0, 100, n).astype(np.int8)}
    cols = [make[k]() for k in kinds]
    for c, got in zip(cols, group_sums(cols, idx, starts), strict=True):
        want = np.add.reduceat(c[idx], starts)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def _lexsorted_aggregate(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """BulkFold's aggregate as it was (r18): one lexsort by the keys, then input order."""
    idx = np.lexsort([p["last_order"], *(p[k] for k in reversed(_KEYS))])
    starts = _runs([p[k] for k in _KEYS], idx)
    last = np.append(starts[1:], len(idx)) - 1
    out = {k: p[k][idx][starts] for k in _KEYS}
    for c in _COUNTS:
        out[c] = np.add.reduceat(p[c][idx], starts)
    out["ts_min"] = np.minimum.reduceat(p["ts_min"][idx], starts)
    out["ts_max"] = np.maximum.reduceat(p["ts_max"][idx], starts)
    out["last_order"] = p["last_order"][idx][last]
    out["last_line"] = p["last_line"][idx][last]
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**32), st.sampled_from(["input", "ties", "shuffled"]), st.booleans(),
       st.booleans(), st.sampled_from([30, 100_000]))
def test_the_bulks_aggregate_as_it_was(n, seed, order, one_time, by_order, seconds):
    """Counts, first and last times and the last line per key equal the lexsort's, whether the
    pieces come in input order, with equal orders (batches without their place in the input) or
    shuffled; a batch's one array of times (ts_min is ts_max) as two; with ``by_order``, in the
    order the result gave them (a stable sort of the key order by last line); keys of one row
    each (many seconds) or shared."""
    rng = np.random.default_rng(seed)
    sec = rng.integers(1_790_000_000, 1_790_000_000 + seconds, n)
    sec[rng.random(n) < 0.1] = _MIN
    ns = np.where(sec == _MIN, 0, sec * 1_000_000_000 + rng.integers(0, 10**9, n))
    orders = {"input": np.arange(n, dtype=np.int64), "ties": rng.integers(0, 5, n),
              "shuffled": rng.permutation(n).astype(np.int64)}[order]
    p = {"sec": sec, "source": rng.integers(0, 3, n).astype(np.int32), "host": rng.integers(0, 3, n).astype(np.int32),
         "reply_class": rng.integers(0, 4, n).astype(np.int32), "kind": rng.integers(0, 3, n).astype(np.int8),
         "n": np.ones(n, np.int32), "sessions": rng.integers(0, 2, n).astype(np.int32),
         "closed": rng.integers(0, 2, n).astype(np.int32), "unclosed": rng.integers(0, 2, n).astype(np.int32),
         "ts_min": ns, "ts_max": ns if one_time else ns.copy(), "last_order": orders,
         "last_line": rng.integers(1, 10**6, n).astype(float)}
    want = _lexsorted_aggregate({k: v.copy() for k, v in p.items()})
    if by_order:
        by = np.argsort(want["last_order"], kind="stable")
        want = {k: v[by] for k, v in want.items()}
    got = _aggregate(dict(p), by_order=by_order)
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_hash_arrow_is_the_native_hash_with_nulls_apart():
    """A queue id hashes as key_hash hashes it in any array, slice or chunking; a null as the
    null's hash; a column and its slice alike (what a stream batch's whole hashes are cut from)."""
    arr = pa.array(["A1B2", None, "", "C3D4", "A1B2", None, "é"])
    h = hash_arrow(arr)
    assert h[1] == h[5] == _NULL_HASH
    assert h[0] == h[4] != h[3]
    np.testing.assert_array_equal(h[[0, 2, 3, 6]], key_hash(pa.array(["A1B2", "", "C3D4", "é"])))
    np.testing.assert_array_equal(hash_arrow(arr.slice(2, 3)), h[2:5])
    np.testing.assert_array_equal(hash_arrow(pa.chunked_array([arr.slice(0, 3), arr.slice(3)])), h)
    np.testing.assert_array_equal(hash_arrow(arr.cast(pa.large_string())), h)
    np.testing.assert_array_equal(qid_hash(pd.Series(["A1B2", None, ""], dtype=object)), h[:3])
    assert len(hash_arrow(pa.array([], pa.string()))) == 0
    np.testing.assert_array_equal(hash_arrow(pa.nulls(2)), [_NULL_HASH, _NULL_HASH])


def test_a_stream_batchs_queue_ids_are_hashed_once_as_the_lines_would_be():
    t = pa.table({"queue_id": pa.array(["Q1", None, "Q2", "Q1"]), "event": pa.array(["a", "b", "c", "d"])})
    batch = _Batch.of(t, t.to_pandas(types_mapper=pd.ArrowDtype))
    first = qid_hashes(batch)
    assert qid_hashes(batch) is first  # (kept on the batch's tests)
    np.testing.assert_array_equal(first, qid_hash(pd.Series(["Q1", None, "Q2", "Q1"], dtype=object)))
