"""analyzer.narrow_sets: the compact sets of search/trace's pass 1 keep what the plain ones kept."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.narrow_sets import _line, _LineSet, _member, _Sorted

sources = st.sampled_from(["/var/log/mail.log", "/var/log/mail.log.1", "-", None])
line_nos = st.one_of(st.none(), st.integers(min_value=-2, max_value=12))
rows = st.lists(st.tuples(sources, line_nos), min_size=0, max_size=40)


def _table(rs: list) -> pa.Table:
    return pa.table({"source": pa.array([s for s, _ in rs], pa.string()),
                     "line_no": pa.array([n for _, n in rs], pa.int64())})


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(st.tuples(rows, st.lists(st.booleans(), min_size=40, max_size=40)), max_size=4), probe=rows)
def test_line_set_keeps_the_lines_and_the_lines_above_as_their_hashes_did(batches, probe):
    kept = _LineSet()
    hashes = []
    for rs, flags in batches:
        t = _table(rs)
        hit = np.array(flags[: len(rs)], dtype=bool)
        if hit.any():
            kept.add(t, hit)
            above = _table([(s, None if n is None else n - 1) for s, n in rs])
            hashes.append(np.concatenate([_line(t)[hit], _line(above)[hit]]))
    kept.done()
    plain = np.unique(np.concatenate(hashes)) if hashes else np.empty(0, np.uint64)
    for rs, _ in [*batches, (probe, [])]:
        t = _table(rs)
        assert kept.member(t).tolist() == _member(_line(t), plain).tolist()


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=30), max_size=8))
def test_sorted_holds_the_distinct_values_and_pairs(parts):
    one, two = _Sorted(), _Sorted(2)
    for p in parts:
        a = np.array(p, dtype=np.uint64).reshape(-1, 2)
        one.add(a[:, 0])
        two.add(a)
    every = np.array([x for p in parts for x in p], dtype=np.uint64).reshape(-1, 2)
    assert one.take().tolist() == np.unique(every[:, 0]).tolist()
    assert sorted(map(tuple, two.take().tolist())) == sorted(set(map(tuple, every.tolist())))
