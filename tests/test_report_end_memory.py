"""The report's end with less memory (r21-rmem): the same answers by other means.

:func:`analyzer.report.units.count_units` numbering many hashes by a sort gives the counts of a
hash table's numbering; :func:`analyzer.report.units.message_units` worked in place gives the
units of the nested selection it replaced; :func:`analyzer.report.pair_codes.first_seen_codes` is
``pd.factorize`` of a Categorical, and :func:`analyzer.report.pair_codes._pair_codes` the codes and
names of pairs numbered through ``np.unique``; :func:`analyzer.report.run.make_report` gives the same
report with the detectors beside the build and after it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import pair_codes, units
from analyzer.report.units import LINE, MESSAGE, NONE, QUEUE, Units, count_units, message_units, value_hash


def _units(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Units]:
    kind = rng.choice(np.array([NONE, MESSAGE, QUEUE, LINE], dtype=np.int8), n)
    q = rng.integers(0, 12, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h = np.where(kind == QUEUE, q, rng.integers(0, 30, n).astype(np.uint64) << np.uint64(40))
    return rng.integers(0, 6, n), Units(kind, h, np.where(kind == NONE, np.uint64(0), q))


@pytest.mark.parametrize("seed", range(12))
def test_count_units_by_sort_is_by_hash_table(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    keys, u = _units(rng, int(rng.integers(0, 400)))
    by_table = count_units(keys, u)
    monkeypatch.setattr(units, "DENSE_SORT_FROM", 0)
    by_sort = count_units(keys, u)
    pd.testing.assert_series_equal(by_sort, by_table)


def _old_message_units(rows: pd.DataFrame) -> Units:
    """message_units as it was before r21 (a nested np.where): the specification."""
    qid, rcpt = rows["queue_id"], rows["recipient"]
    has_q = qid.notna().to_numpy(dtype=bool)
    has_r = rcpt.notna().to_numpy(dtype=bool)
    conn = ~rows["direction"].isin(["inbound"]).fillna(False).to_numpy(dtype=bool) \
        & ~rows["event"].isin(["reject", "reject_warning"]).fillna(False).to_numpy(dtype=bool)
    qh = np.where(has_q, value_hash(qid), np.uint64(0))
    with np.errstate(over="ignore"):
        mh = qh * np.uint64(1000003) ^ value_hash(rcpt)
    kind = np.where(has_q & has_r, MESSAGE, np.where(has_q, QUEUE, np.where(conn, NONE, LINE))).astype(np.int8)
    h = np.where(kind == MESSAGE, mh, np.where(kind == QUEUE, qh, np.where(kind == LINE,
                 np.arange(len(rows), dtype=np.uint64), np.uint64(0))))
    return Units(kind, h, qh)


_maybe = st.one_of(st.none(), st.sampled_from(["a", "b", "Q1", "x@y", ""]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_maybe, _maybe, st.sampled_from(["inbound", "outbound", None]),
                          st.sampled_from(["reject", "delivery", None])), max_size=30),
       st.booleans())
def test_message_units_in_place_are_the_nested_selection(rows: list, arrow: bool) -> None:
    df = pd.DataFrame(rows, columns=["queue_id", "recipient", "direction", "event"], dtype=object)
    if arrow:
        df = df.astype({"queue_id": "string[pyarrow]", "recipient": "string[pyarrow]"})
    got, want = message_units(df), _old_message_units(df)
    for name in ("kind", "h", "q"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def _old_pair_codes(cause: pd.Series, fix_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """pair_codes._pair_codes' path for a cause with no null as it was before r21: the specification."""
    cc, cu = pd.factorize(cause, use_na_sentinel=True)
    fc, fu = pd.factorize(fix_id, use_na_sentinel=True)
    cn = np.array([str(v) for v in cu], dtype=object)
    fn = np.array([str(v) for v in fu] + [None], dtype=object)
    pair = (cc.astype(np.int64) + 1) * (len(fu) + 1) + (fc.astype(np.int64) + 1)
    uniq, inv = np.unique(pair, return_inverse=True)
    ci, fi = np.divmod(uniq, len(fu) + 1)
    names = np.array([cn[c - 1] + "\x00" + (fn[f - 1] if f else cn[c - 1]) for c, f in zip(ci, fi, strict=True)],
                     dtype=object)
    return inv.reshape(-1), names


