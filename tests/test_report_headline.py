"""The headline comes first in every format and says what matters; severity means "act now, our side";
the rendering faults of issue 14 stay fixed."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from analyzer.anomalies import default_params, detect_anomalies
from analyzer.classify import classify
from analyzer.reader import ParseResult, parse_lines, parse_logs
from analyzer.report import ReportWindow, make_report, render
from analyzer.report.headline import headline
from bench.generate_logs import generate
from tests.golden_update import GOLDEN, ROOT

SAMPLE = ROOT / "sample_logs"
PER_RECIPIENT = set(default_params()["severity"]["per_recipient"])


def _golden(name: str) -> str:
    path = GOLDEN / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report_json() -> dict:
    return json.loads(_golden("report.json"))


def test_json_headline_is_the_first_key_after_the_version(report_json):
    """In the golden JSON the headline is the first key after schema_version, with volumes and items."""
    assert list(report_json)[:2] == ["schema_version", "headline"]
    h = report_json["headline"]
    assert [v["kind"] for v in h["volumes"]] == ["received", "delivered", "deferred", "bounced", "rejected"]
    assert {v["kind"]: v["count"] for v in h["volumes"]} == {k: report_json["volumes"][k] for k in
                                                             ("received", "delivered", "deferred", "bounced",
                                                              "rejected")}
    assert 1 <= len(h["items"]) <= 3 and all(i["fix"] for i in h["items"])
    # full paths in JSON, short basename:line in the paragraph
    assert all(e["file"].startswith("sample_logs/postfix/") for i in h["items"] for e in i["evidence"])
    assert "(mail.log.1:116)" in h["text"] and "sample_logs/" not in h["text"]


@pytest.mark.parametrize("name", ["report.txt", "report-incidents.txt", "report-rotated.txt"])
def test_text_headline_is_the_first_paragraph(name, report_json):
    """The text reports open with the title line, then the headline paragraph, before any section."""
    text = _golden(name)
    paragraphs = text.split("\n\n")
    first = " ".join(paragraphs[1].split("\n"))
    assert paragraphs[0].startswith("maillens report")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d.* UTC on \S+: received [\d,]+, delivered", first)
    assert first.endswith(("Nothing else unusual.", "below.", "Nothing unusual."))
    assert text.index(first.split(" ")[0]) < text.index("ANOMALIES") < text.index("VOLUMES")
    if name == "report.txt":
        assert first == report_json["headline"]["text"]


@pytest.mark.parametrize("name", ["report.md", "report-incidents.md", "report-rotated.md"])
def test_markdown_headline_follows_the_title(name):
    """Markdown: the heading, then the headline paragraph, then the rest; parentheses unescaped."""
    lines = _golden(name).split("\n")
    assert lines[0].startswith("# maillens report") and lines[1] == ""
    assert re.match(r"\d{4}-\d\d-\d\d .* UTC on \S+: received", lines[2])
    assert lines.index("## Anomalies") > 2
    assert "\\(" not in _golden(name) and "\\)" not in _golden(name)


class _Order(HTMLParser):
    """The ids and tags of a page's body, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        self.seen.append(f"{tag}#{d['id']}" if d.get("id") else tag)


def test_html_headline_is_the_first_thing_after_the_title():
    """HTML: the headline section is the first element after the h1, before the findings and volumes."""
    p = _Order()
    p.feed(_golden("report.html"))
    body = p.seen[p.seen.index("body") + 1:]
    assert body[:3] == ["h1", "section#headline", "p"]
    assert body.index("section#headline") < body.index("h2#anomalies") < body.index("h2#volumes")


