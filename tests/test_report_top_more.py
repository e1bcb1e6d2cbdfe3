"""The "top N" tables say how many rows they left out ("… and N more"), in every format."""

from __future__ import annotations

from analyzer.classify import classify, default_rules
from analyzer.reader import parse_lines
from analyzer.report import build_report, render


def _night(clients: int, domains: int) -> list[str]:
    lines = []
    for i in range(clients):
        lines.append(f"Dec  1 10:{i % 60:02d}:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
                     f"c{i}.example[192.0.2.{i + 1}]: 554 5.7.1 <spam{i}@x.example>: Relay access denied; "
                     f"from=<a@b.example> to=<spam{i}@x.example> proto=ESMTP helo=<c{i}>")
    for i in range(domains):
        q = f"4F3A2B1C{i:02X}"
        lines.append(f"Dec  1 11:{i % 60:02d}:00 mx postfix/smtp[2]: {q}: to=<u@d{i}.example>, "
                     f"relay=mx.d{i}.example[198.51.100.{i + 1}]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
                     f"status=bounced (host mx.d{i}.example[198.51.100.{i + 1}] said: 550 5.1.1 <u@d{i}.example>: "
                     "Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))")
    return lines


def _report(clients: int, domains: int) -> dict:
    res = parse_lines(_night(clients, domains), year=2026, tz="UTC")
    ev = classify(res.events, default_rules())
    return build_report(ev, [], kb=default_rules(), counts=res.counts)


def test_top_tables_count_what_they_leave_out():
    r = _report(clients=14, domains=13)
    assert len(r["top"]["clients_by_rejects"]) == 10
    assert r["omitted"]["top.clients_by_rejects"] == 4
    assert len(r["top"]["destinations"]) == 10
    assert r["omitted"]["top.destinations"] == 3
    text, md, html = (render(r, f) for f in ("text", "markdown", "html"))
    for out in (text, md, html):
        assert "… and 4 more" in out and "… and 3 more" in out


def test_no_more_line_when_nothing_is_left_out():
    r = _report(clients=3, domains=2)
    assert not any(k.startswith("top.") for k in r["omitted"])
    assert "more" not in "\n".join(ln for ln in render(r, "text").splitlines() if ln.strip().startswith("…"))


def test_attack_findings_lead_with_the_attack_fix():
    """A slow dictionary attack is not 'add the missing address to the alias tables': the attack
    detectors' own steps come first, the cause's after (the rotated set's golden is the code's output,
    tests/test_golden_rotated.py keeps them equal)."""
    import json
    from pathlib import Path

    r = json.loads((Path(__file__).parent / "golden" / "report-rotated.json").read_text())
    attacks = [f for f in r["findings"] if f["detector"] in ("abuse", "long_window")]
    assert any("dictionary" in f["title"].lower() for f in attacks)
    for f in attacks:
        assert f["fix"][0].startswith("Block the client"), f["title"]
        assert not any(step.startswith("A single address") for step in f["fix"][:1])
