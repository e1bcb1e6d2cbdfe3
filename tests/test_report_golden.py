"""Golden reports over sample_logs/ in every format (regenerate: python -m tests.golden_update)."""

from __future__ import annotations

import difflib

import pytest

from tests.golden_update import ARGS, GOLDEN, INCIDENT_ARGS, ROOT, render_all, render_incidents


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    if not any(p.is_file() and "expected" not in p.relative_to(ROOT).parts[:2]
               for p in (ROOT / "sample_logs").rglob("*")):
        pytest.skip("sample_logs/ has no logs")
    return render_all()


@pytest.mark.parametrize("name", ["report.txt", "report.md", "report.json", "report.html"])
def test_report_matches_golden(rendered, name):
    """`maillens report sample_logs/postfix/` gives exactly the reviewed golden file."""
    path = GOLDEN / name
    assert path.exists(), f"{path} is missing; run python -m tests.golden_update"
    want = path.read_text(encoding="utf-8")
    got = rendered[name]
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), f"golden/{name}",
                                            "now", n=2))
        pytest.fail(f"maillens {' '.join(ARGS)} differs from {name} "
                    f"(if the change is intended: python -m tests.golden_update)\n{diff[:6000]}")


def test_golden_reports_are_redacted_and_self_contained(rendered):
    """The goldens carry no original sample address and the HTML loads nothing from elsewhere."""
    html = rendered["report.html"]
    assert "<script" not in html and 'src="http' not in html and "<link" not in html
    assert "u-" in rendered["report.json"] or '"senders": []' in rendered["report.json"]


@pytest.fixture(scope="module")
def incidents() -> dict[str, str]:
    return render_incidents()


@pytest.mark.parametrize("name", ["report-incidents.txt", "report-incidents.md"])
def test_incident_report_matches_golden(incidents, name):
    """A generated day with injected incidents renders its findings exactly as reviewed."""
    want = (GOLDEN / name).read_text(encoding="utf-8")
    got = incidents[name]
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), name, "now", n=2))
        pytest.fail(f"maillens {' '.join(INCIDENT_ARGS)} differs from {name} "
                    f"(if the change is intended: python -m tests.golden_update)\n{diff[:6000]}")
