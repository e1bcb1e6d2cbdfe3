"""The event writers of `parse -o`: batches encoded on a writer thread, in order, with the
thread's errors raised in the caller; the Parquet layout (dictionaries, statistics)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import analyzer.schema as schema_mod
from analyzer import sinks
from analyzer.output import OutputError, neutralise_csv_table, utc_stamps_text
from analyzer.pipeline import Classifier
from analyzer.reader import open_stream
from analyzer.sinks import EventWriter, write_stream

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture(scope="module")
def batches() -> list[pa.Table]:
    """The sample logs' classified event batches, small (so that the queue fills and waits)."""
    stream = open_stream([str(SAMPLES)], tz="UTC", batch_lines=16, classifier=Classifier())
    return [b.table for b in stream]


def _write(path: Path, tables: list[pa.Table], threaded: bool) -> None:
    with EventWriter(str(path), threaded=threaded) as w:
        for t in tables:
            w.write(t)
        w.close_ok(tables[0].schema)


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "maillens-write"]


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_threaded_writer_writes_what_the_direct_one_writes(tmp_path, batches, suffix):
    assert len(batches) > 2 * sinks.WRITE_QUEUE
    direct, threaded = tmp_path / f"d.{suffix}", tmp_path / f"t.{suffix}"
    _write(direct, batches, threaded=False)
    _write(threaded, batches, threaded=True)
    if suffix == "parquet":
        got = pq.read_table(threaded)
        assert got.equals(pq.read_table(direct))
        assert got.num_rows == sum(t.num_rows for t in batches)
        pd.testing.assert_frame_equal(pd.read_parquet(threaded), pd.read_parquet(direct))
    else:
        assert threaded.read_bytes() == direct.read_bytes()
    assert not _writer_threads()


def test_rows_come_out_in_the_order_given(tmp_path):
    tables = [pa.table({"n": pa.array(range(i * 100, i * 100 + 100), pa.int64())}) for i in range(30)]
    out = tmp_path / "n.parquet"
    _write(out, tables, threaded=True)
    assert pq.read_table(out).column("n").to_pylist() == list(range(3000))


@pytest.mark.parametrize("suffix", ["jsonl", "parquet", "csv"])
def test_a_write_error_on_the_thread_is_raised_in_the_caller(tmp_path, batches, suffix):
    """/dev/full takes the bytes and fails with ENOSPC: the error reaches the caller as a
    one-line OutputError (and the thread ends), however many batches are still coming."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    target = tmp_path / f"full.{suffix}"
    target.symlink_to("/dev/full")  # a link to a device is written through, in the link's format
    many = batches * 20
    with pytest.raises(OutputError, match=r"full\.\w+: No space left on device"):
        write_stream(iter([_Batch(t) for t in many]), str(target))
    assert not _writer_threads()


def test_a_full_disk_is_one_line_of_error_and_exit_5(tmp_path):
    """Through the command line: exit 5, `Error:` and `Try:`, nothing else on stderr (no noise
    from Arrow's write buffer, flushed when it is destroyed)."""
    import subprocess
    import sys

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    target = tmp_path / "full.parquet"
    target.symlink_to("/dev/full")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "analyzer", "parse", "--tz", "UTC", str(SAMPLES), "-o", str(target)],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 5 and len(lines) == 2, r.stderr
    assert lines[0].startswith("Error: ") and "No space left on device" in lines[0] and lines[1].startswith("Try: ")


class _Batch:
    def __init__(self, table: pa.Table) -> None:
        self.table = table


def test_a_failing_producer_leaves_no_file_and_no_thread(tmp_path, batches):
    out = tmp_path / "x.csv"

    def failing():
        for i, t in enumerate(batches):
            if i == 2 * sinks.WRITE_QUEUE + 1:
                raise RuntimeError("producer broke")
            yield _Batch(t)

    with pytest.raises(RuntimeError, match="producer broke"):
        write_stream(failing(), str(out))
    assert not out.exists() and not list(tmp_path.iterdir())
    assert not _writer_threads()


