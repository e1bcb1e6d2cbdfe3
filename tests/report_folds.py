"""Helpers shared by the tests of the report's folds (sent deliveries, session ends): a table
through the report's own fold, with one kind of folding turned off, and a window cut inside it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.anomalies.aggregates import ORDER_COLUMN
from analyzer.classify import classify
from analyzer.reader import parse_logs
from analyzer.report import ReportWindow
from analyzer.report import run as report_run
from analyzer.report.fold import fold_frame
from bench.generate_logs import generate


def classified_day(tmp_path_factory, mta: str, *, lines: int, seed: int, incidents: list[str]):
    """A generated day of ``mta`` parsed, its events classified (the folds' tests' fixture)."""
    path = tmp_path_factory.mktemp("day") / f"{mta}.log"
    generate(mta=mta, lines=lines, seed=seed, out=path, incidents=incidents)
    res = parse_logs([str(path)], year=2026, tz="UTC")
    res.events = classify(res.events)
    return res


def folded(result, window: ReportWindow, monkeypatch, *, off: str | None = None) -> report_run.FoldedResult:
    """``result``'s events through the report's own fold (as a stream's batches would be); ``off``
    names a mask of :mod:`analyzer.report.run` (``is_foldable_sent``, ``is_foldable_end``) that is
    made to select nothing, so those lines stay rows."""
    with monkeypatch.context() as m:
        if off is not None:
            m.setattr(report_run, off, lambda df: np.zeros(len(df), dtype=bool))
        fold = report_run.ReportFold(window=window)
        fold_frame(result.events, [fold], rows=700)  # many batches: the counts' compaction runs
        events, bulk, sections = fold.result()
    order = events.pop(ORDER_COLUMN).to_numpy(dtype=np.int64)
    return report_run.FoldedResult(events, result.counts, result.files, result.warnings, bulk=bulk, order=order,
                                   sections=sections, window=window)


def cut_window(day, cut: bool) -> ReportWindow:
    """No window, or one whose limits fall inside minutes of ``day``."""
    if not cut:
        return ReportWindow()
    d = day.events["ts"].min().floor("D")
    return ReportWindow(d + pd.Timedelta(hours=5, minutes=30, seconds=17), d + pd.Timedelta(hours=19, minutes=2, seconds=41))


def burst_at(ev: pd.DataFrame, lines: pd.DataFrame, n: int, seed: int, **set_to) -> pd.DataFrame:
    """``ev`` with ``n`` of ``lines`` (drawn with replacement) added at 10:05 of its first day, one
    a second, every third on host mx2 and the others on mx1 (a finding names both servers), new
    line numbers; ``set_to``: per column, the values given to the burst's lines; in time order."""
    at = ev["ts"].min().floor("h") + pd.Timedelta(hours=10, minutes=5)
    burst = lines.sample(n=n, replace=True, random_state=seed).reset_index(drop=True)
    burst["ts"] = pd.Series([at + pd.Timedelta(seconds=i) for i in range(len(burst))]).astype(ev["ts"].dtype)
    burst["line_no"] = (np.arange(len(burst)) + 10**6).astype(np.int64)
    burst["host"] = pd.Series(np.where(np.arange(len(burst)) % 3 == 0, "mx2", "mx1")).astype(ev["host"].dtype)
    for col, values in set_to.items():
        burst[col] = pd.Series(values(len(burst)) if callable(values) else values).astype(ev[col].dtype)
    out = pd.concat([ev, burst], ignore_index=True).sort_values(["ts", "line_no"], kind="stable", ignore_index=True)
    return out.astype({c: out[c].dtype for c in out.columns})


def ends_fold_cut(ev: pd.DataFrame):
    """``ev`` through one :class:`EndsFold` whose window is a cut inside its day (9:00:31 to
    13:07:05): its result, and the window's limits."""
    from analyzer.report.ends_fold import EndsFold

    d = ev["ts"].min().floor("D")
    since, until = d + pd.Timedelta(hours=9, seconds=31), d + pd.Timedelta(hours=13, minutes=7, seconds=5)
    f = EndsFold(ReportWindow(since, until))
    f.add(ev, np.ones(len(ev), dtype=bool))
    return f.result(), since, until
