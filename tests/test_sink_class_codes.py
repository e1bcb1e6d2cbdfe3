"""The classification's columns handed to the Parquet writer as dictionaries of the classifier's
codes (analyzer.sink_codes.class_dictionaries, ``write_stream(classifier=...)``): the same
strings per row, and the file read back as the one written from the strings (schema, metadata,
values, row groups)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.class_codes import CLASS_NAMES
from analyzer.classify_stream import StreamClassifier
from analyzer.pipeline import EventStream
from analyzer.schema import CLASS_SCHEMA
from analyzer.sink_codes import class_dictionaries
from analyzer.sinks import EventWriter, write_stream
from analyzer.sources import expand_inputs

from . import test_parallel
from .test_parallel import BLOCK

days = test_parallel.days  # (the fixture: the generated Postfix and Exim days)


class _Codes:
    """Codes shaped as :class:`analyzer.class_codes.RowCodes`: one row of codes per column of
    CLASS_NAMES, words per column, code 0 null."""

    def __init__(self, codes: np.ndarray, words: list[list[str | None]]) -> None:
        self.codes, self.words = codes, words

    def __len__(self) -> int:
        return self.codes.shape[1]

    def strings(self) -> pa.Table:
        return pa.table({name: pa.array([self.words[j][c] for c in self.codes[j]], pa.string())
                         for j, name in enumerate(CLASS_NAMES)})


words_of = st.lists(st.text(max_size=5), unique=True, max_size=6).map(lambda w: [None, *w])


@st.composite
def row_codes(draw) -> _Codes:
    n = draw(st.integers(1, 60))
    words = [draw(words_of) for _ in CLASS_NAMES]
    codes = np.array([draw(st.lists(st.integers(0, len(w) - 1), min_size=n, max_size=n)) for w in words], np.int32)
    return _Codes(codes, words)


def _table(codes: _Codes) -> pa.Table:
    n = len(codes)
    base = pa.table({"line_no": pa.array(np.arange(1, n + 1), pa.int64())})
    for name in CLASS_NAMES:
        base = base.append_column(name, codes.strings().column(name))
    return base


@settings(max_examples=200, deadline=None)
@given(row_codes())
def test_the_dictionaries_decode_to_the_strings_the_codes_name(codes):
    """Every row of a classification column, as a dictionary of the codes, decodes to the word
    its code names (null for code 0); the other columns are left as they are."""
    table = _table(codes)
    words: dict = {}
    got = class_dictionaries(table, codes, words)
    for name in CLASS_NAMES:
        assert pa.types.is_dictionary(got.schema.field(name).type)
        assert got.column(name).cast(pa.string()).equals(table.column(name))
    assert got.column("line_no").equals(table.column("line_no"))
    again = class_dictionaries(table, codes, words)  # the same words: the same dictionary, shared
    assert all(again.column(n).chunk(0).dictionary.buffers()[1].address
               == got.column(n).chunk(0).dictionary.buffers()[1].address for n in CLASS_NAMES)


def test_codes_that_do_not_fit_the_table_leave_it_as_it_is():
    codes = _Codes(np.ones((len(CLASS_NAMES), 3), np.int32), [[None, "x"] for _ in CLASS_NAMES])
    table = _table(_Codes(np.ones((len(CLASS_NAMES), 4), np.int32), codes.words))
    assert class_dictionaries(table, codes) is table
    assert class_dictionaries(table, None) is table


def _read(path) -> tuple:
    f = pq.ParquetFile(path)
    meta = f.metadata
    return (f.read(), f.schema_arrow, meta.metadata,
            [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])


def _same_file(a, b) -> None:
    ta, sa, ka, ga = _read(a)
    tb, sb, kb, gb = _read(b)
    assert ta.equals(tb)
    assert ta.schema.equals(tb.schema, check_metadata=True) and sa.equals(sb, check_metadata=True)
    assert ka == kb and ga == gb
    for name in CLASS_NAMES:
        assert tb.schema.field(name).type == pa.string()  # read back as text


@pytest.mark.parametrize("first", ["codes", "plain", "dictionaries"])
def test_written_from_codes_reads_back_as_from_strings(tmp_path, monkeypatch, first):
    """Batches with codes, one without (encoded by the writer), one whose classification columns
    come as dictionaries already (the classifier's ``as_dictionaries``), several row groups: the
    file reads back as the one written from the strings alone. A file whose first batch came as
    strings without codes takes none (a later batch of dictionaries is written as text)."""
    from analyzer import sinks

    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 50)
    rng = np.random.default_rng(7)
    words = [[None, "a", "bb", "ccc"] for _ in CLASS_NAMES]
    batches = []
    for n in (30, 25, 40, 10, 33):
        codes = _Codes(rng.integers(0, 4, (len(CLASS_NAMES), n)).astype(np.int32), words)
        batches.append((_table(codes), codes))
    kind = [first, "dictionaries", "codes", "plain", "codes"]
    given = [(class_dictionaries(t, c), None) if k == "dictionaries" else (t, c if k == "codes" else None)
             for k, (t, c) in zip(kind, batches, strict=True)]
    assert pa.types.is_dictionary(given[1][0].schema.field("cause").type)
    for path, items in ((tmp_path / "plain.parquet", [(t, None) for t, _ in batches]),
                        (tmp_path / "codes.parquet", given)):
        with EventWriter(str(path), threaded=False) as w:
            for t, c in items:
                w.write(t, c)
            w.close_ok(batches[0][0].schema)
    _same_file(tmp_path / "plain.parquet", tmp_path / "codes.parquet")
    assert len(_read(tmp_path / "codes.parquet")[3]) == 3


@pytest.mark.parametrize("name", ["mail.log", "mainlog"])
def test_parse_o_with_the_classifiers_codes_reads_back_as_without(days, tmp_path, name, monkeypatch):
    """``parse -o``'s stream on two workers, its classifier's codes taken by the writer (as the
    classification columns' dictionaries): the file reads back as the one written from the
    strings; the writer did get codes."""
    from analyzer import sinks

    monkeypatch.setattr(sinks, "ROW_GROUP_ROWS", 700)
    got: list[bool] = []
    write = EventWriter.write

    def spy(self, table, codes=None):
        got.append(codes is not None or pa.types.is_dictionary(table.schema.field("cause").type))
        return write(self, table, codes)

    for out, classifier in ((tmp_path / "plain.parquet", None), (tmp_path / "codes.parquet", StreamClassifier())):
        stream = EventStream(expand_inputs([str(days / name)]), tz="UTC", workers=2, block_bytes=BLOCK, year=2026,
                             classifier=StreamClassifier() if classifier is None else classifier, classify_rows=500)
        monkeypatch.setattr(EventWriter, "write", spy)
        got.clear()
        write_stream(stream, str(out), classified=True, classifier=classifier)
        monkeypatch.setattr(EventWriter, "write", write)
        assert any(got) == (classifier is not None)
        assert classifier is None or not classifier.as_dictionaries  # (set for the writer's stream only)
    _same_file(tmp_path / "plain.parquet", tmp_path / "codes.parquet")
    assert set(CLASS_SCHEMA.names) <= set(_read(tmp_path / "codes.parquet")[0].column_names)
