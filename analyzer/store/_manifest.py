"""The manifest: the store's committed state, its JSON format, loading, committing, and debris cleanup."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ._layout import DAY_DIR, MANIFEST, PART_NAME, PART_TMP, Root, StoreDamaged, StoreError, as_root

FORMAT = "maillens-store"
SCHEMA_VERSION = 1


@dataclass
class Manifest:
    """What the store holds: committed parts, ingested sources, runs."""

    parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # relative path -> {day, rows, run}
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # content digest -> record
    runs: list[dict[str, Any]] = field(default_factory=list)  # recorded when a run starts, completed when it ends
    pruned_before: str | None = None  # ISO day: events before it are not kept

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "schema_version": SCHEMA_VERSION, "parts": self.parts,
                           "sources": self.sources, "runs": self.runs, "pruned_before": self.pruned_before},
                          indent=1, sort_keys=True)

    def days(self) -> list[str]:
        return sorted({p["day"] for p in self.parts.values()})

    def parts_of(self, day: str) -> list[str]:
        return sorted(k for k, p in self.parts.items() if p["day"] == day)

    def known_runs(self) -> set[str]:
        """The runs this manifest says maillens made: only their files may ever be deleted."""
        return {r["run"] for r in self.runs if "run" in r} | {p["run"] for p in self.parts.values() if "run" in p}


def maillens_parts(root: Root) -> list[str]:
    """The files under day=*/ named like maillens' parts (whatever the manifest says)."""
    return [rel for rel in root.day_files()
            if DAY_DIR.match(rel.split("/")[0]) and PART_NAME.match(rel.split("/")[-1])]


def missing_manifest(root: Root) -> StoreError:
    """The error for a directory that holds files but no manifest: maillens will not write into it."""
    where = root.path(MANIFEST)
    if maillens_parts(root):
        return StoreDamaged(f"{root.name}: holds maillens part files but no _manifest.json ({where} was "
                            "deleted or not restored); refusing to touch it", root.name)
    err = StoreError(f"{root.name}: not empty and has no _manifest.json: not a maillens store, and maillens "
                     "writes only into its own store or an empty directory")
    err.hint = "give --store a new or empty directory (or the directory of an existing maillens store)"
    return err


def load_manifest(store: str | os.PathLike | Root) -> Manifest:
    """The store's committed manifest (an empty one for a new, empty store).

    A directory with files in it but no manifest is refused (:class:`StoreDamaged` if it holds
    maillens parts, else :class:`StoreError`): nothing in it is ever deleted.
    """
    root = as_root(store)
    path = root.path(MANIFEST)
    root.check_dir()
    if not root.exists(MANIFEST):
        if root.entries():
            raise missing_manifest(root)
        return Manifest()
    try:
        data = json.loads(root.read_text(MANIFEST))
    except (OSError, ValueError) as exc:
        raise StoreDamaged(f"{path}: unreadable manifest ({exc})", root.name) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"{path}: not a maillens store manifest")
    if data.get("schema_version", 0) > SCHEMA_VERSION:
        raise StoreError(f"{path}: written by a newer maillens (store schema {data['schema_version']})")
    return Manifest(data.get("parts", {}), data.get("sources", {}), data.get("runs", []),
                    data.get("pruned_before"))


def write_manifest(root: Root, m: Manifest) -> None:
    root.write_text(MANIFEST, m.to_json())


def check_parts(root: Root, m: Manifest) -> None:
    """Every listed part is there and has a readable footer with the rows the manifest says; else StoreDamaged."""
    for rel in sorted(m.parts):
        root.check_part(rel, m.parts[rel].get("rows"))


def clean_debris(root: Root, m: Manifest) -> int:
    """Delete what a killed run or prune left: maillens' temporary files, and part files of a run the
    manifest knows that it does not list. Any other file is left as it is."""
    runs = m.known_runs()
    removed = 0
    for rel in root.day_files():
        folder, name = rel.rsplit("/", 1)
        if rel in m.parts or not DAY_DIR.match(folder):
            continue
        own = PART_NAME.match(name)
        if PART_TMP.match(name) or (own and own.group("run") in runs):
            removed += root.remove(rel)
    root.remove_empty_days()
    return removed
