"""Prune: drop the days older than a retention period (commit first; the files are then debris)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from ._layout import MANIFEST, Root, StoreError, day_of
from ._manifest import check_parts, clean_debris, load_manifest, missing_manifest, write_manifest


@dataclass
class PruneResult:
    """What a prune removed."""

    removed_days: list[str]
    removed_rows: int
    kept_from: str


def prune(store: str | os.PathLike, keep: dt.timedelta, now: dt.datetime, *, dry_run: bool = False) -> PruneResult:
    """Remove the days older than ``now - keep`` (whole UTC days; the day containing it is kept).

    A store whose manifest lists a missing or corrupt part is not pruned (:class:`StoreDamaged`).
    ``dry_run``: read the manifest only and say what would be removed; nothing is written."""
    root = Root(store)
    if not root.exists(MANIFEST):
        if root.entries():
            raise missing_manifest(root)
        raise StoreError(f"{store}: no _manifest.json here; not a maillens store")
    if keep < dt.timedelta(0):
        raise ValueError("keep must not be negative")
    cutoff = day_of(now - keep)
    assert cutoff is not None
    if dry_run:
        m = load_manifest(root)
        check_parts(root, m)
        gone = {rel: p for rel, p in m.parts.items() if p["day"] < cutoff}
        return PruneResult(sorted({p["day"] for p in gone.values()}), sum(p["rows"] for p in gone.values()), cutoff)
    with root.locked():
        m = load_manifest(root)
        check_parts(root, m)
        gone = {rel: p for rel, p in m.parts.items() if p["day"] < cutoff}
        for rel in gone:
            del m.parts[rel]
        if m.pruned_before is None or cutoff > m.pruned_before:
            m.pruned_before = cutoff
        write_manifest(root, m)  # commit first; the files are now debris
        clean_debris(root, m)
    return PruneResult(sorted({p["day"] for p in gone.values()}), sum(p["rows"] for p in gone.values()), cutoff)
