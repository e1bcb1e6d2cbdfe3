"""The top tables' senders by queue id (report/top.py): each wanted queue id's first line naming
a sender, in time and then input order, among the rows and the folded lines, whatever the
slices the look-ups are made in; against a plain reference over the same lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.anomalies.aggregates import _NULL_SEC, ORDER_COLUMN, Bulk, qid_hash
from analyzer.report import top, units


def _lines(seed: int):
    """Rows and folded sender lines over a few queue ids: equal times and null times among them,
    rows without a sender or a queue id, the folded lines' senders partly the rows' ones."""
    rng = np.random.default_rng(seed)
    ids = [f"Q{i:04d}" for i in range(int(rng.integers(1, 40)))]
    senders = [f"s{i}@x.test" for i in range(int(rng.integers(1, 8)))]
    n = int(rng.integers(0, 60))
    ts = pd.Series(pd.to_datetime(1_700_000_000 + rng.integers(0, 5, n), unit="s", utc=True))
    ts[rng.random(n) < 0.15] = pd.NaT
    ev = pd.DataFrame({
        "queue_id": pd.array([None if rng.random() < 0.1 else ids[int(rng.integers(len(ids)))] for _ in range(n)],
                             dtype="string[pyarrow]"),
        "sender": pd.array([None if rng.random() < 0.3 else senders[int(rng.integers(len(senders)))] + ("r" * (i % 2))
                            for i in range(n)], dtype="string[pyarrow]"),
        "ts": ts,
        ORDER_COLUMN: rng.permutation(n).astype(np.int64) * 2,
    })
    m = int(rng.integers(1, 80))
    fq = [ids[int(rng.integers(len(ids)))] for _ in range(m)]
    sec = 1_700_000_000 + rng.integers(0, 5, m).astype(np.int64)
    sec[rng.random(m) < 0.15] = _NULL_SEC
    cats = pd.Index(pd.array(senders, dtype="string[pyarrow]"))
    folded = pd.DataFrame({
        "qid": qid_hash(pd.Series(fq, dtype="string[pyarrow]")),
        "sec": sec, "ts": np.where(sec == _NULL_SEC, 0, sec * 10**9),
        "order": rng.integers(0, 2 * max(n, 1) + 3, m).astype(np.int64) * 2 + 1,
        "sender": pd.Categorical.from_codes(rng.integers(0, len(senders), m), categories=cats),
    })
    wanted = [ids[int(rng.integers(len(ids)))] for _ in range(int(rng.integers(0, 2 * len(ids))))]
    return ev, Bulk(Bulk.empty().table, senders=folded), ids, fq, wanted


def _reference(ev, folded, fq, wanted):
    """Each wanted id's sender: the least (time, null last; order; rows first, then position)."""
    late = np.iinfo(np.int64).max
    best = {}
    for i, (q, s, t, o) in enumerate(zip(ev["queue_id"], ev["sender"], ev["ts"], ev[ORDER_COLUMN], strict=True)):
        if pd.isna(q) or pd.isna(s):
            continue
        key = (late if pd.isna(t) else t.value, o, 0, i)
        if q not in best or key < best[q][0]:
            best[q] = (key, s)
    for j, (q, sec, t, o, s) in enumerate(zip(fq, folded["sec"], folded["ts"], folded["order"], folded["sender"],
                                              strict=True)):
        key = (late if sec == _NULL_SEC else int(t), int(o), 1, j)
        if q not in best or key < best[q][0]:
            best[q] = (key, str(s))
    return {q: best[q][1] if q in best else None for q in wanted}


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize(("slice_", "bits"), [(1, 1), (3, 8), (1 << 16, 4)])
def test_senders_by_qid_are_the_first_lines_of_the_wanted_ids(seed, slice_, bits, monkeypatch):
    monkeypatch.setattr(top, "AT_SLICE", slice_)
    monkeypatch.setattr(top, "SORT_PART_BITS", bits)
    monkeypatch.setattr(units, "LOOKUP_SLICE", slice_)
    ev, bulk, ids, fq, wanted = _lines(seed)
    want_h = qid_hash(pd.Series(wanted, dtype="string[pyarrow]")) if wanted else np.zeros(0, np.uint64)
    got = top._senders_by_qid(ev, bulk, wanted=want_h.copy())
    assert np.all(np.diff(got.qid.astype(np.float64)) > 0) or len(got) < 2  # sorted, each id once
    assert set(got.qid.tolist()) <= set(want_h.tolist())
    ref = _reference(ev, bulk.senders, fq, wanted)
    asked = qid_hash(pd.Series(ids, dtype="string[pyarrow]"))
    names = got.of(asked)
    for q, name in zip(ids, names, strict=True):
        assert name == ref.get(q), q  # (an id not wanted: None)
    # without wanted ids: every id's first line
    every = top._senders_by_qid(ev, bulk)
    ref = _reference(ev, bulk.senders, fq, ids)
    assert list(every.of(asked)) == [ref[q] for q in ids]


