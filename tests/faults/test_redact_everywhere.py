"""Issue 11, item 6: --redact leaves no address- or IP-shaped token in any field of any output format.

Every original token of a hostile log (bare local parts, '=' in local parts, quoted and spaced local parts,
login names, Exim delivery names, IPv6 followed by ':') is grepped for in every format of report, search,
trace and parse.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.report.redact import Redactor

runner = CliRunner()

POSTFIX = "\n".join([
    "Nov 28 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[2001:db8::66]",
    *[f"Nov 28 10:00:0{i} mx1 postfix/smtpd[100]: warning: unknown[2001:db8::66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=mallory.login" for i in range(1, 5)],
    "Nov 28 10:05:00 mx1 postfix/smtpd[104]: connect from unknown[198.51.100.9]",
    "Nov 28 10:05:01 mx1 postfix/smtpd[104]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 504 5.5.2 <alice.bare>: Recipient address rejected: need fully-qualified address; from=<john.eq=smith.eq@ourdomain.test> to=<alice.bare> proto=ESMTP helo=<x>",
    "Nov 28 10:05:02 mx1 postfix/smtpd[104]: NOQUEUE: reject: VRFY from unknown[198.51.100.9]: 550 5.1.1 <frank.vrfy>: Recipient address rejected: User unknown in local recipient table; to=<frank.vrfy> proto=SMTP",
    "Nov 28 10:06:00 mx1 postfix/pickup[300]: 6C3D4E5F6A: uid=1000 from=<gina.local>",
    "Nov 28 10:06:00 mx1 postfix/cleanup[301]: 6C3D4E5F6A: message-id=<m6@mx1.local>",
    "Nov 28 10:06:00 mx1 postfix/qmgr[102]: 6C3D4E5F6A: from=<gina.local@mx1.local>, size=100, nrcpt=2 (queue active)",
    "Nov 28 10:06:01 mx1 postfix/local[302]: 6C3D4E5F6A: to=<carol.bare@mx1.local>, orig_to=<carol.orig>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)",
    "Nov 28 10:06:02 mx1 postfix/smtp[303]: 6C3D4E5F6A: to=<\"qlocal spaced\"@dest.example>, relay=mx.dest.example[2001:db8::25]:25, delay=2, delays=0/0/1/1, dsn=5.1.1, status=bounced (host mx.dest.example[2001:db8::25] said: 550 5.1.1 <erin spaced.unq@dest.example>: User unknown (in reply to RCPT TO command))",
    "Nov 28 10:06:02 mx1 postfix/qmgr[102]: 6C3D4E5F6A: removed",
    "Nov 28 10:08:00 mx1 postfix/smtpd[107]: 7D4E5F6A7B: client=client.example[198.51.100.7], sasl_method=PLAIN, sasl_username=mallory.login",
    "Nov 28 10:08:00 mx1 postfix/qmgr[102]: 7D4E5F6A7B: from=<owen.auth@ourdomain.test>, size=100, nrcpt=1 (queue active)",
    "Nov 28 10:07:00 mx1 postfix/smtpd[106]: frobnicated <henry.unrec> and ivan.unrec@dest.example from 2001:db8::77: badly",
]) + "\n"
EXIM = "\n".join([
    "2026-11-28 10:20:01 [1003] 1vAbCd-000002-AB <= gina.sender@ourdomain.test U=lena.user P=local S=500 id=m2@x.test",
    "2026-11-28 10:20:02 [1004] 1vAbCd-000002-AB => judy.exim <judy.exim@mx1.local> R=localuser T=local_delivery",
    "2026-11-28 10:20:02 [1004] 1vAbCd-000002-AB Completed",
    "2026-11-28 10:21:01 [1005] 1vAbCd-000003-AB <= mike.auth@ourdomain.test H=client.example [198.51.100.7]:40000 P=esmtpsa A=plain:ken.auth S=500 id=m3@x.test",
    "2026-11-28 10:21:02 [1006] 1vAbCd-000003-AB ** nina.fail@dest.example R=dnslookup T=remote_smtp H=mx.dest.example [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<nina.fail@dest.example>: 550 5.1.1 <nina.fail@dest.example>: User unknown",
    "2026-11-28 10:21:02 [1006] 1vAbCd-000003-AB Completed",
]) + "\n"
TOKENS = ["mallory.login", "alice.bare", "john.eq", "smith.eq", "frank.vrfy", "gina.local", "carol.bare",
          "carol.orig", "qlocal", "erin spaced", "spaced.unq", "henry.unrec", "ivan.unrec", "gina.sender",
          "lena.user", "judy.exim", "mike.auth", "ken.auth", "nina.fail", "owen.auth"]
IPS = ["2001:db8::66", "198.51.100.9", "2001:db8::25", "2001:db8::77", "198.51.100.7", "203.0.113.5"]
FIXED = ["--tz", "UTC", "--year", "2026"]
QUERIES = ["6C3D4E5F6A", "1vAbCd-000002-AB", "1vAbCd-000003-AB", "7D4E5F6A7B", "gina.local@mx1.local"]
RED = ["--redact", "--redact-ips", "--redact-key", "k1"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("hostile")
    (d / "mail.log").write_text(POSTFIX)
    (d / "mainlog").write_text(EXIM)
    (d / "abuse.toml").write_text("[abuse]\nsasl_failures = 2\n")
    return {"postfix": str(d / "mail.log"), "exim": str(d / "mainlog"), "anomalies": str(d / "abuse.toml"),
            "dir": str(d)}


def _leaks(text: str) -> list[str]:
    return [t for t in TOKENS + IPS if t in text]


def _run(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout + res.stderr


def test_the_log_really_holds_the_tokens(logs):
    """Without --redact the outputs show every original (so the greps below can fail)."""
    both = [logs["postfix"], logs["exim"], *FIXED]
    text = _run("search", *both, "-f", "jsonl") + _run("search", *both, "--raw")
    text += _run("report", *both, "-f", "json", "--anomalies", logs["anomalies"])
    for q in QUERIES:
        text += _run("trace", q, *both)
    assert [t for t in TOKENS + IPS if t not in text] == []


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "html"])
def test_report_formats(logs, fmt):
    """report: no original in any format; the SASL finding's title carries the IPv6 pseudonym."""
    text = _run("report", logs["postfix"], logs["exim"], *FIXED, *RED, "-f", fmt, "--anomalies", logs["anomalies"])
    assert _leaks(text) == []
    assert "SASL brute force from ip-" in text.replace("\\", "")


