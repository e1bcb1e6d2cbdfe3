"""postfix-grok-patterns test cases: our fields agree with their expected `results:` wherever
the two mean the same thing (BSD-3-Clause data in ../shared/corpus)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from analyzer.parsers.fields import canonical_stage
from analyzer.reader import parse_lines

from .conftest import CORPUS

GROK = CORPUS / "postfix-grok-patterns" / "test"
# grok field -> our column
SAME = {
    "postfix_queueid": "queue_id",
    "postfix_client_ip": "client_ip",
    "postfix_client_hostname": "client_host",
    "postfix_client_port": "client_port",
    "postfix_relay_hostname": "relay_host",
    "postfix_relay_ip": "relay_ip",
    "postfix_relay_port": "relay_port",
    "postfix_status": "status",
    "postfix_status_code": "reply_code",
    "postfix_status_code_enhanced": "enhanced_code",
    "postfix_smtp_stage": "smtp_stage",
    "postfix_from": "sender",
}
FRAGMENTS = ("tls_features_", "delays_", "command_counter_data_", "keyvalue_", "relay_")


def _cases():
    return sorted(GROK.glob("*.yaml")) if GROK.exists() else []


def _load(path):
    doc = yaml.safe_load(path.read_text())
    return doc["pattern"], doc["data"], doc.get("results") or {}


def _daemon(pattern: str) -> str:
    m = re.search(r"POSTFIX_([A-Z_]+)", pattern)
    name = m.group(1).lower() if m else "smtpd"
    return {"smtpd": "smtpd", "smtp": "smtp", "lmtp": "lmtp", "pipe": "pipe", "error": "error",
            "discard": "discard", "postsuper": "postsuper", "tlsproxy": "tlsproxy", "tlsmgr": "tlsmgr",
            "qmgr": "qmgr", "anvil": "anvil", "bounce": "bounce", "cleanup": "cleanup", "pickup": "pickup",
            "master": "master", "postscreen": "postscreen", "dnsblog": "dnsblog", "scache": "scache",
            "local": "local", "sendmail": "sendmail", "postdrop": "postdrop", "trivial_rewrite": "trivial-rewrite",
            "virtual": "virtual", "verify": "verify", "postmap": "postmap", "postalias": "postalias",
            "qmqpd": "qmqpd", "postfix_script": "postfix-script", "postlogd": "postlogd",
            "smtpd_proxy": "smtpd", "killed": "master", "warning": "master"}.get(name, name.split("_")[0])


pytestmark = pytest.mark.skipif(not GROK.exists(), reason=f"shared corpus not found at {CORPUS}")


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_grok_case_agrees(path):
    """Each whole-message grok case becomes an event whose fields equal grok's expected values."""
    if path.stem.startswith(FRAGMENTS):
        pytest.skip("a sub-pattern fragment, not a whole log message")
    pattern, data, results = _load(path)
    data = data.replace("\r", "\\r").replace("\n", "\\n")  # as syslog escapes them
    line = f"Nov 29 10:00:00 mx postfix/{_daemon(pattern)}[1]: {data}"
    res = parse_lines([line])
    assert res.counts.unrecognised == 0, f"not recognised: {line}"
    assert len(res.events) == 1
    row = res.events.iloc[0]
    for grok_key, col in SAME.items():
        if grok_key not in results:
            continue
        want = results[grok_key]
        got = row[col]
        if col == "smtp_stage":
            want = canonical_stage(str(want))
        if col == "queue_id" and want == "NOQUEUE":
            assert got is pd.NA  # we keep NOQUEUE as "no queue id"
            continue
        if col == "status" and row["event"] != "delivery":
            continue  # grok's 'status' is the delivery status only
        assert str(got) == str(want), f"{col}: {got!r} != {want!r} for {data!r}"