@pytest.mark.parametrize("seed", range(30))
def test_at_in_slices_is_one_look_up(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    qid = np.unique(rng.integers(0, 50, int(rng.integers(0, 30))).astype(np.uint64))
    s = top.Senders(qid, rng.integers(-1, 5, len(qid)).astype(np.int32), pd.array([], dtype="string[pyarrow]"))
    qids = rng.integers(0, 60, int(rng.integers(0, 100))).astype(np.uint64)
    pos = {int(q): int(c) for q, c in zip(qid, s.codes, strict=True)}
    want = np.array([pos.get(int(q), -1) for q in qids], dtype=np.int64)
    for n in (1, 2, 7, 1 << 16):
        monkeypatch.setattr(top, "AT_SLICE", n)
        monkeypatch.setattr(units, "LOOKUP_SLICE", n)
        assert s.at(qids).tolist() == want.tolist()
        table = np.sort(rng.integers(0, 60, int(rng.integers(0, 20))).astype(np.uint64))
        assert units.in_sorted(qids, table).tolist() == np.isin(qids, table).tolist()


def test_fill_senders_appends_the_names_and_codes_the_missing_lines():
    import pyarrow as pa

    by = top.Senders(np.array([5, 9], np.uint64), np.array([1, 0], np.int32), pa.array(["b", "a"], pa.large_string()))
    more = {"qid": np.array([9, 5, 7, 5], np.uint64),
            "codes": {"sender": np.array([0, -1, -1, -1], np.int32)},
            "names": {"sender": pa.array(["own"], pa.large_string())}}
    missing = np.array([False, True, True, True])
    top._fill_senders(more, missing, by)
    names = more["names"]["sender"].to_pylist()
    got = [names[c] if c >= 0 else None for c in more["codes"]["sender"]]
    assert got == ["own", "a", None, "a"]
    more["qid"], missing = more["qid"][1:], missing[1:]
    more["codes"]["sender"] = np.array([-1, -1, -1], np.int32)
    more["names"]["sender"] = pa.array([], pa.large_string())
    top._fill_senders(more, missing, by)  # (every line missing: the hashes read in place)
    names = more["names"]["sender"].to_pylist()
    assert [names[c] if c >= 0 else None for c in more["codes"]["sender"]] == ["a", None, "a"]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("slice_", [1, 2, 5, 1 << 16])
def test_dense_codes_in_slices_are_the_distinct_ranks(seed, slice_, monkeypatch):
    monkeypatch.setattr(units, "DENSE_SORT_FROM", 0)
    monkeypatch.setattr(units, "DENSE_SLICE", slice_)
    rng = np.random.default_rng(seed)
    h = rng.integers(0, int(rng.integers(1, 40)), int(rng.integers(1, 120))).astype(np.uint64) << np.uint64(50)
    assert units._dense_codes(h).tolist() == np.unique(h, return_inverse=True)[1].tolist()


def _count_reference(keys, u):
    """Messages per key, plainly: distinct (kind, unit) per key, a queue-id-only unit not counted
    where a unit of the same key names that queue id with a recipient."""
    named = {(k, q) for k, kind, q in zip(keys, u.kind, u.q, strict=True) if kind == units.MESSAGE}
    seen = {}
    for k, kind, h, q in zip(keys, u.kind, u.h, u.q, strict=True):
        if kind == units.NONE or (kind == units.QUEUE and (k, q) in named):
            continue
        seen.setdefault(int(k), set()).add((int(kind), int(h)))
    return {k: len(v) for k, v in sorted(seen.items())}


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("slice_", [1, 3, 1 << 16])
def test_count_units_with_the_named_pairs_looked_up_in_slices(seed, slice_, monkeypatch):
    monkeypatch.setattr(units, "LOOKUP_SLICE", slice_)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 200))
    kind = rng.choice(np.array([units.NONE, units.MESSAGE, units.QUEUE, units.LINE], dtype=np.int8), n)
    q = rng.integers(1, 9, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h = np.where(kind == units.QUEUE, q, rng.integers(0, 20, n).astype(np.uint64) << np.uint64(40))
    u = units.Units(kind, h, np.where(kind == units.NONE, np.uint64(0), q))
    keys = rng.integers(0, 5, n)
    want = _count_reference(keys, u)
    got = units.count_units(keys, u)
    assert dict(zip(got.index.tolist(), got.tolist(), strict=True)) == want
    (coded,) = units.code_units(u)
    got = units.count_coded([(keys, coded, None)], 5)
    assert {i: int(c) for i, c in enumerate(got) if c} == want


def _key_frame(seed: int) -> pd.DataFrame:
    """Addresses as Arrow strings, as Python objects and as a Categorical, with nulls, empty
    texts and addresses without a domain among them."""
    rng = np.random.default_rng(seed)
    words = ["a@X.test", "b@x.test", "c@y.test", "", "nodomain", "d@<z.test>", "e@q.test"]
    vals = [None if rng.random() < 0.2 else words[int(rng.integers(len(words)))] for _ in range(int(rng.integers(0, 90)))]
    return pd.DataFrame({"arrow": pd.array(vals, dtype="string[pyarrow]"), "objects": pd.Series(vals, dtype=object),
                         "cat": pd.Categorical(vals)})


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("slice_", [1, 4, 1 << 16])
def test_key_codes_name_the_values_at_the_positions(seed, slice_, monkeypatch):
    """``_key_codes``: each position's code names its value (null: -1), equal values one code and
    different ones different codes, whatever the slices and the column's type; with the domain
    made of the value (``how``) the names are the rows' domains."""
    from analyzer.anomalies.context import _domain

    monkeypatch.setattr(top, "KEY_SLICE", slice_)
    df = _key_frame(seed)
    rng = np.random.default_rng(seed + 1)
    pos = np.sort(rng.choice(len(df), size=int(rng.integers(0, len(df) + 1)), replace=False)) if len(df) else \
        np.zeros(0, np.int64)
    for col in ("arrow", "objects", "cat"):
        for how in (None, _domain):
            codes, names = top._key_codes(df[col], pos, how)
            names = names.to_pylist()
            assert len(set(names)) == len(names)
            want = df[col].iloc[pos]
            want = (how(want) if how is not None else want).astype(object).tolist()
            got = [names[c] if c >= 0 else None for c in codes]
            assert got == [None if pd.isna(w) else str(w) for w in want], (col, how)


def _filled(by: top.Senders, col: pd.Series, missing: np.ndarray, qids: np.ndarray) -> pd.Series:
    """``col`` (senders) with its rows ``missing`` given the senders of their hashes ``qids`` (null: not
    known), as texts: what ``_with_senders`` gives as codes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = by.at(qids)
    new = by.names.take(pa.array(codes, mask=codes < 0))
    out = pc.replace_with_mask(top._strings(col), pa.array(missing), new)
    return pd.Series(pd.arrays.ArrowExtensionArray(out), index=col.index, name=col.name)


@pytest.mark.parametrize("seed", range(30))
def test_senders_filled_as_codes_are_the_filled_texts(seed):
    """``_with_senders``: the rows missing a sender given their queue id's one as codes = the
    texts filled (:func:`_filled`), one code per distinct text."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    df = _key_frame(seed)
    pos = np.arange(len(df))
    key = top._key_codes(df["arrow"], pos)
    missing = (key[0] < 0) & (rng.random(len(df)) < 0.8)
    qids = rng.integers(0, 9, int(missing.sum())).astype(np.uint64)
    by = top.Senders(np.arange(0, 8, 2, dtype=np.uint64), np.array([0, 2, -1, 1], np.int32),
                     pa.array(["b@x.test", "new@n.test", "c@y.test"], pa.large_string()))
    want = _filled(by, df["arrow"], missing, qids).astype(object).tolist()
    codes, names = top._with_senders(key, missing, qids, by)
    names = names.to_pylist()
    assert len(set(names)) == len(names)
    assert [names[c] if c >= 0 else None for c in codes] == [None if pd.isna(w) else w for w in want]
