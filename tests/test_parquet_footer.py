"""analyzer.parquet_footer: a Parquet footer read and written back byte for byte; row groups of
files encoded apart, moved into one file, make the file one writer makes."""

from __future__ import annotations

import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import parquet_footer as pf


def _file(groups: list[pa.Table], **options) -> bytes:
    out = pa.BufferOutputStream()
    with pq.ParquetWriter(out, groups[0].schema, **options) as w:
        for g in groups:
            w.write_table(g, row_group_size=max(1, g.num_rows))
    return out.getvalue().to_pybytes()


def _footer(data: bytes) -> bytes:
    (n,) = struct.unpack("<I", data[-8:-4])
    return data[-8 - n: -8]


def _stitched(groups: list[pa.Table], **options) -> bytes:
    """The groups as files of their own, moved into one (what sink_parquet.GroupFiles writes)."""
    out, first, parts = bytearray(pf.MAGIC), None, []
    for g in groups:
        body, meta = pf.split(_file([g], **options))
        first = first or meta
        parts.append(pf.moved(meta, len(out), sum(p.count for p in parts)))
        out += body
    tail = pf.merged(first, parts)
    return bytes(out + tail + struct.pack("<I", len(tail)) + pf.MAGIC)


_rows = st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.integers(-2**62, 2**62)),
                           st.one_of(st.none(), st.sampled_from(["a", "bb", "ccc"])),
                           st.one_of(st.none(), st.floats(allow_nan=False))), max_size=60)


def _table(rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pa.table({"text": pa.array(cols[0], pa.string()), "n": pa.array(cols[1], pa.int64()),
                     "few": pa.array(cols[2], pa.string()).dictionary_encode(), "x": pa.array(cols[3], pa.float64())})


_options = st.sampled_from([{}, {"compression": "zstd", "compression_level": 1, "use_dictionary": ["few"]},
                            {"write_statistics": False, "compression": "none"},
                            {"column_encoding": {"n": "DELTA_BINARY_PACKED"}, "use_dictionary": ["text", "few"],
                             "data_page_size": 64}])


@settings(max_examples=60, deadline=None)
@given(st.lists(_rows, min_size=1, max_size=5), _options)
def test_stitched_groups_are_the_single_writers_file(groups, options):
    """Row groups encoded as files of their own and moved into one: byte for byte the file one
    ParquetWriter writes of them (empty groups, nulls, dictionaries, statistics, encodings);
    every footer read and written back is the one read."""
    tables = [_table(rows) for rows in groups]
    whole = _file(tables, **options)
    assert pf.encode(pf.decode(_footer(whole))) == _footer(whole)
    assert _stitched(tables, **options) == whole
    back = pq.read_table(pa.BufferReader(whole))
    assert back.to_pylist() == pa.concat_tables(tables).to_pylist()


def test_key_value_metadata_and_schema_kept():
    """The first file's footer gives the file's schema and key/value metadata (Arrow's schema
    and one added before the close), as one writer's."""
    t = pa.table({"a": pa.array(["x", None, "y"]), "b": pa.array([1, 2, None])}).replace_schema_metadata({"k": "v"})

    def file_of(groups):
        out = pa.BufferOutputStream()
        with pq.ParquetWriter(out, t.schema) as w:
            for g in groups:
                w.write_table(g, row_group_size=g.num_rows)
            w.add_key_value_metadata({"added": "1"})
        return out.getvalue().to_pybytes()

    whole = file_of([t, t.slice(1), t])
    parts, out, first = [], bytearray(pf.MAGIC), None
    for g in (t, t.slice(1), t):
        body, meta = pf.split(file_of([g]))
        first = first or meta
        parts.append(pf.moved(meta, len(out), len(parts)))
        out += body
    tail = pf.merged(first, parts)
    assert bytes(out + tail + struct.pack("<I", len(tail)) + pf.MAGIC) == whole
    back = pq.read_table(pa.BufferReader(whole))
    assert back.schema.metadata[b"k"] == b"v" and pq.read_metadata(pa.BufferReader(whole)).metadata[b"added"] == b"1"


_structs = st.deferred(lambda: st.lists(st.tuples(st.integers(1, 40), _values), max_size=6))
_values = st.one_of(
    st.tuples(st.just(pf._I16), st.integers(-2**15, 2**15 - 1)),
    st.tuples(st.just(pf._I32), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.just(pf._I64), st.integers(-2**63, 2**63 - 1)),
    st.tuples(st.just(pf._BINARY), st.binary(max_size=20)),
    st.tuples(st.just(pf._DOUBLE), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just(pf._BYTE), st.integers(0, 255)),
    st.tuples(st.sampled_from([pf._TRUE, pf._FALSE]), st.none()),
    st.tuples(st.just(pf._LIST), st.tuples(st.just(pf._I64), st.lists(st.integers(-2**40, 2**40), max_size=20))),
    st.tuples(st.just(pf._LIST), st.tuples(st.just(pf._TRUE), st.lists(st.sampled_from([0, 1, 2]), max_size=17))),
    st.tuples(st.just(pf._MAP), st.tuples(st.just(pf._BINARY), st.just(pf._I32),
                                          st.lists(st.tuples(st.binary(max_size=4), st.integers(-99, 99)), max_size=3))),
    st.tuples(st.just(pf._STRUCT), _structs),
)


def _struct_of(drawn) -> list:
    fields, fid = [], 0
    for gap, (typ, v) in drawn:
        fid += gap
        if typ == pf._STRUCT:
            v = _struct_of(v)
        elif typ == pf._MAP and not v[2]:
            v = (0, 0, [])
        elif typ in (pf._TRUE, pf._FALSE):
            v = typ
        fields.append([fid, typ, v])
    return fields


@settings(max_examples=200, deadline=None)
@given(_structs)
def test_compact_protocol_round_trip(drawn):
    """Any struct (ids apart by more than 15, negative numbers, lists of 15 and more, maps,
    booleans in fields and lists, nested structs) decodes to what was encoded."""
    fields = _struct_of(drawn)
    data = pf.encode(fields)
    assert pf.decode(data) == [[f, t, (v[0], list(v[1])) if t == pf._LIST else v] for f, t, v in fields]
    assert pf.encode(pf.decode(data)) == data


@pytest.mark.parametrize("options", [{"write_page_index": True}, {"bloom_filter_options": {"a": True}}])
def test_offsets_outside_the_footer_refused(options):
    """A page index or bloom filters hold offsets the footer does not: such files are refused."""
    t = pa.table({"a": pa.array(["x", "y"] * 50)})
    try:
        data = _file([t], **options)
    except TypeError:  # (a pyarrow without bloom filters)
        pytest.skip("no bloom filters in this pyarrow")
    _, meta = pf.split(data)
    with pytest.raises(pf.FooterError):
        pf.moved(meta, 100)


@pytest.mark.parametrize("data", [b"", b"PAR1", b"PAR1\x00\x00\x00\x00PAR2", b"nope" * 4, b"PAR1\x63\x00\x00\x00PAR1",
                                  b"PAR1\x15\x02\x19\x03\x00\x00\x00PAR1"])
def test_not_parquet(data):
    with pytest.raises(pf.FooterError):
        pf.split(data)
