"""The weekly report over 14 days of two servers with known changes in the second week; golden files.

Regenerate the golden files (then review the diff) with:

    MAILLENS_UPDATE_GOLDEN=1 pytest tests/test_weekly.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.report.redact import Redactor
from analyzer.store import ingest
from analyzer.weekly import WeekError, build_weekly, last_complete_week, parse_week, render_weekly
from bench.generate_logs import generate

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = bool(os.environ.get("MAILLENS_UPDATE_GOLDEN"))
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
SUFFIX = {"text": "txt", "markdown": "md", "json": "json", "html": "html"}
BRUTE_IP = "198.51.100.66"


def _build(d: Path, names: list[str], store: Path) -> None:
    cwd = os.getcwd()
    os.chdir(d)  # relative names: the evidence in the golden files does not name a temporary directory
    try:
        for name in names:
            ingest([name], store, tz="UTC", year=2026)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Weeks 2026-W47 and W48 of mx1 and mx2. In W48 Microsoft blocks mx1 for 36 h (Wed–Thu), example.org
    answers mx2 with 521 for 6 h (Thu), and one IP tries SASL passwords on mx2 for an hour."""
    d = tmp_path_factory.mktemp("weekly")
    generate("postfix", 40000, seed=31, out=str(d / "mx1.log"), start="2026-11-16T00:00:00", hours=336, host="mx1",
             incidents=["microsoft_block@9d+36h"])
    generate("postfix", 30000, seed=32, out=str(d / "mx2.log"), start="2026-11-16T00:00:00", hours=336, host="mx2",
             incidents=["521_burst:example.org@10d+6h", f"sasl_bruteforce:{BRUTE_IP}@11d+1h"])
    _build(d, ["mx1.log", "mx2.log"], d / "store")
    return d / "store"


@pytest.fixture(scope="module")
def report(store) -> dict:
    """The report of week 2026-W48."""
    return build_weekly(store, "2026-W48", now=NOW)


def _row(rows: list[dict], key: str, value: str) -> dict:
    return next(r for r in rows if r[key] == value)


def test_week_against_previous_week(report):
    """The report covers W48 against W47 (also the only baseline week), for both servers."""
    assert (report["week"], report["since"], report["until"]) == ("2026-W48", "2026-11-23", "2026-11-29")
    assert report["previous_week"] == "2026-W47" and report["baseline_weeks"] == ["2026-W47"]
    assert report["hosts"] == ["mx1", "mx2"]
    assert report["schema_version"] == 1
    json.dumps(report)  # plain data


def test_microsoft_block_shows_as_a_drop_for_mx1_and_microsoft_domains(report):
    """mx1's success rate and hotmail/outlook's fall from above 90%; bounces multiply; Wednesday shows it."""
    mx1 = _row(report["by_host"], "host", "mx1")
    assert mx1["change"] < -0.1 and mx1["previous_rate"] > 0.9
    for domain in ("hotmail.test", "outlook.test"):
        r = _row(report["by_domain"], "domain", domain)
        assert r["previous_rate"] > 0.9 and r["rate"] < 0.3
    bounced = _row(report["volumes"], "kind", "bounced")
    assert bounced["count"] > 5 * bounced["previous"]
    assert report["delivery"]["change"] < -0.05
    wed, tue = report["per_day"][2], report["per_day"][1]
    assert wed["bounced"] > 10 * tue["bounced"] and wed["rate"] < tue["rate"]
    assert any("microsoft" in f["title"] for f in report["findings"] if f["severity"] == "critical")


def test_521_burst_is_a_cause_new_this_week(report):
    """example.org's 521 greetings make host.no_mail a new cause with its fix, and example.org's rate drops."""
    new = _row(report["new_causes"], "cause", "host.no_mail")
    assert new["count"] > 100 and new["previous"] == 0 and new["fix"]
    org = _row(report["by_domain"], "domain", "example.org")
    assert org["rate"] < 0.5 <= 0.9 < org["previous_rate"]
    # DNSBL hits on clients are client.listed now: reputation.ip_listed is only the Microsoft
    # block of our own IP, new this week
    top = _row(report["causes"], "cause", "reputation.ip_listed")
    assert top["count"] > 0 and top["previous"] == 0


def test_sasl_bruteforce_is_a_finding_and_redaction_hides_the_ip(store, report):
    """The brute-force IP is named in a finding; --redact --redact-ips pseudonymises it everywhere."""
    assert BRUTE_IP in json.dumps(report["findings"])
    red = build_weekly(store, "2026-W48", now=NOW, redact=Redactor("k", ips=True), findings=True)
    for fmt in SUFFIX:
        assert BRUTE_IP not in render_weekly(red, fmt)
    assert red["volumes"] == report["volumes"]


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_golden(report, fmt):
    """Each format of the W48 report equals its golden file (MAILLENS_UPDATE_GOLDEN=1 rewrites them)."""
    path = GOLDEN / f"weekly.{SUFFIX[fmt]}"
    text = render_weekly(report, fmt)
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_report_does_not_depend_on_ingest_order(store, report):
    """A store built server by server in the other order gives the same report."""
    other = store.parent / "store-reversed"
    _build(store.parent, ["mx2.log", "mx1.log"], other)
    assert build_weekly(other, "2026-W48", now=NOW) == report


