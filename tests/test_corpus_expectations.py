"""Expected values other projects assert on their own test lines (crowdsec-hub MIT, logstash
patterns-core Apache-2.0, in ../shared/corpus): where a field means the same thing, ours agrees."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from analyzer.reader import parse_lines

from .conftest import CORPUS

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason=f"shared corpus not found at {CORPUS}")

CROWDSEC = {  # their Parsed[...] -> our column
    "source_ip": "client_ip", "remote_addr": "client_ip", "source_port": "client_port",
    # (their postfix "helo" field holds the address in <> of a reject, not the HELO name: not compared)
    "source_dns": "client_host", "remote_host": "client_host", "source_helo": "helo",
    "program": "program", "pid": "pid", "smtp_basic_status_code": "reply_code",
    "smtp_enhanced_status_code": "enhanced_code",
}
ASSERT = re.compile(r'results\["s01-parse"\]\["[^"]+"\]\[(\d+)\]\.Evt\.Parsed\["(\w+)"\] == "(.*)"$')


def _crowdsec_cases():
    base = CORPUS / "crowdsec-hub" / ".tests"
    if not base.exists():
        return []
    return sorted(d for d in base.iterdir() if (d / "parser.assert").exists())


@pytest.mark.parametrize("case", _crowdsec_cases(), ids=lambda p: p.name)
def test_crowdsec_parser_asserts(case):
    """crowdsec's parsed fields (client ip/port/host, helo, program, pid, codes) equal ours."""
    log = next(p for p in case.glob("*.log"))
    lines = log.read_text().splitlines()
    checked = 0
    for a in (case / "parser.assert").read_text().splitlines():
        m = ASSERT.match(a.strip())
        if not m or m.group(2) not in CROWDSEC:
            continue
        i, key, want = int(m.group(1)), m.group(2), m.group(3)
        if i >= len(lines):
            continue
        res = parse_lines([lines[i]], year=2024, tz="UTC")
        if len(res.events) != 1:
            continue
        got = res.events.iloc[0][CROWDSEC[key]]
        if key in ("source_dns", "remote_host") and got is pd.NA:
            continue  # they also name the helo '(x)' a host; we keep it as helo
        assert str(got) == want, f"{log.name}:{i + 1} {key}: {got!r} != {want!r}"
        checked += 1
    if not checked:
        pytest.skip("no comparable assertion in this case")


def test_logstash_exim_expectations():
    """logstash-patterns-core's expected Exim fields (msgid, sender, size, host, ip, port, helo,
    protocol, id=) agree with ours; the '**' line they cannot parse, we can."""
    d = CORPUS / "logstash-patterns-core"
    lines = (d / "exim_spec.lines.log").read_text().splitlines()
    expected = json.loads((d / "exim_spec.expected.json").read_text())
    same = {"exim_msgid": "queue_id", "exim_sender_email": "sender", "exim_msg_size": "size",
            "remote_hostname": "client_host", "remote_host": "client_ip", "remote_port": "client_port",
            "remote_heloname": "helo", "protocol": "protocol", "exim_header_id": "message_id", "pid": "pid"}
    for n, line in enumerate(lines, start=1):
        res = parse_lines([line], tz="UTC")
        assert len(res.events) == 1, line
        row = res.events.iloc[0]
        exp = expected[str(n)]
        if exp.get("parse_failure"):
            assert row["event"] == "delivery" and row["status"] == "bounced"
            continue
        for key, col in same.items():
            if key in exp:
                assert str(row[col]) == exp[key], f"line {n} {key}: {row[col]!r} != {exp[key]!r}"
        if "timestamp" in exp:
            assert row["ts"].strftime("%Y-%m-%d %H:%M:%S") == exp["timestamp"]
        for absent in exp.get("_absent", []):
            assert row[same.get(absent, absent)] is pd.NA
