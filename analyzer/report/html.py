"""The report as one self-contained HTML file: inline CSS and inline SVG charts, no JavaScript,
nothing fetched from the network. Autoescaping is on for every value; a Content-Security-Policy
forbids scripts even if something slipped through."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from ..textsafe import printable
from .charts import bar_chart, volume_chart
from .headline import short_location, span
from .peers_render import html_fragment as peers_html
from .servers import SERVER_KEYS, server_label
from .text import EXPIRED_NOTE, baseline_phrase, clean, counted, number, observed, pct, shown_key, where
from .timeline import rows_for_display

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


_ENV.filters.update(num=_num, pct=pct, clean=clean)
_ENV.globals.update(observed=observed, where=where, short_location=short_location, span=span, shown_key=shown_key,
                    baseline_phrase=baseline_phrase, server_label=server_label, SERVER_KEYS=SERVER_KEYS,
                    peers_html=peers_html, EXPIRED_NOTE=EXPIRED_NOTE, count_cell=lambda c: _count(c))


def _count(c: dict[str, Any]) -> str:
    """A cause entry's count cell: messages as a number, another unit labelled ('2 logins (1 client)')."""
    n, unit, clients = counted(c)
    return _num(n) if unit == "messages" else f"{n:,} {unit}{clients}"


def render_html(r: dict[str, Any]) -> str:
    """The report dict as a standalone HTML page."""
    head, periods, omitted = rows_for_display(r["volumes"])
    timeline = {"header": head, "rows": periods, "omitted": omitted}
    charts = {
        "volume": Markup(volume_chart([row for _, row in periods], labels=[
            label[11:16] if head.startswith("hour") else label for label, _ in periods], axis=head)),
        "causes": Markup(bar_chart([(str(c["cause"]), counted(c)[0]) for c in r["outcomes"]["by_cause"]],
                                   chart_id="chart-causes", title="Messages by cause", limit=None)),
        "destinations": Markup(bar_chart([(d["domain"], d["failed_messages"]) for d in r["top"]["destinations"]],
                                         chart_id="chart-destinations", title="Top destinations by failures",
                                         color="#ef6c00")),
    }
    # No control character from a log reaches the page (or a terminal it is printed to).
    return printable(_ENV.get_template("report.html.j2").render(r=r, charts=charts, timeline=timeline), newlines=True)
