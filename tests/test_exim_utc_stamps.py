"""The Exim readers' stamps in a zone whose wall clock is UTC's (``Etc/UTC``, a server's usual
``/etc/localtime``) are taken as they are: the same stamps as reading them as local time there."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.parsers.exim_fast import local_stamps
from analyzer.schema import TS

# 1970 to 2100, in microseconds
_MICROS = st.integers(min_value=0, max_value=4_102_444_800 * 1_000_000)


def _reference(micros: list[int], local: list[bool], tz: str) -> pa.Array:
    """Each local stamp read as wall-clock time in ``tz``, the others as they are."""
    naive = pa.array(micros, pa.timestamp("us"))
    there = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest").cast(TS)
    return pc.if_else(pa.array(local, pa.bool_()), there, pa.array(micros, pa.int64()).view(TS))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_MICROS, st.booleans()), min_size=1, max_size=40),
       st.sampled_from(["UTC", "Etc/UTC", "Europe/Berlin", "America/New_York"]))
def test_local_stamps_are_the_zones_wall_clock(rows: list[tuple[int, bool]], tz: str) -> None:
    micros = [m for m, _ in rows]
    local = [x for _, x in rows]
    got = local_stamps(pa.array(micros, pa.int64()), np.array(local, np.uint8).tobytes(), tz)
    assert got.type == TS
    assert got.equals(_reference(micros, local, tz))


def test_a_utc_zone_keeps_the_readers_values() -> None:
    micros = pa.array([0, 1_700_000_000_000_000, 1_700_000_000_000_001], pa.int64())
    for tz in ("UTC", "Etc/UTC"):
        got = local_stamps(micros, bytes([1, 1, 0]), tz)
        assert got.cast(pa.int64()).to_pylist() == micros.to_pylist()
    # a zone of another offset moves the local ones only
    berlin = local_stamps(micros, bytes([1, 0, 0]), "Europe/Berlin").cast(pa.int64()).to_pylist()
    assert berlin[0] == -3_600_000_000 and berlin[1:] == micros.to_pylist()[1:]
