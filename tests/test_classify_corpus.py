"""classify() over real log lines of the shared corpus: total, few generic or unknown causes."""

from __future__ import annotations

import pytest

from analyzer.classify import classify

from .conftest import corpus_path

GENERIC = ["reply.transient", "reply.permanent"]


@pytest.fixture(scope="module")
def classified():
    from analyzer import read_logs

    files = [
        corpus_path("lightmeter-controlcenter", "test_files", "postfix_logs",
                    "complete.tar.gz.extracted", "logs_sample", "mail.log"),
        corpus_path("pixelpark-postfix-logsums", "test", "mail.log.filtered-sample"),
        corpus_path("ddgrey", "mainlog.filtered-sample"),
        corpus_path("fail2ban"),
    ]
    files += sorted(corpus_path("exim-testsuite", "test", "log").glob("0*"))[:300]
    return classify(read_logs([str(f) for f in files], year=2024), rule_ids=True)


def test_corpus_classification_is_total(classified):
    """Every parsed corpus event gets a cause, outcome, severity and fix id."""
    for col in ("cause", "outcome", "severity", "fix_id"):
        assert classified[col].notna().all()


def test_corpus_unknown_and_generic_are_rare(classified):
    """Unknown causes stay under 1% and class-only causes under 5% of corpus events."""
    n = len(classified)
    unknown = int((classified["cause"] == "unknown").sum())
    generic = int(classified["cause"].isin(GENERIC).sum())
    print(f"{n} events: {unknown} unknown, {generic} class-only")
    assert unknown / n < 0.01
    assert generic / n < 0.05


def test_corpus_session_ends(classified):
    """Disconnects with QUIT are normal closes; lost connections are never normal closes."""
    quit_ = classified[(classified["event"] == "disconnect") & (classified["quit"] == True)]  # noqa: E712
    assert len(quit_) and (quit_["cause"] == "session.closed").all()
    lost = classified[classified["event"] == "lost_connection"]
    assert len(lost) and (lost["cause"] != "session.closed").all()
