"""Differential tests of the native Exim row readers (native/src/exim.rs, parsers/exim_fast.py):
the rows they read whole equal the Python engine's, column for column, on the corpus, the
sample logs, generated Exim days and mutated lines of each kind they read."""

from __future__ import annotations

import os
import subprocess
import sys

import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from analyzer import native
from analyzer.parsers.exim_fast import read_exim_rows

from .conftest import CORPUS, ROOT, SAMPLES
from .test_native_diff import assert_same, parse_in_batches

pytestmark = pytest.mark.skipif(not native.available(), reason="the native engine is not built (no cargo at install)")

EXAMPLES = int(os.environ.get("MAILLENS_FUZZ_EXAMPLES", "40"))

#: one line of each kind the readers take (stamp flavours: offset, milliseconds, no pid)
SEEDS = [
    "2026-11-23 00:00:02 [2205] 1xVHTW-0000ZZ-KK <= emma.nguyen@our.test H=(laptop-emma) [192.0.2.193]:26606 "
    "I=[192.0.2.10]:587 P=esmtpsa X=TLS1.3:TLS_AES_128_GCM_SHA256:128 CV=no A=dovecot_plain:emma.nguyen@our.test "
    "S=22147 id=d8cd3535-7c16@our.test",
    "2026-11-23 00:00:02 [2254] 1xVHTW-0000aM-Kb <= <> R=1xVHTW-0000ZZ-KK U=Debian-exim P=local S=4066",
    "2026-11-23 00:00:03.125 +0100 [2880] 1xVHTW-0000ZZ-KK => sam@hotmail.test R=dnslookup T=remote_smtp "
    "H=hotmail-test.olc.protection.outlook.test [203.0.113.42] X=TLS1.3:TLS_AES_128_GCM_SHA256:128 CV=yes "
    "C=\"250 2.6.0 <d8@our.test> [InternalId=48712206801] Queued mail for delivery\" QT=1m3s",
    "2026-11-23 00:00:03 [2288] 1xVHTX-0000kJ-4Y => priya.smith <priya.smith@our.test> R=local_user T=maildir_home",
    "2026-11-23 00:00:11 [2975] 1xVHTe-0000kL-Ik -> zoe65@adatum.example R=dnslookup T=remote_smtp "
    "H=mx1.adatum.example [203.0.113.133] C=\"250 2.0.0 Ok: queued as 57A52A04F29\" QT=0s",
    "2026-11-23 00:00:25 [3679] 1xVHTs-0000pv-9q == pat@initech.example R=dnslookup T=remote_smtp defer (-44) "
    "H=mx1.initech.example [203.0.113.85] X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=yes: SMTP error from remote "
    "mail server after RCPT TO:<pat@initech.example>: 451 4.7.1 Greylisting in action, please come back later",
    "2026-11-23 00:01:01 [4904] 1xVHUT-0001Ke-5X == noah@proseware.test R=dnslookup T=remote_smtp defer (111) "
    "H=mail.proseware.test [203.0.113.106]: Connection refused",
    "2026-11-23 00:01:02 -0500 [4905] 1xVHUT-0001Ke-5X == noah@proseware.test R=dnslookup T=remote_smtp defer (-53): "
    "retry time not reached for any host for 'proseware.test'",
    "2026-11-23 00:01:49 [7251] 1xVHVE-0001fq-6G ** chen@piedpiper.example R=dnslookup T=remote_smtp "
    "H=piedpiper.mail.protection.outlook.test [203.0.113.39] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes: SMTP error "
    "from remote mail server after RCPT TO:<chen@piedpiper.example>: 550 5.1.1 <chen@piedpiper.example>: Recipient "
    "address rejected: User unknown DT=1s",
    "2026-11-23 00:00:03 [2288] 1xVHTX-0000kJ-4Y Completed",
    "2026-11-23 00:00:00 [2327] SMTP connection from [198.51.100.79]:44945 I=[192.0.2.10]:25 (TCP/IP connection count = 1)",
    "2026-11-23 00:00:02 [2205] SMTP connection from (laptop-emma) [192.0.2.193]:26606 I=[192.0.2.10]:587 closed by QUIT",
    "2026-11-23 00:00:04 [2542] SMTP connection from host.example (localhost) [198.51.100.91]:30786 I=[192.0.2.10]:25 lost D=2s",
    "2026-11-23 00:00:04 [2543] SMTP connection from [198.51.100.92]:30787 I=[192.0.2.10]:25 closed by DROP in ACL",
    "2026-11-23 00:00:07 [2746] no MAIL in SMTP connection from ([198.51.100.241]) [198.51.100.241]:47132 "
    "I=[192.0.2.10]:25 D=1s C=EHLO,QUIT",
    "2026-11-23 00:00:08 [2747] no MAIL in SMTP connection from (ylmf-pc) [198.51.100.38]:61425 I=[192.0.2.10]:25 D=31s",
    "2026-11-23 00:00:07 [2581] unexpected disconnection while reading SMTP command from host.example (localhost) "
    "[198.51.100.121]:50888 I=[192.0.2.10]:25 D=3s",
    "2026-11-23 00:00:03 [2603] H=dyn.initech.example.net (ylmf-pc) [198.51.100.105]:33718 I=[192.0.2.10]:25 "
    "F=<quinn@globex.example.net> temporarily rejected RCPT <ivan@our.test>: greylisted.",
    "2026-11-23 00:00:05 [2604] H=(WIN-CLJ1B0GQ6JP) [198.51.100.62]:10234 I=[192.0.2.10]:25 F=<a@b.example> "
    "rejected RCPT <nobody@our.test>: Unrouteable address",
    "2026-11-23 00:00:40 [3890] H=mail.dynamic.example.com [198.51.100.222]:40990 I=[192.0.2.10]:25 "
    "F=<trent@dynamic.example.com> rejected after DATA: Your message scored 13.7 SpamAssassin points. Report follows:",
    "2026-11-23 00:00:41 [3891] 1xVHTs-0000pv-9r H=mx.example [2001:db8::1]:25 F=<> rejected after DATA: "
    "550 5.7.1 message too big",
    "2026-11-23 00:00:42 [3892] H=[2001:db8::2]:1025 F=<x@y.example> rejected MAIL <x@y.example>: SIZE too large",
    "2020-02-22 01:11:08 1j4ZTB-0001Sv-P4 Message is frozen",
    "2020-02-22 01:11:09 1j4ZTB-0001Sv-P4 Frozen (delivery error message)",
    "2020-02-22 01:11:10 [77] 1j4ZTB-0001Sv-P4 unfrozen by root",
    "2026-11-23 00:05:57 [4655] SMTP command timeout on connection from ([198.51.100.109]) [198.51.100.109]:4367 "
    "I=[192.0.2.10]:25 D=300s",
    "2026-11-23 00:00:50 [4294] SMTP call from dyn.example.com (smtp.example) [203.0.113.166]:60411 I=[192.0.2.10]:25 "
    "dropped: too many syntax or protocol errors (last command was \"USER root\", C=EHLO)",
    "2026-11-23 00:00:13 [2808] dovecot_login authenticator failed for (User) [198.51.100.157]:19450 I=[192.0.2.10]:587: "
    "535 Incorrect authentication data (set_id=postmaster@ourbrand.test)",
    "2022-06-29 16:04:08 dovecot_plain authenticator failed for ppp.test.co.th ([1.2.3.5]) [1.2.3.4]:51451: "
    "Incorrect authentication data (set_id=)",
    "2026-11-23 00:00:04 [2542] TLS error on connection from dyn.example.net (localhost) [198.51.100.91]:30786 "
    "I=[192.0.2.10]:25 (SSL_accept): error:0A000126:SSL routines::unexpected eof while reading",
    "2026-11-23 00:00:06 [2472] SMTP protocol synchronization error (input sent without waiting for greeting): "
    "rejected connection from H=[198.51.100.216]:65070 I=[192.0.2.10]:25 input=\"EHLO WIN-CLJ1B0GQ6JP\\r\\n\"",
    "2026-11-23 00:04:33 [13405] 1xVHXt-0003Zk-6S ** walter@nosuch-domain.test: Unrouteable address",
    "1999-03-02 09:44:33 10HmaY-000000005vi-0000 ** userx@bad.ex : Unrouteable address",
    "2026-11-23 00:05:06 [14831] Start queue run: pid=14831",
    "2026-11-23 00:06:16 [14831] End queue run: pid=14831",
    "2026-11-23 00:06:17 End queue run",
    "2026-11-23 00:06:18 [7] Start 2nd_pass queue run: pid=7 -qq",
    "2026-11-23 00:06:19 [7] Start queue queue run:x",
    "2026-11-23 00:06:20 [7] End queue run queue run: y",
    "2026-11-23 00:06:21 [7] End queue runs",
]


