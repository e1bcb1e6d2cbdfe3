"""analyzer.sink_parquet.GroupFiles: row groups encoded side by side make the file one
ParquetWriter makes, written in order whatever order they finish in; and the stream's
classification lots end where the Parquet writer's row groups end."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analyzer import native, pipeline, sinks
from analyzer.parsers import LineCounts
from analyzer.sink_parquet import GroupFiles


def _groups() -> list[pa.Table]:
    return [pa.table({"a": pa.array([f"v{i % 7}" if i % 3 else None for i in range(n)], pa.string()),
                      "b": pa.array(range(n), pa.int64())}) for n in (50, 1, 120, 33)]


def _single(groups: list[pa.Table], options: dict, metadata: dict | None) -> bytes:
    out = pa.BufferOutputStream()
    w = pq.ParquetWriter(out, groups[0].schema, **options)
    for g in groups:
        w.write_table(g, row_group_size=g.num_rows)
    if metadata:
        w.add_key_value_metadata(metadata)
    w.close()
    return out.getvalue().to_pybytes()


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("metadata", [None, {b"k": b"v"}])
def test_group_files_write_the_single_writers_file(threads, metadata, monkeypatch):
    monkeypatch.setenv("MAILLENS_ENGINE", "python")  # (Arrow writes every chunk: the same bytes)
    groups = _groups()
    options = {"compression": "zstd", "use_dictionary": ["a"], "store_schema": metadata is None}
    out = pa.BufferOutputStream()
    done: list[int] = []
    files = GroupFiles(out, groups[0].schema, options, metadata, threads)
    for i, g in enumerate(groups):
        files.add(g, lambda i=i: done.append(i))
    files.close()
    assert out.getvalue().to_pybytes() == _single(groups, options, metadata)
    assert done == [0, 1, 2, 3]  # each group's `done` once, in order


@pytest.mark.parametrize("threads", [1, 2])
def test_the_last_group_split_between_threads_is_the_same_file(threads, monkeypatch):
    """The last row group's native chunks made half on an encoder, half on the caller's thread:
    the bytes of the file made group by group; read back, Arrow's alone."""
    monkeypatch.setenv("MAILLENS_ENGINE", "native")
    groups = _groups()
    options = {"compression": "zstd", "use_dictionary": ["a"], "write_statistics": ["b"]}
    made = []
    for last in (False, True):
        out = pa.BufferOutputStream()
        done: list[int] = []
        files = GroupFiles(out, groups[0].schema, options, {b"k": b"v"}, threads)
        if native.available():
            assert set(files._native) == {"a", "b"}
        for i, g in enumerate(groups):
            files.add(g, lambda i=i, done=done: done.append(i), last and i == len(groups) - 1)
        files.close()
        assert done == [0, 1, 2, 3]
        made.append(out.getvalue().to_pybytes())
    assert made[0] == made[1]
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    arrow = pq.ParquetFile(pa.BufferReader(_single(groups, options, {b"k": b"v"})))
    ours = pq.ParquetFile(pa.BufferReader(made[1]))
    assert ours.read().equals(arrow.read()) and ours.schema_arrow.equals(arrow.schema_arrow, check_metadata=True)
    assert [ours.metadata.row_group(i).num_rows for i in range(4)] == [50, 1, 120, 33]
    assert ours.metadata.row_group(3).column(1).statistics == arrow.metadata.row_group(3).column(1).statistics


def test_no_groups_is_the_writers_empty_file():
    schema = pa.schema([("a", pa.string())])
    out = pa.BufferOutputStream()
    GroupFiles(out, schema, {}, {b"k": b"v"}).close()
    empty = pa.BufferOutputStream()
    w = pq.ParquetWriter(empty, schema)
    w.add_key_value_metadata({b"k": b"v"})
    w.close()
    assert out.getvalue().to_pybytes() == empty.getvalue().to_pybytes()
    assert pq.read_metadata(pa.BufferReader(out.getvalue())).num_row_groups == 0


class _Slow(GroupFiles):
    """The first group's encoding finishes last."""

    def _encode(self, table):
        if table.num_rows == 50:
            time.sleep(0.3)
        return super()._encode(table)


def test_written_in_order_when_finished_out_of_order():
    groups = _groups()
    out = pa.BufferOutputStream()
    order: list[int] = []
    files = _Slow(out, groups[0].schema, {}, threads=2)
    for i, g in enumerate(groups):
        files.add(g, lambda i=i: order.append(i))
    files.close()
    assert order == [0, 1, 2, 3]
    assert out.getvalue().to_pybytes() == _single(groups, {}, None)


