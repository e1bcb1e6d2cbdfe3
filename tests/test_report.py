"""`maillens report`: sections, formats, windows, --fail-on, --redact, escaping, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.report import Redactor
from analyzer.report.markdown import md
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = "\"<script>document.title='pwned'</script>\"@x.test"
EXIM = f"""\
2026-11-28 10:00:00 [1001] SMTP connection from client.example [198.51.100.7]:40000 I=[192.0.2.10]:25 (TCP/IP connection count = 1)
2026-11-28 10:00:01 [1001] 1vAbCd-000001-AB <= {PAYLOAD} H=client.example [198.51.100.7]:40000 I=[192.0.2.10]:25 P=esmtp S=1000 id=m1@x.test
2026-11-28 10:00:02 [1002] 1vAbCd-000001-AB ** bob.secret@dest.example R=dnslookup T=remote_smtp H=mx.dest.example [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<bob.secret@dest.example>: 550 5.1.1 <bob.secret@dest.example>: User unknown
2026-11-28 10:00:02 [1002] 1vAbCd-000001-AB Completed QT=2s
2026-11-28 10:00:03 [1001] SMTP connection from client.example [198.51.100.7]:40000 I=[192.0.2.10]:25 closed by QUIT
"""
POSTFIX = f"""\
Nov 28 10:00:00 mx1 postfix/smtpd[100]: connect from client.example[198.51.100.7]
Nov 28 10:00:01 mx1 postfix/smtpd[100]: 4A1B2C3D4E: client=client.example[198.51.100.7]
Nov 28 10:00:01 mx1 postfix/qmgr[102]: 4A1B2C3D4E: from=<alice.private@ourdomain.test>, size=100, nrcpt=1 (queue active)
Nov 28 10:00:02 mx1 postfix/smtpd[100]: disconnect from client.example[198.51.100.7] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Nov 28 10:00:02 mx1 postfix/smtp[103]: 4A1B2C3D4E: to=<bob.secret@dest.example>, relay=mx.dest.example[203.0.113.5]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.dest.example[203.0.113.5] said: 550 5.1.1 <bob.secret@dest.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Nov 28 10:00:02 mx1 postfix/qmgr[102]: 4A1B2C3D4E: removed
Nov 28 10:05:00 mx1 postfix/smtpd[104]: connect from unknown[198.51.100.9]
Nov 28 10:05:01 mx1 postfix/smtpd[104]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 <victim.hidden@ourdomain.test>: Relay access denied; from=<{PAYLOAD}> to=<victim.hidden@ourdomain.test> proto=ESMTP helo=<x>
Nov 28 10:05:02 mx1 postfix/smtpd[104]: lost connection after RCPT from unknown[198.51.100.9]
Nov 28 11:00:00 mx1 postfix/smtp[105]: 5B2C3D4E5F: to=<carol.private@dest.example>, relay=mx.dest.example[203.0.113.5]:25, delay=3600, delays=3599/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 123)
Nov 28 11:00:01 mx1 postfix/smtpd[106]: frobnicated the queue for <{PAYLOAD}> badly
"""
ADDRESSES = [("bob.secret", "dest.example"), ("victim.hidden", "ourdomain.test"), ("carol.private", "dest.example"),
             ("alice.private", "ourdomain.test"), ("\"<script>document.title='pwned'</script>\"", "x.test")]
FIXED = ["--tz", "UTC", "--year", "2026", "--now", "2026-11-29T06:00:00Z"]
runner = CliRunner()


@pytest.fixture
def logs(tmp_path: Path) -> list[str]:
    (tmp_path / "mainlog").write_text(EXIM)
    (tmp_path / "mail.log").write_text(POSTFIX)
    return [str(tmp_path / "mainlog"), str(tmp_path / "mail.log")]


def run(*args: str):
    return runner.invoke(app, ["report", *args], catch_exceptions=False)


def report_json(*args: str) -> dict:
    res = run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_report_sections_count_what_the_logs_say(logs):
    """Volumes, session ends, top lists and unrecognised lines match the lines of a small log."""
    r = report_json(*logs, *FIXED)
    v = r["volumes"]
    assert (v["received"], v["delivered"], v["bounced"], v["rejected"], v["deferred"]) == (2, 1, 2, 1, 0)
    assert v["delay_seconds"]["max"] == 3600
    assert [h["hour"] for h in v["per_hour"]] == ["2026-11-28T10:00:00Z", "2026-11-28T11:00:00Z"]
    se = r["session_ends"]
    assert (se["closed"], se["lost"]) == (2, 1)
    assert se["by_stage"] == [{"stage": "RCPT TO", "lost_connection": 1, "timeout": 0, "too_many_errors": 0}]
    dest = r["top"]["destinations"][0]
    assert dest == {"domain": "dest.example", "messages": 3, "failed_messages": 2, "attempts": 3, "failures": 2,
                    "failure_rate": 0.6667,
                    "top_cause": "mailbox.unknown"}
    senders = {s["sender"] for s in r["top"]["senders"]}
    assert senders == {PAYLOAD, "alice.private@ourdomain.test"}
    assert r["top"]["clients_by_rejects"][0]["client_ip"] == "198.51.100.9"
    causes = {c["cause"]: c for c in r["outcomes"]["by_cause"]}
    unknown = causes["mailbox.unknown"]
    assert unknown["count"] == 2 and unknown["fix"] and unknown["example"]["line"] == 3
    assert unknown["example"]["file"].endswith("mainlog")
    assert r["unrecognised"]["lines"] == 1
    sample = r["unrecognised"]["kinds"][0]["samples"][0]
    assert sample["file"].endswith("mail.log") and sample["line"] == 11 and "frobnicated" in sample["text"]
    assert r["schema_version"] == 3 and r["generated_at"] == "2026-11-29T06:00:00Z"


def test_json_report_keys_are_documented(logs):
    """Every top-level key of the JSON report is described in SCHEMA.md."""
    r = report_json(*logs, *FIXED)
    doc = (ROOT / "analyzer" / "report" / "SCHEMA.md").read_text()
    for key in r:
        assert f"| `{key}` |" in doc, key


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "html"])
def test_redact_leaves_no_original_address(logs, fmt):
    """--redact replaces every address's local part, with the same pseudonym in every format."""
    res = run(*logs, *FIXED, "--format", fmt, "--redact", "--redact-key", "k1", "--redact-ips")
    assert res.exit_code == 0, res.output
    outp = res.stdout
    red = Redactor("k1", ips=True)
    for local, _domain in ADDRESSES:
        bare = local.strip('"')
        for form in (bare, "pwned", "document.title"):
            if form == bare and len(bare) < 6:
                continue
            assert form not in outp
    assert "<script" not in outp and "&lt;script" not in outp
    for ip in ("198.51.100.7", "198.51.100.9", "203.0.113.5"):
        assert ip not in outp
    assert red.address("bob.secret", "dest.example") in outp
    assert red.address(ADDRESSES[4][0], "x.test") in outp


