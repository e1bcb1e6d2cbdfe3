"""analyzer.parquet_dict: the number, time and boolean columns' chunks made by the native core
(native/src/pqnum.rs: dictionary-encoded or PLAIN, uncompressed or zstd, with min/max
statistics) beside Arrow's: read back, and in each chunk's statistics, the file is the one
Arrow alone writes (``MAILLENS_ENGINE=python``), whatever the values, nulls, chunks, slices,
page sizes."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import native, parquet_dict
from analyzer import parquet_footer as footer
from analyzer.sink_parquet import GroupFiles

from .test_parquet_dict import _counting

pytestmark = pytest.mark.skipif(not native.available(), reason="native engine not built")

TS = pa.timestamp("us", "UTC")
SCHEMA = pa.schema([("i16", pa.int16()), ("i32", pa.int32()), ("i64", pa.int64()), ("f64", pa.float64()),
                    ("b", pa.bool_()), ("ts", TS), ("text", pa.string())])
NUMBERS = SCHEMA.names[:-1]
#: as the sinks write them: dictionaries uncompressed, the rest zstd, statistics for the numbers
OPTIONS = {"use_dictionary": ["i16", "i32", "f64", "b"], "compression": {**dict.fromkeys(NUMBERS, "none"), "i64": "zstd",
                                                                         "ts": "zstd", "text": "zstd"},
           "write_statistics": NUMBERS, "store_schema": False}
#: every number dictionary-encoded and zstd (level 3), small pages (by rows, by bytes)
ZSTD_OPTIONS = {"use_dictionary": True, "compression": "zstd", "compression_level": 3, "write_statistics": NUMBERS,
                "max_rows_per_page": 7, "data_page_size": 64, "store_schema": False}
#: no statistics, none dictionary-encoded
BARE_OPTIONS = {"use_dictionary": False, "compression": "none", "write_statistics": False, "store_schema": False}

@pytest.fixture(autouse=True)
def _native_engine(monkeypatch):
    """The native core's path (the whole suite also runs with ``MAILLENS_ENGINE=python``)."""
    monkeypatch.setenv("MAILLENS_ENGINE", "native")


FLOATS = [0.0, -0.0, 1.5, -2.25, math.inf, -math.inf, math.nan, 1e300, 5e-324]


def _file(groups: list[pa.Table], engine: str, monkeypatch, options: dict, threads: int = 1) -> bytes:
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    out = pa.BufferOutputStream()
    files = GroupFiles(out, SCHEMA, options, {b"k": b"v"}, threads)
    for g in groups:
        files.add(g)
    files.close()
    return out.getvalue().to_pybytes()


def _values(t: pa.Table) -> dict:
    """Each column's values, NaN and -0.0 told apart from the others (NaN equal to NaN)."""
    return {n: [repr(v) if isinstance(v, float) else v for v in t.column(n).to_pylist()] for n in t.column_names}


def _stats(data: bytes) -> list:
    """Each chunk's name, physical type, codec and ``Statistics`` struct as the footer holds them
    (min, max, their deprecated twins, nulls, exactness: byte for byte)."""
    _, meta = footer.split(data)
    got = []
    for group in footer._field(meta, footer._FILE_GROUPS)[2][1]:
        for chunk in footer._field(group, 1)[2][1]:
            m = footer._field(chunk, 3)[2]
            got.append([footer._field(m, k) for k in (1, 3, 4, 12)])
    return got


def _same(a: bytes, b: bytes) -> None:
    fa, fb = pq.ParquetFile(pa.BufferReader(a)), pq.ParquetFile(pa.BufferReader(b))
    ta, tb = fa.read(), fb.read()
    assert ta.schema.equals(tb.schema, check_metadata=True)
    assert _values(ta) == _values(tb)
    assert fa.metadata.metadata == fb.metadata.metadata
    assert fa.metadata.num_row_groups == fb.metadata.num_row_groups
    assert _stats(a) == _stats(b)
    for g in range(fa.metadata.num_row_groups):
        assert fa.metadata.row_group(g).num_rows == fb.metadata.row_group(g).num_rows
        assert _values(fa.read_row_group(g)) == _values(fb.read_row_group(g))


def _column(draw, n: int, values) -> list:
    if draw(st.booleans()):  # (some chunks without nulls: no validity bitmap)
        return draw(st.lists(values, min_size=n, max_size=n))
    nulls = draw(st.sampled_from([0.1, 0.5, 1.0]))
    return [None if draw(st.floats(0, 1)) < nulls else draw(values) for _ in range(n)]


