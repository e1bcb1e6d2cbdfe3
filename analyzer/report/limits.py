"""A cap on the report's size: each list the report can grow without bound keeps its first rows,
and the number left out is recorded under ``omitted`` (by the list's path), so every format can
say "… and N more" and the JSON says how many.

The lists that are "top N" by construction (``top.*``, ``outcomes.by_cause``) are cut where they
are built, which passes their full length to :func:`cap`; the time table counts its own
``omitted`` (:mod:`.timeline`).
"""

from __future__ import annotations

from typing import Any

#: path in the report -> most rows kept
LIMITS: dict[str, int] = {
    "findings": 40,
    "warnings": 12,
    "unrecognised.kinds": 20,
    "unrecognised.foreign": 12,
    "session_ends.by_stage": 20,
    # "top N" by construction: cut where they are built, their full length passed as ``totals``
    "outcomes.by_cause": 25,
    "top.destinations": 10,
    "top.relays": 10,
    "top.senders": 10,
    "top.clients_by_rejects": 10,
    "top.clients_by_auth_failures": 10,
}


def cap(report: dict[str, Any], limits: dict[str, int] | None = None,
        totals: dict[str, int] | None = None) -> dict[str, Any]:
    """Cut each list of ``limits`` in ``report`` (in place) and record what was cut under
    ``report["omitted"]``; ``totals`` gives the full length of lists cut before they got here."""
    omitted: dict[str, int] = dict(report.get("omitted") or {})
    for path, most in (limits or LIMITS).items():
        *parents, key = path.split(".")
        holder: Any = report
        for p in parents:
            holder = holder.get(p) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or not isinstance(holder.get(key), list):
            continue
        rows = holder[key]
        full = max(len(rows), (totals or {}).get(path, 0))
        if full > most or full > len(rows):
            holder[key] = rows[:most]
            omitted[path] = full - len(holder[key])
    tl = (report.get("volumes") or {}).get("timeline") or {}
    if tl.get("omitted"):
        omitted["volumes.timeline"] = int(tl["omitted"])
    report["omitted"] = dict(sorted(omitted.items()))
    return report


def more(report: dict[str, Any], path: str) -> int:
    """How many rows of the list at ``path`` the report left out (0 when none)."""
    return int((report.get("omitted") or {}).get(path, 0))