def test_report_to_a_file(logs, tmp_path):
    """report -o FILE (html, with charts) holds no original either."""
    out = tmp_path / "r.html"
    _run("report", logs["postfix"], logs["exim"], *FIXED, *RED, "-f", "html", "-o", str(out),
         "--anomalies", logs["anomalies"])
    assert _leaks(out.read_text()) == [] and "<svg" in out.read_text()


@pytest.mark.parametrize("extra", [[], ["-f", "csv"], ["-f", "jsonl"], ["--raw"], ["--code", "5xx"]])
def test_search_formats(logs, extra):
    """search (table, csv, jsonl, --raw): no original; rows are still there, pseudonymised."""
    text = _run("search", logs["postfix"], logs["exim"], *FIXED, *RED, *extra)
    assert _leaks(text) == []
    assert "u-" in text


def test_search_csv_to_a_file(logs, tmp_path):
    """search -f csv -o FILE: no original in the file."""
    out = tmp_path / "rows.csv"
    _run("search", logs["postfix"], logs["exim"], *FIXED, *RED, "-f", "csv", "-o", str(out))
    assert _leaks(out.read_text()) == [] and out.read_text().count("\n") > 3


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_trace_formats(logs, query, fmt):
    """trace (text, json) over messages with bare, quoted and Exim local parts: no original."""
    text = _run("trace", query, logs["postfix"], logs["exim"], *FIXED, *RED, "-f", fmt)
    assert _leaks(text) == []
    assert "u-" in text


def test_trace_without_match_does_not_echo_the_address(logs):
    """'No message matches …' shows the pseudonym of the query, not the address."""
    text = _run("trace", "nobody.there@ours.test", logs["postfix"], *FIXED, *RED)
    assert "nobody.there" not in text and "u-" in text


def test_pseudonyms_agree_across_commands(logs):
    """The same key gives the same pseudonym in report, search and trace."""
    p = Redactor("k1", ips=True).address("mike.auth", "ourdomain.test")
    for args in (["report", "-f", "json"], ["search", "-f", "jsonl"]):
        assert p in _run(args[0], logs["postfix"], logs["exim"], *FIXED, *RED, *args[1:])
    assert p in _run("trace", "1vAbCd-000003-AB", logs["exim"], *FIXED, *RED)


@pytest.mark.parametrize("cmd", [["search"], ["trace", "x@y"]])
def test_redact_options_need_redact(logs, cmd):
    """--redact-ips / --redact-key without --redact: exit 2 with a message."""
    res = runner.invoke(app, [*cmd, logs["postfix"], *FIXED, "--redact-ips"])
    assert res.exit_code == 2 and "--redact" in res.output


