"""The HTML report in a real browser (headless Chromium): charts render, log text stays text."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.report.charts import COLORS
from tests.test_report import EXIM, FIXED, POSTFIX

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs the Debian "
                                                          "package: apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    (tmp / "mainlog").write_text(EXIM)
    (tmp / "mail.log").write_text(POSTFIX)
    target = tmp / "report.html"
    res = CliRunner().invoke(app, ["report", str(tmp / "mainlog"), str(tmp / "mail.log"), *FIXED,
                                   "-f", "html", "-o", str(target)])
    assert res.exit_code == 0, res.output
    return target


def chromium(page: Path, *args: str) -> str:
    profile = page.parent / f"profile-{len(args)}"
    res = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def dom(page) -> str:
    return chromium(page, "--dump-dom")


def test_script_in_an_address_is_shown_as_text_and_never_runs(dom):
    """A sender "<script>document.title='pwned'</script>"@x.test is text in the DOM; the title is unchanged."""
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and title.group(1).startswith("maillens report") and "pwned" not in title.group(1)
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "<script" not in dom


def test_charts_are_in_the_rendered_dom(dom):
    """The three inline SVG charts are in the DOM the browser built, with bars."""
    charts = re.findall(r'<svg[^>]*id="(chart-[a-z]+)"[^>]*>(.*?)</svg>', dom, re.S)
    assert [c[0] for c in charts] == ["chart-volume", "chart-causes", "chart-destinations"]
    assert all("<rect" in body for _, body in charts)


def test_charts_are_painted(page, tmp_path):
    """A screenshot of the page has the chart colours for delivered and bounced mail."""
    pil = pytest.importorskip("PIL.Image")  # Pillow: a test dependency (matplotlib is not needed)
    import numpy as np

    shot = tmp_path / "shot.png"
    chromium(page, f"--screenshot={shot}", "--window-size=1200,4000")
    img = np.asarray(pil.open(shot).convert("RGB")).astype(int)
    for name in ("delivered", "bounced"):
        rgb = [int(COLORS[name][i:i + 2], 16) for i in (1, 3, 5)]
        hits = (abs(img - rgb).sum(axis=-1) <= 6).sum()
        assert hits > 50, f"no {name} bars painted"
