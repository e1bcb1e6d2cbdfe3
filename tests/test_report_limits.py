"""The cap on the report's size: long lists keep their first rows and say how many more there were."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from analyzer.anomalies import Finding
from analyzer.classify import classify
from analyzer.cli import app
from analyzer.reader import parse_lines
from analyzer.report import build_report, render
from analyzer.report.limits import LIMITS, cap, more
from tests.conftest import corpus_path


def _findings(n: int) -> list[Finding]:
    t = pd.Timestamp("2026-11-28T10:00:00Z")
    return [Finding(f"fp{i}", "critical" if i == n - 1 else "info", f"finding {i}", "abuse", t, t, f"e{i}", 1.0,
                    None, (), None, (), "", "count") for i in range(n)]


def test_cap_cuts_lists_and_counts_the_rest():
    """A list longer than its limit keeps the limit's rows; omitted names its path and the count left out."""
    r = {"warnings": [f"w{i}" for i in range(30)], "unrecognised": {"kinds": [{"kind": "k"}] * 3}}
    cap(r)
    assert r["warnings"] == [f"w{i}" for i in range(LIMITS["warnings"])]
    assert r["omitted"] == {"warnings": 30 - LIMITS["warnings"]}
    assert more(r, "warnings") == 30 - LIMITS["warnings"] and more(r, "unrecognised.kinds") == 0


def test_report_with_many_findings_and_warnings_is_short_in_every_format():
    """60 findings and 500 warnings: the summary counts all, the lists keep their limits, each format says how many
    more."""
    ev = parse_lines(["Nov 28 10:00:00 mx1 postfix/smtpd[1]: connect from a.example[198.51.100.1]"], year=2026,
                     tz="UTC").events
    r = build_report(classify(ev), _findings(60), warnings=[f"problem {i}" for i in range(500)])
    assert r["summary"]["info"] == 59 and r["summary"]["critical"] == 1
    assert len(r["findings"]) == LIMITS["findings"] and r["findings"][0]["severity"] == "info"  # input order kept
    assert r["omitted"]["findings"] == 60 - LIMITS["findings"]
    assert r["omitted"]["warnings"] == 500 - LIMITS["warnings"]
    text = render(r, "text")
    assert f"… and {500 - LIMITS['warnings']:,} more" in text and f"… and {60 - LIMITS['findings']} more" in text
    assert text.count("problem ") == LIMITS["warnings"]
    assert f"… and {500 - LIMITS['warnings']:,} more" in render(r, "markdown")
    assert f"… and {500 - LIMITS['warnings']:,} more warnings" in render(r, "html")
    assert json.loads(render(r, "json"))["omitted"] == r["omitted"]


def test_exim_test_suite_logs_give_a_short_report():
    """Logs of the Exim test suite, dated 1999 to 2017: a time table per month of the months with data, and a text
    report of a few hundred lines (it was 161,671 lines with an hourly table)."""
    logs = sorted(corpus_path("exim-testsuite", "test", "log").iterdir())[::25]
    res = CliRunner().invoke(app, ["report", *map(str, logs), "--tz", "UTC", "--year", "2026", "--now",
                                   "2026-12-02T06:00:00Z", "--format", "json"], catch_exceptions=False)
    assert res.exit_code in (0, 1), res.output
    r = json.loads(res.stdout)
    tl = r["volumes"]["timeline"]
    assert tl["granularity"] == "month"
    assert 0 < len(tl["rows"]) <= 120 and all(sum(v for k, v in row.items() if k != "start") for row in tl["rows"])
    assert len(render(r, "text").splitlines()) < 600
