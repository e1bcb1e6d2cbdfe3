"""Ingest: add the events of log files to the store, each once, under the commit protocol."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..sources import Input, expand_inputs
from ._keys import HEAD_BYTES, Digest, KeySet, fingerprint
from ._layout import KEY, PART_ROWS, PartFile, Root, StoreError
from ._manifest import Manifest, check_parts, clean_debris, load_manifest, write_manifest
from ._parse import BATCH_LINES, SourceStream, SourceTable

_EPOCH = dt.date(1970, 1, 1)


@dataclass
class IngestResult:
    """What an ingest did."""

    store: str
    run: str
    added: int = 0
    duplicates: int = 0
    too_old: int = 0
    skipped_sources: list[str] = field(default_factory=list)
    resumed_sources: list[str] = field(default_factory=list)  # parsed from where an earlier ingest ended
    ingested_sources: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    parts: int = 0
    debris_removed: int = 0
    lines: int = 0
    unrecognised: int = 0
    warnings: list[str] = field(default_factory=list)


class _Writer:
    """Adds one source's rows to the store under the commit protocol, batch by batch: each day's
    new rows go to a part file open for that day (a new one every ``part_rows`` rows)."""

    def __init__(self, store: Root, m: Manifest, run: str, result: IngestResult,
                 part_rows: int = PART_ROWS) -> None:
        self.store, self.m, self.run, self.result = store, m, run, result
        self.part_rows = part_rows
        self.keys: dict[str, KeySet] = {}  # day -> keys of its committed parts (read when first needed)
        self.n = 0

    def _keys_of(self, day: str) -> KeySet:
        if day not in self.keys:
            arrays = [self.store.read_part(rel, columns=[KEY]).column(KEY).to_numpy()
                      for rel in self.m.parts_of(day)]
            self.keys[day] = KeySet(np.concatenate(arrays) if arrays else None)
        return self.keys[day]

    def add(self, st: SourceStream | SourceTable) -> None:
        """Write the source's new rows as parts and commit them with the source; on any failure the
        parts written for it are deleted again (the committed state is the one before)."""
        new_parts: dict[str, dict[str, Any]] = {}
        open_parts: dict[str, PartFile] = {}
        try:
            self._add(st, new_parts, open_parts)
        except BaseException:
            for pf in open_parts.values():
                pf.abort()
            for rel in new_parts:
                self.m.parts.pop(rel, None)
                self.store.remove(rel)
            self.m.sources.pop(st.digest.sha, None)
            self.keys.clear()
            self.store.remove_empty_days()
            raise
        self.result.parts += len(new_parts)
        self.result.ingested_sources.append(st.name)

    def _add(self, st: SourceStream | SourceTable, new_parts: dict[str, dict[str, Any]],
             open_parts: dict[str, PartFile]) -> None:
        touched: set[str] = set()
        for table in st:
            ts_us = pc.fill_null(table.column("ts").cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
            day_no = ts_us // 86_400_000_000  # UTC days since 1970-01-01
            keys = table.column(KEY).to_numpy()
            keep = np.ones(len(keys), dtype=bool)
            if self.m.pruned_before:
                old = day_no < (dt.date.fromisoformat(self.m.pruned_before) - _EPOCH).days
                self.result.too_old += int(old.sum())
                keep &= ~old
            for d in np.unique(day_no[keep]).tolist():
                day = (_EPOCH + dt.timedelta(days=int(d))).isoformat()
                sel = np.flatnonzero(keep & (day_no == d))
                seen = self._keys_of(day).contains(keys[sel])
                self.result.duplicates += int(seen.sum())
                idx = sel[~seen]
                if len(idx) == 0:
                    continue
                if idx[-1] - idx[0] + 1 == len(idx):  # the usual case: a run of lines, no copy
                    part = table.slice(int(idx[0]), len(idx))
                else:
                    part = table.take(pa.array(idx))
                self._write(day, part, new_parts, open_parts)
                touched.add(day)
                self.result.added += len(idx)
        for day in list(open_parts):
            self._finish(open_parts.pop(day), day, new_parts)
        # commit: the manifest lists the parts (and the source) only after they are durable
        self.m.parts.update(new_parts)
        dg = st.digest
        self.m.sources[dg.sha] = {"name": st.name, "size": dg.size, "head": dg.head, "lines": st.lines,
                                  "newline": dg.newline, "resumed_at": dg.resume_at, "events": st.events,
                                  "run": self.run}
        write_manifest(self.store, self.m)
        for day in touched:  # read again from its parts if a later source has events of that day
            self.keys.pop(day, None)

    def _write(self, day: str, rows: pa.Table, new_parts: dict[str, dict[str, Any]],
               open_parts: dict[str, PartFile]) -> None:
        while rows.num_rows:
            pf = open_parts.get(day)
            if pf is None:
                pf = open_parts[day] = self.store.open_part(self._part_name(day))
            room = self.part_rows - pf.rows
            pf.write(rows.slice(0, room))
            rows = rows.slice(room)
            if pf.rows >= self.part_rows:
                self._finish(open_parts.pop(day), day, new_parts)

    def _finish(self, pf: PartFile, day: str, new_parts: dict[str, dict[str, Any]]) -> None:
        new_parts[pf.rel] = {"day": day, "rows": pf.rows, "run": self.run}  # deleted again if closing fails
        pf.close()

    def _part_name(self, day: str) -> str:
        rel = f"day={day}/part-{self.run}-{self.n:04d}.parquet"
        self.n += 1
        return rel


def _new_run(now: dt.datetime | None) -> str:
    t = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"{t:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def ingest(
    paths: Iterable[str] | str,
    store: str | os.PathLike,
    *,
    tz: str | None = None,
    year: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    part_rows: int = PART_ROWS,
    rules: Sequence[str | os.PathLike] = (),
    batch_lines: int | None = BATCH_LINES,
) -> IngestResult:
    """Parse and classify logs and add their events to the store; each event is added once.

    ``engine="dask"`` parses the files on a Dask cluster (``scheduler`` address, or a local
    cluster); the commit is the same. ``progress(bytes_done, bytes_total)`` after each file.
    ``now`` names the run (and stands in for stdin's modification time). ``rules``: site
    knowledge-base files for the classification (as ``maillens parse --rules``).

    Each file is read, classified and written a batch at a time: the stream's blocks, parsed by
    the worker processes, or ``batch_lines`` lines in-process when given (see
    :class:`analyzer.store._parse.SourceStream`): memory does not grow with the file, except by
    the 8-byte keys of its events (and of a day's stored events, when it is not new).
    """
    if isinstance(paths, str):
        paths = [paths]
    if engine not in ("local", "dask"):
        raise ValueError(f"unknown engine {engine!r}; choose local or dask")
    from ..reader import _check_tz, default_tz

    tz = _check_tz(tz or default_tz())
    site = tuple(os.path.abspath(os.fspath(r)) for r in rules)
    if site:
        from ..rules import load_rules

        load_rules(tuple(Path(r) for r in site))  # a broken file fails here, before anything is read
    skipped: list[str] = []
    inputs = expand_inputs(paths, skipped.append)
    if any(i.path is None for i in inputs):
        raise StoreError("stdin cannot be ingested: its content cannot be fingerprinted")
    root = Root(store)
    load_manifest(root)  # a directory that is not ours is refused before anything (even the lock) is written
    with root.locked():
        m = load_manifest(root)
        check_parts(root, m)  # a damaged store is repaired first, not added to
        run = _new_run(now)
        result = IngestResult(root.name, run)
        result.warnings.extend(skipped)
        result.debris_removed = clean_debris(root, m)
        for r in m.runs:
            if r.get("state") == "running":  # its process died: we hold the lock
                r["state"] = "interrupted"
        started = (now or dt.datetime.now(dt.UTC)).isoformat()
        wall = time.time()
        # the run is recorded before it writes anything: its files are then known to be maillens' own
        record: dict[str, Any] = {"run": run, "started": started, "engine": engine, "state": "running"}
        m.runs.append(record)
        write_manifest(root, m)
        writer = _Writer(root, m, run, result, part_rows)
        prefixes: dict[str, dict[int, tuple[str, int]]] = {}
        for sha, rec in m.sources.items():
            if rec.get("newline") and rec.get("size", 0) >= HEAD_BYTES:
                prefixes.setdefault(rec["head"], {})[rec["size"]] = (sha, rec["lines"])
        todo: list[tuple[Input, Digest]] = []
        for inp in inputs:
            dg = fingerprint(inp, lambda head: prefixes.get(head, {}))
            if dg.sha in m.sources:
                result.skipped_sources.append(inp.name)
            else:
                todo.append((inp, dg))
        size = {inp.name: inp.path.stat().st_size for inp in inputs if inp.path is not None}
        total = sum(size.values())
        done = sum(size[name] for name in result.skipped_sources)
        if progress:
            progress(done, total)
        if engine == "dask":
            from ..scale import parse_on_dask

            tables: Iterable[SourceTable | SourceStream] = parse_on_dask(todo, tz=tz, year=year, now=now,
                                                                        scheduler=scheduler, rules=site)
        else:  # each source streamed batch by batch into its parts
            tables = (SourceStream(inp, dg, tz=tz, year=year, now=now, rules=site, batch_lines=batch_lines)
                      for inp, dg in todo)
        seen_now: set[str] = set()
        for st in tables:
            if st.digest.sha in seen_now:  # the same content twice in one run
                result.skipped_sources.append(st.name)
            else:
                writer.add(st)  # reads a SourceStream
                seen_now.add(st.digest.sha)
                if st.digest.resume_at:
                    result.resumed_sources.append(st.name)
            result.lines += st.lines
            result.unrecognised += st.unrecognised
            result.warnings.extend(st.warnings)
            done += size.get(st.name, 0)
            if progress:
                progress(done, total)
        result.days = sorted({p["day"] for p in m.parts.values() if p["run"] == run})
        record.pop("state")
        record.update({"seconds": round(time.time() - wall, 3), "rules": list(site), "added": result.added,
                       "duplicates": result.duplicates, "sources": result.ingested_sources,
                       "skipped": result.skipped_sources})
        write_manifest(root, m)
    return result
