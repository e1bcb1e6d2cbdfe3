"""analyzer.parquet_dict: the text columns' chunks made by the native core (native/src/pqdict.rs,
pqzstd.rs: dictionary-encoded or plain, uncompressed or zstd; the numbers': test_parquet_numbers.py) beside Arrow's: the file read back
is the one Arrow alone writes (``MAILLENS_ENGINE=python``), whatever the words, nulls, chunks,
slices and page sizes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import native, parquet_dict
from analyzer.sink_codes import stored_metadata
from analyzer.sink_parquet import GroupFiles

pytestmark = pytest.mark.skipif(not native.available(), reason="native engine not built")

CODES = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema([("kind", pa.string()), ("cls", CODES), ("n", pa.int64()), ("free", pa.string()),
                    ("one", CODES)], metadata={b"pandas": b"{}"})
#: the sinks' kind of options: dictionary, uncompressed, no statistics for the few-valued text
OPTIONS = {"use_dictionary": ["kind", "cls", "one"], "compression": {"kind": "none", "cls": "none", "one": "none",
                                                                        "n": "zstd", "free": "zstd"},
           "write_statistics": ["n"], "store_schema": False}
#: the same with zstd for the dictionaries too (levels 1 and 3), and small plain pages (by rows, by bytes)
ZSTD_OPTIONS = {**OPTIONS, "compression": {"kind": "zstd", "cls": "zstd", "one": "none", "n": "zstd", "free": "zstd"},
                "compression_level": {"kind": 3, "free": 1}, "max_rows_per_page": 7, "data_page_size": 64}


@pytest.fixture(autouse=True)
def _native_engine(monkeypatch):
    """The native core's path (the whole suite also runs with ``MAILLENS_ENGINE=python``)."""
    monkeypatch.setenv("MAILLENS_ENGINE", "native")


WORDS = ["", "connect", "disconnect", "reject", "a much longer word than sixteen bytes", "été", "x" * 16, "x" * 17]


def _file(groups: list[pa.Table], engine: str, monkeypatch, threads: int = 1, schema: pa.Schema = SCHEMA,
          options: dict | None = None) -> bytes:
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    out = pa.BufferOutputStream()
    # as the sinks write coded columns: the plain schema stored (read back, they are text)
    plain = pa.schema([f.with_type(pa.string()) if f.type == CODES else f for f in schema], metadata={b"k": b"v"})
    files = GroupFiles(out, schema, OPTIONS if options is None else options, stored_metadata(plain), threads)
    for g in groups:
        files.add(g)
    files.close()
    return out.getvalue().to_pybytes()


def _same_read_back(a: bytes, b: bytes) -> None:
    fa, fb = pq.ParquetFile(pa.BufferReader(a)), pq.ParquetFile(pa.BufferReader(b))
    ta, tb = fa.read(), fb.read()
    assert ta.schema.equals(tb.schema, check_metadata=True)
    assert ta.equals(tb)
    assert fa.metadata.metadata == fb.metadata.metadata
    assert [fa.metadata.row_group(i).num_rows for i in range(fa.metadata.num_row_groups)] == \
           [fb.metadata.row_group(i).num_rows for i in range(fb.metadata.num_row_groups)]
    # each row group alone, and the text read as dictionaries
    for i in range(fa.metadata.num_row_groups):
        assert fa.read_row_group(i).equals(fb.read_row_group(i))
    names = ["kind", "cls"]
    da = pq.read_table(pa.BufferReader(a), read_dictionary=names)
    db = pq.read_table(pa.BufferReader(b), read_dictionary=names)
    assert all(da.column(n).cast(pa.string()).equals(db.column(n).cast(pa.string())) for n in names)


