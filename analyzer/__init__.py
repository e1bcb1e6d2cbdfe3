"""maillens: Postfix and Exim log analysis.

The public API; the command line in :mod:`analyzer.cli` is a thin layer over it. Names are
imported on first use (PEP 562), so ``import analyzer`` and ``maillens --help`` do not load
pandas or pyarrow.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "read_logs": "reader", "parse_logs": "reader", "ParseResult": "reader",
    "COLUMNS": "schema", "CLASS_COLUMNS": "schema", "EVENTS": "schema", "STAGES": "schema", "SCHEMA": "schema",
    "validate": "schema",
    "classify": "classify",
    "explain": "explain",
    "detect_anomalies": "anomalies", "Finding": "anomalies",
    "make_report": "report", "build_report": "report", "render_report": "report",
    "messages": "messages", "link": "messages",
    "search": "search", "Filters": "search",
    "trace": "trace",
    "ingest": "store", "prune": "store", "read_events": "store",
    "build_weekly": "weekly", "render_weekly": "weekly",
    "metrics_text": "metrics",
    "load_config": "config", "Config": "config",
}
_RENAMED = {"render_report": "render"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
    mod = importlib.import_module(f".{module}", __name__)
    value = getattr(mod, _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Importing a submodule binds it on the package (``analyzer.search``); where a public
    function has the submodule's name (explain, classify, messages, search, trace) the package
    keeps the function, as it did when everything was imported eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS and _EXPORTS[name] == name:
            value = getattr(value, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .anomalies import Finding, detect_anomalies
    from .classify import classify
    from .config import Config, load_config
    from .explain import explain
    from .messages import link, messages
    from .metrics import metrics_text
    from .reader import ParseResult, parse_logs, read_logs
    from .report import build_report, make_report
    from .report import render as render_report
    from .schema import CLASS_COLUMNS, COLUMNS, EVENTS, SCHEMA, STAGES, validate
    from .search import Filters, search
    from .store import ingest, prune, read_events
    from .trace import trace
    from .weekly import build_weekly, render_weekly
