"""The CSV and JSON lines outputs' pieces rendered on threads beside the writer thread
(analyzer.sink_pieces.PieceWriter): the file is the one a single thread writes, batch by batch;
an error of a piece fails the file; the threads end with it."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from analyzer import sink_jsonl, sink_pieces, sinks
from analyzer.output import neutralise_csv_table
from analyzer.pipeline import Classifier
from analyzer.reader import open_stream
from analyzer.sink_pieces import PieceWriter

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture(scope="module")
def batches() -> list[pa.Table]:
    stream = open_stream([str(SAMPLES)], tz="UTC", batch_lines=150, classifier=Classifier())
    return [b.table for b in stream]


def _csv_reference(tables: list[pa.Table]) -> bytes:
    """What Arrow's CSV writer writes of the tables one after the other (the header first)."""
    out = pa.BufferOutputStream()
    w = pacsv.CSVWriter(out, neutralise_csv_table(tables[0]).schema)
    for t in tables:
        w.write_table(neutralise_csv_table(t))
    w.close()
    return out.getvalue().to_pybytes()


def _render_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("maillens-render")]


@pytest.mark.parametrize("threaded", [True, False])
def test_csv_in_pieces_is_the_csv_writers_text(tmp_path, monkeypatch, batches, threaded):
    """Pieces of 7 rows, three rendered ahead on two threads (or in the writer's own): the file
    is byte for byte what Arrow's CSV writer writes of the batches (header once)."""
    monkeypatch.setattr(sinks, "CSV_ROWS", 7)
    monkeypatch.setattr(sink_pieces, "RENDER_AHEAD", 3)
    out = tmp_path / "x.csv"
    with sinks.EventWriter(str(out), threaded=threaded) as w:
        for t in batches:
            w.write(t)
        w.close_ok(batches[0].schema)
    assert sum(t.num_rows for t in batches) > 100
    assert out.read_bytes() == _csv_reference(batches)
    assert not _render_threads()


def test_an_empty_stream_still_writes_the_header(tmp_path, batches):
    out = tmp_path / "x.csv"
    with sinks.EventWriter(str(out)) as w:
        w.close_ok(batches[0].schema)
    assert out.read_bytes() == _csv_reference([batches[0].slice(0, 0)])


@pytest.mark.parametrize(("suffix", "module", "render", "rows"), [("csv", sinks, "_csv_piece", "CSV_ROWS"),
                                                           ("jsonl", sink_jsonl, "jsonl_piece", "JSONL_ROWS")])
def test_a_piece_that_fails_fails_the_file(tmp_path, monkeypatch, batches, suffix, module, render, rows):
    """An error while a piece renders on a thread (a full disk) is the writer's error: no file,
    no thread left."""
    monkeypatch.setattr(module, rows, 5)
    made, calls = getattr(module, render), []

    def failing(table):
        calls.append(1)
        if len(calls) == 6:
            raise OSError(28, "No space left on device")
        return made(table)

    monkeypatch.setattr(module, render, failing)
    out = tmp_path / f"x.{suffix}"
    with pytest.raises(sinks.OutputError, match="No space left"), sinks.EventWriter(str(out)) as w:
        for t in batches:
            w.write(t)
        w.close_ok(batches[0].schema)
    assert not out.exists() and not _render_threads()


def test_pieces_come_out_in_order_whatever_order_they_finish_in():
    """Pieces that finish out of order (the first slowest) are written in the order given."""
    import time

    written: list[bytes] = []

    def render(t: pa.Table) -> bytes:
        first = t.column(0)[0].as_py()
        time.sleep(0.02 if first % 3 == 0 else 0)
        return f"{first}-{t.num_rows};".encode()

    pieces = PieceWriter(written.append, render, lambda: 4, threads=2)
    try:
        pieces.add(pa.table({"n": list(range(30))}))
        pieces.add(pa.table({"n": list(range(30, 33))}))
        pieces.flush()
    finally:
        pieces.close()
    assert b"".join(written) == b"0-4;4-4;8-4;12-4;16-4;20-4;24-4;28-2;30-3;"
