"""The reports of a generated four-week rotated Postfix set equal their goldens: a per-day table of the days with
data, the slow attacks found, no quiet night reported as silence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden_update import GOLDEN, render_rotated


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_rotated()


@pytest.mark.parametrize("name", ["report-rotated.txt", "report-rotated.md", "report-rotated.json",
                                  "report-rotated.html"])
def test_rotated_report_matches_golden(rendered, name):
    """Each format of the 28-day report is byte for byte its golden (regenerate: python -m tests.golden_update)."""
    want = (GOLDEN / name).read_text(encoding="utf-8")
    assert rendered[name] == want, f"{name} differs from {Path(GOLDEN, name)}; run python -m tests.golden_update"


def test_rotated_report_is_per_day_and_sparse(rendered):
    """28 days of rotated logs: 28 day rows (no hourly rows of zeros), all 28 files read, three slow attacks."""
    r = json.loads(rendered["report-rotated.json"])
    tl = r["volumes"]["timeline"]
    assert tl["granularity"] == "day" and len(tl["rows"]) == 28 and tl["omitted"] == 0
    assert r["volumes"]["per_hour"] == []
    assert len(r["inputs"]) == 28
    slow = {f["entity"] for f in r["findings"] if f["detector"] == "long_window"}
    assert slow == {"198.18.7.7", "2001:db8:bad:1::/64", "198.19.44.44"}
    assert [f["detector"] for f in r["findings"]].count("silence") == 1
    text = rendered["report-rotated.txt"]
    assert "day (UTC)" in text and len(text.splitlines()) < 600
