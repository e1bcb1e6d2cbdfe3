"""The queue-id table's native key map (native/src/keymap.rs, analyzer/keyed.py): the same fields
as the Python engine's sorted runs, whatever the keys and the order of the calls."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.keyed import QidTable, key_map

pytestmark = pytest.mark.skipif(not native.available(), reason="no native build")

FIELDS = {"flags": 0, "size": -1, "code": -1}
NARROW = {"flags": np.int8, "code": np.int32, "size": np.int32}  # (size: widened by a value beyond int32)


def _table(engine: str, monkeypatch: pytest.MonkeyPatch) -> QidTable:
    monkeypatch.setenv(native.ENV, engine)
    t = QidTable(FIELDS, NARROW)
    monkeypatch.delenv(native.ENV)
    return t


def test_the_native_map_gives_slots_in_first_seen_order():
    m = key_map()
    assert m is not None and len(m) == 0
    keys = np.array([7, 0, 7, 2**64 - 1, 3], dtype=np.uint64)
    assert np.frombuffer(m.locate(keys), dtype=np.int64).tolist() == [-1] * 5
    assert np.frombuffer(m.ensure(keys), dtype=np.int64).tolist() == [0, 1, 0, 2, 3]
    assert np.frombuffer(m.keys(), dtype=np.uint64).tolist() == [7, 0, 2**64 - 1, 3]
    assert np.frombuffer(m.locate(np.array([3, 9], dtype=np.uint64)), dtype=np.int64).tolist() == [3, -1]
    assert np.frombuffer(m.ensure(np.zeros(0, dtype=np.uint64)), dtype=np.int64).tolist() == []
    assert m.nbytes >= 8 * len(m)


def test_the_native_map_refuses_keys_not_of_eight_bytes():
    m = key_map()
    with pytest.raises(ValueError):
        m.locate(b"\x00" * 12)
    with pytest.raises(ValueError):
        m.ensure(b"\x01" * 7)
    assert len(m) == 0


def test_no_map_under_the_python_engine(monkeypatch):
    monkeypatch.setenv(native.ENV, "python")
    assert key_map() is None
    assert QidTable(FIELDS)._map is None


_batch = st.lists(st.integers(0, 40) | st.integers(0, 2**64 - 1), max_size=60)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_batch, st.integers(0, 255), st.integers(-2**40, 2**40), st.booleans()), max_size=12))
def test_native_and_python_tables_hold_the_same_fields(steps):
    """Batches of keys (repeated, absent, 0 and 2^64 - 1 among them): ensure, put (with and
    without a mask), flag and get give the same values under both engines, and each key's
    fields read back by column are the same."""
    mp = pytest.MonkeyPatch()
    try:
        tables = [_table(e, mp) for e in ("python", "native")]
    finally:
        mp.undo()
    assert tables[1]._map is not None
    rng = np.random.default_rng(len(steps))
    for keys, bit, value, masked in steps:
        h = np.array(keys, dtype=np.uint64)
        probe = np.concatenate([h, rng.integers(0, 2**63, 3).astype(np.uint64)])
        got = []
        for t in tables:
            before = t.locate(probe)
            run, pos = t.ensure(h)
            where = (np.arange(len(h)) % 2 == 0) if masked else None
            fresh = t.get("flags", run, pos) == 0
            t.put("size", run, pos, value + np.arange(len(h)), where)
            t.put("code", run, pos, np.arange(len(h)), fresh)
            t.flag(bit & 0x3F, run, pos, where)
            after = t.locate(probe)
            got.append(((before[0] >= 0).tolist(), (after[0] >= 0).tolist(),
                        *(t.get(f, *after, default=-9).tolist() for f in FIELDS)))
        assert got[0] == got[1]
    cols = [{int(k): tuple(int(t.column(f)[i]) for f in FIELDS) for i, k in enumerate(_keys(t))} for t in tables]
    assert cols[0] == cols[1]
    assert len(tables[0]) == len(tables[1]) == len(cols[0])


def _keys(t: QidTable) -> np.ndarray:
    """Every key held, in the order of :meth:`QidTable.column`."""
    if t._map is not None:
        return np.frombuffer(t._map.keys(), dtype=np.uint64)
    return np.concatenate(t.keys) if t.keys else np.zeros(0, dtype=np.uint64)


def test_many_keys_over_many_batches_grow_the_fields():
    """Tens of thousands of keys over batches: every field found again, the fields' room grown
    by an eighth at most beyond what is held."""
    t = QidTable(FIELDS, NARROW)
    rng = np.random.default_rng(5)
    want: dict[int, int] = {}
    for _ in range(40):
        h = rng.integers(0, 2**64 - 1, 2000, dtype=np.uint64, endpoint=True)
        run, pos = t.ensure(h)
        t.put("size", run, pos, (h % np.uint64(1000)).astype(np.int64))
        want.update({int(k): int(k) % 1000 for k in h})
    keys = np.array(list(want), dtype=np.uint64)
    run, pos = t.locate(keys)
    assert (run == 0).all() and len(t) == len(want)
    assert t.get("size", run, pos).tolist() == list(want.values())
    assert len(t._fields["size"]) <= max(1024, len(t) + len(t) // 8 + 1)


@pytest.mark.parametrize("engine", ["python", "native"])
def test_a_narrow_field_is_widened_not_wrapped(engine, monkeypatch):
    """An int32 field given a value beyond 2^31 (a size of 3 GB, a time past 2038) holds it
    exactly, and the values put before stay as they were."""
    t = _table(engine, monkeypatch)
    h = np.array([1, 2, 3], dtype=np.uint64)
    run, pos = t.ensure(h)
    t.put("size", run, pos, np.array([5, -7, 2**31 - 1]))
    assert t.dtypes["size"] == np.int32
    t.put("size", run, pos, np.array([2**31, 0, 0]), np.array([True, False, False]))
    run, pos = t.ensure(np.array([4, 2], dtype=np.uint64))
    t.put("size", run, pos, np.array([-(2**40), 11]))
    assert t.dtypes["size"] == np.int64
    run, pos = t.locate(np.array([1, 2, 3, 4], dtype=np.uint64))
    assert t.get("size", run, pos).tolist() == [2**31, 11, 2**31 - 1, -(2**40)]
    assert sorted(t.column("size").tolist()) == [-(2**40), 11, 2**31 - 1, 2**31]


def _held(t: QidTable) -> dict[int, tuple[int, ...]]:
    """Each key's fields read by column, the keys whose fields are all the defaults left out (a
    removed key: a free slot of the native map, a key reset in the sorted runs)."""
    defaults = tuple(FIELDS.values())
    rows = ((int(k), tuple(int(t.column(f)[i]) for f in FIELDS)) for i, k in enumerate(_keys(t)))
    return {k: v for k, v in rows if v != defaults}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_batch, _batch, st.integers(1, 255), st.integers(-2**40, 2**40)), max_size=12))
def test_removed_keys_read_as_new_under_both_engines(steps):
    """Batches of keys put and flagged, then some removed (held or not, repeated): under both
    engines every key reads the same fields afterwards (a removed key as a new one: the
    defaults), a key added again after its removal starts from the defaults, and the native map
    holds no more slots than the most keys held at once."""
    mp = pytest.MonkeyPatch()
    try:
        tables = [_table(e, mp) for e in ("python", "native")]
    finally:
        mp.undo()
    most = 0
    for keys, gone, bit, value in steps:
        h, g = np.array(keys, dtype=np.uint64), np.array(gone, dtype=np.uint64)
        probe = np.concatenate([h, g])
        got = []
        for t in tables:
            run, pos = t.ensure(h)
            if t._map is not None:
                most = max(most, t._map.live)
            fresh = t.get("flags", run, pos) == 0
            t.put("size", run, pos, value + np.arange(len(h)), fresh)
            t.flag(bit & 0x3F, run, pos)
            t.remove(g)
            after = t.locate(probe)
            got.append([t.get(f, *after, default=v).tolist() for f, v in FIELDS.items()])
        assert got[0] == got[1]
        assert _held(tables[0]) == _held(tables[1])
    assert len(tables[1]._map) <= most


def test_the_native_map_reuses_removed_slots():
    m = key_map()
    if m is None:
        pytest.skip("the Python engine runs")
    keys = np.array([7, 0, 9, 3], dtype=np.uint64)
    assert np.frombuffer(m.ensure(keys), dtype=np.int64).tolist() == [0, 1, 2, 3]
    assert np.frombuffer(m.remove(np.array([0, 5, 0, 3], dtype=np.uint64)), dtype=np.int64).tolist() == [1, -1, -1, 3]
    assert (len(m), m.live) == (4, 2)
    assert np.frombuffer(m.ensure(np.array([11, 0, 12], dtype=np.uint64)), dtype=np.int64).tolist() == [3, 1, 4]
    with pytest.raises(ValueError):
        m.remove(b"\x00" * 9)
