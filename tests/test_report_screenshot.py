"""The HTML report as a reader first sees it, in headless Chromium: the headline at the top of the
first screen, and the cause chart with one bar per row of the table beside it.

Two views of the same page: a layout dump (a copy of the page with a script that records
getBoundingClientRect of the headline, the body's blocks, the chart's bars and the table's rows,
read back with --dump-dom; the report itself forbids scripts), and screenshots checked pixel by
pixel (Pillow, a test dependency). Skipped only when chromium is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analyzer.reader import parse_logs
from analyzer.report import make_report, render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs the Debian "
                                                          "package: apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--force-device-scale-factor=1"]
SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"
VIEWPORT = (1200, 900)
HEADLINE_BG = (0xFF, 0xF4, 0xCE)  # .headline background in templates/report.html.j2
BAR = (0xC6, 0x28, 0x28)          # the cause chart's bar colour (charts.bar_chart default)

LAYOUT_SCRIPT = """<script>
(function () {
  function box(e) {
    var b = e.getBoundingClientRect();
    return {top: b.top + window.scrollY, bottom: b.bottom + window.scrollY, left: b.left, width: b.width,
            height: b.height};
  }
  var out = {
    viewport: window.innerHeight,
    height: document.documentElement.scrollHeight,
    headline: box(document.getElementById('headline')),
    blocks: Array.prototype.map.call(document.body.children, function (e) {
      return {tag: e.tagName.toLowerCase(), id: e.id, top: box(e).top, height: box(e).height};
    }),
    chart: box(document.getElementById('chart-causes')),
    bars: Array.prototype.map.call(document.querySelectorAll('#chart-causes rect.bar'), function (e) {
      var b = box(e); b.label = e.getAttribute('data-label'); return b;
    }),
    rows: Array.prototype.map.call(document.querySelectorAll('#table-causes tr[data-cause]'), function (e) {
      return e.getAttribute('data-cause');
    })
  };
  var pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def chromium(url: str, profile: Path, *args: str) -> str:
    res = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url],
                         capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The HTML report of sample_logs' Postfix and Exim nights (findings, a dozen causes)."""
    dirs = [str(SAMPLE / d) for d in ("postfix", "exim") if (SAMPLE / d).is_dir()]
    if not dirs:
        pytest.skip("sample_logs/ is not there")
    target = tmp_path_factory.mktemp("shot") / "report.html"
    target.write_text(render(make_report(parse_logs(dirs, tz="UTC", year=2026)), "html"), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def layout(page) -> dict:
    """Boxes of the page's parts as Chromium lays them out in a 1200x900 window."""
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)  # let the probe run
    probe = page.with_name("probe.html")
    probe.write_text(html.replace("</body>", LAYOUT_SCRIPT + "</body>"), encoding="utf-8")
    dom = chromium(probe.as_uri(), page.parent / "profile-dom", "--dump-dom", "--virtual-time-budget=5000",
                   f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}")
    m = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert m, "the layout probe did not run"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def _pixels(shot: Path):
    image = pytest.importorskip("PIL.Image")  # Pillow: a test dependency
    import numpy as np

    return np.asarray(image.open(shot).convert("RGB")).astype(int)


def _near(img, rgb, tol: int = 6):
    return abs(img - list(rgb)).sum(axis=-1) <= tol


def test_headline_is_the_first_block_and_fully_on_the_first_screen(layout):
    """Laid out, the headline is the first block after the title and ends inside the first 900 px."""
    blocks = [b for b in layout["blocks"] if b["height"] > 0 and b["tag"] != "pre"]
    assert [b["tag"] for b in blocks[:2]] == ["h1", "section"] and blocks[1]["id"] == "headline"
    h = layout["headline"]
    assert 0 < h["top"] < 150 and h["bottom"] <= layout["viewport"] and h["height"] > 40
    assert all(h["top"] < b["top"] for b in blocks[2:])


def test_headline_is_painted_at_the_top_of_the_first_screen(page, layout, tmp_path):
    """In a screenshot of the first screen, the headline's box (its background colour) starts near the
    top, where the layout put it, and is whole (top and bottom edges both on screen)."""
    shot = tmp_path / "first.png"
    chromium(page.as_uri(), tmp_path / "profile", f"--screenshot={shot}",
             f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}")
    img = _pixels(shot)
    assert img.shape[0] == VIEWPORT[1]
    ys, _xs = _near(img, HEADLINE_BG).nonzero()
    assert len(ys) > 20000, "no headline box painted on the first screen"
    top, bottom = int(ys.min()), int(ys.max())
    assert abs(top - layout["headline"]["top"]) <= 6 and bottom < VIEWPORT[1] - 1
    assert bottom - top >= layout["headline"]["height"] - 12


def test_chart_categories_equal_the_table_rows(layout):
    """The chart's bars (their data-label) are the table's rows, same causes in the same order."""
    labels = [b["label"] for b in layout["bars"]]
    assert labels == layout["rows"] and len(labels) >= 10


def test_chart_paints_one_bar_per_table_row(page, layout, tmp_path):
    """Counted in a screenshot of the whole page: the cause chart shows as many bars as the table rows."""
    shot = tmp_path / "full.png"
    height = int(layout["height"]) + 50
    chromium(page.as_uri(), tmp_path / "profile", f"--screenshot={shot}", f"--window-size={VIEWPORT[0]},{height}")
    img = _pixels(shot)
    chart, bars = layout["chart"], layout["bars"]
    x = int(min(b["left"] for b in bars) + 2)  # every bar starts at the same x, at least 1 px wide
    column = _near(img[int(chart["top"]):int(chart["bottom"]), x], BAR, tol=30)
    runs = int(column[0]) + int(((column[1:].astype(int) - column[:-1].astype(int)) == 1).sum())
    assert runs == len(layout["rows"]), f"{runs} bars painted for {len(layout['rows'])} table rows"
