"""The kept rows' pieces held compressed (r23-rmem, :mod:`analyzer.report.rows_packed`): a packed
column reads back as it was given; the rows' text columns made from packed pieces equal those of
the pieces as they were; a report with every piece packed equals one with none packed. And the
top tables' senders kept as Arrow strings (:class:`analyzer.report.top.Senders`) read as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import rows_packed
from analyzer.report.fold import RowsFold, _decoded_column, _text_column
from analyzer.report.rows_packed import Packed, held_rows, pack, pack_codes, unpack, unpack_codes

_TEXTS = st.text(alphabet=st.sampled_from("ab<é@.x 5\x00"), max_size=40)
_TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]


@st.composite
def _piece(draw: st.DrawFn, typ: pa.DataType) -> tuple[np.ndarray, pa.Array | None]:
    n = draw(st.integers(0, 200))
    values = draw(st.lists(_TEXTS, max_size=30, unique=True))
    dtype = draw(st.sampled_from([np.int8, np.int16, np.int32]))
    if not values:
        return np.full(n, -1, dtype=dtype), None
    arr = pa.array(["lead", *values, "tail"], pa.string()).cast(typ)
    arr = arr.slice(1, len(values)) if draw(st.booleans()) else pa.array(values, pa.string()).cast(typ)
    idx = np.array(draw(st.lists(st.integers(-1, len(values) - 1), min_size=n, max_size=n)), dtype=dtype)
    return idx, arr


@pytest.mark.parametrize("typ", _TYPES)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_a_packed_piece_reads_back_as_given(typ: pa.DataType, data: st.DataObject) -> None:
    idx, values = data.draw(_piece(typ))
    held = pack(idx, values)
    assert held_rows(held) == len(idx)
    got_idx, got_values = unpack(held)
    assert got_idx.dtype == idx.dtype and np.array_equal(got_idx, idx)
    if values is None:
        assert got_values is None
    else:
        got_values.validate(full=True)
        assert got_values.type == values.type and got_values.equals(values)
    if isinstance(held, Packed):
        assert held.nbytes < idx.nbytes + (values.nbytes if values is not None else 0)


@pytest.mark.parametrize("typ", _TYPES[:3])
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_text_column_of_packed_pieces_is_that_of_the_pieces(typ: pa.DataType, data: st.DataObject) -> None:
    rows_packed.SMALL = 0  # (restored below: every piece packed that can be)
    try:
        parts = [data.draw(_piece(typ)) for _ in range(data.draw(st.integers(0, 5)))]
        packed = [pack(i, v) for i, v in parts]
    finally:
        rows_packed.SMALL = 256
    want = _decoded_column(list(parts), typ)
    got = _text_column(packed, typ)
    got.validate(full=True)
    assert got.type == want.type and got.equals(want)
    assert not packed  # (emptied as read)


def test_codes_and_values_of_other_types_are_held_as_they_are() -> None:
    codes = np.tile(np.array([0, 1, 2, -1], dtype=np.int8), 500)
    held = pack_codes(codes)
    assert isinstance(held, Packed) and held.nbytes < codes.nbytes
    assert np.array_equal(unpack_codes(held), codes) and unpack_codes(held).dtype == np.int8
    few = np.array([1, 2], dtype=np.int16)
    assert pack_codes(few) is few and unpack_codes(few) is few  # (too small to pay)
    ints = (np.zeros(3000, dtype=np.int8), pa.array([7]))
    assert pack(*ints) is not None and not isinstance(pack(*ints), Packed)  # not strings: as they are
    nulls = (np.zeros(3000, dtype=np.int8), pa.array(["a", None]))
    assert not isinstance(pack(*nulls), Packed)
    noise = np.random.default_rng(1).integers(-1, 1 << 30, 4000).astype(np.int32)
    assert pack_codes(noise) is noise  # (does not compress: held as it is)


def _fold_rows(monkeypatch, small: int) -> tuple[pd.DataFrame, bool]:
    monkeypatch.setattr(rows_packed, "SMALL", small)
    monkeypatch.setattr(RowsFold, "PACK_FROM", 0)  # (every piece packed from the first)
    rng = np.random.default_rng(5)
    words = [f"user{i}@host{i % 7}.example" for i in range(300)]
    fold = RowsFold(["t", "c", "n"], few_values=["c"], categorical=["c"], texts=["t"], order_column="o")
    for b in range(6):
        n = 400
        batch = pd.DataFrame({
            "t": pd.array([None if rng.random() < 0.1 else words[int(i)] for i in rng.integers(0, 300, n)],
                          dtype=pd.ArrowDtype(pa.string())),
            "c": pd.array([["x", "y", "z"][int(i)] for i in rng.integers(0, 3, n)], dtype=pd.ArrowDtype(pa.string())),
            "n": pd.array(rng.integers(0, 9, n), dtype=pd.ArrowDtype(pa.int64())),
        })
        batch.attrs.update(input=0, first_row=b * n)
        fold.add(batch, mask=rng.random(n) < 0.7)
    packed = any(isinstance(h, Packed) for p in fold._pieces for h in (*p[3].values(), *p[4].values()))
    return fold.result(), packed


def test_rows_fold_result_is_the_same_packed_or_not(monkeypatch) -> None:
    """A RowsFold's result (texts, categorical codes, order) with every piece packed equals that
    with none packed (and the held pieces are packed only in the first)."""
    (got, packed), (want, plain) = _fold_rows(monkeypatch, 0), _fold_rows(monkeypatch, 1 << 30)
    assert packed and not plain
    assert list(got.columns) == ["t", "c", "n", "o"] and len(got) > 1000
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_a_report_is_the_same_with_every_piece_packed(tmp_path: Path, mta: str, monkeypatch) -> None:
    from analyzer.classify import default_rules
    from analyzer.reader import open_stream
    from analyzer.report import ReportWindow, make_report
    from analyzer.report.run import collect_report_events
    from bench.generate_logs import generate

    path = tmp_path / "mail.log"
    generate(mta=mta, lines=4000, seed=11, out=path)
    kb, now = default_rules(), pd.Timestamp("2026-11-29T06:00:00Z")
    from analyzer.report import fold

    packed: list[bool] = []

    def counted(*args):  # the kept pieces that were packed: the second run must pack some
        out = rows_packed.pack(*args)
        packed.append(isinstance(out, rows_packed.Packed))
        return out

    monkeypatch.setattr(fold, "pack", counted)
    monkeypatch.setattr(RowsFold, "PACK_FROM", 0)
    reports = []
    for small in (1 << 30, 0):
        packed.clear()
        monkeypatch.setattr(rows_packed, "SMALL", small)
        stream = open_stream([str(path)], year=2026, tz="UTC", workers=1, batch_lines=700)
        reports.append(make_report(collect_report_events(stream, kb, ReportWindow()), kb=kb, window=ReportWindow(),
                                   now=now, generated_at=now))
        assert any(packed) == (small == 0)
    assert reports[0] == reports[1]


@settings(max_examples=100, deadline=None)
@given(names=st.lists(st.sampled_from(["a@x", "b@y", "", "é@z", "None", "c"]), max_size=30),
       keys=st.lists(st.sampled_from(["a@x", "b@y", "", "é@z", "None", "d"]), unique=True, max_size=6),
       data=st.data())
def test_folded_names_found_among_the_keys_alike_in_arrow_and_in_python(names, keys, data) -> None:
    """The top tables' look-up of the folded lines' names among the keys with failures: by Arrow
    (the senders filled from the Bulk's) = by Python strings (the names as they were)."""
    from analyzer.report.top import _codes_in

    uniq = np.array(keys, dtype=object)
    hit = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(keys) - 1, 0)), max_size=len(keys)))
                          if keys else []), dtype=np.int64)
    want = _codes_in(np.array(names, dtype=object), uniq, hit)
    got = _codes_in(pa.array(names, pa.large_string()), uniq, hit)
    assert got.tolist() == want.tolist()