@st.composite
def groups(draw):
    few = draw(st.booleans())  # few values (runs: RLE) or many
    ints = st.integers(-3, 3) if few else st.integers(-(1 << 15), (1 << 15) - 1)
    out = []
    for _ in range(draw(st.integers(1, 3))):
        chunks = []
        for _ in range(draw(st.integers(1, 3))):
            n, skip = draw(st.integers(1, 50)), draw(st.integers(0, 9))  # (a slice of a longer array)
            m = n + skip
            t = pa.table({"i16": pa.array(_column(draw, m, ints), pa.int16()),
                          "i32": pa.array(_column(draw, m, st.integers(-(1 << 31), (1 << 31) - 1) if not few else ints), pa.int32()),
                          "i64": pa.array(_column(draw, m, st.integers(-(1 << 63), (1 << 63) - 1) if not few else ints), pa.int64()),
                          "f64": pa.array(_column(draw, m, st.sampled_from(FLOATS) if few else st.floats()), pa.float64()),
                          "b": pa.array(_column(draw, m, st.booleans()), pa.bool_()),
                          "ts": pa.array(_column(draw, m, st.integers(0, 4_000_000_000_000_000)), TS),
                          "text": pa.array(_column(draw, m, st.sampled_from(["a", "bb", ""])), pa.string())})
            chunks.append(t.slice(skip, n))
        out.append(pa.concat_tables(chunks))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups(), st.sampled_from([1, 2]), st.sampled_from([OPTIONS, ZSTD_OPTIONS, BARE_OPTIONS]))
def test_native_numbers_read_back_as_arrows_with_its_statistics(monkeypatch, gs, threads, options):
    with monkeypatch.context() as m:
        made = _counting(m)
        ours = _file(gs, "native", m, options, threads)
    _same(ours, _file(gs, "python", monkeypatch, options))
    assert sorted(made) == sorted(SCHEMA.names * len(gs))


def test_many_rows_many_pages_and_a_growing_dictionary(monkeypatch):
    n = 70_000
    t = pa.table({"i16": pa.array([i % 300 - 150 if i % 11 else None for i in range(n)], pa.int16()),
                  "i32": pa.array([i * 7 % 40_000 for i in range(n)], pa.int32()),  # (new words on every page)
                  "i64": pa.array([i * 1_000_003 for i in range(n)], pa.int64()),
                  "f64": pa.array([(i % 500) / 8 if i % 3 else None for i in range(n)], pa.float64()),
                  "b": pa.array([i % 5 == 0 if i % 7 else None for i in range(n)]),
                  "ts": pa.array([1_700_000_000_000_000 + i * 3 for i in range(n)], TS),
                  "text": pa.array(["x"] * n)})
    for options in (OPTIONS, {**OPTIONS, "use_dictionary": True}, ZSTD_OPTIONS):
        with monkeypatch.context() as m:
            made = _counting(m)
            ours = _file([t, t.slice(5, 30_000)], "native", m, options, threads=2)
        _same(ours, _file([t, t.slice(5, 30_000)], "python", monkeypatch, options))
        assert sorted(made) == sorted(SCHEMA.names * 2)


def test_all_null_all_nan_and_signed_zeros(monkeypatch):
    t = pa.table({"i16": pa.nulls(9, pa.int16()), "i32": pa.array([None, -1, None] * 3, pa.int32()),
                  "i64": pa.nulls(9, pa.int64()), "f64": pa.array([math.nan, None, math.nan] * 3),
                  "b": pa.nulls(9, pa.bool_()), "ts": pa.nulls(9, TS), "text": pa.nulls(9, pa.string())})
    zeros = t.set_column(3, "f64", pa.array([0.0, -0.0, None] * 3))
    negative = t.set_column(3, "f64", pa.array([-0.0, -3.0, 0.0] * 3))
    for options in (OPTIONS, ZSTD_OPTIONS):
        _same(_file([t, zeros, negative], "native", monkeypatch, options), _file([t, zeros, negative], "python", monkeypatch, options))


def test_columns_taken_and_not(monkeypatch):
    ways = parquet_dict.native_columns(SCHEMA, OPTIONS)
    assert {n: (w.kind, w.dictionary, w.level, w.stats) for n, w in ways.items() if w.kind} == {
        "i16": ("int16", True, None, True), "i32": ("int32", True, None, True), "i64": ("int64", False, 1, True),
        "f64": ("double", True, None, True), "b": ("bool", False, None, True), "ts": ("int64", False, 1, True)}
    # an encoding of their own (but DELTA_BINARY_PACKED of integers), another codec, times converted, other time units: Arrow's
    coded = {"i64": "DELTA_BINARY_PACKED", "ts": "DELTA_BINARY_PACKED", "i32": "BYTE_STREAM_SPLIT"}
    ways = parquet_dict.native_columns(SCHEMA, {**OPTIONS, "column_encoding": coded, "use_dictionary": ["i16", "f64", "b"]})
    assert ways["i64"].delta and "ts" not in ways and "i32" not in ways and not ways["i16"].delta
    assert not any(w.kind for w in parquet_dict.native_columns(SCHEMA, {**OPTIONS, "compression": "snappy"}).values())
    assert "ts" not in parquet_dict.native_columns(SCHEMA, {**OPTIONS, "coerce_timestamps": "ms"})
    assert "ts" not in parquet_dict.native_columns(SCHEMA, {**OPTIONS, "use_deprecated_int96_timestamps": True})
    others = pa.schema([("s", pa.timestamp("s")), ("ns", pa.timestamp("ns")), ("u8", pa.uint8()), ("f32", pa.float32()),
                        ("d", pa.date32())])
    assert parquet_dict.native_columns(others, BARE_OPTIONS) == {}


