"""The one-value text columns (source, host, mta, Exim's program) handed to the Parquet and JSON
lines writers as dictionaries (analyzer/sink_codes.py): found without a hash, and the files read
back as the plain columns write them."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import sinks
from analyzer.sink_codes import ONE_VALUED, coded, coded_schema, one_value, one_valued, stored_metadata
from analyzer.sinks import EventWriter


def _table(n: int, source: str, program: list[str | None] | None = None, host: str | None = "mx1") -> pa.Table:
    return pa.table({
        "line_no": pa.array(range(1, n + 1), pa.int64()),
        "host": pa.array([host] * n, pa.string()),
        "program": pa.array(program if program is not None else ["postfix/smtpd"] * n, pa.string()),
        "reply_text": pa.array([f"text {i}" for i in range(n)], pa.string()),
        "source": pa.array([source] * n, pa.string()),
    })


def _write(path, tables: list[pa.Table], *, plain: bool = False, monkeypatch=None) -> None:
    if plain:
        monkeypatch.setattr(sinks, "one_valued", lambda t: ())
    with EventWriter(str(path), threaded=False) as w:
        for t in tables:
            w.write(t)
        w.close_ok(tables[0].schema)
    if plain:
        monkeypatch.undo()


texts = st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(0, 5), st.integers(0, 5))
def test_one_value_exactly_when_every_row_holds_the_first(values, start, cut):
    """A dictionary of one value (or of none: every row null) that decodes to the column, exactly
    when the rows are equal; slices of a longer array included (their offsets do not start at 0)."""
    arr = pa.array(["pad"] * start + values + ["tail"] * cut, pa.string()).slice(start, len(values))
    got = one_value(arr)
    same = len(values) > 0 and (all(v is None for v in values)
                                or (None not in values and len(set(values)) == 1))
    assert (got is not None) == same
    if got is not None:
        assert len(got.dictionary) <= 1
        assert got.dictionary_decode().equals(arr)


@pytest.mark.parametrize("value", ["", "x", "/var/log/mail.log"])
def test_one_value_of_equal_rows_and_the_row_that_differs(value):
    n = 1000
    assert one_value(pa.array([value] * n)) is not None
    for i in (0, 1, n // 2, n - 1):
        rows = [value] * n
        rows[i] = value + "y"
        assert one_value(pa.array(rows)) is None
        rows[i] = None
        assert one_value(pa.array(rows)) is None


def test_coded_columns_are_the_one_valued_ones_and_decode_to_the_table():
    t = _table(50, "/var/log/mail.log", program=["postfix/smtpd", "postfix/qmgr"] * 25)
    assert one_valued(t) == ("host", "source")
    assert set(one_valued(t)) <= set(ONE_VALUED)
    got = coded(t, one_valued(t))
    assert got.schema == coded_schema(t.schema, one_valued(t))
    assert pa.types.is_dictionary(got.schema.field("source").type)
    assert got.schema.field("program").type == pa.string()
    assert got.cast(t.schema).equals(t)
    # a later batch of other values in the chosen column (the next file): dictionary-encoded
    two = pa.concat_tables([_table(3, "a.log"), _table(4, "b.log")])
    assert coded(two, ("source",)).cast(two.schema).equals(two)


@pytest.mark.parametrize("null_host", [False, True])
def test_parquet_from_codes_reads_back_as_the_plain_write(tmp_path, monkeypatch, null_host):
    """Values, types, schema and key/value metadata (pandas', ARROW:schema) and row groups as
    the plain columns write them; a rotated set (a second file's name in a later batch, and a
    batch that mixes both) included."""
    host = None if null_host else "mx1"
    tables = [_table(300, "mail.log.1", host=host), _table(200, "mail.log.1", host=host),
              pa.concat_tables([_table(100, "mail.log.1", host=host), _table(150, "mail.log", host=host)]),
              _table(250, "mail.log", host=host), pa.concat_tables([_table(30, "mail.log"), _table(20, "mail.log", host=None)])]
    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 400)
    coded_file, plain_file = tmp_path / "c.parquet", tmp_path / "p.parquet"
    _write(coded_file, tables)
    _write(plain_file, tables, plain=True, monkeypatch=monkeypatch)
    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 400)
    a, b = pq.read_table(coded_file), pq.read_table(plain_file)
    assert a.equals(b) and a.schema.equals(b.schema, check_metadata=True)
    assert a.schema.field("source").type == pa.string()
    ma, mb = pq.read_metadata(coded_file), pq.read_metadata(plain_file)
    assert ma.metadata == mb.metadata
    assert [ma.row_group(i).num_rows for i in range(ma.num_row_groups)] == \
           [mb.row_group(i).num_rows for i in range(mb.num_row_groups)]
    src = ma.schema.to_arrow_schema().names.index("source")
    assert all(ma.row_group(i).column(src).has_dictionary_page for i in range(ma.num_row_groups))


def test_jsonl_from_codes_is_the_same_bytes(tmp_path, monkeypatch):
    """Batches whose chunks hold other values (two files; a null host beside a named one) too."""
    tables = [_table(300, "mail.log.1", host=None), pa.concat_tables([_table(10, "a"), _table(5, "b")]),
              pa.concat_tables([_table(7, "a", host=None), _table(9, "a")])]
    _write(tmp_path / "c.jsonl", tables)
    _write(tmp_path / "p.jsonl", tables, plain=True, monkeypatch=monkeypatch)
    assert (tmp_path / "c.jsonl").read_bytes() == (tmp_path / "p.jsonl").read_bytes()


def test_stored_metadata_is_what_store_schema_writes(tmp_path):
    t = _table(20, "mail.log").replace_schema_metadata({"k": "v"})
    pq.write_table(t, tmp_path / "s.parquet")
    assert pq.read_metadata(tmp_path / "s.parquet").metadata == stored_metadata(t.schema)