def test_senders_looked_up_by_queue_id_hash() -> None:
    from analyzer.report.top import Senders

    s = Senders(np.array([3, 9, 20], dtype=np.uint64), np.array([1, -1, 0], dtype=np.int64),
                pa.array(["a@x", "b@y"], pa.large_string()))
    q = np.array([20, 4, 3, 9, 99, 0], dtype=np.uint64)
    assert s.at(q).tolist() == [0, -1, 1, -1, -1, -1]
    assert s.of(q).tolist() == ["a@x", None, "b@y", None, None, None]
    none = Senders(np.zeros(0, np.uint64), np.zeros(0, np.int64), pa.array([], pa.large_string()))
    assert none.at(q).tolist() == [-1] * 6 and none.of(q).tolist() == [None] * 6


@settings(max_examples=200, deadline=None)
@given(data=st.data(), slice_=st.sampled_from([1, 3, 1 << 16]))
def test_counts_of_parts_where_they_are_are_those_joined_then_cut(data, slice_) -> None:
    """The top tables' messages per key over the rows and the folded lines where they are
    (``count_coded``: the selected lines of each part, keys -1 passed over) = ``count_units`` of
    the parts' selected lines joined, then cut (as before), at several slice sizes."""
    from analyzer.report import units as U
    from analyzer.report.units import Units, count_coded, count_units

    def part(n: int) -> tuple[np.ndarray, Units, np.ndarray | None]:
        ints = st.lists(st.integers(0, 5), min_size=n, max_size=n)
        kind = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int8)
        keys = np.array(data.draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n)), dtype=np.int32)
        sel = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool) \
            if data.draw(st.booleans()) else None
        return keys, Units(kind, np.array(data.draw(ints), dtype=np.int32), np.array(data.draw(ints), dtype=np.int32)), sel

    parts = [part(data.draw(st.integers(0, 40))) for _ in range(data.draw(st.integers(1, 3)))]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(U, "COUNT_SLICE", slice_)
        got = count_coded(parts, 5)
    cut = [(k >= 0) & (np.ones(len(k), dtype=bool) if s is None else s) for k, _, s in parts]
    keys = np.concatenate([k[c] for (k, _, _), c in zip(parts, cut, strict=True)])
    joined = Units(*(np.concatenate([getattr(u, f)[c] for (_, u, _), c in zip(parts, cut, strict=True)])
                     for f in ("kind", "h", "q")))
    want = count_units(keys.astype(np.int64), joined)  # (the numbers read as hashes)
    assert got.tolist() == [int(want.get(i, 0)) for i in range(5)]