def test_redaction_is_keyed_and_consistent():
    """The same key gives the same pseudonym; another key gives another; the domain stays."""
    a, b = Redactor("k1"), Redactor("k2")
    one = a.text("to=<bob@example.com> and again bob@example.com")
    assert one.count(a.address("bob", "example.com")) == 2
    assert a.address("bob", "example.com") != b.address("bob", "example.com")
    assert a.address("bob", "example.com").endswith("@example.com")
    assert a.text("192.0.2.7 10:00:00 v1.2") == "192.0.2.7 10:00:00 v1.2"
    assert "192.0.2.7" not in Redactor("k1", ips=True).text("client [192.0.2.7] and 2001:db8::1")
    logins = a.text("sasl_method=LOGIN, sasl_username=alice A=dovecot_plain:bob S=12")
    assert "alice" not in logins and "bob" not in logins and "sasl_method=LOGIN" in logins and "S=12" in logins


def test_redact_key_from_environment(logs, monkeypatch):
    """Without --redact-key, $MAILLENS_REDACT_KEY keys the pseudonyms."""
    monkeypatch.setenv("MAILLENS_REDACT_KEY", "from-env")
    r = report_json(*logs, *FIXED, "--redact")
    assert Redactor("from-env").address("bob.secret", "dest.example") in json.dumps(r)


def test_html_escapes_log_text(logs):
    """An address made of markup is shown as text in HTML: escaped, inside a page that forbids scripts."""
    res = run(*logs, *FIXED, "--format", "html")
    html = res.stdout
    assert "<script" not in html
    assert "&#34;&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&#34;@x.test" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert len(re.findall(r'<svg[^>]*class="chart"', html)) == 3
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_markdown_escapes_log_text(logs):
    """In Markdown, log text cannot open HTML, links or code, and cannot break a table row."""
    res = run(*logs, *FIXED, "--format", "markdown")
    text = res.stdout
    assert "\\<script\\>" in text
    assert not re.search(r"(?<!\\)[<`]", text)
    width = None
    for line in text.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        width = width or cells
        assert cells == width, line