def _counting(monkeypatch) -> list[str]:
    """The columns whose chunks the native core makes from now on, one entry a chunk."""
    made: list[str] = []
    real = parquet_dict.chunk

    def chunk(name, col, *way):
        got = real(name, col, *way)
        if got is not None:
            made.append(name)
        return got

    monkeypatch.setattr(parquet_dict, "chunk", chunk)
    return made


@st.composite
def groups(draw):
    out = []
    dictionary = pa.array(["", *draw(st.lists(st.sampled_from(WORDS[1:]), min_size=0, max_size=5, unique=True))])
    for _ in range(draw(st.integers(1, 4))):
        chunks = []
        for _ in range(draw(st.integers(1, 3))):
            n = draw(st.integers(1, 60))
            skip = draw(st.integers(0, 9))  # the chunk a slice of a longer array
            kind = draw(st.lists(st.one_of(st.none(), st.sampled_from(WORDS)), min_size=n + skip, max_size=n + skip))
            codes = draw(st.lists(st.one_of(st.none(), st.integers(0, len(dictionary) - 1)), min_size=n + skip,
                                  max_size=n + skip))
            if draw(st.booleans()):
                codes = [c if c is None else 1 % len(dictionary) for c in codes]
            cls = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), dictionary)
            one = pa.DictionaryArray.from_arrays(pa.array([0] * (n + skip), pa.int32()), pa.array(["mx1"]))
            free = draw(st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=n + skip, max_size=n + skip))
            t = pa.table({"kind": pa.array(kind, pa.string()), "cls": cls, "n": pa.array(range(n + skip), pa.int64()),
                          "free": pa.array(free, pa.string()), "one": one})
            chunks.append(t.slice(skip, n))
        out.append(pa.concat_tables(chunks))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups(), st.sampled_from([1, 2]), st.sampled_from([OPTIONS, ZSTD_OPTIONS]))
def test_native_chunks_read_back_as_arrows(monkeypatch, gs, threads, options):
    with monkeypatch.context() as m:
        made = _counting(m)
        ours = _file(gs, "native", m, threads, options=options)
    _same_read_back(ours, _file(gs, "python", monkeypatch, options=options))
    assert sorted(made) == sorted(["kind", "cls", "n", "free", "one"] * len(gs))


def test_columns_taken_and_not(monkeypatch):
    ways = parquet_dict.native_columns(SCHEMA, OPTIONS)
    assert tuple(ways) == ("kind", "cls", "n", "free", "one")
    assert [(w.dictionary, w.level, w.stats, w.kind) for w in ways.values()] == \
           [(True, None, False, ""), (True, None, False, ""), (False, 1, True, "int64"), (False, 1, False, ""), (True, None, False, "")]
    ways = parquet_dict.native_columns(SCHEMA, ZSTD_OPTIONS)
    assert [(w.dictionary, w.level, w.page_rows, w.page_bytes) for w in ways.values()] == \
           [(True, 3, 7, 64), (True, 1, 7, 64), (False, 1, 7, 64), (False, 1, 7, 64), (True, None, 7, 64)]
    # text with statistics, another codec, an encoding of its own, not nullable, v2 pages: Arrow's
    # (the numbers take statistics: tests/test_parquet_numbers.py)
    for change in ({"write_statistics": ["kind", "cls", "free", "one"]},
                   {"column_encoding": {"kind": "PLAIN", "cls": "PLAIN", "free": "PLAIN", "one": "PLAIN"}}):
        assert tuple(parquet_dict.native_columns(SCHEMA, {**OPTIONS, **change})) == ("n",)
    for change in ({"compression": "snappy"}, {"data_page_version": "2.0"}):
        assert parquet_dict.native_columns(SCHEMA, {**OPTIONS, **change}) == {}
    # dictionaries of text without a dictionary encoding: Arrow's; text so: plain
    assert tuple(parquet_dict.native_columns(SCHEMA, {**OPTIONS, "use_dictionary": False})) == ("kind", "n", "free")
    strict = pa.schema([pa.field("kind", pa.string(), nullable=False)])
    assert parquet_dict.native_columns(strict, {"compression": "none", "write_statistics": False}) == {}
    assert parquet_dict.native_columns(pa.schema([("kind", pa.large_string())]),
                                       {"compression": "none", "write_statistics": False}) == {}
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    assert parquet_dict.native_columns(SCHEMA, OPTIONS) == {}


