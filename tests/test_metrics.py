"""`maillens metrics`: a Prometheus textfile-collector file, parsed back by prometheus_client."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.metrics import RunCounts, metrics_text

prom_parser = pytest.importorskip("prometheus_client.parser")
om_parser = pytest.importorskip("prometheus_client.openmetrics.parser")

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


def _families(text: str, parser=prom_parser) -> dict:
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def _value(fams: dict, name: str, **labels: str) -> float:
    fam = fams[name]
    hits = [s.value for s in fam.samples if s.labels == labels]
    assert len(hits) == 1, (name, labels, fam.samples)
    return hits[0]


def _events(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"ts": pd.date_range("2026-11-29 10:00", periods=n, freq="min", tz="UTC")}
    return pd.DataFrame({**base, **cols})


def test_counts_by_dimension_match_the_events():
    """Every gauge equals the count of its label value in the event table; the run time is stamped."""
    ev = _events(direction=["inbound", "outbound", "outbound", None],
                 outcome=["ok", "permanent_failure", "transient_failure", "permanent_failure"],
                 reply_class=["2xx", "5xx", "4xx", "5xx"],
                 provider=[None, "gmail", "gmail", "microsoft"],
                 cause=[None, "mailbox.unknown", "greylisted", "mailbox.unknown"])
    fams = _families(metrics_text(ev, now=NOW, counts=RunCounts(lines=10, unrecognised=2)))
    assert _value(fams, "maillens_events", direction="outbound") == 2
    assert _value(fams, "maillens_outcome_events", outcome="permanent_failure") == 2
    assert _value(fams, "maillens_reply_class_events", reply_class="4xx") == 1
    assert _value(fams, "maillens_provider_events", provider="gmail") == 2
    assert _value(fams, "maillens_failure_cause_events", outcome="permanent_failure", cause="mailbox.unknown") == 2
    assert _value(fams, "maillens_failure_cause_events", outcome="transient_failure", cause="greylisted") == 1
    assert _value(fams, "maillens_lines_unrecognised") == 2
    assert _value(fams, "maillens_last_run_timestamp_seconds") == NOW.timestamp()
    assert all(f.type == "gauge" for f in fams.values())


def test_file_is_valid_openmetrics_too():
    """The same text parses as OpenMetrics (ends with # EOF, no reserved-suffix clash)."""
    ev = _events(direction=["inbound"], outcome=["ok"], reply_class=["2xx"], provider=["gmail"], cause=[None])
    text = metrics_text(ev, now=NOW)
    assert text.endswith("# EOF\n")
    fams = _families(text, om_parser)
    assert _value(fams, "maillens_outcome_events", outcome="ok") == 1


def test_label_values_are_escaped():
    """A quote, backslash or newline in a label value does not break the file."""
    ev = _events(direction=["inbound"], outcome=["ok"], reply_class=["2xx"], provider=['we"ird\\\nname'],
                 cause=[None])
    fams = _families(metrics_text(ev, now=NOW))
    assert _value(fams, "maillens_provider_events", provider='we"ird\\\nname') == 1


def test_empty_window_still_has_the_run_timestamp():
    """No events: the file is valid and says when the run was (so an alert on staleness works)."""
    ev = _events(direction=[], outcome=[], reply_class=[], provider=[], cause=[])
    fams = _families(metrics_text(ev, now=NOW))
    assert _value(fams, "maillens_window_events") == 0
    assert _value(fams, "maillens_last_run_timestamp_seconds") == NOW.timestamp()


def test_cli_writes_the_file_atomically_from_logs(tmp_path):
    """`maillens metrics LOGS -o FILE` writes a parseable file and leaves no temporary file behind."""
    target = tmp_path / "maillens.prom"
    r = runner.invoke(app, ["metrics", str(SAMPLES / "postfix"), "--tz", "UTC", "-o", str(target)])
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(tmp_path)) == ["maillens.prom"]
    fams = _families(target.read_text())
    total = sum(s.value for s in fams["maillens_outcome_events"].samples)
    assert total > 0
    assert _value(fams, "maillens_lines_read") >= total


def test_cli_reads_a_store(tmp_path):
    """`maillens metrics --store DIR --since …` counts the store's events of that window."""
    store = tmp_path / "store"
    r = runner.invoke(app, ["ingest", str(SAMPLES / "postfix"), "--store", str(store), "--tz", "UTC", "-q"])
    assert r.exit_code == 0, r.output
    logs = runner.invoke(app, ["metrics", str(SAMPLES / "postfix"), "--tz", "UTC"])
    from_store = runner.invoke(app, ["metrics", "--store", str(store), "--since", "2000-01-01", "--tz", "UTC"])
    assert from_store.exit_code == 0, from_store.output
    a = _families(logs.stdout)["maillens_outcome_events"].samples
    b = _families(from_store.stdout)["maillens_outcome_events"].samples
    assert sorted((s.labels["outcome"], s.value) for s in a) == sorted((s.labels["outcome"], s.value) for s in b)


def test_cli_errors_name_the_option(tmp_path):
    """A bad --since and a missing input are one-line errors."""
    r = runner.invoke(app, ["metrics", str(SAMPLES / "postfix"), "--since", "2026-13-45"])
    assert r.exit_code == 2
    assert "Error: --since: " in r.output
    r = runner.invoke(app, ["metrics"])
    assert r.exit_code == 2 and "Error: no input" in r.output