def test_headline_compares_with_a_baseline_and_says_nothing_else():
    """With a baseline the paragraph gives "usually" figures scaled to the window, and with no
    finding left after the ones shown it ends with "Nothing else unusual."."""
    r = {"window": {"first_event": "2026-11-28T00:00:00Z", "last_event": "2026-11-28T23:00:00Z"},
         "servers": [{"name": "mx1"}],
         "volumes": {"received": 90, "delivered": 80, "deferred": 5, "bounced": 2, "rejected": 7},
         "baseline": {"source": "history", "events": 900,
                      "expected": {"counts": {"received": 100.0, "delivered": 95.0, "deferred": 3.0, "bounced": 1.5,
                                              "rejected": 7.0}}},
         "findings": [{"severity": "critical", "title": "Sending IP on a blocklist", "fix": ["Delist. Then wait."],
                       "evidence": [{"file": "/var/log/mail.log", "line": 12}], "fingerprint": "f1",
                       "cause": "reputation.ip_listed"}],
         "outcomes": {"by_cause": []}}
    h = headline(r)
    assert "received 90 (usually 100)" in h["text"] and "bounced 2 (usually 1.5)" in h["text"]
    assert "(1) CRITICAL: Sending IP on a blocklist (mail.log:12) — fix: Delist." in h["text"]
    assert h["text"].endswith("Nothing else unusual.") and h["nothing_else"]
    r["findings"] += [dict(r["findings"][0], fingerprint=f"f{i}", severity="warning", cause=f"c{i // 2}")
                      for i in range(2, 6)]  # causes c1, c1, c2, c2: one item per cause
    h = headline(r)
    assert [i["finding"] for i in h["items"]] == ["f1", "f2", "f4"]
    assert h["more_findings"] == 2 and h["text"].endswith("2 more findings below.")
    r["omitted"] = {"findings": 10}  # a size cap cut ten more: they count too
    assert headline(r)["text"].endswith("12 more findings below.")


def test_expected_volumes_scale_a_longer_history_to_the_window(tmp_path):
    """A history of several days predicts the window's volumes in proportion to the spans; a history
    shorter than the window predicts nothing."""
    from analyzer.report.headline import expected_volumes

    hist = pd.DataFrame({"ts": pd.date_range("2026-11-20", periods=8 * 24, freq="h", tz="UTC"),
                         "event": "received", "status": None})
    window = pd.DataFrame({"ts": pd.date_range("2026-11-28", periods=24, freq="h", tz="UTC")})
    exp = expected_volumes(hist, window)
    assert exp["counts"]["received"] == pytest.approx(8 * 24 * 23 / (8 * 24 - 1), rel=0.01)
    assert exp["counts"]["delivered"] == 0
    assert expected_volumes(hist.head(5), window) is None


def test_an_empty_history_is_not_called_a_baseline(tmp_path):
    """A history that held no event before the window prints "Baseline: none", never "history."."""
    res = parse_lines(["Nov 28 03:00:00 mx1 postfix/smtpd[1]: connect from a.example[192.0.2.1]"], source="m.log",
                      year=2026, tz="UTC")
    empty = res.events.iloc[0:0]
    r = make_report(res, baseline=empty)
    for fmt in ("text", "markdown", "html"):
        out = render(r, fmt)
        assert "Baseline: none" in out and "Baseline: history" not in out


@pytest.fixture(scope="module")
def sample_report() -> dict:
    dirs = [str(SAMPLE / d) for d in ("postfix", "exim") if (SAMPLE / d).is_dir()]
    if not dirs:
        pytest.skip("sample_logs/ is not there")
    return make_report(parse_logs(dirs, tz="UTC", year=2026))


def test_findings_never_read_observed_expected_dash(sample_report):
    """No card says "expected -": without an expected value it says so in words."""
    r = dict(sample_report)
    r["findings"] = [*sample_report["findings"],
                     {"fingerprint": "c0ffee", "severity": "warning", "title": "Destination x.example refuses 100% of "
                      "our mail (20 of 20)", "detector": "concentration", "window_start": "2026-12-01T21:00:00Z",
                      "window_end": "2026-12-01T21:10:00Z", "entity": "x.example", "observed": 1.0, "expected": None,
                      "evidence": [{"file": "/var/log/mail.log", "line": 3}], "cause": "network.refused",
                      "fix": ["Test it."], "detail": "", "unit": "share", "entities": [], "reason": "",
                      "servers": []}]
    for fmt in ("text", "markdown", "html"):
        out = render(r, fmt)
        assert "expected -" not in out and "expected \\-" not in out
        assert "100.0%; nothing earlier to compare with" in out