def test_left_to_arrow_read_back_the_same(monkeypatch):
    n = 300
    words = [f"w{i:04d}" for i in range(n)]
    t = pa.table({"kind": pa.array(words), "cls": pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["a"])),
                  "n": pa.array(range(n), pa.int64()), "free": pa.array(words),
                  "one": pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["b"]))})
    # a dictionary past the limit: Arrow writes that column (and falls back to plain pages)
    monkeypatch.setattr(parquet_dict, "DICTIONARY_LIMIT", 1000)
    assert parquet_dict.chunk("kind", t.column("kind")) is None
    assert parquet_dict.chunk("cls", t.column("cls")) is not None
    with monkeypatch.context() as m:
        made = _counting(m)
        ours = _file([t], "native", m)
    _same_read_back(ours, _file([t], "python", monkeypatch))
    assert made == ["cls", "n", "free", "one"]
    # chunks with dictionaries of their own: Arrow's
    two = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array(["a"])),
                            pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array(["b"]))])
    assert parquet_dict.chunk("cls", two) is None
    assert parquet_dict.chunk("kind", pa.chunked_array([], pa.string())) is None
    assert parquet_dict.chunk("n", t.column("n")) is None  # (not as text)
    assert parquet_dict.chunk("cls", t.column("cls"), parquet_dict.Way(False, 1)) is None  # (plain: text only)


@pytest.mark.parametrize("options", [{"use_dictionary": True, "compression": "none"},
                                     {"use_dictionary": ["cls"], "compression": "zstd"},
                                     {"use_dictionary": True, "compression": "zstd", "compression_level": 5}])
def test_all_null_and_every_column_native(monkeypatch, options):
    schema = pa.schema([("kind", pa.string()), ("cls", CODES)])
    options = {**options, "write_statistics": False}
    t = pa.table({"kind": pa.nulls(20, pa.string()),
                  "cls": pa.DictionaryArray.from_arrays(pa.nulls(20, pa.int32()), pa.array([], pa.string()))})
    u = pa.table({"kind": pa.array(["a"] * 9 + [None]), "cls": pa.DictionaryArray.from_arrays(
        pa.array([0, None] * 5, pa.int32()), pa.array(["z"]))})
    big = pa.table({"kind": pa.array([f"w{i % 5000}-" * (i % 7) or None for i in range(60_000)]),
                    "cls": pa.DictionaryArray.from_arrays(pa.array([i % 3 for i in range(60_000)], pa.int32()),
                                                          pa.array(["x", "y", "z"]))})
    with monkeypatch.context() as m:
        made = _counting(m)
        ours = _file([t, u, big], "native", m, schema=schema, options=options)
    assert sorted(made) == ["cls", "cls", "cls", "kind", "kind", "kind"]
    _same_read_back(ours, _file([t, u, big], "python", monkeypatch, schema=schema, options=options))


