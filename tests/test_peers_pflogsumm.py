"""The report's pflogsumm sections against pflogsumm itself, run on the same Postfix logs.

pflogsumm (Debian package ``pflogsumm``; ``.ci/run`` installs it) is run on real-daemon logs
(``sample_logs/postfix``, ``sample_logs/postfix-syslog``), on a real server's logs from the shared
corpus and on a day written by ``bench/generate_logs.py``; its text output is parsed and every row of
each section compared with :func:`analyzer.report.peers.pflogsumm_tables`. Where maillens counts
differently on purpose (warnings grouped by the whole text, delays in seconds), the test applies
pflogsumm's rule to our rows first and says so.
"""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest

from analyzer.reader import parse_logs
from analyzer.report.peers import PF_WARNING_WIDTH, pflogsumm_tables
from tests.conftest import CORPUS, SAMPLES
from tools.peers import PFLOGSUMM, concat_rotated, generated_day, pflogsumm_units

pytestmark = pytest.mark.skipif(PFLOGSUMM is None, reason="pflogsumm not installed (apt-get install pflogsumm)")

LIGHTMETER = CORPUS / "lightmeter-controlcenter" / "test_files" / "postfix_logs" / "complete.tar.gz.extracted" / "logs_sample"
RUNS = ["postfix", "postfix-syslog", "corpus", "generated"]


def _n(digits: str, unit: str) -> int:
    return int(digits) * {"": 1, " ": 1, "k": 1024, "m": 1048576}[unit]


def _section(out: str, title: str) -> list[str]:
    """The lines of one pflogsumm section (after its underline, up to the blank line)."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == title and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            body = []
            for rest in lines[i + 2:]:
                if not rest.strip():
                    break
                body.append(rest)
            return body
        if line.strip() == f"{title}: none":
            return []
    raise AssertionError(f"pflogsumm printed no section {title!r}")


def _users(out: str, title: str) -> dict[str, int]:
    rows = {}
    for line in _section(out, title):
        m = re.match(r"^\s*(\d+)([km ]?) {2}(.*)$", line)
        assert m, line
        rows[m.group(3)] = _n(m.group(1), m.group(2))
    return rows


def _domains(out: str) -> dict[str, tuple[int, int, int, float, str, float, str]]:
    rows = {}
    for line in _section(out, "Host/Domain Summary: Message Delivery")[2:]:  # after the column heads
        m = re.match(r"^\s*(\d+)([km ]?)\s+(\d+)([km ]?)\s+(\d+)([km ]?)\s+(\d+\.\d) ([smh])\s+(\d+\.\d) ([smh])  (.*)$",
                     line)
        assert m, line
        rows[m.group(11)] = (_n(m.group(1), m.group(2)), _n(m.group(3), m.group(4)), _n(m.group(5), m.group(6)),
                             float(m.group(7)), m.group(8), float(m.group(9)), m.group(10))
    return rows


def _nested(out: str, title: str) -> dict[tuple[str, str], int]:
    """A two-level nested section (Warnings: daemon -> text -> count) as {(daemon, text): count}."""
    rows, daemon = {}, None
    for line in _section(out, title):
        if re.match(r"^  \S", line):
            daemon = re.sub(r" \(total: \d+\)$", "", line.strip())
            continue
        m = re.match(r"^\s+(\d+)([km ]) {2}(.*)$", line)
        assert m and daemon is not None, line
        rows[(daemon, m.group(3))] = _n(m.group(1), m.group(2))
    return rows


def _reject_totals(out: str, title: str) -> dict[tuple[str, str], int]:
    """A three-level reject section (kind -> reason -> data -> count) as {(kind, reason): total}."""
    rows, kind = {}, None
    for line in _section(out, title):
        if re.match(r"^  \S", line):
            kind = line.strip()
            continue
        m = re.match(r"^    (\S.*) \(total: (\d+)\)$", line)
        if m:
            assert kind is not None, line
            rows[(kind, m.group(1))] = int(m.group(2))
    return rows


def _time_units(seconds: float) -> tuple[float, str]:
    """pflogsumm's adj_time_units: minutes over 60 s, hours over 3600 s."""
    if seconds > 3600:
        return seconds / 3600, "h"
    if seconds > 60:
        return seconds / 60, "m"
    return seconds, "s"


