"""maillens: Postfix and Exim log analysis.

The public API; the command line in :mod:`analyzer.cli` is a thin layer over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .reader import ParseResult, parse_logs, read_logs  # noqa: E402
from .schema import CLASS_COLUMNS, COLUMNS, EVENTS, SCHEMA, STAGES, validate  # noqa: E402
from .classify import classify  # noqa: E402
from .explain import explain  # noqa: E402
from .anomalies import Finding, detect_anomalies  # noqa: E402
from .report import build_report, make_report, render as render_report  # noqa: E402
from .messages import link, messages  # noqa: E402
from .search import Filters, search  # noqa: E402
from .trace import trace  # noqa: E402
from .store import ingest, prune, read_events  # noqa: E402
from .weekly import build_weekly, render_weekly  # noqa: E402

__all__ = [
    "__version__",
    "read_logs",
    "parse_logs",
    "ParseResult",
    "COLUMNS",
    "CLASS_COLUMNS",
    "EVENTS",
    "STAGES",
    "SCHEMA",
    "validate",
    "classify",
    "explain",
    "detect_anomalies",
    "Finding",
    "make_report",
    "build_report",
    "render_report",
    "messages",
    "link",
    "search",
    "Filters",
    "trace",
    "ingest",
    "prune",
    "read_events",
    "build_weekly",
    "render_weekly",
]
