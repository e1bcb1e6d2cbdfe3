"""analyzer.class_codes: the classification codes the stream keeps beside a batch always name the
strings the batch's rows have (after the attribution changed some), and what reads them (the
report's masks, RowsFold) answers as it does from the strings."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.class_cache import KEY_VERBATIM, Groups, class_key
from analyzer.class_codes import CLASS_NAMES, RowCodes
from analyzer.classify_stream import StreamClassifier
from analyzer.reader import open_stream
from analyzer.report.fold import RowsFold, _Batch
from analyzer.schema import CLASS_SCHEMA, to_pandas
from bench.generate_logs import generate
from tests.conftest import SAMPLES


def _events(path: Path) -> pa.Table:
    return pa.concat_tables([b.table for b in open_stream([str(path)], tz="UTC", year=2026, workers=1)])


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> pa.Table:
    """A generated Exim day with deferral build-ups (waits to attribute) and the sample logs."""
    d = tmp_path_factory.mktemp("codes-days")
    generate("exim", 4000, seed=5, out=str(d / "exim.log"), start="2026-11-25T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@4h+6h"])
    tables = [_events(d / "exim.log"), _events(SAMPLES / "exim" / "mainlog"), _events(SAMPLES / "postfix" / "mail.log")]
    return pa.concat_tables(tables, promote_options="permissive")


def _check(table: pa.Table, codes: RowCodes | None) -> int:
    """Every column the codes name has the strings they name; the number of columns checked."""
    assert codes is not None and len(codes) == table.num_rows
    checked = 0
    for name in table.column_names:
        got = codes.coded(name, table)
        if got is None:
            assert (name not in CLASS_NAMES and name not in KEY_VERBATIM) or \
                not pa.types.is_string(table.column(name).type)
            continue
        distinct, rows = got
        assert distinct[rows].tolist() == table.column(name).to_pylist(), name
        checked += 1
    assert codes.table().equals(table.select(list(CLASS_NAMES)).cast(CLASS_SCHEMA))
    return checked


def _classified(events: pa.Table, cuts: list[int], per_call: int = 2) -> list[tuple[pa.Table, RowCodes | None]]:
    clf = StreamClassifier()
    clf.keep_codes = True
    batches = [events.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, events.num_rows], strict=True) if b > a]
    out = []
    for i in range(0, len(batches), per_call):
        group = batches[i: i + per_call]
        for t in clf.classify_many(group, [Groups.of(class_key(b)) for b in group]):
            out.append((t, clf.codes_beside(t)))
    return out


def test_codes_beside_every_batch_name_its_strings(events):
    """The whole stream in batches of 97 rows, two a call: each batch's codes name its class
    columns' and its verbatim key columns' strings, the attributed waits' included."""
    done = _classified(events, list(range(97, events.num_rows, 97)))
    assert all(_check(t, c) >= len(CLASS_NAMES) for t, c in done)
    refs = pa.concat_arrays([t.column("cause_ref").combine_chunks() for t, _ in done])
    assert refs.null_count < len(refs)  # waits were attributed (codes changed after classification)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_codes_of_mixed_batches_with_hits_and_misses(events, data):
    """Rows drawn anywhere (a batch mixes MTAs, keys the cache has and has not seen, nulls put in
    the key's columns): the codes name the strings, and the strings are those of the rows
    classified without codes."""
    n = events.num_rows
    first = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=30))
    more = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=30))
    nulled = data.draw(st.sampled_from(["event", "status", "direction", "reply_text", "relay_host", "detail"]))
    second = events.take(pa.array(first[: len(first) // 2] + more))  # hits (seen in the first) and misses
    every = data.draw(st.integers(1, 3))
    col = second.column(nulled)
    mask = pa.array([i % every == 0 for i in range(second.num_rows)])
    second = second.set_column(second.schema.get_field_index(nulled), nulled,
                               pa.compute.if_else(mask, pa.nulls(second.num_rows, col.type), col))
    batches = [events.take(pa.array(first)), second]
    clf = StreamClassifier()
    clf.keep_codes = True
    got = clf.classify_many(batches[:1], [Groups.of(class_key(batches[0]))])
    got += clf.classify_many(batches[1:], [Groups.of(class_key(batches[1]))])
    plain = StreamClassifier()
    for t, b in zip(got, batches, strict=True):
        _check(t, clf.codes_beside(t))
        assert t.select(list(CLASS_NAMES)).equals(plain(b).select(list(CLASS_NAMES)))


def test_codes_are_given_once_and_dropped_with_their_table(events):
    clf = StreamClassifier()
    clf.keep_codes = True
    t = clf.classify_many([events.slice(0, 50)], [Groups.of(class_key(events.slice(0, 50)))])[0]
    other = t.select(t.column_names)  # the same rows, another table: not the codes' table
    assert clf.codes_beside(other) is None
    assert clf.codes_beside(t) is not None and clf.codes_beside(t) is None
    u = clf.classify_many([events.slice(50, 50)], [Groups.of(class_key(events.slice(50, 50)))])[0]
    assert len(clf._beside) == 1
    del u
    gc.collect()
    assert not clf._beside  # nobody asked: gone with the table
    off = StreamClassifier()  # keep_codes unset (parse): nothing kept
    off.classify_many([events.slice(0, 50)], [Groups.of(class_key(events.slice(0, 50)))])
    assert not off._beside


def test_put_and_recode_extend_a_copy_of_the_words():
    words = [[None, "a", "b"] for _ in CLASS_NAMES]
    codes = RowCodes(np.array([[1, 2, 0, 1]] * len(CLASS_NAMES), np.int32), words)
    codes.put("cause", np.array([0, 2]), pa.array(["new", None]))
    assert codes.column("cause").to_pylist() == ["new", "b", None, "a"]
    assert words[CLASS_NAMES.index("cause")] == [None, "a", "b"]  # the shared list untouched
    codes.recode("fix_id", pa.chunked_array([["b", None], ["zz", "a"]]))
    assert codes.column("fix_id").to_pylist() == ["b", None, "zz", "a"]
    distinct, rows = codes.coded("fix_id")
    assert distinct[rows].tolist() == ["b", None, "zz", "a"]
    empty = RowCodes(np.zeros((len(CLASS_NAMES), 3), np.int32), words)
    assert empty.column("cause_ref").to_pylist() == [None] * 3


def test_masks_and_kept_rows_read_from_codes_as_from_strings(events):
    """The report's masks of a batch with its codes equal those without; RowsFold keeps the same
    rows, its Categoricals equal, whichever way each batch came."""
    from analyzer.report.run import _CATEGORICAL, _FEW_VALUES, QUIET_BLANK, REPORT_COLUMNS
    from tests.test_batch_tests import _all_masks

    done = _classified(events, list(range(211, events.num_rows, 211)), per_call=3)
    columns = [c for c in REPORT_COLUMNS if c in done[0][0].column_names]
    folds = [RowsFold(columns, few_values=_FEW_VALUES, categorical=_CATEGORICAL, blank_columns=QUIET_BLANK)
             for _ in range(2)]
    rng = np.random.default_rng(3)
    for at, (t, codes) in enumerate(done):
        t = t.select(columns)
        with_codes, without = _Batch.of(t, to_pandas(t), codes), _Batch.of(t, to_pandas(t))
        assert _all_masks(with_codes) == _all_masks(without)
        keep = rng.random(t.num_rows) < (0.3 if at % 2 else 1.0)
        blank = rng.random(t.num_rows) < 0.5
        for fold, b in zip(folds, (with_codes, without), strict=True):
            b.attrs["first_row"] = at * 1000
            fold.add(b, keep, blank)
    a, b = (f.result() for f in folds)
    pd.testing.assert_frame_equal(a, b)
    assert isinstance(a["cause"].dtype, pd.CategoricalDtype)


def test_as_dictionaries_the_columns_decode_to_the_strings(events, monkeypatch):
    """``as_dictionaries`` (the Parquet writer takes them): a batch's classification columns come
    as dictionaries of its codes that decode to the strings the classifier gives otherwise,
    the attributed waits included; a batch with a bare reject (whose attribution changes
    strings) comes as strings with its codes beside; no strings are made for the others."""
    rejects = np.flatnonzero(pa.compute.equal(events.column("event"), "reject").to_numpy(zero_copy_only=False))
    assert len(rejects)
    at = int(rejects[len(rejects) // 2])  # a bare reject: its reply text gone
    i = events.schema.get_field_index("reply_text")
    text = events.column(i).combine_chunks()
    bare = pa.compute.if_else(pa.array(np.arange(events.num_rows) == at), pa.nulls(events.num_rows, text.type), text)
    events = events.set_column(i, events.schema.field(i), bare)
    cuts = list(range(150, events.num_rows, 150))
    batches = [events.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, events.num_rows], strict=True)]
    made = []
    strings = []  # the batches whose strings were made (RowCodes.table), in dictionary mode
    table_of = RowCodes.table
    monkeypatch.setattr(RowCodes, "table", lambda self: strings.append(len(self)) or table_of(self))
    for as_dictionaries in (False, True):
        strings.clear()
        clf = StreamClassifier()
        clf.keep_codes, clf.as_dictionaries = True, as_dictionaries
        out = []
        for k in range(0, len(batches), 2):
            group = batches[k: k + 2]
            for t in clf.classify_many(group, [Groups.of(class_key(b)) for b in group]):
                out.append((t, clf.codes_beside(t)))
        made.append(out)
    plain, coded = made
    kinds = set()
    for (want, _), (got, codes), start in zip(plain, coded, [0, *cuts], strict=True):
        dictionaries = pa.types.is_dictionary(got.schema.field("cause").type)
        kinds.add(dictionaries)
        assert dictionaries == (not start <= at < start + got.num_rows)
        assert (codes is None) == dictionaries  # strings: their codes beside, as before
        for name in CLASS_NAMES:
            assert got.column(name).cast(pa.string()).equals(want.column(name)), name
        assert got.drop_columns(list(CLASS_NAMES)).equals(want.drop_columns(list(CLASS_NAMES)))
    assert kinds == {True, False}
    assert len(strings) == 1  # the bare reject's batch only


def test_dictionaries_of_the_codes_decode_to_their_words():
    words = [[None, "a", "b", ""] for _ in CLASS_NAMES]
    codes = RowCodes(np.array([[1, 0, 3, 2, 0]] * len(CLASS_NAMES), np.int32), words)
    shared: dict = {}
    got = codes.dictionaries(shared)
    assert got.column_names == list(CLASS_NAMES)
    assert got.equals(got.cast(pa.schema([pa.field(n, pa.dictionary(pa.int32(), pa.string())) for n in CLASS_NAMES])))
    for name in CLASS_NAMES:
        assert got.column(name).to_pylist() == ["a", None, "", "b", None]
        assert got.column(name).combine_chunks().cast(pa.string()).equals(codes.column(name))
    assert len(shared) == 1  # one dictionary for the columns with the same words
    full = RowCodes(np.ones((len(CLASS_NAMES), 3), np.int32), words).dictionaries(shared)
    assert full.column("cause").null_count == 0 and full.column("cause").chunk(0).buffers()[0] is None