@given(st.text())
def test_markdown_escape_neutralises_everything(s):
    """md() leaves no unescaped Markdown/HTML metacharacter and no line break, whatever the input."""
    out = md(s)
    assert "\n" not in out and "\r" not in out
    stripped = re.sub(r"\\.", "", out)
    assert not set(stripped) & set("\\`*_[]<>|#!~&$^{}")
    assert "](" not in stripped  # brackets escaped: parentheses alone cannot make a link


def test_markdown_leaves_parentheses_alone():
    """Parentheses read as they are ("(67 of 67)", not "\\(67 of 67\\)"); a link still cannot form."""
    assert md("(67 of 67)") == "(67 of 67)"
    assert md("[x](http://evil.example)") == "\\[x\\](http://evil.example)"


def test_text_is_plain_when_piped(logs):
    """Text output that is not a terminal has no ANSI escapes and starts with the report title."""
    res = run(*logs, *FIXED)
    assert res.exit_code == 0
    assert "\x1b[" not in res.stdout
    assert res.stdout.startswith("maillens report — 2026-11-28T10:00:00Z to 2026-11-28T11:00:00Z")
    for section in ("ANOMALIES", "VOLUMES", "OUTCOMES BY CAUSE", "SESSION ENDS", "TOP DESTINATIONS BY FAILURES",
                    "TOP CLIENTS BY AUTHENTICATION FAILURES", "NOT RECOGNISED (1 lines)"):
        assert section in res.stdout


@pytest.fixture(scope="module")
def warning_log(tmp_path_factory) -> str:
    """A generated day whose worst finding is a warning (a deferral build-up)."""
    path = tmp_path_factory.mktemp("warn") / "mail.log"
    generate(mta="postfix", lines=4000, seed=7, out=path, incidents=["deferral_buildup@18h+3h"])
    return str(path)


