"""The report over several servers: each server's volumes apart, the servers named in the summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.report.servers import SERVER_KEYS, server_names

ROOT = Path(__file__).resolve().parent.parent
FIXED = ["--tz", "UTC", "--year", "2026", "--now", "2026-12-01T06:00:00Z"]
POSTFIX, EXIM = "sample_logs/postfix", "sample_logs/exim"


def _report(*logs: str, fmt: str = "json") -> str:
    cwd = Path.cwd()
    os.chdir(ROOT)  # paths in the report relative to the repository, as the README shows them
    try:
        res = CliRunner().invoke(app, ["report", *logs, *FIXED, "--format", fmt], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture(scope="module")
def both() -> dict:
    return json.loads(_report(POSTFIX, EXIM))


@pytest.fixture(scope="module")
def alone() -> dict[str, dict]:
    return {"mx": json.loads(_report(POSTFIX)), "exim": json.loads(_report(EXIM))}


def test_two_servers_each_as_if_alone(both: dict, alone: dict[str, dict]) -> None:
    """Each server's figures in a two-server run equal that server's own run's volumes."""
    servers = {s["name"]: s for s in both["servers"]}
    assert sorted(servers) == ["exim", "mx"]
    for name, rep in alone.items():
        assert [s["name"] for s in rep["servers"]] == [name]
        for key in SERVER_KEYS:
            assert servers[name][key] == rep["volumes"][key], (name, key)
        assert servers[name]["events"] == rep["window"]["events"]
    # and the servers add up to the whole run
    for key in SERVER_KEYS:
        assert sum(s[key] for s in both["servers"]) == both["volumes"][key]
    assert servers["mx"]["received"] > 0 and servers["exim"]["received"] > 0


def test_findings_name_their_server(both: dict) -> None:
    """A finding whose evidence is in Exim's paniclog says it came from the exim server."""
    panic = [f for f in both["findings"] if any(e["file"].endswith("exim/paniclog") for e in f["evidence"])]
    assert panic and all(f["servers"] == ["exim"] for f in panic)
    assert all(isinstance(f["servers"], list) for f in both["findings"])


@pytest.mark.parametrize("fmt,section,named,first", [
    ("text", "BY SERVER", "2 servers: exim, mx.", "ANOMALIES"),
    ("markdown", "## By server", "2 servers: exim, mx.", "## Anomalies"),
    ("html", '<h2 id="by-server">By server</h2>', '<p id="servers">2 servers: exim, mx.</p>', 'id="anomalies"'),
])
def test_every_format_shows_servers(fmt: str, section: str, named: str, first: str, both: dict) -> None:
    """Two servers: every format names them near the top and has a By-server table with their figures."""
    out = _report(POSTFIX, EXIM, fmt=fmt)
    assert section in out
    assert named in out
    assert out.index(named) < out.index(section)
    assert out.index(named) < out.index(first)  # in the opening summary, before the first section
    mx = next(s for s in both["servers"] if s["name"] == "mx")
    table = out[out.index(section):]
    # The mx row carries mx's own counts, in SERVER_KEYS order.
    row = next(line for line in table.splitlines() if "mx" in line)
    numbers = [int(x) for x in row.replace("<", " ").replace(">", " ").replace("|", " ").split() if x.isdigit()]
    assert numbers == [mx[k] for k in SERVER_KEYS]


@pytest.mark.parametrize("fmt,section", [("text", "BY SERVER"), ("markdown", "## By server"),
                                         ("html", 'id="by-server"')])
def test_one_server_no_section(fmt: str, section: str) -> None:
    """One server: no By-server section, the summary still names it."""
    out = _report(POSTFIX, fmt=fmt)
    assert section not in out
    assert "1 server: mx." in out


def test_server_names_host_else_folder() -> None:
    """The syslog host name where there is one; else the log file's folder, else its name."""
    ev = pd.DataFrame({
        "host": pd.array(["mx", None, None, None, "vm"], dtype="string"),
        "source": pd.array(["/var/log/mail.log", "/var/log/exim4/mainlog", "sample_logs/exim/mainlog.1",
                            "mainlog", None], dtype="string"),
    })
    assert list(server_names(ev)) == ["mx", "exim4", "exim", "mainlog", "vm"]


def test_server_names_escaped_in_markdown_and_html() -> None:
    """A host name from a log is text in every format: no markup gets through."""
    from analyzer.report import render

    rep = json.loads(_report(POSTFIX, EXIM))
    rep["servers"][0]["name"] = "<b>evil</b>|*x*"
    md_out = render(rep, "markdown")
    html_out = render(rep, "html")
    assert "<b>evil" not in md_out and "\\<b\\>evil" in md_out
    assert "<b>evil" not in html_out and "&lt;b&gt;evil" in html_out


def test_readme_server_comparison_runs_on_shipped_folders() -> None:
    """The README's server-comparison example names sample_logs folders that exist in the repository."""
    readme = (ROOT / "README.md").read_text()
    assert f"maillens report {POSTFIX}/ {EXIM}/\n" in readme
    assert (ROOT / POSTFIX).is_dir() and (ROOT / EXIM).is_dir()


def test_central_syslog_many_hosts_counted_apart() -> None:
    """One syslog file with lines from two hosts: each host gets its own lines' counts."""
    from analyzer.reader import parse_lines
    from analyzer.report import make_report

    lines = []
    for host, n in (("relay-a", 3), ("relay-b", 1)):
        for i in range(n):
            q = f"{host[-1].upper()}{i}ABCDEF01"
            lines += [
                f"Nov 28 10:0{i}:00 {host} postfix/smtpd[10{i}]: connect from c.example[198.51.100.{i + 1}]",
                f"Nov 28 10:0{i}:01 {host} postfix/cleanup[20{i}]: {q}: message-id=<{i}@x.test>",
                f"Nov 28 10:0{i}:01 {host} postfix/qmgr[30{i}]: {q}: from=<a@x.test>, size=10, nrcpt=1 (queue active)",
                f"Nov 28 10:0{i}:02 {host} postfix/smtp[40{i}]: {q}: to=<b@dest.example>, relay=mx.dest.example"
                f"[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
            ]
    rep = make_report(parse_lines(lines, source="/var/log/central/mail.log"), now=pd.Timestamp("2026-11-29T00:00Z"))
    servers = {s["name"]: s for s in rep["servers"]}
    assert sorted(servers) == ["relay-a", "relay-b"]
    assert (servers["relay-a"]["delivered"], servers["relay-b"]["delivered"]) == (3, 1)
    assert (servers["relay-a"]["sessions"], servers["relay-b"]["sessions"]) == (3, 1)
    assert servers["relay-a"]["events"] + servers["relay-b"]["events"] == rep["window"]["events"]


def test_finding_servers_from_evidence_lines() -> None:
    """A finding names the servers of its evidence lines; evidence outside the run names none."""
    from analyzer.report.servers import attach_finding_servers

    ev = pd.DataFrame({"host": pd.array(["a", "b", None], dtype="string"),
                       "source": pd.array(["/log/all", "/log/all", "/srv/exim-3/mainlog"], dtype="string"),
                       "line_no": pd.array([1, 2, 7], dtype="Int64")})
    findings = [{"evidence": [{"file": "/log/all", "line": 2}, {"file": "/srv/exim-3/mainlog", "line": 7}]},
                {"evidence": [{"file": "/log/all", "line": 1}]},
                {"evidence": [{"file": "/log/other", "line": 1}]},
                {"evidence": []}]
    attach_finding_servers(findings, ev, server_names(ev))
    assert [f["servers"] for f in findings] == [["b", "exim-3"], ["a"], [], []]
