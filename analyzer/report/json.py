"""The report as JSON: the report dict as is (``schema_version`` first; see SCHEMA.md)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["render_json"]


def render_json(r: dict[str, Any]) -> str:
    """The report dict as indented JSON, keys in the report's order, UTF-8 text."""
    return json.dumps(r, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
