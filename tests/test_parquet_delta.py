"""analyzer.parquet_dict: integer columns written DELTA_BINARY_PACKED (the event table's line
numbers; Exim's pids, ports and sizes) made by the native core (native/src/pqnum_delta.rs)
beside Arrow's other chunks: read back, in each chunk's statistics and encodings, the file is
the one Arrow alone writes (``MAILLENS_ENGINE=python``); at the writer's page settings (20,000
rows, pages far under the 1 MiB byte limit) the pages' encoded values are Arrow's byte for byte.
With a small byte limit the pages are cut at other rows than Arrow's (it counts a reserved header
and checks after each write batch; values and statistics still read back the same)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import native, parquet_dict
from analyzer import parquet_footer as footer

from .test_parquet_dict import _counting
from .test_parquet_numbers import NUMBERS, SCHEMA, _file, _same, groups

pytestmark = pytest.mark.skipif(not native.available(), reason="native engine not built")

INTS = ("i16", "i32", "i64")
_DELTA = dict.fromkeys(INTS, "DELTA_BINARY_PACKED")
#: as the sinks write them: the integers DELTA, uncompressed, with statistics; the rest as before
DELTA_OPTIONS = {"use_dictionary": ["f64", "b"], "column_encoding": _DELTA,
                 "compression": {**dict.fromkeys(NUMBERS, "none"), "ts": "zstd", "text": "zstd"},
                 "write_statistics": NUMBERS, "store_schema": False}
#: zstd at level 3 and small pages (by rows, by bytes)
SMALL_OPTIONS = {**DELTA_OPTIONS, "compression": "zstd", "compression_level": 3, "max_rows_per_page": 7,
                 "data_page_size": 64}


@pytest.fixture(autouse=True)
def _native_engine(monkeypatch):
    monkeypatch.setenv("MAILLENS_ENGINE", "native")


def _encodings(data: bytes) -> list:
    """Each chunk's encodings as its footer lists them."""
    _, meta = footer.split(data)
    return [footer._field(footer._field(c, 3)[2], 2) for g in footer._field(meta, footer._FILE_GROUPS)[2][1]
            for c in footer._field(g, 1)[2][1]]


def _page_values(data: bytes, name: str) -> list[bytes]:
    """The encoded values of each data page of column ``name`` (each page's body past its levels)."""
    f = pq.ParquetFile(pa.BufferReader(data))
    i = f.schema_arrow.get_field_index(name)
    out = []
    for g in range(f.metadata.num_row_groups):
        c = f.metadata.row_group(g).column(i)
        assert c.compression == "UNCOMPRESSED"
        at, end = c.data_page_offset, c.data_page_offset + c.total_compressed_size
        while at < end:
            head, at = footer._struct(data, at)
            body = data[at: at + footer._field(head, 3)[2]]
            levels = int.from_bytes(body[:4], "little")
            out.append(body[4 + levels:])
            at += len(body)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups(), st.sampled_from([1, 2]), st.sampled_from([DELTA_OPTIONS, SMALL_OPTIONS]))
def test_delta_columns_read_back_as_arrows(monkeypatch, gs, threads, options):
    with monkeypatch.context() as m:
        made = _counting(m)
        ours = _file(gs, "native", m, options, threads)
    theirs = _file(gs, "python", monkeypatch, options)
    _same(ours, theirs)
    assert _encodings(ours) == _encodings(theirs)
    assert sorted(made) == sorted(SCHEMA.names * len(gs))  # (every column native: no Arrow writer)


def test_values_are_arrows_bytes_across_blocks_pages_and_wraps(monkeypatch):
    n = 45_000  # (three pages of 20,000 rows: blocks of 128 / 256 values, a short last one)
    big, small = (1 << 63) - 1, -(1 << 63)
    t = pa.table({"i16": pa.array([(i * 37) % 65536 - 32768 if i % 5 else None for i in range(n)], pa.int16()),
                  "i32": pa.array([(-(1 << 31)) if i % 97 == 0 else (1 << 31) - 1 if i % 89 == 0 else i for i in range(n)],
                                  pa.int32()),
                  "i64": pa.array([big if i % 3 == 0 else small if i % 3 == 1 else i * 1_000_003 for i in range(n)], pa.int64()),
                  "f64": pa.array([0.5] * n), "b": pa.array([True] * n), "ts": pa.array(range(n), SCHEMA.field("ts").type),
                  "text": pa.array(["x"] * n)})
    nulls_only = t.set_column(0, "i16", pa.nulls(n, pa.int16())).slice(0, 20_500)  # (a page without values, then one)
    half_null = nulls_only.set_column(0, "i16", pa.array([None] * 20_000 + [7] * 500, pa.int16()))
    gs = [t, t.slice(3, 30_000), nulls_only, half_null]
    ours, theirs = _file(gs, "native", monkeypatch, DELTA_OPTIONS, 2), _file(gs, "python", monkeypatch, DELTA_OPTIONS)
    _same(ours, theirs)
    for name in INTS:
        assert _page_values(ours, name) == _page_values(theirs, name), name


def test_delta_is_taken_only_of_integers_and_only_by_a_core_that_makes_it(monkeypatch):
    ways = parquet_dict.native_columns(SCHEMA, DELTA_OPTIONS)
    assert all(ways[n].delta and not ways[n].dictionary for n in INTS)
    assert not any(ways[n].delta for n in SCHEMA.names if n not in INTS)
    # dictionary-encoded as well as DELTA: not a way this module writes (Arrow's to refuse or write)
    assert "i32" not in parquet_dict.native_columns(SCHEMA, {**DELTA_OPTIONS, "use_dictionary": True})

    class Old:  # a core built before r28: parquet_numbers without ``delta``
        def __init__(self, mod):
            self.mod = mod

        def __getattr__(self, name):
            return getattr(self.mod, name)

        def parquet_numbers(self, kind, chunks, dictionary_encoded, limit, page_rows, page_bytes, level=None):
            return self.mod.parquet_numbers(kind, chunks, dictionary_encoded, limit, page_rows, page_bytes, level)

    old = Old(parquet_dict._native())
    monkeypatch.setattr(parquet_dict, "_native", lambda: old)
    ways = parquet_dict.native_columns(SCHEMA, DELTA_OPTIONS)
    assert not any(n in ways for n in INTS) and "f64" in ways


def test_bad_calls_are_refused():
    mod = native._module()[0]
    four = pa.array([1.0, 2.0], pa.float64()).buffers()[1]
    with pytest.raises(ValueError):  # only integers
        mod.parquet_numbers("double", [(2, None, four, 0)], False, 1 << 20, 10, 1 << 20, delta=True)
    with pytest.raises(ValueError):  # more rows than values
        mod.parquet_numbers("int64", [(3, None, four, 0)], False, 1 << 20, 10, 1 << 20, delta=True)
