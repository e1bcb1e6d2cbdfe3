"""The report's end as r20-rend left it: the kept rows' result made on the main thread while the
fold thread makes the Bulk's (both after the stream's last batch), and the same fold as before."""

from __future__ import annotations

import threading
from pathlib import Path

from analyzer.anomalies.aggregates import BulkFold
from analyzer.classify import default_rules
from analyzer.reader import open_stream
from analyzer.report.fold import RowsFold
from analyzer.report.run import collect_report_events

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def _fold():
    return collect_report_events(open_stream([str(SAMPLES / "postfix")], year=2026, tz="UTC"), default_rules())


def test_the_rows_result_is_made_beside_the_bulks(monkeypatch):
    """The Bulk's result (on maillens-fold) waits until the rows' result has begun on the main
    thread: had the rows waited for the Bulk (as before), it would wait out its time."""
    want = _fold()
    begun = threading.Event()
    seen: dict[str, object] = {}
    rows_result, bulk_result = RowsFold.result, BulkFold.result

    def rows(self):
        seen["rows"] = threading.current_thread().name
        begun.set()
        return rows_result(self)

    def bulk(self):
        seen["bulk"] = threading.current_thread().name
        seen["beside"] = begun.wait(30)
        return bulk_result(self)

    monkeypatch.setattr(RowsFold, "result", rows)
    monkeypatch.setattr(BulkFold, "result", bulk)
    got = _fold()
    assert seen["rows"] == threading.main_thread().name
    assert str(seen["bulk"]).startswith("maillens-fold")
    assert seen["beside"] is True
    assert got.events.equals(want.events) and (got.order == want.order).all()
    assert got.bulk.table.equals(want.bulk.table) and got.sections.keys() == want.sections.keys()
