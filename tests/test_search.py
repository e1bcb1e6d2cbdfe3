"""search(): filters about the message and about a line, RE2 text, CIDR, globs, times; raw lines; the CLI."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.messages import link
from analyzer.reader import parse_lines, parse_logs
from analyzer.search import Filters, SearchError, matched_events, parse_code, parse_when, raw_lines, search

runner = CliRunner()

LINES = [
    # 1: sent after a 421 greeting from another MX (message-level reply line)
    "Nov 29 09:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=app1.ours.test[192.0.2.10]",
    "Nov 29 09:00:00 mx postfix/cleanup[2]: 1A2B3C4D5E: message-id=<m1@ours.test>",
    "Nov 29 09:00:00 mx postfix/qmgr[3]: 1A2B3C4D5E: from=<shop@ours.test>, size=1000, nrcpt=1 (queue active)",
    "Nov 29 09:00:01 mx postfix/smtp[4]: 1A2B3C4D5E: host mx1.customer.example[198.51.100.7] refused to talk to "
    "me: 421 4.7.0 Try again later",
    "Nov 29 09:00:02 mx postfix/smtp[4]: 1A2B3C4D5E: to=<ann@customer.example>, relay=mx2.customer.example"
    "[198.51.100.8]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X1)",
    "Nov 29 09:00:02 mx postfix/qmgr[3]: 1A2B3C4D5E: removed",
    # 2: two recipients at 10:30, one bounced 550 5.7.1 (blocklist), one deferred 452
    "Nov 29 10:30:00 mx postfix/smtpd[1]: 2B3C4D5E6F: client=app2.ours.test[192.0.2.20]",
    "Nov 29 10:30:00 mx postfix/cleanup[2]: 2B3C4D5E6F: message-id=<m2@ours.test>",
    "Nov 29 10:30:00 mx postfix/qmgr[3]: 2B3C4D5E6F: from=<news@ours.test>, size=2000, nrcpt=2 (queue active)",
    "Nov 29 10:30:01 mx postfix/smtp[4]: 2B3C4D5E6F: to=<bob@customer.example>, relay=mx1.customer.example"
    "[198.51.100.7]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx1.customer.example"
    "[198.51.100.7] said: 550 5.7.1 Service unavailable; client [203.0.113.5] blocked using zen.spamhaus.org "
    "(in reply to RCPT TO command))",
    "Nov 29 10:30:01 mx postfix/smtp[4]: 2B3C4D5E6F: to=<cy@other.example>, relay=mx.other.example"
    "[203.0.113.50]:25, delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred (host mx.other.example"
    "[203.0.113.50] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))",
    # 3: a 521 greeting at 11:00 (logged as deferred under smtp_skip_5xx_greeting)
    "Nov 29 11:00:00 mx postfix/qmgr[3]: 3C4D5E6F7A: from=<shop@ours.test>, size=500, nrcpt=1 (queue active)",
    "Nov 29 11:00:01 mx postfix/smtp[4]: 3C4D5E6F7A: to=<dee@nomail.example>, relay=mx.nomail.example"
    "[198.51.100.99]:25, delay=0.1, delays=0/0/0/0, dsn=4.3.2, status=deferred (host mx.nomail.example"
    "[198.51.100.99] refused to talk to me: 521 5.3.2 mx.nomail.example does not accept mail)",
    # 4: inbound NOQUEUE reject
    "Nov 29 11:30:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from spam.example[203.0.113.77]: 554 5.7.1 "
    "<x@ours.test>: Relay access denied; from=<s@spam.example> to=<x@elsewhere.example> proto=ESMTP helo=<s>",
]


@pytest.fixture(scope="module")
def ix():
    return link(parse_lines(LINES, year=2026, tz="UTC").events)


def found(ix, **kw) -> list[str]:
    """Recipients of the rows matching the filters, sorted."""
    return sorted(search(ix, Filters(**kw)).rows["recipient"].tolist())


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize("kw, expected", [
    ({"code": ["521"]}, ["dee@nomail.example"]),
    ({"code": ["5xx"]}, ["bob@customer.example", "dee@nomail.example", "x@elsewhere.example"]),
    ({"code": ["4xx"]}, ["ann@customer.example", "cy@other.example"]),           # the 421 reply spreads to ann
    ({"code": ["5.7.*"]}, ["bob@customer.example", "x@elsewhere.example"]),
    ({"code": ["4.3.2"]}, ["dee@nomail.example"]),                              # the MTA's dsn counts too
    ({"code": ["452", "521"]}, ["cy@other.example", "dee@nomail.example"]),
    ({"domain": ["customer.example"]}, ["ann@customer.example", "bob@customer.example"]),
    ({"domain": ["*.example"], "code": ["2xx"]}, ["ann@customer.example"]),
    ({"recipient": ["B*@customer.example"]}, ["bob@customer.example"]),
    ({"sender": ["news@*"]}, ["bob@customer.example", "cy@other.example"]),
    ({"client_ip": ["192.0.2.0/28"]}, ["ann@customer.example"]),
    ({"client_ip": ["203.0.113.77"]}, ["x@elsewhere.example"]),
    ({"relay": ["203.0.113.0/24"]}, ["cy@other.example"]),
    ({"relay": ["mx1.customer.*"]}, ["ann@customer.example", "bob@customer.example"]),
    ({"queue_id": ["2B3C4D5E6F"]}, ["bob@customer.example", "cy@other.example"]),
    ({"message_id": ["<m1@ours.test>"]}, ["ann@customer.example"]),
    ({"message_id": ["m2@*"]}, ["bob@customer.example", "cy@other.example"]),
    ({"text": r"spamhaus|blocked"}, ["bob@customer.example"]),
    ({"text": r"(?i)MAILBOX FULL"}, ["cy@other.example"]),
    ({"cause": ["reputation.*"]}, ["bob@customer.example"]),
    ({"since": ts("2026-11-29 10:00"), "until": ts("2026-11-29 11:00")}, ["bob@customer.example", "cy@other.example"]),
    ({"since": ts("2026-11-29 10:00"), "code": ["4xx"]}, ["cy@other.example"]),   # same line: ann's 421 was 09:00
    ({"code": ["521"], "domain": ["customer.example"]}, []),
])
def test_filters(ix, kw, expected):
    """Each filter (and their conjunction) selects exactly the expected (message, recipient) rows."""
    assert found(ix, **kw) == expected


def test_row_points_at_the_matching_line(ix):
    """A row carries the matching line's code, text and file:line, and the row's final status."""
    rows = search(ix, Filters(code=["4xx"], domain=["customer.example"])).rows
    (r,) = rows.to_dict("records")
    assert (r["recipient"], r["status"], r["code"], r["where"]) == ("ann@customer.example", "sent", 421, "<lines>:4")
    rows = search(ix, Filters(domain=["nomail.example"])).rows
    assert rows["where"].tolist() == ["<lines>:13"] and rows["status"].tolist() == ["deferred"]


def test_bad_inputs_are_search_errors(ix):
    """An invalid RE2 regex, a code that is not one, a bad CIDR and a bad time raise SearchError."""
    with pytest.raises(SearchError, match="RE2"):
        search(ix, Filters(text="(unclosed"))
    with pytest.raises(SearchError, match="reply code"):
        parse_code("55")
    with pytest.raises(SearchError, match="CIDR"):
        search(ix, Filters(client_ip=["300.1.1.0/24"]))
    with pytest.raises(SearchError, match="not a time"):
        parse_when("yesterday-ish", now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))


def test_text_regex_is_linear_time(ix):
    """A catastrophic-backtracking pattern for backtracking engines returns at once under RE2."""
    evil = "(a+)+$"
    many = parse_lines([LINES[9].replace("blocked", "a" * 5000 + "!")], year=2026, tz="UTC").events
    res = search(link(many), Filters(text=evil))
    assert len(res.rows) == 0


@pytest.mark.parametrize("text, expected", [
    ("2026-11-29T10:00", "2026-11-29 09:00:00+00:00"),           # read in Europe/Berlin (UTC+1)
    ("2026-11-29 10:00:00+00:00", "2026-11-29 10:00:00+00:00"),
    ("2026-11-28", "2026-11-27 23:00:00+00:00"),
    ("10:00", "2026-11-29 09:00:00+00:00"),                      # today, in the zone
    ("2h", "2026-11-29 10:00:00+00:00"),
    ("-30m", "2026-11-29 11:30:00+00:00"),
    ("1d", "2026-11-28 12:00:00+00:00"),
])
def test_parse_when(text, expected):
    """--since/--until accept ISO times, dates, times of today and durations ago, in the given zone."""
    now = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
    assert str(parse_when(text, now=now, tz="Europe/Berlin")) == expected


def test_raw_lines_reread_compressed_files_in_order(tmp_path):
    """--raw's lines come back verbatim, in time order, across a gzipped rotated file and the live one."""
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(("\n".join(LINES[:4]) + "\n").encode()))
    (tmp_path / "mail.log").write_text("\n".join(LINES[4:]) + "\n")
    ix = link(parse_logs([str(tmp_path)], year=2026, tz="UTC").events)
    res = search(ix, Filters(message_id=["m1@ours.test"]))
    got = [text for _src, _n, text in raw_lines(matched_events(ix, res.msgs))]
    assert got == LINES[:6]