@pytest.mark.parametrize("text, gone, kept", [
    ("to=<carol>, orig_to=<carol@h.example>", ["carol"], ["to=<u-", "@h.example"]),
    ("<alice>: Recipient address rejected: need fully-qualified address", ["alice"], ["Recipient address"]),
    ("from=<john=smith@x.example>", ["john", "smith"], ["from=<u-", "@x.example"]),
    ("john=smith@x.example", ["john", "smith"], ["@x.example"]),
    ("sasl_username=john=smith@x.example", ["john", "smith"], ["sasl_username=u-"]),
    ('to=<"john smith"@x.example> "mary jane"@y.example', ["john", "smith", "mary", "jane"], ["@y.example"]),
    ("550 <john smith@x.example>: unknown", ["john", "smith"], ["@x.example>: unknown"]),
    ("SASL brute force from 2001:db8::66: 40 failures", ["2001:db8::66", "db8"], ["from ip-", ": 40"]),
    ("client 192.0.2.7:25 and [IPv6:2001:db8::1] and host[198.51.100.2].", ["192.0.2.7", "2001", "198.51"],
     ["[IPv6:ip-", "host[ip-"]),
    ("=> carol <carol@host> R=local A=plain:dave U=eve", ["carol", "dave", "eve"], ["R=local", "A=plain:u-"]),
    ("id=m2@x.test message-id=<m3@x.test>", ["m2@", "m3@"], ["id=u-", "message-id=<u-"]),
    ("dovecot: lmtp(carol)<123>: saved; auth: passwd-file(dave,192.0.2.1): unknown user", ["carol", "dave"],
     ["lmtp(u-", "passwd-file(u-"]),
    ("helo=<mail.example> <mail.example>: Helo command rejected <DATA>: x", [], ["helo=<mail.example>",
                                                                                 "<mail.example>: Helo", "<DATA>"]),
])
def test_text_cases(text, gone, kept):
    """Each address-shaped token goes; the structure around it (keys, domains, words) stays."""
    out = Redactor("k1", ips=True).text(text)
    for g in gone:
        assert g not in out, (g, out)
    for k in kept:
        assert k in out, (k, out)


def test_fields_and_text_agree():
    """An address field and the same address in text get one pseudonym, with or without '@'."""
    r = Redactor("k1")
    assert r({"recipient": "carol"})["recipient"] in r.text("to=<carol>")
    assert r({"sender": "john smith@x.example"})["sender"] in r.text("<john smith@x.example>")
    assert r({"sender": "a@b.example"})["sender"] == r.text("a@b.example")
    assert r({"sender": ""})["sender"] == "" and r({"sender": "<>"})["sender"] == "<>"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_parse_outputs(logs, tmp_path, suffix):
    """parse --redact -o FILE (every event column, every format): no original."""
    out = tmp_path / f"events{suffix}"
    _run("parse", logs["postfix"], logs["exim"], *FIXED, *RED, "-o", str(out))
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        text = json.dumps(pq.read_table(out).to_pylist(), default=str)
    else:
        text = out.read_text()
    assert _leaks(text) == []
    assert "u-" in text


def test_parse_summary(logs):
    """parse --redact (summary): the unrecognised-line samples hold no original."""
    text = _run("parse", logs["postfix"], logs["exim"], *FIXED, *RED)
    assert "frobnicated" in text and _leaks(text) == []


def test_arrow_batches_match_frames():
    """Redactor.table (for batch-by-batch writers) gives the same cells as Redactor.frame."""
    import pandas as pd
    import pyarrow as pa

    df = pd.DataFrame({"sender": ["carol", None, "a b@x.example", "carol"],
                       "reply_text": ["<alice>: rejected", "2001:db8::66: x", None, "to=<carol>"],
                       "size": [1, 2, 3, 4]})
    r = Redactor("k1", ips=True)
    want = r.frame(df).astype(object).where(lambda d: d.notna(), None).to_dict("list")
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.set_column(1, "reply_text", table.column("reply_text").dictionary_encode())
    assert r.table(table).to_pydict() == want


_LOCAL = st.from_regex(r"zq[a-z0-9][a-z0-9.=+_-]{2,18}[a-z0-9]", fullmatch=True)
_TEMPLATES = ["to=<{l}>,", "<{l}>: Recipient address rejected", "{l}@x.example", "from=<{l}@x.example>",
              "sasl_username={l}", "=> {l} <{l}@h.example> R=x", '"{l} x"@y.example', "A=plain:{l} S=1",
              "U={l} P=local", "<{l} y@z.example>:", "RCPT TO:<{l}>:", "lmtp({l})<1>:", "orig_to=<{l}>, relay"]


_PUNCT = st.text(" ;,:[]()<>=\"'", max_size=3)


@settings(max_examples=300, deadline=None)
@given(local=_LOCAL, template=st.sampled_from(_TEMPLATES), before=_PUNCT, after=_PUNCT)
def test_no_local_part_survives(local, template, before, after):
    """Whatever the local part (dots, '=', '+', '-') and the punctuation around it, it does not survive."""
    out = Redactor("k1").text(before + template.format(l=local) + after)
    assert local not in out
