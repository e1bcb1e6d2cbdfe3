"""The report's diagnosis on the real-daemon sample logs: causes agree with their own example lines,
fixes match the direction, bookkeeping is no failure, counts are per message."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.classify import default_rules
from analyzer.explain import explain

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--tz", "UTC", "--year", "2026", "--now", "2026-12-02T06:00:00Z", "--format", "json"]
RUNS = {"postfix": ["sample_logs/postfix/"], "exim": ["sample_logs/exim/"],
        "both": ["sample_logs/postfix/", "sample_logs/exim/"]}
BOOKKEEPING = {"queue.frozen", "queue.run", "system.warning", "system.config_warning", "system.error",
               "system.fatal", "queue.admin", "queue.removed"}


#: causes whose only lines in the samples hold no reply text, so no example can be cited: Exim logs
#: 'unqualified sender/recipient rejected: <name>' without the 501 text it sent
TEXTLESS = {"client.sender_invalid", "client.address_invalid"}


@cache
def report(run: str) -> dict:
    from analyzer.cli import app

    res = CliRunner().invoke(app, ["report", *[str(ROOT / p) for p in RUNS[run]], *ARGS], catch_exceptions=False)
    return json.loads(res.stdout)


def line_at(file: str, line: int) -> str:
    path = Path(file)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for i, text in enumerate(f, 1):
            if i == line:
                return text.rstrip("\n")
    raise AssertionError(f"{file}:{line} not found")


def entries(run: str) -> list[dict]:
    return report(run)["outcomes"]["by_cause"]


@pytest.mark.parametrize("run", list(RUNS))
def test_every_cause_agrees_with_its_example_line(run):
    """Each failure cause's example line, pasted into `explain`, reads as that same cause."""
    by_cause = entries(run)
    assert len(by_cause) > 10
    for c in by_cause:
        ex = c["example"]
        if ex is None and c["cause"] in TEXTLESS:
            continue
        assert ex, c["cause"]
        pasted = line_at(ex["file"], ex["line"])
        got = explain(pasted)["cause"]
        assert got == c["cause"], (c["cause"], pasted)


@pytest.mark.parametrize("run", list(RUNS))
def test_fixes_are_the_directions_advice(run):
    """Each cause's fix is the fix of the knowledge-base entry for its direction (its fix_id)."""
    kb = default_rules()
    for c in entries(run):
        assert c["fix_id"] == kb.fix_for(c["cause"], c["direction"])
        assert c["fix"] == kb.causes[c["fix_id"]]["fix"]
        if c["direction"] == "inbound":
            assert not c["cause"].startswith(("reputation.", "auth.reverse_dns")), c
    inbound = {c["cause"] for c in entries("postfix") if c["direction"] == "inbound"}
    assert {"client.recipient_unknown", "client.relay_denied"} <= inbound


@pytest.mark.parametrize("run", list(RUNS))
def test_bookkeeping_is_no_failure_in_the_report(run):
    """Frozen/unfrozen, MTA warnings and errors, admin actions are listed as states, never as failures."""
    r = report(run)
    causes = {c["cause"] for c in r["outcomes"]["by_cause"]}
    assert not causes & BOOKKEEPING
    assert all(c["outcome"] in ("transient_failure", "permanent_failure") for c in r["outcomes"]["by_cause"])
    states = {c["cause"] for c in r["outcomes"]["states"]}
    if run != "postfix":
        assert {"queue.frozen", "system.warning"} <= states
        frozen = next(c for c in r["outcomes"]["states"] if c["cause"] == "queue.frozen")
        assert frozen["messages"] < frozen["lines"]  # one frozen message, logged at every queue run


def test_exim_volumes_count_deferred_messages_and_expiries_apart():
    """Exim: deferred counts messages (deferrals the lines); the retry-timeout give-up is expired, not bounced."""
    v = report("exim")["volumes"]
    assert v["deferrals"] > v["deferred"] > 0
    assert v["expired"] == 1  # connect-refused-expire: '** user@expire.example: retry timeout exceeded'
    pf = report("postfix")["volumes"]
    assert pf["deferrals"] > pf["deferred"] > 0 and pf["expired"] == 2
    both = report("both")["volumes"]
    for key in ("deferred", "deferrals", "expired", "bounced"):
        assert both[key] == v[key] + pf[key]


def test_exim_retry_waits_are_the_domains_cause_in_the_report():
    """In the Exim report no failure is a bare retry wait, and the 521 domain's waits count under host.no_mail."""
    by_cause = {c["cause"]: c for c in entries("exim")}
    assert "queue.retry_wait" not in by_cause and "queue.expired" not in by_cause
    assert by_cause["host.no_mail"]["direction"] == "outbound"
    dest = {d["domain"]: d for d in report("exim")["top"]["destinations"]}
    assert dest["expire.example"]["top_cause"] == "network.refused"
    assert dest["expire.example"]["failed_messages"] == 1 and dest["expire.example"]["failures"] > 1


def test_exim_reject_after_acl_expansion_failure_is_a_config_problem():
    """Exim's 'rejected MAIL <a@b>' with no reason, logged right after 'failed to expand ACL message',
    is our configuration's fault (the in-acl-panic scenario), with a pointer to the error line."""
    from analyzer.classify import classify
    from analyzer.reader import parse_lines

    ev = classify(parse_lines([
        "2026-12-01 21:18:02 failed to expand ACL message \"${lookup{$sender_address}lsearch{/etc/exim4/x}}\": "
        "failed to open /etc/exim4/x for linear search: No such file or directory",
        "2026-12-01 21:18:02 H=(outside-client.sender.example) [127.0.0.66]:43589 rejected MAIL <trigger@p.example>",
        "2026-12-01 21:18:03 H=(c.example) [127.0.0.67]:43590 rejected MAIL <other@p.example>",
    ]).events)
    r = ev.iloc[1]
    assert (r["cause"], r["direction"], r["cause_ref"]) == ("local.config", "inbound", "<lines>:1")
    assert r["severity"] == "critical"
    assert ev.iloc[2]["cause"] != "local.config"  # the next line is not explained by an error two lines up
