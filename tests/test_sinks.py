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


def test_a_write_error_on_the_thread_is_raised_in_the_caller(batches):
    """/dev/full takes the bytes and fails with ENOSPC: the error reaches the caller as a
    one-line OutputError (and the thread ends), however many batches are still coming."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    many = batches * 20
    with pytest.raises(OutputError, match="/dev/full: No space left on device"):
        write_stream(iter([_Batch(t) for t in many]), "/dev/full")
    assert not _writer_threads()


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
    for the stamps (filters skip row groups), none for the reply text."""
    out = tmp_path / "e.parquet"
    _write(out, batches, threaded=True)
    meta = pq.ParquetFile(out).metadata
    names = meta.schema.to_arrow_schema().names
    col = meta.row_group(0).column
    event, text, ts = (col(names.index(n)) for n in ("event", "reply_text", "ts"))
    assert event.has_dictionary_page and not text.has_dictionary_page
    assert ts.is_stats_set and ts.statistics.has_min_max
    assert not text.is_stats_set or not text.statistics.has_min_max
    assert event.compression == "ZSTD"


def test_utc_stamps_as_text_read_back_as_the_stamps():
    ts = pa.array([0, 1_700_000_000_123_456, None], pa.timestamp("us", "UTC"))
    text = utc_stamps_text(ts)
    assert text.to_pylist() == ["1970-01-01 00:00:00.000000Z", "2023-11-14 22:13:20.123456Z", None]
    plain = io.BytesIO()
    pacsv.write_csv(pa.table({"ts": ts}), plain)
    ours = io.BytesIO()
    pacsv.write_csv(neutralise_csv_table(pa.table({"ts": ts})), ours)
    assert ours.getvalue().replace(b'"', b"") == plain.getvalue().replace(b'"', b"")
    assert pacsv.read_csv(io.BytesIO(ours.getvalue())).equals(pacsv.read_csv(io.BytesIO(plain.getvalue())))
    other = pa.array([0], pa.timestamp("us", "Europe/Berlin"))
    assert utc_stamps_text(other) is other
