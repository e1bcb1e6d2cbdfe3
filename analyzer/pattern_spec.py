"""One kind of log message as data (:class:`Pattern`), without the engine that runs it.

Kept apart from :mod:`analyzer.parsers.engine` (which imports pyarrow) so that the pattern
tables (:mod:`analyzer.postfix_patterns`) load without pyarrow: `maillens parse FILE` builds the
native fold from them on a thread while the main thread still imports pyarrow
(:mod:`analyzer.early_fold`). :mod:`analyzer.parsers.engine` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Pattern"]


@dataclass(frozen=True)
class Pattern:
    """One kind of log message.

    ``regex`` is RE2 syntax, anchored by the author, with named groups whose names are event
    columns or one of the derived names the parser understands (client, relay, stage ...).
    ``consts`` are column values every match gets. ``daemons`` limits the pattern to some
    programs (None: every program of the MTA).
    """

    name: str
    regex: str
    event: str
    consts: dict[str, Any] = field(default_factory=dict)
    daemons: frozenset[str] | None = None
