"""The report as one self-contained HTML file: inline CSS and inline SVG charts, no JavaScript,
nothing fetched from the network. Autoescaping is on for every value; a Content-Security-Policy
forbids scripts even if something slipped through."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from ..textsafe import printable
from .charts import bar_chart, volume_chart
from .peers import html_fragment as peers_html
from .servers import SERVER_KEYS, server_label
from .text import clean, measure, number, pct

__all__ = ["render_html"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("analyzer.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(v: Any) -> str:
    return number(v, str)


_ENV.filters["num"] = _num
_ENV.filters["pct"] = pct
_ENV.filters["clean"] = clean
_ENV.globals["measure"] = measure
_ENV.globals["server_label"] = server_label
_ENV.globals["SERVER_KEYS"] = SERVER_KEYS
_ENV.globals["peers_html"] = peers_html


def render_html(r: dict[str, Any]) -> str:
    """The report dict as a standalone HTML page."""
    charts = {
        "volume": Markup(volume_chart(r["volumes"]["per_hour"])),
        "causes": Markup(bar_chart([(f"{c['cause']}", c["messages"]) for c in r["outcomes"]["by_cause"]
                                    if c["outcome"] in ("transient_failure", "permanent_failure")],
                                   chart_id="chart-causes", title="Failures by cause")),
        "destinations": Markup(bar_chart([(d["domain"], d["failed_messages"]) for d in r["top"]["destinations"]],
                                         chart_id="chart-destinations", title="Top destinations by failures",
                                         color="#ef6c00")),
    }
    # No control character from a log reaches the page (or a terminal it is printed to).
    return printable(_ENV.get_template("report.html.j2").render(r=r, charts=charts), newlines=True)