def test_examples_are_lines_that_mean_something(sample_report):
    """Every example of a cause is words: never "-", a bare host name or a base64 SASL prompt."""
    for c in sample_report["outcomes"]["by_cause"]:
        ex = c["example"]
        if ex is None:
            continue
        t = ex["text"].strip()
        assert t != "-" and " " in t and not re.fullmatch(r"[A-Za-z0-9+/=]+", t), (c["cause"], t)


def test_null_sender_shows_as_angle_brackets(sample_report):
    """The null sender's row in the top senders reads <> in every format, not a blank cell."""
    senders = [x["sender"] for x in sample_report["top"]["senders"]]
    if "" not in senders:
        pytest.skip("no bounce from the null sender in these logs")
    assert re.search(r"^  <>\s+\d", render(sample_report, "text"), re.M)
    assert re.search(r"^\| \\<\\> \|", render(sample_report, "markdown"), re.M)
    assert "<code>&lt;&gt;</code>" in render(sample_report, "html")


def test_cause_chart_has_a_bar_for_every_table_row(sample_report):
    """The cause chart and the cause table come from one list: same causes, same order."""
    html = render(sample_report, "html")
    chart = re.search(r'<svg[^>]*id="chart-causes".*?</svg>', html, re.S).group(0)
    bars = re.findall(r'<rect class="bar" data-label="([^"]*)"', chart)
    rows = re.findall(r'<tr data-cause="([^"]*)">', html)
    assert bars == rows == [c["cause"] for c in sample_report["outcomes"]["by_cause"]]
    assert len(rows) > 10  # the chart is not capped below the table (it once dropped a cause the table ranked)


# ------------------------------------------------------------------------------------------------
# severity


def test_no_critical_finding_has_a_per_recipient_cause_on_sample_logs(sample_report):
    """On sample_logs no critical finding has a per-recipient cause, and every critical has its reason."""
    for f in sample_report["findings"]:
        if f["severity"] == "critical":
            assert f["cause"] not in PER_RECIPIENT and f["reason"], f["title"]


DOMAINS = [f"d{i}.example" for i in range(7)]


def _night() -> list[str]:
    """Normal deliveries for six hours, then in one hour seven destinations each refusing 25 single
    recipients: unknown users at four of them, full mailboxes at three."""
    lines, n = [], 0
    for h in range(6):
        for m in range(0, 60, 3):
            n += 1
            lines.append(f"Nov 28 {h:02d}:{m:02d}:10 mx1 postfix/smtp[200]: {n:010X}: to=<ok{n}@good.example>, "
                         f"relay=mx.good.example[192.0.2.10]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, "
                         f"status=sent (250 2.0.0 Ok: queued as X{n})")
    for i, dom in enumerate(DOMAINS):
        full = i >= 4
        for k in range(25):
            n += 1
            reply = (f"552 5.2.2 <u{k}@{dom}>: Mailbox full" if full
                     else f"550 5.1.1 <u{k}@{dom}>: Recipient address rejected: User unknown in virtual mailbox table")
            lines.append(f"Nov 28 06:{2 * i:02d}:{k:02d} mx1 postfix/smtp[201]: {n:010X}: to=<u{k}@{dom}>, "
                         f"relay=mx.{dom}[192.0.2.{20 + i}]:25, delay=0.4, delays=0.1/0/0.1/0.2, "
                         f"dsn={'5.2.2' if full else '5.1.1'}, status=bounced (host mx.{dom}[192.0.2.{20 + i}] "
                         f"said: {reply} (in reply to RCPT TO command))")
    return lines


@pytest.fixture(scope="module")
def night():
    return classify(parse_lines(_night(), source="night.log", year=2026, tz="UTC").events)


def test_seven_destinations_refusing_single_recipients_are_one_finding_per_cause(night):
    """Seven destinations refusing unknown users and full mailboxes: without the policy the detectors
    name each destination (some critical); with it there is one non-critical finding per cause
    listing its destinations, and no destination-level finding for these causes."""
    raw_params = default_params()
    del raw_params["severity"]
    raw = [f for f in detect_anomalies(night, params=raw_params)
           if f.cause in ("mailbox.unknown", "mailbox.full") and f.entity in DOMAINS]
    assert len({f.entity for f in raw}) == 7 and any(f.severity == "critical" for f in raw)

    found = detect_anomalies(night)
    assert not [f for f in found if f.severity == "critical"]
    assert not [f for f in found if f.entity in DOMAINS]
    groups = {f.cause: f for f in found if f.detector == "per_recipient"}
    assert set(groups) == {"mailbox.unknown", "mailbox.full"}
    assert sorted(groups["mailbox.unknown"].entities) == DOMAINS[:4]
    assert sorted(groups["mailbox.full"].entities) == DOMAINS[4:]
    assert all(g.severity != "critical" and g.fix and g.evidence for g in groups.values())
    assert "4 destinations" in groups["mailbox.unknown"].title