def test_bad_buffers_are_refused_not_read():
    mod = native._module()[0]
    off = pa.py_buffer(pa.array([0, 5, 2], pa.int32()).buffers()[1])
    with pytest.raises(ValueError):
        mod.parquet_dict_texts([(2, None, off, 0, b"abcdef")], 1 << 20)
    with pytest.raises(ValueError):  # more rows than offsets
        mod.parquet_dict_texts([(9, None, off, 0, b"abcdef")], 1 << 20)
    words = pa.array(["a", "b"])
    _, w_off, w_data = words.buffers()
    idx = pa.array([0, 2], pa.int32()).buffers()[1]
    with pytest.raises(ValueError):  # an index outside the dictionary
        mod.parquet_dict_codes([(2, None, idx, 0)], (w_off, 0, w_data), 2)
    with pytest.raises(ValueError):  # a validity bitmap too short
        mod.parquet_dict_codes([(20, (b"\xff", 0), idx, 0)], (w_off, 0, w_data), 2)
    with pytest.raises(ValueError):  # plain pages: offsets out of order, more rows than offsets, short bitmap
        mod.parquet_plain_texts([(2, None, off, 0, b"abcdef")], 10, 1 << 20, 1)
    with pytest.raises(ValueError):
        mod.parquet_plain_texts([(9, None, off, 0, b"abcdef")], 10, 1 << 20, None)
    with pytest.raises(ValueError):
        mod.parquet_plain_texts([(20, (b"\xff", 0), w_off, 0, w_data)], 10, 1 << 20, 1)
    # a huge row count or page size from the caller is an error or a small page, never an allocation
    # of that size up front (it aborted the process: review of round 23)
    with pytest.raises(ValueError):
        mod.parquet_dict_texts([(1 << 40, None, off, 0, b"abcdef")], 1 << 20)
    ok = pa.py_buffer(pa.array([0, 2], pa.int32()).buffers()[1])
    assert mod.parquet_plain_texts([(1, None, ok, 0, b"ab")], 1 << 36, 1 << 20, None)


def test_another_reader_reads_it(tmp_path, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    g = pa.table({"kind": pa.array(["a", None, "bb", "a"] * 50), "cls": pa.DictionaryArray.from_arrays(
        pa.array([1, 2, None, 1] * 50, pa.int32()), pa.array(["", "x", "yy"])), "n": pa.array(range(200), pa.int64()),
        "free": pa.array(["f", None, "ggg", ""] * 50), "one": pa.DictionaryArray.from_arrays(pa.array([0] * 200, pa.int32()), pa.array(["o"]))})
    path = tmp_path / "x.parquet"
    for options in (OPTIONS, ZSTD_OPTIONS):
        path.write_bytes(_file([g, g.slice(3, 50)], "native", monkeypatch, options=options))
        got = duckdb.connect().execute(f"select kind, cls, n, free from '{path}'").fetchall()
        want = pq.read_table(path, columns=["kind", "cls", "n", "free"]).to_pylist()
        assert got == [(r["kind"], r["cls"], r["n"], r["free"]) for r in want]


@given(st.sampled_from([0, 2]), st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1),
       st.sampled_from([0, 3, 5, 8]), st.binary(max_size=300))
def test_page_headers_as_the_generic_encoder_writes_them(kind, size, rows, count, encoding, body):
    """The pages' headers written by hand are the bytes :func:`analyzer.parquet_footer.encode` makes
    of the ``PageHeader`` struct (data pages: rows, encoding, RLE levels, empty statistics;
    dictionary pages: words, PLAIN, not sorted), at any sizes (varints of 1 to 5 bytes)."""
    from analyzer import parquet_footer as footer
    from analyzer.parquet_footer import _FALSE, _I32, _STRUCT

    sizes = [[1, _I32, kind], [2, _I32, size], [3, _I32, len(body)]]
    data = [[5, _STRUCT, [[1, _I32, rows], [2, _I32, encoding], [3, _I32, 3], [4, _I32, 3], [5, _STRUCT, []]]]]
    words = [[7, _STRUCT, [[1, _I32, count], [2, _I32, 0], [3, _FALSE, _FALSE]]]]
    for head, struct in ((parquet_dict._data_head(rows, encoding), data), (parquet_dict._dict_head(count), words)):
        pieces, total = parquet_dict._page(kind, body, size, head)
        assert pieces[0] == footer.encode([*sizes, *struct])
        assert pieces[1] is body and total == len(pieces[0]) + size
        assert footer.decode(pieces[0]) == [*sizes, *struct]
