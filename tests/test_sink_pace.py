"""A stream written to a text output (CSV, JSON lines) is paced: few batches made ahead of its
writer (``EventStream.paced``, ``lean``), and the writer hands freed memory back from its first
batch on; the written file is the same as an unpaced stream's."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import heap, parallel, pipeline, sinks
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.pipeline import EventStream
from analyzer.reader import expand_inputs
from analyzer.sinks import pace, write_stream
from bench.generate_logs import generate

BLOCK = 16384
_RUN_AHEAD = pipeline.run_ahead


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("pace") / "postfix.log"
    generate("postfix", 3000, seed=5, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1")
    return p


@pytest.mark.parametrize(("path", "paced"), [("x.jsonl", True), ("x.csv", True), ("-", True), ("X.CSV", True),
                                             ("x.parquet", False)])
def test_text_outputs_pace_their_stream(path, paced):
    stream = EventStream([], tz="UTC")
    pace(stream, path)
    assert (stream.paced, stream.lean) == (paced, paced)


def test_an_unknown_output_type_is_left_to_the_writer():
    stream = EventStream([], tz="UTC")
    pace(stream, "x.txt")
    assert not stream.paced and not stream.lean


def _written(day: Path, out: Path, paced: bool, monkeypatch, depths: list[int]) -> bytes:
    """``out`` written from the day's stream as `parse -o` writes it (blocks on threads), paced or not."""
    monkeypatch.setattr(parallel, "_WORKER", dict(parallel._WORKER))  # (the block threads' pool sets its producer there)
    real = _RUN_AHEAD

    def spy(items, depth, name="maillens-ahead"):
        depths.append(depth)
        return real(items, depth, name)

    monkeypatch.setattr(pipeline, "run_ahead", spy)
    classifier = StreamClassifier(default_rules())
    stream = EventStream(expand_inputs([str(day)]), tz="UTC", classifier=classifier, year=2026, workers=2,
                         block_bytes=BLOCK, block_threads=True)
    if paced:
        pace(stream, str(out))
    write_stream(stream, str(out), classified=True, classifier=classifier)
    return out.read_bytes()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_paced_stream_writes_the_same_file(day, tmp_path, monkeypatch, suffix):
    plain_depths: list[int] = []
    paced_depths: list[int] = []
    plain = _written(day, tmp_path / f"plain{suffix}", False, monkeypatch, plain_depths)
    paced = _written(day, tmp_path / f"paced{suffix}", True, monkeypatch, paced_depths)
    assert plain.count(b"\n") > 2000 and paced == plain
    # (the batches made ahead, and those taken from the block threads ahead of the classification)
    assert plain_depths == [pipeline.AHEAD, pipeline.RESULTS_AHEAD]
    assert paced_depths == [1, 1]


def test_text_writers_hand_memory_back_from_the_first_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(sinks, "TEXT_HEAP", 2)
    calls: list[str] = []
    monkeypatch.setattr(heap, "hand_back_early", lambda: calls.append("early"))
    monkeypatch.setattr(heap, "map_large_from_now", lambda: calls.append("map"))
    import pyarrow as pa

    table = pa.table({"a": [1, 2]})
    for name in ("x.jsonl", "x.csv", "x.parquet"):
        calls.clear()
        with sinks.EventWriter(str(tmp_path / name)) as w:
            assert calls == ([] if name.endswith("parquet") else ["early"])
            w.write(table.slice(0, 0))
            w.write(table)
            w.write(table)
            w.close_ok(table.schema)
        assert calls == ([] if name.endswith("parquet") else ["early", "map"])
