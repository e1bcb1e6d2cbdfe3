"""Incident specifications: parsing ``KIND[:ENTITY]@START+DURATION`` and the record written
for each injected incident (``--record``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

KINDS = ("521_burst", "microsoft_block", "sasl_bruteforce", "silence", "deferral_buildup")
DEFAULT_START = "2026-11-28T00:00:00"


@dataclass
class Incident:
    kind: str
    entity: str | None
    start: float  # epoch seconds, UTC
    end: float
    lines: int = 0
    details: dict = field(default_factory=dict)

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def record(self) -> dict:
        return {
            "kind": self.kind,
            "entity": self.entity,
            "start": iso(self.start),
            "end": iso(self.end),
            "lines": self.lines,
            **({"details": self.details} if self.details else {}),
        }


DUR_RE = re.compile(r"(\d+(?:\.\d+)?)([dhms]?)")
DUR_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str) -> float:
    """'90s', '30m', '1h30m', '2d', '45' (seconds) -> seconds."""
    text = text.strip()
    pos, total = 0, 0.0
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        m = DUR_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad duration {text!r} (use e.g. 30m, 1h30m, 90s)")
        total += float(m.group(1)) * DUR_UNITS[m.group(2)]
        pos = m.end()
    return total


def parse_time(text: str) -> float:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def parse_incident(spec: str, log_start: float) -> Incident:
    """Parse ``KIND[:ENTITY]@START+DURATION``; START is an offset (``6h``) or an ISO time."""
    if "@" not in spec or "+" not in spec.rsplit("@", 1)[1]:
        raise ValueError(f"incident {spec!r}: expected KIND[:ENTITY]@START+DURATION")
    head, when = spec.rsplit("@", 1)
    start_s, dur_s = when.rsplit("+", 1)
    kind, _, entity = head.partition(":")
    kind = kind.strip()
    entity = entity.strip() or None
    if kind not in KINDS:
        raise ValueError(f"incident {spec!r}: kind must be one of {', '.join(KINDS)}")
    if kind in ("521_burst", "sasl_bruteforce") and not entity:
        raise ValueError(f"incident {spec!r}: {kind} needs an entity ({kind}:...)")
    if kind == "deferral_buildup" and not entity:
        entity = "bigisp.example"
    if kind == "microsoft_block":
        entity = entity or "microsoft"
    try:
        start = log_start + parse_duration(start_s)
    except ValueError:
        start = parse_time(start_s)
    dur = parse_duration(dur_s)
    if dur <= 0:
        raise ValueError(f"incident {spec!r}: duration must be positive")
    return Incident(kind, entity, start, start + dur)

