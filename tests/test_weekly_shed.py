"""The weekly's give-back points (:mod:`analyzer.weekly.build`, :mod:`analyzer.weekly.events`): the
detectors run in their order, each after a collection, and the report is the one the plain
detector list gives."""

from __future__ import annotations

import pytest

from analyzer import heap
from analyzer.weekly import build_weekly, render_weekly
from tests.test_weekly_fold import NOW, WEEK, _store


def test_shedding_runs_every_detector_in_order_each_after_a_shed(monkeypatch):
    import analyzer.anomalies.detect as detect
    import analyzer.weekly.build as build

    calls: list[str] = []

    def fake(name: str):
        def fn(ctx):
            calls.append(f"{name}({ctx})")
            return [name]
        return fn

    monkeypatch.setattr(detect, "DETECTORS", [fake("a"), fake("b"), fake("c")])
    monkeypatch.setattr(heap, "shed", lambda: calls.append("shed"))
    wrapped = build._shedding()
    assert [fn("x") for fn in wrapped] == [["a"], ["b"], ["c"]]
    assert calls == ["shed", "a(x)", "shed", "b(x)", "shed", "c(x)"]


@pytest.fixture(scope="module", params=["postfix", "exim"])
def store(request, tmp_path_factory):
    return _store(tmp_path_factory.mktemp(f"shed-{request.param}"), request.param)


def test_the_report_is_the_plain_detectors_one(store, monkeypatch):
    import analyzer.weekly.build as build

    sheds: list[int] = []
    real = heap.shed
    monkeypatch.setattr(heap, "shed", lambda: (sheds.append(1), real())[1])
    shed = build_weekly(store, WEEK, now=NOW)
    from analyzer.anomalies.detect import DETECTORS

    n = len(sheds)
    assert n >= len(DETECTORS) + 2  # each detector, the deferred read, the days
    monkeypatch.setattr(build, "_shedding", lambda: None)  # detect_anomalies' own list, no shed between
    plain = build_weekly(store, WEEK, now=NOW)
    assert shed["findings"], "the incidents make findings"
    assert shed == plain
    for fmt in ("json", "markdown", "text"):
        assert render_weekly(shed, fmt) == render_weekly(plain, fmt)
