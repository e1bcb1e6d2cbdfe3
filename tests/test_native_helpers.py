"""The native core's helpers equal what they replace: the classification cache's key hashed in Rust
(native/src/hash.rs) groups rows as the pandas hash does, and a block cut into lines in Rust
(native/src/lines.rs) gives the lines Python cuts."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings

from analyzer import native
from analyzer.class_cache import class_key
from analyzer.lines import block_array, block_lines
from analyzer.pipeline import EventStream
from analyzer.sources import expand_inputs

from .conftest import CORPUS, SAMPLES

pytestmark = pytest.mark.skipif(not native.available(), reason="the native engine is not built (no cargo at install)")


def _groups(keys: np.ndarray) -> np.ndarray:
    """Each row's group as the index of the first row with its key (comparable across hashes)."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first[inverse]


def _events() -> pa.Table:
    paths = [str(CORPUS)] if CORPUS.exists() else [str(SAMPLES)]
    return pa.concat_tables([b.table for b in EventStream(expand_inputs(paths), tz="UTC", workers=1)])


def test_native_key_groups_rows_as_the_python_one(monkeypatch):
    table = _events()
    monkeypatch.setenv(native.ENV, "native")
    fast = class_key(table)
    monkeypatch.setenv(native.ENV, "python")
    slow = class_key(table)
    assert len(np.unique(slow)) > 100
    assert (_groups(fast) == _groups(slow)).all()
    monkeypatch.setenv(native.ENV, "native")
    # the same row hashes alike in any batch (a slice starts inside the buffers)
    assert (class_key(table.slice(1001, 2345)) == fast[1001:3346]).all()


def test_native_hash_tells_null_from_empty(monkeypatch):
    monkeypatch.setenv(native.ENV, "native")
    t = pa.table({name: pa.array(["x", "x", "x"]) for name in
                  ["event", "status", "smtp_stage", "mta", "dsn", "enhanced_code", "relay_host", "reply_text",
                   "detail", "direction", "host"]})
    t = t.append_column("reply_code", pa.array([250, 250, 250], pa.int16()))
    t = t.append_column("quit", pa.array([None, None, None], pa.bool_()))
    # (a column the key hashes as it is: of the relay host it hashes only the provider named)
    t = t.set_column(t.schema.get_field_index("status"), "status", pa.array([None, "", "x"]))
    t = t.set_column(t.schema.get_field_index("reply_text"), "reply_text", pa.array(["a b", "a b", "a b"]))
    keys = class_key(t)
    assert len(set(keys.tolist())) == 3


@pytest.mark.parametrize("data", [b"a\nbc\n", b"a\n\nbc", b"\n", "\u00e9\n\u20acx".encode(), b"a\x00b\nc\n",
                                  b"a\r\nb\n", b"a\xff\nb\n", b"x", b""])
@pytest.mark.parametrize("ends_file", [True, False])
def test_native_lines_are_pythons(data, ends_file, monkeypatch):
    monkeypatch.setenv(native.ENV, "native")
    got = block_array(data, ends_file=ends_file)
    assert list(got) == block_lines(data, ends_file=ends_file)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="ab \n\u00e9\u20ac\x00", max_size=200).map(str.encode))
def test_native_lines_of_any_bytes(data):
    import os

    before = os.environ.get(native.ENV)
    os.environ[native.ENV] = "native"
    try:
        got = block_array(data)
        assert list(got) == block_lines(data)
        if hasattr(got, "nul"):  # cut natively (or by numpy): the NUL flag the parsers read, from the same pass
            assert got.nul == (b"\x00" in data)
    finally:
        if before is None:
            os.environ.pop(native.ENV, None)
        else:
            os.environ[native.ENV] = before


def test_native_lines_of_a_day_equal_numpys(monkeypatch):
    data = b"".join((SAMPLES / "postfix" / "mail.log.1").read_bytes().splitlines(keepends=True)[:5000])
    monkeypatch.setenv(native.ENV, "native")
    fast = block_array(data).array
    monkeypatch.setenv(native.ENV, "python")
    slow = block_array(data).array
    assert fast.equals(slow) and len(fast) > 300
