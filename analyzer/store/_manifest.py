"""The manifest: the store's committed state, its JSON format, loading, committing, and debris cleanup."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ._layout import MANIFEST, Root, StoreError, as_root

FORMAT = "maillens-store"
SCHEMA_VERSION = 1


@dataclass
class Manifest:
    """What the store holds: committed parts, ingested sources, runs."""

    parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # relative path -> {day, rows, run}
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # content digest -> record
    runs: list[dict[str, Any]] = field(default_factory=list)
    pruned_before: str | None = None  # ISO day: events before it are not kept

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "schema_version": SCHEMA_VERSION, "parts": self.parts,
                           "sources": self.sources, "runs": self.runs, "pruned_before": self.pruned_before},
                          indent=1, sort_keys=True)

    def days(self) -> list[str]:
        return sorted({p["day"] for p in self.parts.values()})

    def parts_of(self, day: str) -> list[str]:
        return sorted(k for k, p in self.parts.items() if p["day"] == day)


def load_manifest(store: str | os.PathLike | Root) -> Manifest:
    """The store's committed manifest (an empty one for a new store)."""
    root = as_root(store)
    path = root.path(MANIFEST)
    root.check_dir()
    if not root.exists(MANIFEST):
        return Manifest()
    try:
        data = json.loads(root.read_text(MANIFEST))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"{path}: not a maillens store manifest")
    if data.get("schema_version", 0) > SCHEMA_VERSION:
        raise StoreError(f"{path}: written by a newer maillens (store schema {data['schema_version']})")
    return Manifest(data.get("parts", {}), data.get("sources", {}), data.get("runs", []),
                    data.get("pruned_before"))


def write_manifest(root: Root, m: Manifest) -> None:
    root.write_text(MANIFEST, m.to_json())


def clean_debris(root: Root, m: Manifest) -> int:
    """Delete part files and temporary files the manifest does not list (left by a killed run)."""
    removed = sum(root.remove(rel) for rel in root.day_files() if rel not in m.parts)
    root.remove_empty_days()
    return removed
