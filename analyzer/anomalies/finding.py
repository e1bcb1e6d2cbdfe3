"""What a detector reports: the :class:`Finding`, its stable fingerprint, and the merging
that says each thing once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

SEVERITIES = ("info", "warning", "critical")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Finding:
    """One abnormal thing, with what was expected, where to look and what to do."""

    fingerprint: str
    severity: str
    title: str
    detector: str
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    entity: str
    observed: float
    expected: float | None
    evidence: tuple[tuple[str, int], ...] = ()
    cause: str | None = None
    fix: tuple[str, ...] = ()
    detail: str = ""
    unit: str = "count"  # what observed/expected measure: "count", or "share" (a fraction, 0.5 = 50 %)
    entities: tuple[str, ...] = ()  # a grouped finding: every destination it stands for (see severity.py)
    reason: str = ""  # why the severity policy (severity.py) set this severity, when it did

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 UTC strings)."""
        return {
            "fingerprint": self.fingerprint,
            "severity": self.severity,
            "title": self.title,
            "detector": self.detector,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "entity": self.entity,
            "observed": _num(self.observed),
            "expected": None if self.expected is None else _num(self.expected),  # null also when not finite
            "evidence": [{"file": f, "line": int(n)} for f, n in self.evidence],
            "cause": self.cause,
            "fix": list(self.fix),
            "detail": self.detail,
            "unit": self.unit,
            "entities": list(self.entities),
            "reason": self.reason,
        }


def _iso(ts: pd.Timestamp | None) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(x: float) -> float | int | None:
    x = float(x)
    if not np.isfinite(x):
        return None
    return int(x) if x.is_integer() else round(x, 4)


def _fingerprint(detector: str, entity: str, cause: str | None, start: pd.Timestamp | None) -> str:
    key = f"{detector}|{entity}|{cause or ''}|{_iso(start) or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _overlap(a: Finding, b: Finding) -> bool:
    if None in (a.window_start, a.window_end, b.window_start, b.window_end):
        return False
    return bool(a.window_start <= b.window_end and b.window_start <= a.window_end)


def merge_related(findings: list[Finding]) -> list[Finding]:
    """Say each thing once: a concentration finding goes into the failure spike of the same
    entity, and a cause spike into the entity finding (spike, abuse, build-up) with the same
    cause at the same time; the finding kept takes the higher severity."""
    keep = list(findings)
    absorbed: set[int] = set()
    for i, f in enumerate(keep):
        for j, g in enumerate(keep):
            if i == j or j in absorbed or i in absorbed or not _overlap(f, g):
                continue
            same_entity = f.detector == "concentration" and g.detector == "failure_spike" and f.entity == g.entity
            same_cause = (f.detector == "cause_spike" and g.detector in ("failure_spike", "abuse", "deferral_buildup",
                                                                         "concentration") and f.cause == g.cause)
            if same_entity or same_cause:
                absorbed.add(i)
                if _RANK[f.severity] > _RANK[g.severity]:
                    keep[j] = replace(g, severity=f.severity)
                break
    return [f for i, f in enumerate(keep) if i not in absorbed]
