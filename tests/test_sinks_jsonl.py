"""The JSON lines of `parse -o x.jsonl` (analyzer.sinks.jsonl_bytes), checked against a plain
Python rendering row by row: keys in column order, nulls as null, text as json.dumps writes it
(non-ASCII as is), DEL, C1 and bidi controls as \\uXXXX, stamps as pandas prints them."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analyzer import sink_jsonl, sink_pieces, sinks
from analyzer.pipeline import Classifier
from analyzer.reader import open_stream
from analyzer.textsafe import json_safe

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def _value(v, typ: pa.DataType) -> str:
    if v is None:
        return "null"
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_floating(typ):
        return pc.cast(pa.array([v], typ), pa.string())[0].as_py() if math.isfinite(v) else "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return json.dumps(v.astimezone(dt.UTC).isoformat(sep=" "))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def reference(table: pa.Table) -> bytes:
    rows = table.to_pylist()
    types = [f.type for f in table.schema]
    text = "".join("{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_value(v, t)}"
                                  for (k, v), t in zip(row.items(), types, strict=True)) + "}\n" for row in rows)
    return json_safe(text).encode("utf-8")


def test_awkward_values_render_as_python_would():
    n = 7
    table = pa.table({
        "ts": pa.array([0, 1_700_000_000_123_456, None, 1_700_000_000_000_000, 5, 5, 0],
                       pa.timestamp("us", "UTC")),
        "text": ["plain", 'quo"te \\ back\\/slash', None, "tab\there\nnl \x01 \x1f", "del\x7f c1\x85 bidi\u202e",
                 "non-ascii é ü 日本", ""],
        "cat": pa.array(["a", "b", "a", None, "a", "b", "a"]).dictionary_encode(),
        "n": pa.array([1, None, -3, 2**40, 0, 1, 1], pa.int64()),
        "small": pa.array([None, 250, 250, 421, None, 550, 0], pa.int16()),
        "f": pa.array([1.5, None, -0.0, 0.0, float("nan"), float("inf"), 2.0]),
        "b": pa.array([True, False, None, True, True, False, None]),
        "ключ": ["x"] * n,
    })
    assert sinks.jsonl_bytes(table) == reference(table)
    # a slice (offsets into the buffers), and the rows one piece at a time
    part = table.slice(2, 4)
    assert sinks.jsonl_bytes(part) == reference(part)


def test_no_raw_controls_gives_the_arrow_buffer_itself():
    table = pa.table({"a": ["x", None, "y"], "b": pa.array([1, 2, None], pa.int32())})
    pieces = list(sinks.jsonl_pieces(table))
    assert len(pieces) == 1 and isinstance(pieces[0], pa.Buffer)
    assert pieces[0].to_pybytes() == reference(table)


def test_pieces_join_to_the_whole(monkeypatch):
    monkeypatch.setattr(sink_jsonl, "JSONL_ROWS", 3)
    table = pa.table({"a": [str(i) for i in range(10)], "n": list(range(10))})
    pieces = list(sinks.jsonl_pieces(table))
    assert len(pieces) == 4
    assert b"".join(bytes(p) for p in pieces) == reference(table)


@pytest.fixture(scope="module")
def sample_batches() -> list[pa.Table]:
    stream = open_stream([str(SAMPLES)], tz="UTC", batch_lines=200, classifier=Classifier())
    return [b.table for b in stream]


def test_the_sample_logs_event_tables(sample_batches):
    assert sum(t.num_rows for t in sample_batches) > 100
    for t in sample_batches:
        assert sinks.jsonl_bytes(t) == reference(t)


def _threads(prefix: str) -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_pieces_rendered_on_threads_are_written_in_order(tmp_path, monkeypatch, sample_batches):
    """The writer thread's pieces rendered side by side (``maillens-render``): the file holds the
    lines of every batch in order, as one process renders them; the threads end with the file."""
    monkeypatch.setattr(sink_jsonl, "JSONL_ROWS", 7)
    monkeypatch.setattr(sink_pieces, "RENDER_AHEAD", 2)
    import threading

    render, names = sink_jsonl.jsonl_piece, set()

    def spy(table):
        names.add(threading.current_thread().name)
        return render(table)

    monkeypatch.setattr(sink_jsonl, "jsonl_piece", spy)
    out = tmp_path / "x.jsonl"
    with sinks.EventWriter(str(out)) as w:
        for t in sample_batches:
            w.write(t)
        w.close_ok(sample_batches[0].schema)
    assert out.read_bytes() == b"".join(reference(t) for t in sample_batches)
    assert names and all(n.startswith("maillens-render") for n in names)
    assert not _threads("maillens-render")