def test_a_dictionary_past_the_limit_is_left_to_arrow(monkeypatch):
    t = pa.table({n: pa.array(range(400), pa.int64() if n in ("i64", "ts") else SCHEMA.field(n).type)
                  if n not in ("b", "text") else pa.array([True] * 400 if n == "b" else ["a"] * 400)
                  for n in SCHEMA.names}).cast(SCHEMA)
    monkeypatch.setattr(parquet_dict, "DICTIONARY_LIMIT", 1000)
    options = {**OPTIONS, "use_dictionary": True}
    ways = parquet_dict.native_columns(SCHEMA, options)
    assert parquet_dict.chunk("i32", t.column("i32"), ways["i32"]) is None  # (1600 bytes of words)
    assert parquet_dict.chunk("i16", t.slice(0, 200).column("i16"), ways["i16"]) is not None
    with monkeypatch.context() as m:
        made = _counting(m)
        ours = _file([t], "native", m, options)
    _same(ours, _file([t], "python", monkeypatch, options))
    assert sorted(made) == ["b", "text"]


def test_bad_buffers_are_refused_not_read():
    mod = native._module()[0]
    four = pa.array([1, 2, 3, 4], pa.int32()).buffers()[1]
    with pytest.raises(ValueError):  # more rows than values
        mod.parquet_numbers("int32", [(5, None, four, 0)], True, 1 << 20, 10, 1 << 20)
    with pytest.raises(ValueError):
        mod.parquet_numbers("int64", [(3, None, four, 0)], False, 1 << 20, 10, 1 << 20, 1)
    with pytest.raises(ValueError):  # a validity bitmap too short
        mod.parquet_numbers("int16", [(20, (b"\xff", 0), pa.py_buffer(bytes(40)), 0)], False, 1 << 20, 10, 1 << 20)
    with pytest.raises(ValueError):  # booleans are never dictionary-encoded; unknown kinds
        mod.parquet_numbers("bool", [(4, None, b"\x0f", 0)], True, 1 << 20, 10, 1 << 20)
    with pytest.raises(ValueError):
        mod.parquet_numbers("float", [(1, None, four, 0)], False, 1 << 20, 10, 1 << 20)
    with pytest.raises(ValueError):  # a row count past any buffer
        mod.parquet_numbers("int64", [(1 << 62, None, four, 0)], False, 1 << 20, 10, 1 << 20)
    # a huge page size from the caller is a small page, never an allocation of that size up front
    assert mod.parquet_numbers("int32", [(4, None, four, 0)], False, 1 << 20, 1 << 40, 1 << 20)
    assert mod.parquet_numbers("int32", [(4, None, four, 0)], True, 1 << 20, 1 << 40, 1 << 20)


def test_another_reader_reads_it(tmp_path, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    n = 300
    t = pa.table({"i16": pa.array([i % 7 - 3 if i % 4 else None for i in range(n)], pa.int16()),
                  "i32": pa.array(range(n), pa.int32()), "i64": pa.array([i * 10**12 for i in range(n)], pa.int64()),
                  "f64": pa.array([i / 4 if i % 5 else None for i in range(n)]), "b": pa.array([i % 3 == 0 for i in range(n)]),
                  "ts": pa.array([1_700_000_000_000_000 + i for i in range(n)], TS), "text": pa.array(["a"] * n)})
    path = tmp_path / "x.parquet"
    for options in (OPTIONS, ZSTD_OPTIONS):
        path.write_bytes(_file([t, t.slice(3, 50)], "native", monkeypatch, options))
        got = duckdb.connect().execute(f"select i16, i32, i64, f64, b from '{path}' where i32 >= 100 and i32 < 120").fetchall()
        want = [r for r in pq.read_table(path).to_pylist() if 100 <= r["i32"] < 120]
        assert got == [(r["i16"], r["i32"], r["i64"], r["f64"], r["b"]) for r in want]


def test_an_older_core_without_number_chunks_leaves_every_column_to_arrow(monkeypatch):
    """A native core built before the number chunks (no ``parquet_numbers``) is not asked for
    them: Arrow writes the file, as without a core (a stale build once failed `parse -o`)."""
    mod = native._module()[0]
    assert parquet_dict.native_columns(SCHEMA, OPTIONS)  # the core there takes some columns
    monkeypatch.delattr(mod, "parquet_numbers")
    assert parquet_dict.native_columns(SCHEMA, OPTIONS) == {}
    g = pa.table({"i16": pa.array([1, None], pa.int16()), "i32": pa.array([2, 3], pa.int32()),
                  "i64": pa.array([None, 4], pa.int64()), "f64": [0.5, -0.0], "b": [True, None],
                  "ts": pa.array([0, 1], TS), "text": ["a", None]}, schema=SCHEMA)
    got = pq.read_table(pa.BufferReader(_file([g], "native", monkeypatch, OPTIONS)))
    assert _values(got) == _values(g)
