"""The headers' stamps counted in Rust (analyzer.native.naive_stamps, native/src/syslog.rs) equal
the Python clock's and numpy's (Clock.years, classic._naive/_zoned): the same microseconds, the
clock left in the same state (year, month, the first stamp it recorded), over year rollovers,
December stragglers, leap days, days past a month's end, and zones with and without DST."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native
from analyzer.parallel import _RecordingClock
from analyzer.parsers.classic import _naive, _utc_stamps, _zoned
from analyzer.schema import TS

pytestmark = pytest.mark.skipif(native.engine() != "native", reason="the native extension is not built")

stamps = st.lists(st.tuples(st.integers(1, 12), st.integers(1, 31), st.integers(0, 86_399)), max_size=60)
starts = st.one_of(st.none(), st.tuples(st.integers(1970, 2100), st.integers(1, 12)))


def _buffers(rows: list[tuple[int, int, int]]) -> tuple[bytes, bytes, bytes]:
    a = np.array(rows, np.int64).reshape(-1, 3)
    return a[:, 0].astype(np.uint8).tobytes(), a[:, 1].astype(np.uint8).tobytes(), a[:, 2].astype(np.uint32).tobytes()


def _python(clock: _RecordingClock, months: bytes, days: bytes, secs: bytes) -> np.ndarray:
    m = np.frombuffer(months, np.uint8).astype(np.int64)
    d = np.frombuffer(days, np.uint8).astype(np.int64)
    return _naive(clock.years(m, d), m, d, np.frombuffer(secs, np.uint32).astype(np.int64))


def _clock(start: tuple[int, int] | None, year: int | None) -> _RecordingClock:
    import datetime as dt

    clock = _RecordingClock(tz="UTC", year=year, reference=dt.datetime(2026, 6, 15, tzinfo=dt.UTC))
    if start is not None:
        clock._current, clock._prev_month = start
    return clock


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(stamps, min_size=1, max_size=4), start=starts, year=st.one_of(st.none(), st.integers(1990, 2040)))
def test_native_stamps_are_the_clocks(batches, start, year):
    py, rs = _clock(start, year), _clock(start, year)
    for rows in batches:  # consecutive batches: the clock's state carries over
        bufs = _buffers(rows)
        got = native.naive_stamps(rs, *bufs)
        want = _python(py, *bufs)
        if not rows:
            assert got is None
            continue
        assert got.tolist() == want.tolist()
        assert (rs._current, rs._prev_month, rs.first) == (py._current, py._prev_month, py.first)


@settings(max_examples=60, deadline=None)
@given(rows=stamps.filter(bool), tz=st.sampled_from(["UTC", "Etc/UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]))
def test_zoned_stamps_as_assume_timezone(rows, tz):
    a = np.array(rows, np.int64)
    years = np.full(len(a), 2026)
    got = _zoned(_naive(years, a[:, 0], a[:, 1], a[:, 2]), tz)
    naive = _naive(years, a[:, 0], a[:, 1], a[:, 2])
    want = pc.assume_timezone(pa.array(naive, pa.timestamp("us")), timezone=tz, ambiguous="earliest",
                              nonexistent="earliest").cast(TS)
    assert got.type == TS and got.equals(want)
    assert _utc_stamps(years, a[:, 0], a[:, 1], a[:, 2], tz).equals(want)


def test_native_stamps_check_their_lengths():
    fn = native._module()[0].naive_stamps
    with pytest.raises(ValueError):
        fn(b"\x01\x02", b"\x01", b"\0" * 8, 2026, 1)
    with pytest.raises(ValueError):
        fn(b"\x01", b"\x01", b"\0" * 3, 2026, 1)
