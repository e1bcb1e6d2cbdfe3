"""The classification keys the workers send (analyzer.parallel._keys): with the native engine
computed from the table by native/src/classkey_py.rs (``analyzer.native.class_keys``, the
relay host's provider mixed in by ``folded_key``). They must part rows exactly as
:func:`analyzer.class_cache.class_key` (what classify reads) parts them, and give a row the same
key in any batch (the classifier's cache lives across batches)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native, parallel
from analyzer.class_cache import CLASS_KEY, Groups, class_key, folded_key
from analyzer.parsers import FileContext, parse_batch
from analyzer.parsers.syslog import Clock, HeaderState
from analyzer.schema import SCHEMA
from bench.generate_logs import generate

pytestmark = pytest.mark.skipif(native.engine() != "native" or native.masker() is None
                                or not hasattr(native._module()[0], "class_keys"),
                                reason="no native class keys in this build")


def _keys(table: pa.Table) -> np.ndarray:
    ck = native.class_keys(table)
    assert ck is not None
    return folded_key(ck, table.column("relay_host"))


def _same_partition(a: np.ndarray, b: np.ndarray) -> None:
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    assert len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _parsed(tmp_path: Path, mta: str, lines: int, seed: int) -> pa.Table:
    p = tmp_path / f"{mta}.log"
    generate(mta, lines, seed=seed, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    table, _ = parse_batch(p.read_text().splitlines(), 1, FileContext(str(p), HeaderState(Clock(tz="UTC"))))
    return table


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_parsed_rows_part_as_class_key(tmp_path, mta):
    table = _parsed(tmp_path, mta, 6000, 7)
    assert table.num_rows > 1000
    keys = _keys(table)
    _same_partition(keys, class_key(table))
    assert 20 < len(np.unique(keys)) < table.num_rows
    # the same rows in other batches (cut anywhere, chunked, sliced) keep their keys
    for cut in (1, 777, table.num_rows // 2):
        halves = np.concatenate([_keys(table.slice(0, cut)), _keys(table.slice(cut))])
        assert (halves == keys).all()
    chunked = pa.concat_tables([table.slice(0, 100), table.slice(100)])
    assert (_keys(chunked) == keys).all()


def test_python_engine_rows_part_alike(tmp_path, monkeypatch):
    """Rows the Python engine parsed (another table's buffers, same schema) get the keys of the
    rows the native readers parsed."""
    native_table = _parsed(tmp_path, "postfix", 3000, 5)
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    python_table = _parsed(tmp_path, "postfix", 3000, 5)
    monkeypatch.delenv("MAILLENS_ENGINE")
    assert python_table.equals(native_table)
    assert (_keys(python_table) == _keys(native_table)).all()


_TEXT = st.one_of(st.none(), st.sampled_from(["", "250 2.0.0 Ok: queued as F83037DEDEA", "250 2.0.0 Ok: queued as AB12",
                                               "550 5.1.1 <bob@example.com>: user unknown", "from 10.1.2.3",
                                               "from 10.9.9.9", "x"]), st.text(max_size=8))
_SMALL = st.one_of(st.none(), st.sampled_from(["", "a", "b", "reject", "connect", "deliver"]))


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 30))
    cols = {}
    for name in CLASS_KEY:
        t = SCHEMA.field(name).type
        if name == "reply_code":
            cols[name] = pa.array(draw(st.lists(st.one_of(st.none(), st.sampled_from([250, 450, 550, -1])), min_size=n, max_size=n)), t)
        elif name == "quit":
            cols[name] = pa.array(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), t)
        elif name in ("reply_text", "detail", "relay_host"):
            cols[name] = pa.array(draw(st.lists(_TEXT, min_size=n, max_size=n)), t)
        else:
            cols[name] = pa.array(draw(st.lists(_SMALL, min_size=n, max_size=n)), t)
    table = pa.table(cols)
    lo = draw(st.integers(0, n - 1))
    return table.slice(lo, draw(st.integers(1, n - lo)))  # offsets into the buffers


@settings(max_examples=200, deadline=None)
@given(_tables())
def test_any_rows_part_as_class_key(table):
    keys = _keys(table)
    _same_partition(keys, class_key(table))
    one_by_one = np.concatenate([_keys(table.slice(i, 1)) for i in range(table.num_rows)])
    assert (one_by_one == keys).all()


def test_other_types_are_left_to_class_key():
    table = pa.table({n: pa.nulls(2, SCHEMA.field(n).type) for n in CLASS_KEY})
    assert native.class_keys(table) is not None
    assert len(native.class_keys(SCHEMA.empty_table())) == 0
    assert native.class_keys(table.set_column(0, "event", pa.array(["a", "b"]).dictionary_encode())) is None


def test_worker_keys_group_as_class_key(tmp_path):
    """A block's keys as a worker sends them (with the native engine and with the Python one)."""
    p = tmp_path / "mail.log"
    generate("postfix", 3000, seed=2, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1")
    job = parallel.BlockJob(str(p), str(p), 0, p.stat().st_size, None, True, "UTC", 2026, None, None, False,
                            parallel.Start(), False, True)
    r = parallel.run_block(job)
    groups = Groups.from_bytes(r.keys)
    table = r.table()
    _same_partition(groups.rows(), class_key(table))
    assert (groups.rows() == _keys(table)).all()