def _parse(engine: str, lines: list[str], monkeypatch: pytest.MonkeyPatch, tz: str = "Europe/Berlin",
           step: int = 9) -> tuple[pa.Table, list]:
    return parse_in_batches(engine, lines, monkeypatch, step=step, tz=tz, name="mainlog")


def _same(lines: list[str], monkeypatch: pytest.MonkeyPatch, **kw) -> pa.Table | None:
    try:
        py, py_counts = _parse("python", lines, monkeypatch, **kw)
    except pa.ArrowInvalid:
        # (a number too big for its column is a null since schema.cast_or_null; kept for a
        # batch that still fails: the native path leaves such lines to the Python one)
        with pytest.raises(pa.ArrowInvalid):
            _parse("native", lines, monkeypatch, **kw)
        return None
    nat, nat_counts = _parse("native", lines, monkeypatch, **kw)
    assert nat.schema == py.schema
    for name in py.column_names:  # column by column, so that a failure names the column
        assert nat.column(name).to_pylist() == py.column(name).to_pylist(), name
    assert nat_counts == py_counts
    return py


def _taken(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv(native.ENV, "native")
    got = read_exim_rows(pa.array(lines, pa.string()), "UTC")
    return 0 if got is None else len(got[0])


def test_every_seed_is_read_natively(monkeypatch):
    """Each seed line is one the readers take whole (else the tests below would test the pattern
    engine against itself), and each gives the Python engine's row."""
    for line in SEEDS:
        assert _taken([line], monkeypatch) == 1, line
    table = _same(SEEDS, monkeypatch)
    assert table is not None and table.num_rows == len(SEEDS)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York"])
def test_seeds_in_any_zone(tz, monkeypatch):
    """Stamps without an offset are local time in the file's zone, with one the offset rules."""
    _same(SEEDS, monkeypatch, tz=tz, step=5)


def test_readers_follow_the_table_verbatim(monkeypatch):
    """The readers run only while the spec they reproduce (exim.py's table up to the last kind
    read, the header, fields.py's Exim items) is as exim.rs was written against; a changed
    pattern turns them off and the pattern engine reads everything."""
    from analyzer.parsers import exim, exim_fast

    assert exim_fast.table_digest() == exim_fast.TABLE_DIGEST, "exim.py changed: check native/src/exim.rs"
    changed = [exim.PATTERNS[0].__class__(p.name, p.regex.replace("<=", "<<"), p.event, p.consts)
               if p.name == "exim.arrival" else p for p in exim.PATTERNS]
    monkeypatch.setattr(exim, "PATTERNS", changed)
    assert exim_fast.table_digest() != exim_fast.TABLE_DIGEST
    exim_fast._reader.cache_clear()
    try:
        assert _taken(SEEDS, monkeypatch) == 0
    finally:
        monkeypatch.undo()
        exim_fast._reader.cache_clear()
    assert _taken(SEEDS, monkeypatch) == len(SEEDS)
    monkeypatch.setenv("MAILLENS_FAST", "0")
    assert _taken(SEEDS, monkeypatch) == 0


def test_lines_not_sure_are_left_to_the_patterns(monkeypatch):
    """Lines whose reading is uncertain (a syslog line inside the file, a reject with 'from',
    a blackhole delivery, a deferral without a reason, a trailing space) are not taken, and
    the result is still the Python engine's."""
    odd = [
        "2026-11-23 00:00:00 mx1 exim[12]: 1xVHTW-0000ZZ-KK Completed",
        "2026-11-23 00:00:01 [1] H=x [1.2.3.4] rejected EHLO from [1.2.3.4]: syntactically invalid argument(s)",
        "2026-11-23 00:00:02 [1] 1xVHTW-0000ZZ-KK => blackhole (DATA ACL discarded recipients): spam",
        "2026-11-23 00:00:03 [1] 1xVHTW-0000ZZ-KK == a@b.example R=dnslookup defer (-1)",
        "2026-11-23 00:00:04 [1] 1xVHTW-0000ZZ-KK Completed ",
        "2026-11-23 00:00:05 [1] SMTP connection from [1.2.3.4]:5 H=x [5.6.7.8] closed by QUIT",
        "2026-11-23 00:00:06 [1] 1xVHTW-0000ZZ-KK => a@b.example R=r T=t C=\"451 defer (12) later\"",
        "2026-11-23 00:00:07 [1] Start two-stage queue run: pid=1",
        "2026-11-23 00:00:08 [1] Start  queue run: pid=1",
    ]
    assert _taken(odd, monkeypatch) == 0
    _same(odd + SEEDS, monkeypatch)


def test_sample_exim_logs_identical(monkeypatch):
    """sample_logs/exim (mainlog, rotated, rejectlog, paniclog) through the stream: identical."""
    assert_same([str(SAMPLES / "exim")], monkeypatch, batch_lines=50)


def test_corpus_exim_files_identical(monkeypatch):
    """The corpus' files in Exim's own format, in small batches: identical, and the readers take
    a fair share of their lines."""
    if not CORPUS.exists():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    files = [p for p in sorted(CORPUS.rglob("*")) if p.is_file() and _exim_format(p)]
    assert len(files) > 100
    assert_same([str(p) for p in files], monkeypatch, batch_lines=300)
    lines = [ln for p in files for ln in p.read_text(encoding="utf-8", errors="replace").splitlines()]
    assert _taken(lines, monkeypatch) > len(lines) // 3


def _exim_format(path) -> bool:
    import re

    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
    return re.search(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", head) is not None


@pytest.mark.parametrize("seed", [3, 11])
def test_generated_exim_day_identical(seed, tmp_path, monkeypatch):
    """A generated Exim day (bench/generate_logs.py) with incidents, in small batches: identical,
    and nearly every line is read natively."""
    out = tmp_path / "mainlog"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_logs.py"), "--mta", "exim", "--lines", "8000",
                    "--seed", str(seed), "-q", "-o", str(out), "--incident", "deferral_buildup@3h+2h",
                    "--incident", "sasl_bruteforce:198.51.100.7@8h+1h"], check=True, timeout=120)
    table = assert_same([str(out)], monkeypatch, batch_lines=700, tz="Europe/Berlin")
    assert table.num_rows > 7000
    lines = out.read_text().splitlines()
    assert _taken(lines, monkeypatch) > 0.9 * len(lines)