def test_an_encoders_error_is_raised_and_abort_ends_the_threads():
    groups = _groups()
    out = pa.BufferOutputStream()
    files = GroupFiles(out, groups[0].schema, {}, threads=2)
    files.add(groups[0])
    with pytest.raises((pa.ArrowInvalid, ValueError)):
        files.add(pa.table({"other": [1]}))  # not the schema
        files.close()
    files.abort()
    assert not [t for t in threading.enumerate() if t.name.startswith("maillens-parquet")]


def test_event_writer_groups_read_back(tmp_path, monkeypatch):
    """EventWriter on its threads: the row groups as gathered (several batches a group), read back
    as written, the encoders' threads ended."""
    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 60)
    batches = [pa.table({"event": pa.array(["x", None, "y"] * 8), "n": pa.array(range(i, i + 24), pa.int64())})
               for i in range(0, 240, 24)]
    path = tmp_path / "x.parquet"
    with sinks.EventWriter(str(path)) as w:
        for b in batches:
            w.write(b)
        w.close_ok(batches[0].schema)
    f = pq.ParquetFile(path)
    assert [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)] == [72, 72, 72, 24]
    assert f.read().to_pylist() == pa.concat_tables(batches).to_pylist()
    assert not [t for t in threading.enumerate() if t.name.startswith("maillens-parquet")]


class _Lots:
    """A classifier whose lots (classify_many's calls) are recorded; ``group_rows`` as the Parquet writer sets it."""

    def __init__(self, group_rows: int) -> None:
        self.group_rows = group_rows
        self.lots: list[list[int]] = []

    def classify_many(self, tables, keys=None):
        self.lots.append([t.num_rows for t in tables])
        return tables


@pytest.mark.parametrize("sizes", [[30] * 12, [0, 45, 10, 0, 60, 5, 100, 1, 1, 99, 250, 3], [7] * 40])
def test_classification_lots_end_where_row_groups_end(sizes, monkeypatch):
    """With the consumer's group_rows, a lot ends where the writer's gathering (batches until
    group_rows rows, empty ones included) ends a row group; every batch once, in order."""
    monkeypatch.setattr(pipeline, "CLASSIFY_ROWS", 1000)
    monkeypatch.setattr(pipeline, "CLASSIFY_FIRST_ROWS", 20)
    clf = _Lots(100)
    batches = [pipeline.EventBatch(pa.table({"i": [i] * n}), LineCounts(), "x") for i, n in enumerate(sizes)]
    out = list(pipeline.classify_grouped(iter(batches), clf))
    assert [b.table.num_rows for b in out] == sizes
    ends, rows = set(), 0  # the writer's row groups: where they end (batch counts)
    for at, n in enumerate(sizes, 1):
        rows += n
        if rows >= 100:
            ends.add(at)
            rows = 0
    at = 0
    for lot in clf.lots[:-1]:
        at += len(lot)
        assert at in ends
    assert sum(len(lot) for lot in clf.lots) == len(sizes)


@pytest.mark.parametrize("rows", [0, 40])
def test_arrow_writer_writes_pyarrow_parquets_file(rows):
    """The writer made without ``pyarrow.parquet`` (``arrow_writer``) writes the bytes
    ``pyarrow.parquet.ParquetWriter`` writes, under the event table's options (per-column
    dictionaries, codecs, levels, encodings, statistics), schema stored or not; and refuses the
    arguments pyarrow's writer refuses."""
    from analyzer.schema import SCHEMA
    from analyzer.sink_parquet import arrow_writer

    table = SCHEMA.empty_table() if not rows else pa.table(
        {f.name: pa.array([None] * rows, f.type) for f in SCHEMA}, schema=SCHEMA)
    table = table.set_column(SCHEMA.get_field_index("line_no"), "line_no", pa.array(range(rows), pa.int64()))
    for store in (True, False):
        options = {"store_schema": store, **sinks.parquet_options(SCHEMA, table)}
        got, want = pa.BufferOutputStream(), pa.BufferOutputStream()
        for _out, w in ((got, arrow_writer(got, SCHEMA, options)), (want, pq.ParquetWriter(want, SCHEMA, **options))):
            if rows:
                w.write_table(table, row_group_size=rows)
            w.add_key_value_metadata({b"k": b"v"})
            w.close()
        assert got.getvalue().to_pybytes() == want.getvalue().to_pybytes()
    with pytest.raises(pa.ArrowException):
        arrow_writer(pa.BufferOutputStream(), SCHEMA, {"compression": "no such codec"})