def test_html_is_self_contained_and_escapes_log_text(report):
    """The html has inline SVG and no script or external resource; text from logs is escaped."""
    evil = json.loads(json.dumps(report))
    evil["by_domain"][0]["domain"] = "<script>alert(1)</script>"
    evil["findings"][0]["title"] = "<img src=x onerror=alert(1)>"
    page = render_weekly(evil, "html")
    assert "<svg" in page and "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    md = render_weekly(evil, "markdown")
    assert "<script>" not in md and "\\<script\\>" in md


def test_iso_weeks():
    """ISO weeks start on Monday; the default week is the last one that has ended."""
    assert parse_week("2026-W48") == dt.date(2026, 11, 23)
    assert parse_week("2026W01") == dt.date(2025, 12, 29)
    assert last_complete_week(dt.datetime(2026, 11, 29, 23, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 16)
    assert last_complete_week(dt.datetime(2026, 11, 30, 0, 1, tzinfo=dt.UTC)) == dt.date(2026, 11, 23)
    with pytest.raises(WeekError):
        parse_week("2026-48")
    with pytest.raises(WeekError):
        parse_week("2026-W54")


def test_cli_weekly(store, tmp_path):
    """`maillens weekly`: default week from --now, html to a file, unknown or empty weeks are errors."""
    runner = CliRunner()
    r = runner.invoke(app, ["weekly", "--store", str(store), "--now", "2026-11-30T06:00Z"])
    assert r.exit_code == 0, r.output
    assert "maillens weekly report 2026-W48" in r.output
    r = runner.invoke(app, ["weekly", "--store", str(store), "--week", "2026-W48", "-f", "html",
                            "-o", str(tmp_path / "w.html"), "--now", "2026-11-30T06:00Z", "--fail-on", "critical"])
    assert r.exit_code == 1  # the Microsoft block is critical
    assert (tmp_path / "w.html").read_text().startswith("<!DOCTYPE html>")
    r = runner.invoke(app, ["weekly", "--store", str(store), "--week", "2026-W50"])
    assert r.exit_code == 2 and "no events for 2026-W50" in r.output
    r = runner.invoke(app, ["weekly", "--store", str(store), "--week", "48"])
    assert r.exit_code == 2 and "not an ISO week" in r.output
    r = runner.invoke(app, ["weekly", "--store", str(store), "-f", "pdf"])
    assert r.exit_code == 2


def test_week_events_hold_every_line_in_order(store):
    """The detectors' week: rows plus folded lines count every event of the week; the rows come in
    (ts, host, source, line) order and their order key grows with it within each second, as the
    folded seconds' last lines do (the keys read through :mod:`analyzer.anomalies.bulk_narrow`)."""
    import pandas as pd

    from analyzer.anomalies.bulk_narrow import last_orders, row_orders
    from analyzer.store import read_events
    from analyzer.weekly.build import ORDER, week_events

    monday = dt.date(2026, 11, 23)
    until = monday + dt.timedelta(days=7)
    rows, bulk = week_events(store, monday, until)
    everything = read_events(store, since=monday, until=until, columns=ORDER)
    assert len(bulk) > 0 and len(rows) + len(bulk) == len(everything)
    assert rows[ORDER].equals(rows[ORDER].sort_values(ORDER, kind="stable").reset_index(drop=True))
    sec = rows["ts"].astype("int64[pyarrow]").to_numpy() // 10**6
    key = row_orders(rows)  # (made again from each row's pair rank, time and line)
    same = sec[1:] == sec[:-1]
    assert (key[1:][same] > key[:-1][same]).all()
    # a folded second's last line sorts where that line sits among the rows of its second
    t = bulk.table
    both = pd.concat([pd.DataFrame({"sec": sec, "key": key, "host": rows["host"].astype(object),
                                    "source": rows["source"].astype(object),
                                    "line": rows["line_no"].astype("int64")}),
                      pd.DataFrame({"sec": t["sec"], "key": last_orders(t), "host": t["host"], "source": t["source"],
                                    "line": t["last_line"].astype("int64")})])
    by_key = both.sort_values(["sec", "key"], kind="stable")[["host", "source", "line"]].to_numpy().tolist()
    by_order = both.sort_values(["sec", "host", "source", "line"], kind="stable")[["host", "source", "line"]]
    assert by_key == by_order.to_numpy().tolist()