def test_exim_day_in_worker_processes(tmp_path, monkeypatch):
    """A generated Exim day read block by block in worker processes (stamps with an offset,
    local zone): identical to the Python engine's table."""
    out = tmp_path / "mainlog"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_logs.py"), "--mta", "exim", "--lines", "5000",
                    "--seed", "5", "-q", "-o", str(out), "--start", "2026-03-29T00:00:00+01:00"],
                   check=True, timeout=120)
    table = assert_same([str(out)], monkeypatch, tz="Europe/Berlin", workers=2, block_bytes=1 << 16)
    assert table.num_rows > 4500


# ---- mutated lines of each kind ------------------------------------------------------------------

_PIECES = [" ", "[", "]", ":", "<", ">", "=", "(", ")", '"', "\\", "\t", "\x00", "\x0b", "\u00a0", "é", "\u0663",
           "\U0001F4E7", "-", ".", "0", "9", " H=x [1.2.3.4]", " H=(a b) [2001:db8::1]:25", " C=\"250 \\\"ok\\\" QUIT\"",
           " QT=1d2h", " QT=1.5s", " S=99999999999999999999", " defer (-1)", ": ", " closed ", " lost", " DT=3s",
           " F=<a b>", " X=TLS", " T=smtp", " R=1abcde-", " id=<x>", " A=plain:", " temporarily", " rejected RCPT ",
           " +0100", ".123", ":99999999999", " Ci=7", " <orig@x>", "\u2028", "ß"]


@st.composite
def mutated_seed(draw) -> str:
    """A seed line cut short, or with pieces (fields, IPv6 hosts, quotes, Unicode, NUL) inserted,
    deleted or replaced."""
    line = draw(st.sampled_from(SEEDS))
    if draw(st.booleans()):
        line = line[:draw(st.integers(0, len(line)))]
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["ins", "del", "rep"]))
        piece = draw(st.one_of(st.sampled_from(_PIECES), st.characters(codec="utf-8")))
        if op == "ins":
            line = line[:i] + piece + line[i:]
        elif op == "del":
            line = line[:i] + line[i + draw(st.integers(1, 12)):]
        else:
            line = line[:i] + piece + line[i + len(piece):]
    return line.replace("\n", " ").replace("\r", " ")


_settings = settings(max_examples=EXAMPLES, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@_settings
@given(lines=st.lists(mutated_seed(), min_size=1, max_size=25))
def test_mutated_kinds_identical(lines, monkeypatch):
    """Mutated lines of every kind the readers take: identical tables and counts."""
    _same(lines, monkeypatch)