@pytest.fixture(scope="module", params=RUNS)
def run(request, tmp_path_factory):
    """(pflogsumm's output, our full tables) for one input."""
    tmp = tmp_path_factory.mktemp(f"pf-{request.param}")
    if request.param == "generated":
        log = generated_day(tmp / "generated.log", "postfix")
    elif request.param == "corpus":
        if not LIGHTMETER.exists():
            pytest.skip(f"shared corpus not found at {CORPUS}")
        log = concat_rotated(LIGHTMETER, "mail.log", tmp / "mail.log")
    else:
        log = concat_rotated(SAMPLES / request.param, "mail.log", tmp / "mail.log")
    out = subprocess.run([PFLOGSUMM, str(log)], capture_output=True, text=True, check=True, timeout=300).stdout
    events = parse_logs([str(log)], tz="UTC", year=2026).events
    return request.param, out, pflogsumm_tables(events)


def _ours(df: pd.DataFrame, key: str, value: str) -> dict[str, int]:
    return {str(k): pflogsumm_units(int(v)) for k, v in zip(df[key], df[value], strict=True)}


def test_byte_volumes_equal(run):
    """Bytes received and delivered equal pflogsumm's grand totals."""
    _, out, t = run
    grand = dict((label, _n(d, u)) for d, u, label in
                 re.findall(r"^\s*(\d+)([km ]?)\s+(bytes received|bytes delivered)$", out, re.M))
    ours = dict(zip(t["volumes"]["measure"], t["volumes"]["value"], strict=True))
    assert {k: pflogsumm_units(int(v)) for k, v in ours.items()} == grand


@pytest.mark.parametrize(("table", "title", "key", "value"), [
    ("senders_by_count", "Senders by message count", "sender", "messages"),
    ("senders_by_size", "Senders by message size", "sender", "bytes"),
    ("recipients_by_count", "Recipients by message count", "recipient", "messages"),
    ("recipients_by_size", "Recipients by message size", "recipient", "bytes"),
])
def test_senders_and_recipients_equal(run, table, title, key, value):
    """Every sender/recipient row (count or size) equals pflogsumm's, and the rows are ranked."""
    name, out, t = run
    theirs = _users(out, title)
    ours = _ours(t[table], key, value)
    assert ours == theirs, f"{name}: {title} differs: {set(ours.items()) ^ set(theirs.items())}"
    if name != "corpus":
        assert theirs, f"{name}: pflogsumm printed no {title}"
    assert list(t[table][value]) == sorted(t[table][value], reverse=True)


def test_per_domain_delivery_equal(run):
    """Sent count, bytes, defers, average and maximum delay per recipient domain equal pflogsumm's
    (delays compared in pflogsumm's units, at its one decimal)."""
    name, out, t = run
    theirs = _domains(out)
    d = t["domains"]
    assert set(d["domain"]) == set(theirs), name
    for r in d.itertuples(index=False):
        sent, size, defers, avg, avg_u, mx, mx_u = theirs[r.domain]
        assert (r.sent, pflogsumm_units(r.bytes), r.defers) == (sent, size, defers), r.domain
        for ours_s, their_v, their_u in ((r.avg_delay, avg, avg_u), (r.max_delay, mx, mx_u)):
            v, u = _time_units(ours_s)
            assert u == their_u or abs(ours_s - 60) < 0.1 or abs(ours_s - 3600) < 0.1, (r.domain, ours_s, their_u)
            if u == their_u:
                assert abs(v - their_v) <= 0.051, (r.domain, ours_s, their_v, their_u)
    if name != "corpus":
        assert (d["defers"] > 0).any() and (d["sent"] > 0).any()


def test_warnings_equal_at_pflogsumm_width(run):
    """Warnings grouped by daemon and text equal pflogsumm's once our texts are cut to its 66 characters;
    on the real-daemon logs every warning line is counted."""
    name, out, t = run
    theirs = _nested(out, "Warnings")
    w = t["warnings"]
    cut = w.assign(text=w["text"].where(w["text"].str.len() <= PF_WARNING_WIDTH,
                                        w["text"].str.slice(0, PF_WARNING_WIDTH - 3) + "..."))
    ours = {(d, x): int(n) for (d, x), n in cut.groupby(["daemon", "text"])["count"].sum().items()}
    if name == "corpus":  # warnings maillens leaves out (TLS library problems, bare <LF>): ours is a subset
        missing = {k: v for k, v in ours.items() if theirs.get(k) != v}
        assert not missing, missing
        assert sum(ours.values()) >= 0.8 * sum(theirs.values())
    else:
        assert ours == theirs


def test_reject_reasons_by_kind_equal(run):
    """Rejects grouped by kind (RCPT, MAIL, CONNECT ..., cleanup) and reason equal pflogsumm's totals."""
    name, out, t = run
    theirs = _reject_totals(out, "message reject detail")
    r = t["rejects"]
    ours = {(k, x): int(n) for k, x, n in zip(r["kind"], r["reason"], r["count"], strict=True)}
    assert ours == theirs, f"{name}: {set(ours.items()) ^ set(theirs.items())}"
    if name in ("postfix", "generated"):
        assert len(ours) >= 2