def test_pieces_are_held_as_they_are_until_pack_from(monkeypatch) -> None:
    """RowsFold.PACK_FROM: the held pieces' bytes below it are held as they are (texts and codes),
    the pieces after it packed; the result is the same as with every piece packed."""
    held = {}
    for pack_from in (0, 20_000, 1 << 30):
        monkeypatch.setattr(RowsFold, "PACK_FROM", pack_from)
        monkeypatch.setattr(RowsFold, "HOLD_ROWS", 1)  # (a piece per batch)
        rng = np.random.default_rng(9)
        words = [f"someone{i}@host{i % 11}.example" for i in range(400)]
        fold = RowsFold(["t", "c", "n"], few_values=["c"], categorical=["c"], texts=["t"])
        for b in range(12):
            n = 500
            batch = pd.DataFrame({
                "t": pd.array([words[int(i)] for i in rng.integers(0, 400, n)], dtype=pd.ArrowDtype(pa.string())),
                "c": pd.array([["x", "y", "z"][int(i)] for i in rng.integers(0, 3, n)], dtype=pd.ArrowDtype(pa.string())),
                "n": pd.array(rng.integers(0, 9, n), dtype=pd.ArrowDtype(pa.int64())),
            })
            batch.attrs.update(input=0, first_row=b * n)
            fold.add(batch)
        kinds = [isinstance(p[4]["t"], Packed) for p in fold._pieces]
        held[pack_from] = (kinds, fold.result())
    assert all(held[0][0]) and not any(held[1 << 30][0])
    some = held[20_000][0]
    assert not some[0] and some[-1] and some == sorted(some)  # plain first, then packed
    for pack_from in (20_000, 1 << 30):
        pd.testing.assert_frame_equal(held[pack_from][1], held[0][1])