def test_the_night_report_headline_names_no_critical(night):
    """The whole report of that night: no critical anywhere, and the headline says what it is."""
    r = make_report(ParseResult(night, None, [], []))
    assert r["summary"]["critical"] == 0
    assert "CRITICAL" not in r["headline"]["text"] and "single recipients refused" in r["headline"]["text"]


def test_sasl_attack_that_succeeds_becomes_critical():
    """Brute force from one address that then logs in is critical; the same attack without the login
    stays a warning (it neither succeeded nor lasted)."""
    fails = [f"Nov 28 10:{m:02d}:{s:02d} mx1 postfix/smtpd[300]: warning: unknown[203.0.113.9]: SASL LOGIN "
             f"authentication failed: UGFzc3dvcmQ6, sasl_username=user{m}" for m in range(0, 20) for s in (5, 35)]
    login = ["Nov 28 10:40:00 mx1 postfix/smtpd[300]: 0A1B2C3D4F: client=unknown[203.0.113.9], sasl_method=LOGIN, "
             "sasl_username=alice"]
    found = {}
    for name, lines in (("failed", fails), ("succeeded", fails + login)):
        ev = classify(parse_lines(lines, source="auth.log", year=2026, tz="UTC").events)
        found[name] = [f for f in detect_anomalies(ev) if f.detector == "abuse"]
    assert [f.severity for f in found["failed"]] == ["warning"]
    assert [f.severity for f in found["succeeded"]] == ["critical"]
    assert "logged in" in found["succeeded"][0].reason


def test_severity_rules_are_documented_data():
    """The [severity] rules live in anomalies.toml with a comment above every key."""
    text = (ROOT / "analyzer" / "anomalies.toml").read_text()
    section = text[text.index("[severity]"):]
    for key in default_params()["severity"]:
        i = section.index(f"\n{key} =")
        assert "#" in section[max(0, i - 300):i], f"[severity] {key} has no comment"


def test_a_site_file_can_turn_the_policy_rule_off(tmp_path):
    """A site file overriding per_recipient to [] brings the destination findings back."""
    from analyzer.anomalies import load_params

    site = tmp_path / "site.toml"
    site.write_text("[severity]\nper_recipient = []\ndestination_detectors = []\n")
    ev = classify(parse_lines(_night(), source="night.log", year=2026, tz="UTC").events)
    found = detect_anomalies(ev, params=load_params(site))
    assert {f.entity for f in found if f.entity in DOMAINS} == set(DOMAINS)


def test_the_sample_night_has_no_per_recipient_destination_finding():
    """On all of sample_logs, no finding names a destination for a per-recipient cause."""
    dirs = [str(SAMPLE / d) for d in ("postfix", "postfix-syslog", "exim") if (SAMPLE / d).is_dir()]
    if not dirs:
        pytest.skip("sample_logs/ is not there")
    ev = classify(parse_logs(dirs, tz="UTC", year=2026).events)
    for f in detect_anomalies(ev):
        assert not (f.cause in PER_RECIPIENT and f.detector in ("failure_spike", "concentration",
                                                                "deferral_buildup")), f.title
        assert not (f.severity == "critical" and f.cause in PER_RECIPIENT), f.title


def test_schema_documents_the_new_fields():
    """SCHEMA.md names the headline and the findings' entities and reason."""
    schema = (Path(__file__).resolve().parent.parent / "analyzer" / "report" / "SCHEMA.md").read_text()
    for word in ("`headline`", "`items`", "`usual`", "`entities`", "`reason`", "`expected`"):
        assert word in schema


