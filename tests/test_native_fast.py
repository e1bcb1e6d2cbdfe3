"""The native whole-row fast path for Postfix lines (native/src/batch.rs, postfix.rs, rows.rs):
it reads the most frequent kinds into finished rows, and the tables it gives are those of the
Python engine (the specification) row for row — on real and generated logs, and on lines of
each kind mutated every way hypothesis finds (a mutated line is read identically or left to
Python)."""

from __future__ import annotations

import os
import subprocess
import sys

import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from analyzer import native
from analyzer.parsers import FileContext, split_batch
from analyzer.parsers.syslog import Clock, HeaderState
from analyzer.schema import SCHEMA

from .conftest import CORPUS, ROOT
from .test_native_diff import NOW, assert_same, parse_in_batches

pytestmark = pytest.mark.skipif(not native.available(), reason="the native engine is not built (no cargo at install)")

EXAMPLES = int(os.environ.get("MAILLENS_FUZZ_EXAMPLES", "40"))

#: one line of each kind the fast path reads (pattern name -> message), after a syslog header
KINDS = {
    "smtpd.connect": ("postfix/smtpd[2618]", "connect from bounce.example.test[198.51.100.25]"),
    "smtpd.disconnect": ("postfix/smtpd[2146]", "disconnect from smtp.example[198.51.100.129] ehlo=2 starttls=1 "
                                                "mail=1 rcpt=2 data=1 quit=1 commands=8"),
    "smtpd.client": ("postfix/submission/smtpd[2137]", "80D70E258D9: client=unknown[192.0.2.118], "
                                                       "sasl_method=LOGIN, sasl_username=yusuf@ourdomain.test"),
    "smtpd.reject": ("postfix/smtpd[11]", "NOQUEUE: reject: RCPT from unknown[203.0.113.9]:4711: 554 5.7.1 "
                                          "Service unavailable; Client host [203.0.113.9] blocked using "
                                          "zen.spamhaus.org; from=<a@b.example> to=<c@ourdomain.test> proto=ESMTP "
                                          "helo=<x.example>"),
    "smtpd.lost": ("postfix/smtpd[12]", "lost connection after AUTH (0/1 commands) from unknown[203.0.113.7]"),
    "smtpd.timeout": ("postfix/smtpd[13]", "timeout after END-OF-MESSAGE from mail.example[198.51.100.3]:2525"),
    "smtpd.too_many_errors": ("postfix/submission/smtpd[14]", "too many errors after AUTH from unknown[203.0.113.8]"),
    "smtpd.sasl_failed": ("postfix/submission/smtpd[2035]", "warning: unknown[198.51.100.141]: SASL LOGIN authentication "
                                                            "failed: UGFzc3dvcmQ6, sasl_username=admin"),
    "smtpd.pipelining": ("postfix/smtpd[2400]", "improper command pipelining after CONNECT from "
                                                "dyn.example.test[203.0.113.236]: EHLO WIN-CLJ1B0GQ6JP\\r\\n"),
    "smtpd.non_smtp": ("postfix/smtpd[2101]", "warning: non-SMTP command from unknown[203.0.113.157]: "
                                              "CONNECT 203.0.113.80:25 HTTP/1.0"),
    "tls.in": ("postfix/smtpd[2146]", "Anonymous TLS connection established from smtp.example[198.51.100.129]: "
                                      "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)"),
    "postscreen.connect": ("postfix/postscreen[2757]", "CONNECT from [198.51.100.25]:47518 to [192.0.2.10]:25"),
    "postscreen.disconnect": ("postfix/postscreen[2757]", "DISCONNECT [198.51.100.25]:47518"),
    "postscreen.pass": ("postfix/postscreen[2757]", "PASS OLD [198.51.100.25]:47518"),
    "postscreen.dnsbl": ("postfix/postscreen[2757]", "DNSBL rank 3 for [203.0.113.50]:52101"),
    "postscreen.pregreet": ("postfix/postscreen[2757]", "PREGREET 11 after 0.1 from [203.0.113.50]:52101: EHLO ylmf-pc\\r\\n"),
    "postscreen.hangup": ("postfix/postscreen[2757]", "HANGUP after 0.52 from [203.0.113.51]:52102 in tests after SMTP handshake"),
    "dnsblog.listed": ("postfix/dnsblog[77]", "addr 203.0.113.50 listed by domain zen.spamhaus.org as 127.0.0.2"),
    "cleanup.message_id": ("postfix/cleanup[2464]", "B7C3616BE38F: message-id=<20261123000001.6137FB@example>"),
    "qmgr.active": ("postfix/qmgr[2641]", "B7C3616BE38F: from=<frank@example.test>, size=2852, nrcpt=2 (queue active)"),
    "qmgr.removed": ("postfix/qmgr[2641]", "B7C3616BE38F: removed"),
    "delivery.status": ("postfix/smtp[2128]", "B7C3616BE38F: to=<frank@ext.example>, orig_to=<f@ourdomain.test>, "
                                              "relay=mx.ext.example[203.0.113.5]:25, conn_use=2, delay=0.66, "
                                              "delays=0.5/0.01/0/0.15, dsn=4.7.1, status=deferred (host "
                                              "mx.ext.example[203.0.113.5] said: 450 4.7.1 try later (in reply "
                                              "to RCPT TO command))"),
    "tls.out": ("postfix/smtp[2128]", "Trusted TLS connection established to mx.ext.example[203.0.113.5]:25: "
                                      "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
    "bounce.notice": ("postfix/bounce[2619]", "C41C22BF603: sender non-delivery notification: 150F2403BD2"),
    "pickup": ("postfix/pickup[2297]", "635EFF9A641: uid=1000 from=<backup> orig_id=150F2403BD2"),
    "smtp.refused_to_talk": ("postfix/smtp[2129]", "B7C3616BE38F: host mx.ext.example[203.0.113.6] refused to talk to me: "
                                                   "421 4.3.2 Service not available, closing channel"),
    "smtp.connect_failed": ("postfix/smtp[2130]", "connect to mx.ext.example[203.0.113.7]:25: Connection refused"),
    "anvil.max": ("postfix/anvil[1412]", "statistics: max connection rate 1/60s for (smtp:203.0.113.9) at Nov 23 00:00:01"),
    "stats": ("postfix/anvil[1412]", "statistics: max cache size 1 at Nov 23 00:00:01"),
}
STAMP = "Nov 23 00:00:01 mx1 "


def _lines() -> list[str]:
    return [f"{STAMP}{prog}: {msg}" for prog, msg in KINDS.values()]


def _ctx(tz: str = "Europe/Berlin") -> FileContext:
    return FileContext("t.log", HeaderState(Clock(tz=tz, reference=NOW)))


def _parse(engine: str, lines: list[str], monkeypatch: pytest.MonkeyPatch, step: int = 5) -> tuple[pa.Table, list]:
    return parse_in_batches(engine, lines, monkeypatch, step=step, name="t.log")


def same(lines: list[str], monkeypatch: pytest.MonkeyPatch, step: int = 5) -> pa.Table:
    py = _parse("python", lines, monkeypatch, step)
    nat = _parse("native", lines, monkeypatch, step)
    assert nat[0].schema == py[0].schema
    for name in py[0].column_names:
        assert nat[0].column(name).equals(py[0].column(name)), name
    assert nat[1] == py[1]
    return py[0]


def test_every_reader_is_enabled():
    """Every hand-read pattern is still in the Python table verbatim (else its reader is off and
    this names it: update native/src/postfix.rs to the table)."""
    from analyzer.parsers import postfix

    enabled = set(native.fast_postfix().enabled)
    assert enabled == set(KINDS)
    assert enabled <= {p.name for p in postfix.PATTERNS}


def test_each_kind_is_read_whole_and_identically(monkeypatch):
    """One line of each kind: the fast path takes every one, and the rows equal Python's."""
    monkeypatch.setenv(native.ENV, "native")
    sp = split_batch(_lines(), 1, _ctx())
    assert sp.fast is not None and sp.fast.num_rows == len(KINDS)
    assert sp.headers.num_rows == 0
    table = same(_lines(), monkeypatch, step=100)
    assert table.num_rows == len(KINDS)
    by = dict(zip(table.column("line_no").to_pylist(), table.to_pylist(), strict=True))
    disc = by[list(KINDS).index("smtpd.disconnect") + 1]
    assert (disc["quit"], disc["reply_code"], disc["code_origin"], disc["smtp_stage"]) == (True, 221, "inferred", "QUIT")
    rej = by[list(KINDS).index("smtpd.reject") + 1]
    assert (rej["status"], rej["reply_code"], rej["enhanced_code"], rej["smtp_stage"], rej["sender"]) == \
        ("rejected", 554, "5.7.1", "RCPT TO", "a@b.example")
    dl = by[list(KINDS).index("delivery.status") + 1]
    assert (dl["relay_ip"], dl["relay_port"], dl["delay"], dl["reply_code"], dl["smtp_stage"]) == \
        ("203.0.113.5", 25, 0.66, 450, "RCPT TO")


def test_rows_columns_are_the_schema():
    """The columns Rust builds are the schema's (less source and line_no) with its types."""
    monkeypatch_lines = _lines()
    sp = split_batch(monkeypatch_lines, 1, _ctx())
    for name in sp.fast.column_names:
        if name in ("row", "pattern"):
            continue
        assert sp.fast.schema.field(name).type == SCHEMA.field(name).type, name
    assert set(SCHEMA.names) - set(sp.fast.column_names) == {"source", "line_no"}


@pytest.mark.parametrize("case", [
    "Feb 29 10:00:00 mx postfix/qmgr[1]: B7C3616BE38F: removed",  # a day that depends on the year
    "Nov 23 24:00:00 mx postfix/qmgr[1]: B7C3616BE38F: removed",  # hour 24
    "Nov 23 10:00:00 mx postfix/qmgr[1]: B7C3616BE38F: removed ",  # trailing space
    "Nov 23 10:00:00 mx postfix/qmgr[1]: B7C3616BE38F: removed\u00a0",  # trailing Unicode space
    "Nov  3 10:00:00.5 mx postfix/qmgr[1]: B7C3616BE38F: removed",  # the loose flavour
    "2026-11-23T10:00:00+01:00 mx postfix/qmgr[1]: B7C3616BE38F: removed",
    "Nov 23 10:00:00 mx postfix/postscreen[1]: DISCONNECT [198.51.100.25]:99999999999",  # a port beyond int32: null
])
def test_odd_lines_among_fast_ones(case, monkeypatch):
    """A line the fast path must not (or cannot) read, among lines it reads: identical tables."""
    lines = _lines()
    same([*lines[:7], case, *lines[7:]], monkeypatch, step=100)


def test_year_carries_over_across_fast_and_python_lines(monkeypatch):
    """December to January in lines read partly by Rust, partly by Python: the same years."""
    lines = []
    for mon, day in (("Dec", "31"), ("Jan", " 1"), ("Dec", "31"), ("Jan", " 2")):
        lines.append(f"{mon} {day} 23:59:59 mx postfix/qmgr[1]: B7C3616BE38F: removed")
        lines.append(f"{mon} {day} 23:59:59 mx postfix/qmgr[1]: warning: something odd")
    table = same(lines, monkeypatch, step=3)
    years = {t.year for t in table.column("ts").to_pylist()}
    assert years == {2025, 2026}


def test_dst_and_zones(monkeypatch):
    """Local stamps in a zone with DST (the repeated and the missing hour): identical."""
    lines = [f"Oct 25 02:{m:02d}:00 mx postfix/qmgr[1]: B7C3616BE38F: removed" for m in range(0, 60, 15)]
    lines += [f"Mar 29 02:{m:02d}:00 mx postfix/qmgr[1]: B7C3616BE38F: removed" for m in range(0, 60, 15)]
    same(lines, monkeypatch, step=100)


@pytest.mark.parametrize(("style", "tz"), [("syslog", "UTC"), ("syslog", "America/New_York")])
def test_generated_day_read_mostly_fast(style, tz, tmp_path, monkeypatch):
    """A generated day: the fast path reads most lines, and the stream's tables are identical."""
    out = tmp_path / "pf.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_logs.py"), "--mta", "postfix", "--lines", "8000",
                    "--style", style, "--seed", "3", "-q", "-o", str(out), "--incident", "deferral_buildup@2h+1h"],
                   check=True, timeout=120)
    lines = out.read_text().splitlines()
    monkeypatch.setenv(native.ENV, "native")
    sp = split_batch(lines, 1, _ctx(tz))
    assert sp.fast is not None and sp.fast.num_rows > 0.8 * len(lines)
    patterns = set(sp.fast.column("pattern").to_pylist())
    assert len(patterns) >= 12
    assert_same([str(out)], monkeypatch, tz=tz, batch_lines=1700)
    assert_same([str(out)], monkeypatch, tz=tz)
    # blocks in worker processes
    assert_same([str(out)], monkeypatch, tz=tz, workers=2, block_bytes=1 << 16)