def test_raw_lines_refuse_stdin():
    """Lines read from stdin cannot be read again: a SearchError says so."""
    ev = parse_lines(LINES[:2], source="-").events
    with pytest.raises(SearchError, match="stdin"):
        list(raw_lines(ev))


@pytest.fixture
def logfile(tmp_path):
    p = tmp_path / "mail.log"
    p.write_text("\n".join(LINES) + "\n")
    return p


def test_cli_search_table_csv_jsonl(logfile, tmp_path):
    """search prints a table with file:line; -f csv and -f jsonl carry the same rows."""
    args = ["search", str(logfile), "--tz", "UTC", "--year", "2026", "--domain", "customer.example"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "bob@customer.example" in r.output and "mail.log:10" in r.output
    r = runner.invoke(app, [*args, "-f", "jsonl"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.output.splitlines() if x.strip()]
    assert [x["recipient"] for x in rows] == ["ann@customer.example", "bob@customer.example"]
    out = tmp_path / "hits.csv"
    r = runner.invoke(app, [*args, "-f", "csv", "-o", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert df["where"].str.endswith("mail.log:10").any() and len(df) == 2


def test_cli_search_raw(logfile):
    """--raw prints the original lines of the matching messages, like exigrep."""
    r = runner.invoke(app, ["search", str(logfile), "--tz", "UTC", "--year", "2026", "--code", "521", "--raw"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == LINES[11:13]


def test_cli_search_stdin(logfile):
    """Logs on stdin are searched; --raw on stdin is refused with a one-line reason (exit 2)."""
    data = logfile.read_text()
    r = runner.invoke(app, ["search", "-", "--tz", "UTC", "--year", "2026", "--code", "521", "-f", "jsonl"], input=data)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.splitlines()[0])["where"] == "-:13"
    r = runner.invoke(app, ["search", "-", "--tz", "UTC", "--code", "521", "--raw"], input=data)
    assert r.exit_code == 2 and "stdin" in r.output


def test_cli_search_usage_errors(logfile, tmp_path):
    """Bad regex, bad code, bad time and bad format are exit 2 with one Error line; a missing store exit 3."""
    base = ["search", str(logfile), "--tz", "UTC"]
    for extra in (["--text", "(x"], ["--code", "55"], ["--since", "soonish"], ["-f", "xml"]):
        r = runner.invoke(app, [*base, *extra])
        assert r.exit_code == 2, (extra, r.output)
        assert r.output.startswith("Error: "), r.output
    r = runner.invoke(app, ["search", "--store", str(tmp_path / "nope"), "--code", "521"])
    assert r.exit_code == 3, r.output
    r = runner.invoke(app, ["search", str(logfile), "--store", str(tmp_path)])
    assert r.exit_code == 2


def test_cli_search_from_store(logfile, tmp_path):
    """--store reads the events maillens ingest wrote and finds the same rows as the log file."""
    store = tmp_path / "store"
    r = runner.invoke(app, ["ingest", str(logfile), "--store", str(store), "--tz", "UTC", "--year", "2026", "-q"])
    if r.exit_code != 0:
        pytest.skip(f"maillens ingest is not usable here: {r.output.strip()[:200]}")
    r = runner.invoke(app, ["search", "--store", str(store), "--code", "5xx", "--since", "2026-11-29 10:00",
                            "--tz", "UTC", "-f", "jsonl"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.output.splitlines() if x.strip()]
    assert sorted(x["recipient"] for x in rows) == ["bob@customer.example", "dee@nomail.example",
                                                    "x@elsewhere.example"]


def test_help_has_examples():
    """search and trace --help teach with examples."""
    for cmd in ("search", "trace"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and "Examples" in r.output and f"maillens {cmd} " in r.output