@pytest.fixture(scope="module")
def quiet_log(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("quiet") / "mail.log"
    generate(mta="postfix", lines=3000, seed=1, out=path)
    return str(path)


def test_fail_on_exit_codes(warning_log, quiet_log, tmp_path):
    """--fail-on warning exits 1 on a warning; --fail-on critical does not; a quiet day exits 0."""
    out = tmp_path / "r.txt"
    res = run(warning_log, *FIXED, "--fail-on", "warning", "-o", str(out))
    assert res.exit_code == 1
    assert res.stdout == ""
    assert "warning: " in res.stderr and f"the report is in {out}" in res.stderr
    assert out.read_text().startswith("maillens report")
    assert run(warning_log, *FIXED, "--fail-on", "critical", "-o", str(out)).exit_code == 0
    quiet = run(quiet_log, *FIXED, "--fail-on", "warning", "-o", str(out))
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_fail_on_without_output_prints_report_and_exits_1(warning_log):
    """Without -o, the report goes to stdout and --fail-on still sets the exit code."""
    res = run(warning_log, *FIXED, "--fail-on", "warning", "--format", "json")
    assert res.exit_code == 1
    r = json.loads(res.stdout)
    assert r["summary"]["worst_severity"] == "warning" and r["summary"]["warning"] >= 1


@pytest.mark.parametrize("args,code,message", [
    (["--fail-on", "error"], 2, "unknown severity 'error'"),
    (["--format", "pdf"], 2, "unknown format 'pdf'"),
    (["--today", "--since", "2026-11-28"], 2, "use one of --today"),
    (["--last", "soon"], 2, "not a duration"),
    (["--since", "2026-11-29", "--until", "2026-11-28"], 2, "--until must be after --since"),
    (["--tz", "Mars/Olympus"], 2, "unknown time zone"),
    (["--redact-ips"], 2, "--redact-ips needs --redact"),
    (["--anomalies", "/nonexistent/thresholds.toml"], 3, "cannot read"),
])
def test_bad_options_exit_with_a_message(logs, args, code, message):
    """Bad options exit 2 (unreadable files 3) with 'Error:' and a 'Try:' line."""
    res = run(*logs, *args)
    assert res.exit_code == code
    assert message in res.stderr and "Try: " in res.stderr


def test_missing_input_exits_3(tmp_path):
    """A log that does not exist is exit 3."""
    res = run(str(tmp_path / "nope.log"))
    assert res.exit_code == 3 and "Error:" in res.stderr


def test_unwritable_output_exits_5(logs, tmp_path):
    """An output in a missing directory is exit 5, and nothing is left behind."""
    target = tmp_path / "no" / "such" / "report.html"
    res = run(*logs, *FIXED, "-f", "html", "-o", str(target))
    assert res.exit_code == 5 and "Error:" in res.stderr
    assert not target.parent.exists()


@pytest.mark.parametrize("args,events", [
    (["--yesterday"], 15),
    (["--today"], 0),
    (["--since", "2026-11-28T10:30", "--until", "2026-11-28T12:00"], 1),
    (["--last", "19h56m"], 4),
    (["--since", "2026-11-28T11:05:00+01:00"], 4),
])
def test_windows_select_events(logs, args, events):
    """--yesterday, --today, --since/--until and --last cut the events by time (in --tz, now from --now)."""
    r = report_json(*logs, *FIXED[:4], "--now", "2026-11-29T06:00:00Z", *args)
    assert r["window"]["events"] == events


def test_window_before_is_the_baseline(warning_log):
    """Events of the input before --since serve as the baseline."""
    r = report_json(warning_log, *FIXED, "--since", "2026-11-28T12:00")
    assert r["baseline"]["source"] == "input before the window" and r["baseline"]["events"] > 1000
    assert all(f["window_start"] >= "2026-11-28T12:00:00Z" for f in r["findings"])


def test_store_history_is_the_baseline(tmp_path, warning_log):
    """--store reads the days before the window from a history store as the baseline."""
    store = pytest.importorskip("analyzer.store")
    hist = tmp_path / "old.log"
    generate(mta="postfix", lines=2000, seed=3, out=hist, start="2026-11-27T00:00:00")
    store.ingest([str(hist)], tmp_path / "store", tz="UTC", year=2026)
    r = report_json(warning_log, *FIXED, "--store", str(tmp_path / "store"))
    assert r["baseline"]["source"] == "history" and r["baseline"]["events"] > 500


def test_help_has_examples():
    """`maillens report --help` documents the command with examples and every window option."""
    res = runner.invoke(app, ["report", "--help"], terminal_width=200)
    assert res.exit_code == 0
    for text in ("Examples", "maillens report /var/log/mail.log", "--fail-on", "--redact", "--since", "--yesterday",
                 "--last", "--store", "--log-format"):
        assert text in res.stdout


def test_terminal_rendering_colours_severities(monkeypatch, warning_log):
    """On a terminal the text report keeps its words and colours the severity tags."""
    import io

    from rich.console import Console

    from analyzer.cli import report as report_cli

    buf = io.StringIO()
    monkeypatch.setattr(report_cli, "out", Console(file=buf, force_terminal=True, color_system="standard", width=120))
    res = run(warning_log, *FIXED)
    assert res.exit_code == 0
    text = buf.getvalue()
    assert "\x1b[" in text and "[WARNING]" in text and "ANOMALIES" in text


@given(local=st.from_regex(r"[a-z][a-z0-9._+-]{7,20}", fullmatch=True),
       domain=st.from_regex(r"[a-z0-9-]{1,10}(\.[a-z0-9-]{1,10}){1,3}", fullmatch=True),
       before=st.text(alphabet=" <>:;,()[]\"'=\t", max_size=4), after=st.text(alphabet=" <>:;,()[]\"'\t", max_size=4))
def test_redaction_never_leaves_a_local_part(local, domain, before, after):
    """Whatever surrounds an address, its local part does not survive redaction."""
    out = Redactor("k").text(f"{before}{local}@{domain}{after}")
    assert local not in out and "@" + domain in out


def test_report_reads_stdin():
    """`maillens report -` reads the log from standard input."""
    res = runner.invoke(app, ["report", "-", *FIXED, "--format", "json"], input=POSTFIX)
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["volumes"]["rejected"] == 1 and r["inputs"][0]["file"] == "-"


@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "html"])
def test_report_of_an_exim_log_with_no_event_is_no_crash(tmp_path, fmt):
    """An Exim mainlog whose every line is unrecognised (a message id with a non-ASCII letter) used to
    crash the report (an in-place mask combination on a read-only view of an all-null column): now it
    reports no events and counts the lines as unrecognised, in every format."""
    line = "2026-11-23 10:00:0{} 1vAbC\u00e9-000Abc-Xy {}\n"
    log = tmp_path / "mainlog"
    log.write_text("".join(line.format(i, t) for i, t in enumerate(
        ("<= a@b.test H=x [192.0.2.4] P=esmtp S=100", '=> c@d.test R=r T=t H=h [192.0.2.8] C="250 OK"', "Completed"))),
        encoding="utf-8")
    res = runner.invoke(app, ["report", str(log), "--format", fmt, *FIXED])
    assert res.exit_code == 0, res.output
    if fmt == "json":
        assert json.loads(res.stdout)["lines"] == {"read": 3, "events": 0, "foreign": 0, "unrecognised": 3, "debug": 0}
    else:
        assert "3 not recognised" in " ".join(res.stdout.split())
