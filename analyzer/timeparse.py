"""Points in time and durations typed on the command line: one parser for every --since/--until.

Standard library only, so a command can check its options before pandas is imported.

Accepted points in time (``parse_time``), read in the zone given unless they carry an offset:

- ``2026-11-29T10:00``, ``2026-11-29 10:00:00``, ``2026-11-29T10:00:00+01:00``, ``…Z``
- ``2026-11-29`` (midnight)
- ``10:00`` or ``10:00:30`` (today)
- ``2h``, ``-2h``, ``30m``, ``3d``, ``1w``, ``1d12h``, ``2h ago`` (that long before now)
- ``now``, ``today`` (midnight), ``yesterday`` (midnight)
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

__all__ = ["TimeError", "parse_duration", "parse_time"]

FORMS = "2026-11-29T10:00, 2026-11-29, 10:00 (today) or 2h (ago)"

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)([smhdw])")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class TimeError(ValueError):
    """A time or duration that cannot be read; the message quotes the text and lists the forms."""


def parse_duration(text: str) -> dt.timedelta:
    """``24h``, ``90m``, ``7d``, ``1d12h``, ``2w``, ``30s`` -> a positive timedelta; TimeError otherwise."""
    s = text.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    # the input is at most a few dozen characters of command line; the pattern is linear anyway
    for m in _PART.finditer(s[:64]):
        if m.start() != pos:
            break
        total += float(m[1]) * _UNIT_SECONDS[m[2]]
        pos = m.end()
    if not s or pos != len(s) or total <= 0:
        raise TimeError(f"{text!r} is not a duration; use a number and s, m, h, d or w, e.g. 90m, 24h, 7d, 1d12h")
    return dt.timedelta(seconds=total)


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def parse_time(text: str, *, now: dt.datetime, tz: str | dt.tzinfo = "UTC") -> dt.datetime:
    """A point in time from the command line, as an aware UTC datetime (see the module's forms).

    ``now`` (aware) anchors relative forms and "today"; stamps without an offset are in ``tz``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = _zone(tz)
    s = text.strip()
    low = s.lower()
    local_today = now.astimezone(zone).date()
    if low == "now":
        return now.astimezone(dt.UTC)
    if low in ("today", "yesterday"):
        day = local_today - dt.timedelta(days=1 if low == "yesterday" else 0)
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    rel = low.removesuffix("ago").strip().removeprefix("-").strip()
    if rel and rel[0].isdigit() and rel[-1] in _UNIT_SECONDS:
        try:
            return now.astimezone(dt.UTC) - parse_duration(rel)
        except TimeError:
            pass  # fall through: not a duration after all, say what a time may be
    if m := _CLOCK.fullmatch(s):
        h, mi, sec = int(m[1]), int(m[2]), int(m[3] or 0)
        try:
            t = dt.time(h, mi, sec)
        except ValueError as exc:
            raise TimeError(f"{text!r} is not a time of day: {exc}") from None
        return dt.datetime.combine(local_today, t, tzinfo=zone).astimezone(dt.UTC)
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    if not _DATE.match(iso):
        raise TimeError(f"{text!r} is not a time; use {FORMS}")
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError as exc:
        reason = str(exc)
        if "isoformat" in reason:  # Python's own wording says nothing to a user
            reason = "not an ISO date or date-time"
        raise TimeError(f"{text!r} is not a valid time ({reason}); use {FORMS}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=zone)
    return t.astimezone(dt.UTC)
