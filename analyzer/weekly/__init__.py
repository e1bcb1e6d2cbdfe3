"""The weekly report: this ISO week against the previous one and the store's baseline.

:func:`build_weekly` reads the store and returns a plain dict (``schema_version``);
:func:`render_weekly` turns it into text, markdown, json or self-contained html.
"""

from __future__ import annotations

from .build import SCHEMA_VERSION, WeekError, build_weekly, last_complete_week, parse_week
from .render import FORMATS, render_weekly

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "WeekError",
    "build_weekly",
    "last_complete_week",
    "parse_week",
    "render_weekly",
]
