"""The volumes' delay figures (:func:`analyzer.report.timeline.delay_stats`, r28-rfold: the three
quantiles by one numpy call) against ``Series.quantile`` per quantile and ``Series.max``, as the
build computed them before: the same floats, the missing delays apart, None without any."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.timeline import delay_stats


def _reference(delays: pd.Series) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        out[name] = round(float(delays.quantile(q)), 3) if len(delays) else None
    out["max"] = round(float(delays.max()), 3) if len(delays) else None
    return out


def _same(a: dict[str, float | None], b: dict[str, float | None]) -> bool:
    return a.keys() == b.keys() and all(
        (x is None and y is None) or (x is not None and y is not None and (x == y or (math.isnan(x) and math.isnan(y))))
        for x, y in zip(a.values(), b.values(), strict=True))


values = st.one_of(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.just(float("nan")),
                   st.integers(0, 90_000).map(float), st.sampled_from([0.0, 0.25, 1.5, 3600.0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=400))
def test_delay_stats_equal_series_quantiles(xs: list[float]) -> None:
    s = pd.Series(np.array(xs, dtype=np.float64))
    got = delay_stats(s.to_numpy(dtype=np.float64))
    assert _same(got, _reference(s)), (got, _reference(s))
    assert list(got) == ["p50", "p90", "p99", "max"]


def test_delay_stats_at_a_day_s_size() -> None:
    rng = np.random.default_rng(3)
    d = np.round(rng.exponential(2.0, 300_000), 2)
    d[rng.integers(0, len(d), 50)] = np.nan
    assert delay_stats(d) == _reference(pd.Series(d))
    assert delay_stats(np.zeros(0)) == {"p50": None, "p90": None, "p99": None, "max": None}
