"""The peers' sections in the report: present for each MTA, capped with "and N more", shown and
escaped in text, Markdown, HTML and JSON."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analyzer.reader import parse_logs
from analyzer.report import make_report, render
from analyzer.report.peers import (
    EX_SECTIONS,
    PF_SECTIONS,
    TOP,
    peer_sections,
)
from analyzer.report.peers_render import html_fragment, markdown_lines, text_lines
from tests.conftest import SAMPLES

EVIL = "<script>alert(1)</script>|*x*[a](http://e.test)"


@pytest.fixture(scope="module")
def report():
    res = parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026)
    return make_report(res, generated_at=pd.Timestamp("2026-12-02T06:00:00Z"))


def test_every_peer_section_is_in_the_report(report):
    """Postfix and Exim logs together give pflogsumm's and eximstats' sections, each with its definition."""
    ids = [s["id"] for s in report["peers"]]
    assert ids == [f"pflogsumm.{k[0]}" for k in PF_SECTIONS] + [f"eximstats.{k[0]}" for k in EX_SECTIONS]
    for s in report["peers"]:
        assert s["definition"] and s["peer_title"]
        assert s["rows"], s["id"]
        keys = [c["key"] for c in s["columns"]]
        assert all(list(r) == keys for r in s["rows"]), s["id"]
        assert s["more"] == s["rows_total"] - len(s["rows"])


def test_sections_are_capped_with_a_count_of_the_rest():
    """With top=2 a long section keeps two rows (per kind for rejects) and says how many more there are."""
    ev = parse_logs([str(SAMPLES / "postfix")], tz="UTC", year=2026).events
    secs = {s["id"]: s for s in peer_sections(ev, top=2)}
    rec = secs["pflogsumm.recipients_by_count"]
    assert len(rec["rows"]) == 2 and rec["more"] == rec["rows_total"] - 2 > 0
    rej = secs["pflogsumm.rejects"]
    assert max(pd.Series([r["kind"] for r in rej["rows"]]).value_counts()) <= 2
    lines = text_lines({"peers": list(secs.values())})
    assert f"  … and {rec['more']:,} more" in lines


def test_empty_input_has_no_peer_sections():
    """No events, no sections (and no error)."""
    ev = parse_logs([str(SAMPLES / "postfix")], tz="UTC", year=2026).events.iloc[0:0]
    assert peer_sections(ev) == []
    assert text_lines({"peers": []}) == [] and markdown_lines({"peers": []}) == []


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_shows_the_sections(report, fmt):
    """Each format names every section and shows its first row's figures."""
    out = render(report, fmt)
    for s in report["peers"]:
        assert s["title"] in out or s["title"].upper() in out, (fmt, s["id"])
    if fmt == "json":
        assert json.loads(out)["peers"] == json.loads(json.dumps(report["peers"]))
    top = next(s for s in report["peers"] if s["id"] == "pflogsumm.senders_by_count")["rows"][0]
    assert top["sender"] in out and f"{top['messages']:,}" in out


def test_log_text_is_escaped_in_markdown_and_html():
    """A hostile value in a row cannot become markup: escaped in HTML and Markdown, one line in text."""
    sec = {"id": "pflogsumm.warnings", "mta": "postfix", "peer": "pflogsumm", "peer_title": "Warnings",
           "title": "Warnings by daemon and text", "definition": "d", "difference": None,
           "columns": [{"key": "daemon", "label": "daemon"}, {"key": "text", "label": "warning"},
                       {"key": "count", "label": "lines"}],
           "rows": [{"daemon": "smtpd", "text": EVIL + "\nsecond line", "count": 3}], "rows_total": 1, "more": 0}
    html = str(html_fragment({"peers": [sec]}))
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = "\n".join(markdown_lines({"peers": [sec]}))
    assert "<script>" not in md and "\\|" in md and "\\[a\\]" in md
    row = next(line for line in md.splitlines() if "smtpd" in line)
    assert row.count(" | ") == 2  # the '|' in the text cannot open a column
    text = "\n".join(text_lines({"peers": [sec]}))
    assert "second line" in text and "\nsecond line" not in text


def test_top_is_the_documented_default(report):
    """Sections hold at most TOP rows (per daemon/kind where grouped)."""
    for s in report["peers"]:
        group = {"pflogsumm.warnings": "daemon", "pflogsumm.rejects": "kind", "eximstats.rejects": "kind"}.get(s["id"])
        if group:
            assert max(pd.Series([r[group] for r in s["rows"]]).value_counts()) <= TOP
        elif not s["id"].endswith(("volumes", "queue_times", "transports")):
            assert len(s["rows"]) <= TOP


def test_totals_and_sections_share_one_frame_and_forget_it(monkeypatch):
    """The report's peer totals and peer sections read one frame per MTA, dropped with the events table."""
    import gc

    from analyzer import totals

    calls = []
    real = totals._pf_frame
    monkeypatch.setattr(totals, "_pf_frame", lambda ev: calls.append(1) or real(ev))
    ev = parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026).events
    totals.peer_totals(ev)
    peer_sections(ev)
    assert len(calls) == 1
    assert {"mta", "pflogsumm", "eximstats"} <= set(totals._LAST)
    del ev
    gc.collect()
    assert not {"mta", "pflogsumm", "eximstats"} & set(totals._LAST)


def test_redaction_leaves_titles_and_definitions_readable():
    """--redact pseudonymises log values in the rows, never the sections' own words."""
    from analyzer.report import Redactor

    res = parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026)
    r = make_report(res, generated_at=pd.Timestamp("2026-12-02T06:00:00Z"), redact=Redactor("k", ips=True))
    spec = {f"{peer}.{k[0]}": k for peer, sections in (("pflogsumm", PF_SECTIONS), ("eximstats", EX_SECTIONS))
            for k in sections}
    for s in r["peers"]:
        _, peer_title, title, columns, definition, difference = spec[s["id"]]
        assert (s["peer_title"], s["title"], s["definition"], s["difference"]) == \
            (peer_title, title, definition, difference), s["id"]
        assert s["columns"] == columns
    senders = next(s for s in r["peers"] if s["id"] == "pflogsumm.senders_by_count")
    assert all(row["sender"].startswith("u-") for row in senders["rows"])


def test_dictionary_encoded_columns_give_the_same_sections():
    """Events whose text columns are dictionary-encoded (as a store may hand them) give the same sections."""
    ev = parse_logs([str(SAMPLES / "exim")], tz="UTC", year=2026).events
    coded = ev.copy()
    for name in ("program", "event", "status", "relay_host", "mta"):
        coded[name] = ev[name].astype("category")
    assert peer_sections(coded) == peer_sections(ev)