@pytest.mark.parametrize("name", ["weekly.txt", "weekly.md", "weekly.json", "weekly.html"])
def test_weekly_report_shows_the_headline_first(name):
    """The weekly golden files open with the headline too: the week's volumes against the baseline."""
    text = _golden(name)
    start = text.index("Week 2026-W48 (2026-11-23 to 2026-11-29 UTC) on 2 servers: received")
    if name == "weekly.json":
        assert list(json.loads(text))[:2] == ["schema_version", "headline"]
    elif name == "weekly.html":
        assert text.index("<h1>") < text.index('id="headline"') < start < text.index("<h2")
    else:
        first_section = text.index("Volumes")
        assert start < first_section and "(usually 2,038)" in text[start:first_section]


def test_sasl_attack_that_comes_back_hours_later_becomes_critical():
    """Two bursts from one address seven hours apart: the attack persisted, so it is critical."""
    burst = [f"Nov 28 {h:02d}:{m:02d}:{s:02d} mx1 postfix/smtpd[300]: warning: unknown[203.0.113.9]: SASL LOGIN "
             f"authentication failed: UGFzc3dvcmQ6, sasl_username=user{m}" for h in (2, 9) for m in range(0, 20)
             for s in (5, 35)]
    ev = classify(parse_lines(burst, source="auth.log", year=2026, tz="UTC").events)
    found = [f for f in detect_anomalies(ev) if f.detector == "abuse"]
    assert len(found) == 2 and {f.severity for f in found} == {"critical"}
    assert all("lasted 7" in f.reason for f in found)


def test_evidence_is_short_in_text_markdown_html_and_full_in_json(sample_report):
    """Findings' evidence reads basename:line in text, Markdown and HTML (the full path in the HTML
    title), and keeps the path as given in JSON."""
    f = next(f for f in sample_report["findings"] if f["evidence"])
    e = f["evidence"][0]
    assert "/" in e["file"]
    short = f"{Path(e['file']).name}:{e['line']}"
    text = render(sample_report, "text")
    ev_lines = [ln for ln in text.splitlines() if ln.strip().startswith("evidence:")]
    assert ev_lines and all("/" not in ln for ln in ev_lines) and short in ev_lines[0]
    md_lines = [ln for ln in render(sample_report, "markdown").splitlines() if ln.startswith("- **Evidence:**")]
    assert md_lines and all("/" not in ln for ln in md_lines)
    assert f'<code title="{e["file"]}">{short}</code>' in render(sample_report, "html")
    assert json.loads(render(sample_report, "json"))["findings"][0]["evidence"][0]["file"] == \
        sample_report["findings"][0]["evidence"][0]["file"]


def test_input_before_the_window_gives_the_usual_volumes(tmp_path):
    """A day's log cut at noon: the morning is the baseline, and the headline says what is usual for
    the afternoon (the morning's counts scaled by the two spans)."""
    path = tmp_path / "mail.log"
    generate(mta="postfix", lines=3000, seed=1, out=path)
    res = parse_logs([str(path)], tz="UTC", year=2026)
    r = make_report(res, window=ReportWindow(since=pd.Timestamp("2026-11-28T12:00:00Z")))
    exp = r["baseline"]["expected"]
    assert r["baseline"]["source"] == "input before the window" and exp is not None
    usual = {v["kind"]: v["usual"] for v in r["headline"]["volumes"]}
    assert usual == exp["counts"] and usual["received"] > 0
    assert f"received {r['volumes']['received']:,} (usually " in r["headline"]["text"]
    assert "no baseline" not in r["headline"]["text"]


def test_rotated_28_day_set_headline_first_and_no_per_recipient_critical():
    """The generated 28-day rotated set's golden JSON: headline first, and no critical finding
    whose cause is per-recipient (the [severity] rules' list)."""
    import json

    from analyzer.anomalies.params import default_params

    r = json.loads(_golden("report-rotated.json"))
    assert list(r)[:2] == ["schema_version", "headline"]
    per_rcpt = set(default_params()["severity"]["per_recipient"])
    assert per_rcpt
    assert not [f["title"] for f in r["findings"] if f["severity"] == "critical" and f["cause"] in per_rcpt]
    html = _golden("report-rotated.html")
    assert html.index('id="headline"') < html.index("<h2")
