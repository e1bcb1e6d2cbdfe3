"""The report as JSON: the report dict as is (``schema_version`` first; see SCHEMA.md)."""

from __future__ import annotations

import json
from typing import Any

from ..textsafe import json_safe

__all__ = ["render_json"]


def render_json(r: dict[str, Any]) -> str:
    """The report dict as indented JSON, keys in the report's order, UTF-8 text (DEL, C1 and bidi
    characters as \\uXXXX, so the JSON is safe on a terminal)."""
    return json_safe(json.dumps(r, indent=2, ensure_ascii=False, allow_nan=False)) + "\n"
