"""The nightly report: build a plain dict (:mod:`.build`), then render it (text, markdown, json, html).

``make_report(parse_result, ...)`` returns the report dict; ``render(report, fmt)`` turns it into
text. The dict's layout is versioned (``schema_version``) and documented in ``SCHEMA.md``.
"""

from __future__ import annotations

from typing import Any

from .build import SCHEMA_VERSION, ReportWindow, build_report
from .redact import Redactor
from .run import make_report

__all__ = ["FORMATS", "SCHEMA_VERSION", "Redactor", "ReportWindow", "build_report", "make_report", "render"]

FORMATS = ("text", "markdown", "json", "html")


def render(report: dict[str, Any], fmt: str = "text") -> str:
    """The report dict in one of :data:`FORMATS`."""
    if fmt == "text":
        from .text import render_text
        return render_text(report)
    if fmt in ("markdown", "md"):
        from .markdown import render_markdown
        return render_markdown(report)
    if fmt == "json":
        from .json import render_json
        return render_json(report)
    if fmt == "html":
        from .html import render_html
        return render_html(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