def test_parquet_layout(tmp_path, batches):
    """Dictionary pages for the few-valued columns, none for the free text; min/max statistics
    for the stamps, line numbers and codes (filters skip row groups), none for text columns;
    line numbers as deltas; zstd for the plain and open-valued columns, the dictionaries of
    closed sets not compressed;
    batches gathered into row groups of about ROW_GROUP_ROWS rows."""
    out = tmp_path / "e.parquet"
    _write(out, batches, threaded=True)
    meta = pq.ParquetFile(out).metadata
    names = meta.schema.to_arrow_schema().names
    col = meta.row_group(0).column
    event, text, ts, line_no, code = (col(names.index(n)) for n in ("event", "reply_text", "ts", "line_no",
                                                                    "reply_code"))
    assert event.has_dictionary_page and not text.has_dictionary_page
    for c in (ts, line_no, code):
        assert c.is_stats_set and c.statistics.has_min_max
    for c in (text, event):
        assert not c.is_stats_set or not c.statistics.has_min_max
    assert "DELTA_BINARY_PACKED" in line_no.encodings and not line_no.has_dictionary_page
    helo = col(names.index("helo"))
    assert (text.compression, ts.compression, helo.compression) == ("ZSTD", "ZSTD", "ZSTD")
    assert helo.has_dictionary_page
    assert (event.compression, line_no.compression) == ("UNCOMPRESSED", "UNCOMPRESSED")
    rows = sum(t.num_rows for t in batches)
    assert meta.num_rows == rows
    assert meta.num_row_groups == -(-rows // sinks.ROW_GROUP_ROWS) < len(batches)


def test_busy_integer_columns_are_deltas_few_valued_ones_dictionaries(tmp_path):
    """An integer column whose first batch has many distinct values (Exim's pids) is written as
    deltas, one with few (Postfix's pids) as a dictionary; both read back as written."""
    n = 4000
    first = pa.table({"pid": pa.array([i * 7 % 3001 for i in range(n)], pa.int32()),
                      "nrcpt": pa.array([i % 5 if i % 3 else None for i in range(n)], pa.int32())})
    opts = sinks.parquet_options(first.schema, first)
    assert opts["column_encoding"] == {"pid": "DELTA_BINARY_PACKED"}
    assert opts["use_dictionary"] == ["nrcpt"]
    assert sinks.parquet_options(first.schema)["column_encoding"] is None  # no batch: no guess
    tables = [first, first.slice(0, 10)]
    out = tmp_path / "b.parquet"
    _write(out, tables, threaded=False)
    meta = pq.ParquetFile(out).metadata.row_group(0)
    assert "DELTA_BINARY_PACKED" in meta.column(0).encodings and meta.column(1).has_dictionary_page
    assert pq.read_table(out).equals(pa.concat_tables(tables))


def test_row_groups_gather_batches_up_to_the_size(tmp_path, monkeypatch):
    """Batches are gathered until a group has ROW_GROUP_ROWS rows or more; the rest at the end."""
    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 250)
    tables = [pa.table({"n": pa.array(range(i * 100, i * 100 + 100), pa.int64())}) for i in range(7)]
    out = tmp_path / "g.parquet"
    _write(out, tables, threaded=True)
    meta = pq.ParquetFile(out).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [300, 300, 100]
    assert pq.read_table(out).column("n").to_pylist() == list(range(700))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_utc_stamps_as_text_read_back_as_the_stamps(unit):
    """Our text of UTC stamps is Arrow's CSV writer's own, but quoted; a CSV reader reads the same."""
    ts = pa.array([0, 1_700_000_000_123_456, None], pa.timestamp("us", "UTC")).cast(pa.timestamp(unit, "UTC"),
                                                                                     safe=False)
    if unit == "us":
        assert utc_stamps_text(ts).to_pylist() == ["1970-01-01 00:00:00.000000Z", "2023-11-14 22:13:20.123456Z",
                                                   None]
    plain = io.BytesIO()
    pacsv.write_csv(pa.table({"ts": ts}), plain)
    ours = io.BytesIO()
    pacsv.write_csv(neutralise_csv_table(pa.table({"ts": ts})), ours)
    assert ours.getvalue().replace(b'"', b"") == plain.getvalue().replace(b'"', b"")
    assert pacsv.read_csv(io.BytesIO(ours.getvalue())).equals(pacsv.read_csv(io.BytesIO(plain.getvalue())))
    other = pa.array([0], pa.timestamp("us", "Europe/Berlin"))
    assert utc_stamps_text(other) is other


