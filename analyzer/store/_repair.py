"""Repair: rebuild the manifest from the part files that are there (after it was lost, or lists a bad part)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ._layout import DAY_DIR, KEY, MANIFEST, PART_NAME, Root, StoreDamaged, StoreError
from ._manifest import Manifest, load_manifest, maillens_parts, write_manifest


@dataclass
class RepairResult:
    """What a repair found and did."""

    store: str
    run: str
    parts: int = 0  # parts the new manifest lists
    rows: int = 0
    adopted: list[str] = field(default_factory=list)  # maillens parts on disk the old manifest did not list
    missing: list[str] = field(default_factory=list)  # listed by the old manifest, not on disk
    damaged: list[str] = field(default_factory=list)  # unreadable: set aside as .NAME.damaged (kept)
    duplicates: list[str] = field(default_factory=list)  # every row also in another part: deleted
    rewritten: list[str] = field(default_factory=list)  # some rows also elsewhere: rewritten without them
    foreign: list[str] = field(default_factory=list)  # files under day=*/ that maillens did not write: left
    had_manifest: bool = True
    forgotten_sources: int = 0  # ingested-file records dropped, so that the next ingest reads them again


def repair(store: str | os.PathLike, now: dt.datetime | None = None) -> RepairResult:
    """Rebuild ``_manifest.json`` from the maillens part files under ``day=*/``.

    Each event is listed once (a part whose rows are all in other parts is deleted; one with some
    of them is rewritten without those); a part that cannot be read is renamed ``.NAME.damaged``
    (kept, and skipped by readers); files maillens did not write are left as they are. When the
    old manifest is readable, its record of ingested files is kept, except for the runs whose
    parts were lost (the next ingest reads those files again and restores what the logs still hold);
    without it, every file is read again (events already stored are not added twice).
    """
    from ._ingest import _new_run

    root = Root(store)
    if root.local is not None and not root.local.is_dir():
        raise StoreError(f"{store}: no such directory")
    if not root.exists(MANIFEST) and not maillens_parts(root):
        raise StoreError(f"{root.name}: no _manifest.json and no maillens part files under day=*/ to rebuild a "
                         "store from; nothing was changed")
    with root.locked():
        run = _new_run(now)
        res = RepairResult(root.name, run)
        old: Manifest | None = None
        if root.exists(MANIFEST):
            try:
                old = load_manifest(root)
            except StoreDamaged:  # unreadable: rebuilt from the parts
                old = None
        res.had_manifest = old is not None
        ours = set(maillens_parts(root))
        res.foreign = [rel for rel in root.day_files() if rel not in ours and not rel.split("/")[-1].startswith(".")]
        if old is None and not ours:
            raise StoreError(f"{root.name}: no maillens part files under day=*/ to rebuild a store from; "
                             "nothing was changed")
        listed = old.parts if old is not None else {}
        res.missing = sorted(rel for rel in listed if rel not in ours)
        cutoff = old.pruned_before if old is not None else None
        new = Manifest(pruned_before=cutoff)
        drop_after: list[str] = []
        seen: dict[str, np.ndarray] = {}
        lost_runs = {listed[rel].get("run") for rel in res.missing}
        n = 0
        for rel in sorted(ours, key=lambda r: (r not in listed, r)):
            folder, name = rel.split("/")
            day = DAY_DIR.match(folder).group("day")  # type: ignore[union-attr]
            part_run = PART_NAME.match(name).group("run")  # type: ignore[union-attr]
            if cutoff is not None and day < cutoff:  # left by a prune that was stopped before deleting it
                drop_after.append(rel)
                continue
            try:
                table = root.read_part(rel)
                keys = table.column(KEY).to_numpy()
            except StoreError:
                res.damaged.append(rel)
                if rel in listed:
                    lost_runs.add(listed[rel].get("run"))
                root.rename(rel, f"{folder}/.{name}.damaged")
                continue
            present = seen.get(day, np.zeros(0, np.int64))
            dup = np.isin(keys, present)
            if dup.all():
                res.duplicates.append(rel)
                drop_after.append(rel)
                continue
            if rel not in listed:
                res.adopted.append(rel)
            if dup.any():
                table = table.filter(pa.array(~dup))
                keys = keys[~dup]
                res.rewritten.append(rel)
                drop_after.append(rel)
                rel = f"{folder}/part-{run}-{n:04d}.parquet"
                n += 1
                root.write_table(rel, table)
                part_run = run
            new.parts[rel] = {"day": day, "rows": table.num_rows, "run": part_run}
            seen[day] = np.concatenate([present, keys])
            res.rows += table.num_rows
        res.parts = len(new.parts)
        runs: list[dict[str, Any]] = list(old.runs) if old is not None else []
        known = {r.get("run") for r in runs}
        runs += [{"run": r, "state": "recovered by store repair"}
                 for r in sorted({p["run"] for p in new.parts.values()} - known - {run})]
        runs.append({"run": run, "started": (now or dt.datetime.now(dt.UTC)).isoformat(), "repair": True,
                     "parts": res.parts, "adopted": res.adopted, "missing": res.missing, "damaged": res.damaged,
                     "duplicates": res.duplicates, "rewritten": res.rewritten})
        new.runs = runs
        if old is not None:
            new.sources = {sha: rec for sha, rec in old.sources.items() if rec.get("run") not in lost_runs}
            res.forgotten_sources = len(old.sources) - len(new.sources)
        if old is None and root.exists(MANIFEST):  # unreadable: kept beside, out of readers' way
            root.rename(MANIFEST, f".{MANIFEST}.damaged")
        write_manifest(root, new)  # commit; the parts it does not list, and whose rows it holds, then go
        for rel in drop_after:
            root.remove(rel)
        root.remove_empty_days()
    return res