def test_blocks_in_worker_processes(tmp_path, monkeypatch):
    """Blocks read in worker processes: CR LF, a last line without a newline, NUL bytes and
    invalid UTF-8 give the same tables and counts."""
    body = "\r\n".join(_lines() * 40).encode()
    bad = b"Nov 23 00:00:02 mx1 postfix/qmgr[1]: B7C3616BE38F: removed \xff\xfe\n" + \
        b"Nov 23 00:00:02 mx1 postfix/qmgr[1]: B7C3616BE38F: re\x00moved\n"
    out = tmp_path / "mixed.log"
    out.write_bytes(body + b"\n" + bad + body + b"\r\r")
    table = assert_same([str(out)], monkeypatch, workers=2, block_bytes=1 << 12)
    assert table.num_rows == 2 * 40 * len(KINDS) + 1  # the NUL line is read, the other is not


def test_corpus_postfix_identical_with_small_batches(monkeypatch):
    """The corpus's Postfix files in small batches (the fast path and Python meet at every
    boundary): identical."""
    if not CORPUS.exists():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    assert_same([str(CORPUS)], monkeypatch, batch_lines=333)


# ---- mutated lines of every kind ---------------------------------------------------------------

_ALPHABET = [*" []:<>=(),;./\\\"\t\x00\x0b\u00a0\u00e9\u0663\U0001F4E7-0123456789abcdefABCDEF",
    "::1", "[", "]", "<>", ", ", "; ", " to=", " from=", " proto=", " helo=<", "quit=1", "commands=", ", orig_to=<x>",
    ":99999999999", "[2001:db8::1]", "[]", "2.0.0", "450 ", "4.7.1 ", "queued as ABCDEF123", "in reply to RCPT command",
    "PASS NEW", "removed", "NOQUEUE", "reject_warning", "milter-reject", "conn_use=1,", "resent-",
    " in ", " after ", " from ", "ABCDEF123: ", "NOQUEUE: ", " (1/2 commands)", "HANGUP ", "PREGREET ",
    "postmaster delay", " orig_id=", "uid=0", "<\"a b\"@c>", ", sasl_username=", "SASL PLAIN", " authentication failed",
    "535 5.7.8 Error: authentication failed: ", "queued as 4F2A", "host ", " refused to talk to me: ", "connect to ",
    "statistics: ", "max ", " for (", "smtp:", "127.0.0.1:10025:", "[::1]:25:", ") at "]


@st.composite
def mutated_kind(draw) -> str:
    """A line of one fast kind with pieces inserted, deleted, replaced or cut."""
    prog, msg = draw(st.sampled_from(list(KINDS.values())))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(msg)))
        op = draw(st.sampled_from(["ins", "del", "rep", "cut"]))
        piece = draw(st.one_of(st.sampled_from(_ALPHABET), st.characters(codec="utf-8")))
        if op == "ins":
            msg = msg[:i] + piece + msg[i:]
        elif op == "del":
            msg = msg[:i] + msg[i + draw(st.integers(1, 8)):]
        elif op == "rep":
            msg = msg[:i] + piece + msg[i + len(piece):]
        else:
            msg = msg[:i]
    return f"{STAMP}{prog}: {msg}".replace("\n", " ").replace("\r", " ")


_settings = settings(max_examples=EXAMPLES * 5, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@_settings
@given(lines=st.lists(mutated_kind(), min_size=1, max_size=25))
def test_mutated_kinds_identical(lines, monkeypatch):
    """Lines of the fast kinds, truncated, with extra fields, odd ports and IPv6, missing
    brackets, Unicode, NUL: read identically or left to Python — the tables are the same."""
    same(lines, monkeypatch, step=9)

