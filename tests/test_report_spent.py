"""A large window's report lets go of what only its top tables read (:func:`analyzer.report.run.make_report`):
the Bulk's senders and the sent fold's per-line codes, once the top tables are made; the result is then
spent and a second report of it refused, not made with top tables that lack them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.pipeline import EventStream
from analyzer.report import run
from analyzer.sources import expand_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
NOW = pd.Timestamp("2026-12-01T06:00:00Z")


def _folded(path: Path = SAMPLES) -> run.FoldedResult:
    stream = EventStream(expand_inputs([str(path)]), tz="UTC", year=2026, batch_lines=333, workers=1)
    return run.collect_report_events(stream)


def test_a_large_window_lets_go_of_the_top_tables_inputs_once_read(monkeypatch: pytest.MonkeyPatch) -> None:
    small = run.make_report(_folded(), now=NOW, generated_at=NOW)
    result = _folded()
    # what is let go of is there to begin with, and the top tables read it
    assert len(result.bulk.senders)
    assert result.sections["sent"]["top"] is not None and "values" in result.sections["sent"]
    assert small["top"]["senders"]
    monkeypatch.setattr(run, "APART_ROWS", 0)  # every window "large"
    let_go: list[int] = []
    tables = run.top_tables

    def top_tables(*args, **kwargs):
        def counted() -> None:
            let_go.append(len(result.bulk.senders))
            kwargs["let_go"]()

        return tables(*args, **{**kwargs, "let_go": counted})

    monkeypatch.setattr(run, "top_tables", top_tables)
    large = run.make_report(result, now=NOW, generated_at=NOW)
    # the senders let go of by the top tables once read (the same tables), then held by none
    assert let_go and let_go[0] > 0 and len(let_go) == 1
    assert large == small
    assert result.spent
    assert len(result.bulk.senders) == 0
    assert "top" not in result.sections["sent"] and "values" not in result.sections["sent"]
    assert "delays" in result.sections["sent"]  # (the volumes' part, read by the build, is kept)
    with pytest.raises(ValueError, match="reported once"):
        run.make_report(result, now=NOW, generated_at=NOW)


def test_a_small_window_keeps_them_and_reports_again_the_same() -> None:
    result = _folded()
    first = run.make_report(result, now=NOW, generated_at=NOW)
    assert not result.spent and len(result.bulk.senders)
    assert run.make_report(result, now=NOW, generated_at=NOW) == first


def test_a_table_in_memory_is_never_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.reader import parse_logs

    result = parse_logs([str(SAMPLES)], tz="UTC", year=2026)
    first = run.make_report(result, now=NOW, generated_at=NOW)
    monkeypatch.setattr(run, "APART_ROWS", 0)
    assert run.make_report(result, now=NOW, generated_at=NOW) == first
    assert run.make_report(result, now=NOW, generated_at=NOW) == first