@pytest.mark.parametrize("seed", range(40))
def test_pair_codes_and_first_seen_codes_are_factorize_and_unique(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(0, 80)), int(rng.integers(1, 9))
    names = [f"c{i}" for i in rng.permutation(k)]
    cause = pd.Series(pd.Categorical(rng.choice(names, n), categories=[*sorted(names), "unused"]))
    fix_values = rng.choice([*names, None], n)
    fix = pd.Series(pd.Categorical(fix_values, categories=[*sorted(names), "zz"])) if seed % 3 else \
        pd.Series(fix_values, dtype=object)
    got, want = pair_codes._pair_codes(cause, fix), _old_pair_codes(cause, fix)
    np.testing.assert_array_equal(got[0], want[0])
    assert list(got[1]) == list(want[1])
    for s in (cause, fix):
        codes, values = pair_codes.first_seen_codes(s)
        fcodes, fvalues = pd.factorize(s, use_na_sentinel=True)
        np.testing.assert_array_equal(codes, fcodes)
        assert values == [str(v) for v in fvalues]


def test_a_large_window_builds_one_part_after_the_other_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from pathlib import Path

    from analyzer.reader import parse_logs
    from analyzer.report import run

    now = pd.Timestamp("2026-12-01T06:00:00Z")
    result = parse_logs([str(Path(__file__).resolve().parent.parent / "sample_logs")], tz="UTC", year=2026)
    beside = run.make_report(result, now=now, generated_at=now)
    ran: list[str] = []
    detect = run.detect_anomalies

    def detect_where(*args, **kwargs):
        ran.append(threading.current_thread().name)
        return detect(*args, **kwargs)

    monkeypatch.setattr(run, "detect_anomalies", detect_where)
    monkeypatch.setattr(run, "APART_ROWS", 0)  # every window "large"
    monkeypatch.setattr(units, "DENSE_SORT_FROM", 0)  # and every hash numbered by a sort
    apart = run.make_report(result, now=now, generated_at=now)
    assert ran == [threading.current_thread().name]
    assert beside["findings"] and beside["top"]["destinations"]
    assert apart == beside


def test_the_stream_with_many_rows_gives_the_bulk_then_the_rows_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from analyzer.pipeline import EventStream
    from analyzer.report import run
    from analyzer.sources import expand_inputs

    now = pd.Timestamp("2026-12-01T06:00:00Z")

    def folded() -> dict:
        stream = EventStream(expand_inputs([str(Path(__file__).resolve().parent.parent / "sample_logs")]), tz="UTC",
                             year=2026, batch_lines=333, workers=1)
        return run.make_report(run.collect_report_events(stream), now=now, generated_at=now)

    beside = folded()
    monkeypatch.setattr(run, "APART_ROWS", 0)
    assert folded() == beside


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=40), st.integers(0, 5))
def test_value_hash_of_a_column_with_nulls_is_that_of_its_values(values: list, cut: int) -> None:
    import pyarrow as pa

    from analyzer.keyed import key_hash

    arr = pa.array(values, pa.string())
    if cut and len(values) > cut:  # (a slice: an offset into its buffers)
        arr = arr.slice(cut)
        values = values[cut:]
    got = value_hash(pd.Series(pd.arrays.ArrowExtensionArray(arr)))
    valid = np.array([v is not None for v in values], dtype=bool)
    want = np.zeros(len(values), dtype=np.uint64)
    if valid.any():
        want[valid] = key_hash(pa.array([v for v in values if v is not None], pa.string()))
    np.testing.assert_array_equal(got, want)


def test_the_detectors_give_back_between_them_only_for_a_large_window(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from analyzer.anomalies import detect
    from analyzer.reader import parse_logs
    from analyzer.report import run

    now = pd.Timestamp("2026-12-01T06:00:00Z")
    result = parse_logs([str(Path(__file__).resolve().parent.parent / "sample_logs" / "postfix")], tz="UTC",
                        year=2026)
    calls: list[int] = []
    given = detect.heap.give_back
    monkeypatch.setattr(detect.heap, "give_back", lambda: (calls.append(1), given())[1])
    small = run.make_report(result, now=now, generated_at=now)
    once = len(calls)  # (the one after the detectors)
    monkeypatch.setattr(detect, "GIVE_BACK_ROWS", 0)
    assert run.make_report(result, now=now, generated_at=now) == small
    assert len(calls) - once >= once + len(detect.DETECTORS)