def test_pandas_metadata_without_pandas_is_what_pandas_writes():
    """The Parquet file's pandas metadata, built without importing pandas, is byte for byte what
    ``pa.Schema.from_pandas`` writes for the event table's frame (classified or not)."""
    from analyzer.schema import CLASS_SCHEMA, SCHEMA, to_pandas

    for schema in (SCHEMA, pa.unify_schemas([SCHEMA, CLASS_SCHEMA])):
        want = pa.Schema.from_pandas(to_pandas(schema.empty_table()), preserve_index=False).metadata
        assert schema_mod._metadata_without_pandas(schema) == want
    assert schema_mod._metadata_without_pandas(pa.schema([("d", pa.dictionary(pa.int8(), pa.string()))])) is None


def test_pandas_version_is_importlib_metadata_s(tmp_path, monkeypatch):
    """The pandas version the Parquet metadata names, read from the dist-info without
    importlib.metadata, is the one importlib.metadata gives; a layout it does not read plainly
    (here a second pandas-like entry on the path) falls back to importlib.metadata."""
    from importlib.metadata import version

    assert schema_mod._pandas_version() == version("pandas")
    odd = tmp_path / "pandas-0.0.1.dist-info"
    odd.mkdir()
    (odd / "METADATA").write_text("Metadata-Version: 2.1\nName: pandas\nVersion: 0.0.1\n\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert schema_mod._pandas_version() == version("pandas") == "0.0.1"  # the first on the path
    (tmp_path / "pandas_stubs-1.0.dist-info").mkdir()
    monkeypatch.setattr("importlib.metadata.version", lambda name: "fallback")
    assert schema_mod._pandas_version() == "fallback"


def test_freer_drops_on_its_thread_and_stops_with_the_writer(tmp_path):
    """What the writer hands over is dropped soon, not held; when the writer closes, the
    ``maillens-free`` thread is gone (none is left to drop Arrow objects at exit) and later
    hand-overs are dropped in place; so is everything while the thread is behind."""
    import weakref

    class Held:
        pass

    freer = sinks._Freer()
    held = Held()
    gone = weakref.ref(held)
    freer.release(held, [1, 2])
    del held
    freer.close()  # (waits for the thread: what was queued is dropped by then)
    assert gone() is None and freer.thread is None
    late = Held()
    gone = weakref.ref(late)
    freer.release(late)
    del late
    assert gone() is None

    behind = sinks._Freer()
    for _ in range(sinks.RELEASE_BEHIND):
        behind.q.put(())  # (as if the thread had not run yet)
    more = Held()
    gone = weakref.ref(more)
    behind.release(more)
    held_back = behind.q.qsize()
    del more
    behind.close()
    assert held_back <= sinks.RELEASE_BEHIND

    with sinks.EventWriter(str(tmp_path / "x.parquet")) as w:
        w.write(pa.table({"a": [1]}))
        w.close_ok(pa.schema([("a", pa.int64())]))
    assert w._freer is not None and w._freer.thread is None
    assert not any(t.name == "maillens-free" for t in threading.enumerate())


def test_the_writer_thread_starts_writeback_of_a_file_not_of_stdout(tmp_path, batches, monkeypatch):
    """Each batch written starts the file's writeback (the end's fsync then waits for the rest
    only); it is harmless on a pipe and leaves a file's bytes as they are."""
    from analyzer import output

    seen: list[int] = []
    monkeypatch.setattr(sinks, "start_writeback", lambda fh: seen.append(fh.fileno()))
    _write(tmp_path / "e.parquet", batches, threaded=True)
    assert len(seen) == len(batches)
    seen.clear()
    with EventWriter("-", threaded=True) as w:
        w.close_ok(batches[0].schema)
    assert not seen
    r, wfd = os.pipe()
    try:
        with open(wfd, "wb", closefd=False) as fh:
            fh.write(b"x")
            fh.flush()
            output.start_writeback(fh)
        assert os.read(r, 1) == b"x"
    finally:
        os.close(r)
        os.close(wfd)
    path = tmp_path / "f.bin"
    with open(path, "wb") as fh:
        fh.write(b"abc" * 1000)
        fh.flush()
        output.start_writeback(fh)
    assert path.read_bytes() == b"abc" * 1000
