"""The report from the stream's compact table equals the report from the whole event table,
whatever the batch size; the vectorised failure-spike detector finds what the loop found."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.reader import open_stream, parse_logs
from analyzer.report.build import ReportWindow
from analyzer.report.run import ROW_COLUMNS, collect_report_events, make_report

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


@pytest.mark.parametrize("batch_lines", [7, 1000])
@pytest.mark.parametrize("sub", ["", "postfix", "exim"])
def test_streamed_report_equals_whole_table_report(sub, batch_lines):
    paths = [str(SAMPLES / sub)]
    whole = make_report(parse_logs(paths, tz="UTC"), now=NOW, generated_at=NOW)
    res = collect_report_events(open_stream(paths, tz="UTC", batch_lines=batch_lines))
    assert list(res.events.columns) == list(ROW_COLUMNS)
    streamed = make_report(res, now=NOW, generated_at=NOW)
    assert streamed == whole
    assert whole["lines"]["events"] > 0


def test_streamed_report_with_a_window():
    paths = [str(SAMPLES / "postfix")]
    w = ReportWindow(pd.Timestamp("2026-11-29T15:52:00Z"), pd.Timestamp("2026-11-29T15:56:00Z"))
    whole = make_report(parse_logs(paths, tz="UTC", year=2026), window=w, now=NOW, generated_at=NOW)
    res = collect_report_events(open_stream(paths, tz="UTC", year=2026, batch_lines=13), window=w)
    assert make_report(res, window=w, now=NOW, generated_at=NOW) == whole


def _spikes_by_loop(g, dim, tot, window_start, p, min_hist):
    """The failure-spike detector's former loop over every entity (the reference)."""
    from analyzer.anomalies.baseline import _robust

    flagged = {}
    for entity, grp in g.groupby(dim, sort=True):
        grp = grp.sort_values("bucket")
        buckets, fails, ns = grp["bucket"].tolist(), grp["fail"].to_numpy(), grp["n"].to_numpy()
        for i, b in enumerate(buckets):
            if b < window_start or fails[i] < p["min_failures"]:
                continue
            rate = fails[i] / ns[i]
            hist_rates = fails[:i][ns[:i] >= 3] / ns[:i][ns[:i] >= 3]
            if len(hist_rates) >= min_hist:
                exp, sd = _robust(hist_rates)
            else:
                prior = tot[tot.index < b]
                if len(prior) < min_hist:
                    continue
                exp, _sd = _robust((prior["sum"] / prior["count"]).to_numpy(dtype=float))
                sd = 0.0
            if rate >= p["min_rate"] and rate >= exp + max(p["k"] * sd, p["min_increase"]):
                flagged.setdefault(str(entity), []).append((b, rate, exp, fails[i]))
    return flagged


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_failure_spikes_equal_the_loop(seed):
    import numpy as np

    from analyzer.anomalies.delivery import _spikes
    from analyzer.anomalies.params import default_params

    rng = np.random.default_rng(seed)
    hours = pd.date_range("2026-11-28", periods=30, freq="h", tz="UTC")
    rows = []
    for d in range(60):
        for h in rng.choice(len(hours), size=rng.integers(1, 30), replace=False):
            n = int(rng.integers(1, 40))
            f = int(rng.binomial(n, rng.choice([0.05, 0.3, 0.9])))
            rows.append((f"d{d}.example", hours[h], float(f), float(n)))
    g = pd.DataFrame(rows, columns=["domain", "bucket", "fail", "n"]).sort_values(["domain", "bucket"],
                                                                                  ignore_index=True)
    tot = g.groupby("bucket")[["fail", "n"]].sum().rename(columns={"fail": "sum", "n": "count"})
    p = default_params()["failure_spike"]
    want = _spikes_by_loop(g, "domain", tot, hours[10], p, 3)
    assert want  # the data has spikes
    codes, names = pd.factorize(g["domain"])  # (sorted by domain: the codes in the names' order)
    buckets = g["bucket"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    got = _spikes((codes, np.asarray(names, dtype=object), buckets), g["fail"].to_numpy(), g["n"].to_numpy(), tot,
                  hours[10], p, 3)
    assert got == want
    assert {k: [b for b, *_ in v] for k, v in got.items()} == {k: [b for b, *_ in v] for k, v in want.items()}
