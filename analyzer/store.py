"""The history of nightly runs: a directory of Parquet files partitioned by day, plus a manifest.

Layout (hive-style, so pandas, DuckDB and Spark read it as it is)::

    STORE/
      _manifest.json                               the committed state (atomically replaced)
      .lock                                        held by the ingest or prune that writes
      day=2026-11-28/part-<run>-<n>.parquet        classified events of one UTC day

Each part holds the event table (:data:`analyzer.schema.COLUMNS`), the classification columns
(:data:`analyzer.schema.CLASS_COLUMNS`) and ``event_key``; the day is the partition value.

**Idempotency.** Every event gets a stable 64-bit ``event_key``: a hash of all its columns except
``source`` and ``line_no`` (so renaming by rotation does not change it) and of its occurrence
number among identical events of the same file (so lines repeated within the same second are all
kept). An event whose key is already in its day is not added again: re-ingesting a file, a rotated
copy that overlaps (``mail.log`` → ``mail.log.1`` → ``mail.log.2.gz``) or a file that has grown
adds each event once. The manifest also records each ingested source's content fingerprint
(sha256 and length of the decompressed content, sha256 of its first 64 KiB): an unchanged file
(under any name, compressed or not) is skipped without being parsed, and a file whose beginning is
a source ingested before (it grew, or it is that file rotated after it grew) is parsed only from
where that ingest ended. (One limit: identical lines logged in the same second by the same process
that straddle that point, or a rotation, count from 0 again on the far side, and are kept once.)

**Crash safety.** A run writes each part under a temporary name, fsyncs it, renames it into its
day directory, and only then replaces ``_manifest.json`` (write, fsync, rename) listing the new
parts. Readers read only the parts the manifest lists. A part that is on disk but not listed is
debris of a killed run; the next writer deletes it and does the work again. One writer at a time
(``.lock``, released by the kernel when a process dies). Tools that read the directory as a plain
hive dataset (pandas, DuckDB, Spark) see the committed parts plus, between a killed run and the next
one, that run's finished but uncommitted parts: rows that are new, never copies of stored ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .schema import CLASS_COLUMNS, NAMES, SCHEMA
from .sources import Input, expand_inputs, iter_chunks

__all__ = [
    "KEY",
    "STORE_SCHEMA",
    "IngestResult",
    "Manifest",
    "PruneResult",
    "SourceTable",
    "StoreError",
    "ingest",
    "load_manifest",
    "parse_source",
    "prune",
    "read_events",
    "store_days",
]

MANIFEST = "_manifest.json"  # "_" and "." files are skipped by pyarrow, Spark and Hive readers
LOCK = ".lock"
FORMAT = "maillens-store"
SCHEMA_VERSION = 1
KEY = "event_key"
#: Columns whose values identify an event (everything but where it was read from).
KEY_COLUMNS = tuple(n for n in NAMES if n not in ("source", "line_no"))
STORE_SCHEMA = pa.schema(list(SCHEMA) + [pa.field(c.name, c.type) for c in CLASS_COLUMNS]
                         + [pa.field(KEY, pa.int64())])
#: Rows per part file at most (a big day is written as several parts).
PART_ROWS = 500_000
_HEAD = 64 << 10
_EPOCH = dt.date(1970, 1, 1)


class StoreError(OSError):
    """The store cannot be used (not a store, unreadable manifest, locked, unwritable)."""

    hint = "check --store: it must be a directory written by `maillens ingest` (or a new, empty one)"


# --------------------------------------------------------------------------------------------
# the manifest


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


class _Root:
    """Where the store lives: a local directory (fsync, rename, flock) or an fsspec URL (s3://, gs://, memory://).

    On a URL, a part is written under a temporary name and moved into place, and the manifest is
    written in one request (atomic on object stores); there is no lock, so run one writer at a time.
    """

    def __init__(self, store: str | os.PathLike) -> None:
        s = os.fspath(store)
        self.name = s
        self.fs: Any = None
        self.local: Path | None = None
        if "://" in s and not s.startswith("file://"):
            try:
                import fsspec
            except ImportError as exc:  # pragma: no cover - fsspec comes with dask
                raise StoreError(f"{s}: a URL store needs fsspec (pip install fsspec)") from exc
            try:
                self.fs, self.base = fsspec.core.url_to_fs(s)
            except (ImportError, ValueError) as exc:
                raise StoreError(f"{s}: {exc}") from exc
            self.base = self.base.rstrip("/")
        else:
            self.local = Path(s[7:] if s.startswith("file://") else s)

    def path(self, rel: str) -> str:
        return str(self.local / rel) if self.local is not None else f"{self.base}/{rel}"

    def exists(self, rel: str) -> bool:
        return (self.local / rel).exists() if self.local is not None else bool(self.fs.exists(self.path(rel)))

    def check_dir(self) -> None:
        if self.local is not None and self.local.exists() and not self.local.is_dir():
            raise StoreError(f"{self.name}: not a directory")

    def read_text(self, rel: str) -> str:
        if self.local is not None:
            return (self.local / rel).read_text(encoding="utf-8")
        return self.fs.cat_file(self.path(rel)).decode("utf-8")

    def write_text(self, rel: str, text: str) -> None:
        """Replace ``rel`` atomically with ``text``."""
        if self.local is None:
            self.fs.pipe_file(self.path(rel), text.encode("utf-8"))
            return
        tmp = self.local / f".{rel}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.local / rel)
        _fsync_dir(self.local)

    def write_table(self, rel: str, table: pa.Table) -> None:
        """Write a Parquet file durably under a temporary name, then rename it to ``rel``."""
        folder, name = rel.rsplit("/", 1)
        tmp = f"{folder}/.{name}.tmp"
        if self.local is None:
            self.fs.makedirs(self.path(folder), exist_ok=True)
            with self.fs.open(self.path(tmp), "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
            self.fs.mv(self.path(tmp), self.path(rel))
            return
        d = self.local / folder
        d.mkdir(exist_ok=True)
        with open(self.local / tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(self.local / tmp, self.local / rel)
        _fsync_dir(d)

    def read_table(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        if self.local is not None:
            return pq.read_table(self.local / rel, columns=columns)
        with self.fs.open(self.path(rel), "rb") as fh:
            return pq.read_table(fh, columns=columns)

    def day_files(self) -> list[str]:
        """Every file under the day=* directories, as paths relative to the store."""
        if self.local is not None:
            return sorted(f"{d.name}/{f.name}" for d in self.local.glob("day=*") if d.is_dir() for f in d.iterdir())
        found = self.fs.glob(f"{self.base}/day=*/*") + self.fs.glob(f"{self.base}/day=*/.*")
        return sorted({str(f)[len(self.base) + 1:] if str(f).startswith(self.base) else
                       "/".join(str(f).rsplit("/", 2)[-2:]) for f in found})

    def remove(self, rel: str) -> bool:
        try:
            if self.local is not None:
                (self.local / rel).unlink()
            else:
                self.fs.rm_file(self.path(rel))
        except (OSError, FileNotFoundError):
            return False
        return True

    def remove_empty_days(self) -> None:
        if self.local is None:
            return
        for d in self.local.glob("day=*"):
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty
        for f in self.local.glob(f".{MANIFEST}.*.tmp"):
            with contextlib.suppress(OSError):
                f.unlink()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time (local stores; the kernel releases the lock when a process dies)."""
        if self.local is None:
            self.fs.makedirs(self.base, exist_ok=True)
            yield
            return
        import fcntl

        try:
            self.local.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.local / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.name}: cannot write here ({exc.strerror or exc})") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise StoreError(f"{self.name}: another ingest or prune is writing this store") from None
            yield
        finally:
            os.close(fd)


def _root(store: str | os.PathLike | _Root) -> _Root:
    return store if isinstance(store, _Root) else _Root(store)


def load_manifest(store: str | os.PathLike | _Root) -> Manifest:
    """The store's committed manifest (an empty one for a new store)."""
    root = _root(store)
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


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_manifest(root: _Root, m: Manifest) -> None:
    root.write_text(MANIFEST, m.to_json())


def _clean_debris(root: _Root, m: Manifest) -> int:
    """Delete part files and temporary files the manifest does not list (left by a killed run)."""
    removed = sum(root.remove(rel) for rel in root.day_files() if rel not in m.parts)
    root.remove_empty_days()
    return removed


# --------------------------------------------------------------------------------------------
# keys


_MIX = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0x5BD1E9955BD1E995)


def _column_hash(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A stable 64-bit hash per value of one column (null hashes as a constant), without Python objects per row."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
        vals = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        h = pd.util.hash_array(vals.astype(np.int64))
    elif pa.types.is_floating(t):
        vals = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        h = pd.util.hash_array(vals.view(np.int64))
    else:  # strings: hash each distinct value once
        enc = pc.dictionary_encode(arr.cast(pa.string()))
        dict_h = pd.util.hash_array(enc.dictionary.to_numpy(zero_copy_only=False).astype(object))
        idx = pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False)
        h = dict_h[idx] if len(dict_h) else np.zeros(len(arr), np.uint64)
    if arr.null_count:
        h = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL, h)
    return h


def event_keys(table: pa.Table) -> np.ndarray:
    """Stable 64-bit keys: hash of the identifying columns and the occurrence number within the file."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in KEY_COLUMNS:
            h = (h * _MIX) ^ _column_hash(table.column(name))
    h = pd.util.hash_array(h)
    # occurrence number among identical events of the same source, in line order
    src = pc.dictionary_encode(table.column("source").combine_chunks()).indices.to_numpy(zero_copy_only=False)
    line = pc.fill_null(table.column("line_no"), 0).to_numpy(zero_copy_only=False)
    order = np.lexsort((line, h, src))
    hs, ss = h[order], src[order]
    start = np.ones(n, dtype=bool)
    start[1:] = (hs[1:] != hs[:-1]) | (ss[1:] != ss[:-1])
    pos = np.arange(n)
    first = np.maximum.accumulate(np.where(start, pos, 0))
    occ = np.empty(n, dtype=np.uint64)
    occ[order] = (pos - first).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = pd.util.hash_array(h ^ (occ * _MIX))
    return mixed.view(np.int64)


# --------------------------------------------------------------------------------------------
# sources


@dataclass(frozen=True)
class Digest:
    """What a source's content is: sha256 and length of the decompressed bytes, sha256 of the first
    64 KiB, whether it ends at a line end, and where an earlier ingest of its beginning ended."""

    sha: str
    size: int
    head: str
    newline: bool
    resume_at: int = 0  # bytes already ingested (a grown file or a rotated copy that grew)
    resume_lines: int = 0  # lines in those bytes


def _digest(inp: Input, known: Callable[[str], dict[int, tuple[str, int]]] | None = None) -> Digest:
    """Fingerprint an input; ``known(head)`` gives {size: (sha, lines)} of ingested sources with the same
    beginning, and the longest of them that is a prefix of this content is where parsing may resume."""
    full, head = hashlib.sha256(), hashlib.sha256()
    size = 0
    last = b""
    cands: dict[int, tuple[str, int]] | None = None
    best = (0, 0)
    for chunk in iter_chunks(inp, lambda _msg: None):
        if not chunk:
            continue
        if size < _HEAD:
            head.update(chunk[: _HEAD - size])
        if cands is None and known is not None and size + len(chunk) >= _HEAD:
            cands = known(head.hexdigest())
        for at, (sha, lines) in (cands or {}).items():
            if size < at <= size + len(chunk):
                h = full.copy()
                h.update(chunk[: at - size])
                if h.hexdigest() == sha and at > best[0]:
                    best = (at, lines)
        full.update(chunk)
        size += len(chunk)
        last = chunk[-1:]
    if best[0] >= size:
        best = (0, 0)
    return Digest(full.hexdigest(), size, head.hexdigest(), last == b"\n", *best)


@dataclass
class SourceTable:
    """One input parsed and classified: its rows (with keys) and what was read."""

    name: str
    digest: Digest
    table: pa.Table
    lines: int
    events: int
    unrecognised: int
    warnings: list[str]


def _tail_copy(inp: Input, offset: int, folder: str) -> Input:
    """The decompressed content of ``inp`` after ``offset`` bytes, in a file of the same base name and mtime."""
    assert inp.path is not None
    out = Path(folder) / inp.path.name
    skip = offset
    with open(out, "wb") as fh:
        for chunk in iter_chunks(inp, lambda _msg: None):
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            fh.write(chunk[skip:])
            skip = 0
    st = inp.path.stat()
    os.utime(out, (st.st_atime, st.st_mtime))
    return Input(inp.name, out)


def parse_source(inp: Input, *, tz: str | None, year: int | None, now: dt.datetime | None,
                 digest: Digest | None = None, rules: Sequence[str] = ()) -> SourceTable:
    """Parse and classify one input (only what follows ``digest.resume_at``); add ``event_key``.
    ``rules`` are site knowledge-base files added to the shipped one. Pure: safe on a Dask worker."""
    import tempfile

    from .classify import classify
    from .reader import parse_logs

    dg = digest or _digest(inp)
    with tempfile.TemporaryDirectory(prefix="maillens-tail-") as tmp:
        src = _tail_copy(inp, dg.resume_at, tmp) if dg.resume_at else inp
        res = parse_logs([str(src.path)], tz=tz, year=year, now=now)
    events = res.events
    if len(events):
        if rules:
            from .rules import load_rules

            events = classify(events, load_rules(tuple(Path(r) for r in rules)))
        else:
            events = classify(events)
    table = pa.Table.from_pandas(events, preserve_index=False)
    if table.num_rows == 0:
        table = STORE_SCHEMA.empty_table()
    else:
        table = table.set_column(table.column_names.index("source"), "source",
                                 pa.array([inp.name] * table.num_rows, pa.string()))
        if dg.resume_lines:
            i = table.column_names.index("line_no")
            table = table.set_column(i, "line_no", pc.add(table.column("line_no"), dg.resume_lines))
        table = table.append_column(KEY, pa.array(event_keys(table), pa.int64()))
        table = table.select(STORE_SCHEMA.names).cast(STORE_SCHEMA)
    warnings = [w.replace(str(src.path), inp.name) for w in res.warnings]
    return SourceTable(inp.name, dg, table, dg.resume_lines + res.counts.lines, res.counts.events,
                       res.counts.unrecognised, warnings)


# --------------------------------------------------------------------------------------------
# ingest


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
    """Adds one source's rows to the store under the commit protocol."""

    def __init__(self, store: _Root, m: Manifest, run: str, result: IngestResult,
                 part_rows: int = PART_ROWS) -> None:
        self.store, self.m, self.run, self.result = store, m, run, result
        self.part_rows = part_rows
        self.keys: dict[str, np.ndarray] = {}  # day -> sorted keys present (committed + this run)
        self.n = 0

    def _keys_of(self, day: str) -> np.ndarray:
        if day not in self.keys:
            arrays = [self.store.read_table(rel, columns=[KEY]).column(KEY).to_numpy()
                      for rel in self.m.parts_of(day)]
            self.keys[day] = np.sort(np.concatenate(arrays)) if arrays else np.zeros(0, np.int64)
        return self.keys[day]

    def add(self, st: SourceTable) -> None:
        table = st.table
        new_parts: dict[str, dict[str, Any]] = {}
        if table.num_rows:
            ts_us = pc.fill_null(table.column("ts").cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
            day_no = ts_us // 86_400_000_000  # UTC days since 1970-01-01
            keys = table.column(KEY).to_numpy()
            keep = np.ones(len(keys), dtype=bool)
            if self.m.pruned_before:
                old = day_no < (dt.date.fromisoformat(self.m.pruned_before) - _EPOCH).days
                self.result.too_old += int(old.sum())
                keep &= ~old
            # first occurrence within this source only
            _, first = np.unique(keys, return_index=True)
            dup_in = np.ones(len(keys), dtype=bool)
            dup_in[first] = False
            for d in np.unique(day_no[keep]).tolist():
                day = (_EPOCH + dt.timedelta(days=int(d))).isoformat()
                sel = keep & (day_no == d)
                present = self._keys_of(day)
                seen = np.isin(keys, present) | dup_in
                new = sel & ~seen
                self.result.duplicates += int((sel & seen).sum())
                idx = np.flatnonzero(new)
                if len(idx) == 0:
                    continue
                if idx[-1] - idx[0] + 1 == len(idx):  # the usual case: a run of lines, no copy
                    part = table.slice(int(idx[0]), len(idx))
                else:
                    part = table.take(pa.array(idx))
                for start in range(0, part.num_rows, self.part_rows):
                    chunk = part.slice(start, self.part_rows)
                    rel = self._write_part(day, chunk)
                    new_parts[rel] = {"day": day, "rows": chunk.num_rows, "run": self.run}
                del part
                self.keys[day] = np.sort(np.concatenate([present, keys[idx]]))
                self.result.added += len(idx)
        # commit: the manifest lists the parts (and the source) only after they are durable
        self.m.parts.update(new_parts)
        dg = st.digest
        self.m.sources[dg.sha] = {"name": st.name, "size": dg.size, "head": dg.head, "lines": st.lines,
                                  "newline": dg.newline, "resumed_at": dg.resume_at, "events": st.events,
                                  "run": self.run}
        _write_manifest(self.store, self.m)
        self.result.parts += len(new_parts)
        self.result.ingested_sources.append(st.name)

    def _write_part(self, day: str, chunk: pa.Table) -> str:
        rel = f"day={day}/part-{self.run}-{self.n:04d}.parquet"
        self.n += 1
        self.store.write_table(rel, chunk)
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
) -> IngestResult:
    """Parse and classify logs and add their events to the store; each event is added once.

    ``engine="dask"`` parses the files on a Dask cluster (``scheduler`` address, or a local
    cluster); the commit is the same. ``progress(bytes_done, bytes_total)`` after each file.
    ``now`` names the run (and stands in for stdin's modification time). ``rules``: site
    knowledge-base files for the classification (as ``maillens parse --rules``).
    """
    if isinstance(paths, str):
        paths = [paths]
    if engine not in ("local", "dask"):
        raise ValueError(f"unknown engine {engine!r}; choose local or dask")
    from .reader import _check_tz, default_tz

    tz = _check_tz(tz or default_tz())
    site = tuple(os.path.abspath(os.fspath(r)) for r in rules)
    if site:
        from .rules import load_rules

        load_rules(tuple(Path(r) for r in site))  # a broken file fails here, before anything is read
    inputs = expand_inputs(paths)
    if any(i.path is None for i in inputs):
        raise StoreError("stdin cannot be ingested: its content cannot be fingerprinted")
    root = _Root(store)
    with root.locked():
        m = load_manifest(root)
        run = _new_run(now)
        result = IngestResult(root.name, run)
        result.debris_removed = _clean_debris(root, m)
        started = (now or dt.datetime.now(dt.UTC)).isoformat()
        wall = time.time()
        writer = _Writer(root, m, run, result, part_rows)
        prefixes: dict[str, dict[int, tuple[str, int]]] = {}
        for sha, rec in m.sources.items():
            if rec.get("newline") and rec.get("size", 0) >= _HEAD:
                prefixes.setdefault(rec["head"], {})[rec["size"]] = (sha, rec["lines"])
        todo: list[tuple[Input, Digest]] = []
        for inp in inputs:
            dg = _digest(inp, lambda head: prefixes.get(head, {}))
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
            from .scale import parse_on_dask

            tables: Iterable[SourceTable] = parse_on_dask(todo, tz=tz, year=year, now=now, scheduler=scheduler,
                                                          rules=site)
        else:
            tables = (parse_source(inp, tz=tz, year=year, now=now, digest=dg, rules=site) for inp, dg in todo)
        seen_now: set[str] = set()
        for st in tables:
            result.lines += st.lines
            result.unrecognised += st.unrecognised
            result.warnings.extend(st.warnings)
            if st.digest.sha in seen_now:  # the same content twice in one run
                result.skipped_sources.append(st.name)
            else:
                writer.add(st)
                seen_now.add(st.digest.sha)
                if st.digest.resume_at:
                    result.resumed_sources.append(st.name)
            done += size.get(st.name, 0)
            if progress:
                progress(done, total)
        result.days = sorted({p["day"] for p in m.parts.values() if p["run"] == run})
        m.runs.append({"run": run, "started": started, "seconds": round(time.time() - wall, 3),
                       "engine": engine, "rules": list(site), "added": result.added, "duplicates": result.duplicates,
                       "sources": result.ingested_sources, "skipped": result.skipped_sources})
        _write_manifest(root, m)
    return result


# --------------------------------------------------------------------------------------------
# read


def _day(t: dt.datetime | dt.date | str | None) -> str | None:
    if t is None:
        return None
    if isinstance(t, str):
        t = pd.Timestamp(t).to_pydatetime()
    if isinstance(t, dt.datetime):
        if t.tzinfo is not None:
            t = t.astimezone(dt.UTC)
        return t.date().isoformat()
    return t.isoformat()


def _ts(t: dt.datetime | dt.date | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def store_days(store: str | os.PathLike) -> list[str]:
    """The days (UTC, ISO) the store holds events for."""
    return load_manifest(store).days()


def read_events(
    store: str | os.PathLike,
    since: dt.datetime | dt.date | str | None = None,
    until: dt.datetime | dt.date | str | None = None,
    columns: Sequence[str] | None = None,
    hosts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Events of the store with ``since <= ts < until`` (UTC; naive times are UTC), Arrow-backed.

    Only the day partitions in the range are read, and only the committed parts. ``columns``
    limits the columns read (``ts`` and ``host`` are read for filtering, and returned only when asked).
    """
    root = _Root(store)
    if root.local is not None and not root.local.is_dir():
        raise StoreError(f"{store}: no such store")
    if not root.exists(MANIFEST):
        raise StoreError(f"{store}: not a maillens store (no {MANIFEST}); build one with maillens ingest")
    for attempt in range(3):  # a prune may delete a part between reading the manifest and the part
        try:
            return _read(root, load_manifest(root), since, until, columns, hosts)
        except FileNotFoundError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _read(root: _Root, m: Manifest, since: Any, until: Any, columns: Sequence[str] | None,
          hosts: Sequence[str] | None) -> pd.DataFrame:
    lo, hi = _day(since), _day(until)
    rels = [rel for rel, p in sorted(m.parts.items(), key=lambda kv: (kv[1]["day"], kv[0]))
            if (lo is None or p["day"] >= lo) and (hi is None or p["day"] <= hi)]
    want = list(columns) if columns is not None else [n for n in STORE_SCHEMA.names]
    unknown = [c for c in want if c not in STORE_SCHEMA.names and c != "day"]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; the store has {list(STORE_SCHEMA.names)}")
    read = [c for c in STORE_SCHEMA.names if c in want or (c == "ts" and (since or until))
            or (c == "host" and hosts)]
    tables = [root.read_table(rel, columns=read) for rel in rels]
    schema = pa.schema([STORE_SCHEMA.field(c) for c in read])
    table = pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()
    mask = None
    if since is not None:
        mask = pc.greater_equal(table.column("ts"), pa.scalar(_ts(since).to_pydatetime(), SCHEMA.field("ts").type))
    if until is not None:
        m2 = pc.less(table.column("ts"), pa.scalar(_ts(until).to_pydatetime(), SCHEMA.field("ts").type))
        mask = m2 if mask is None else pc.and_(mask, m2)
    if hosts:
        m3 = pc.is_in(table.column("host"), pa.array(list(hosts), pa.string()))
        mask = m3 if mask is None else pc.and_(mask, m3)
    if mask is not None:
        table = table.filter(mask)
    df = table.select([c for c in read if c in want]).to_pandas(types_mapper=pd.ArrowDtype)
    if "day" in want:
        df["day"] = pd.Series(pc.strftime(table.column("ts"), format="%Y-%m-%d").to_pylist(),
                              dtype="string[pyarrow]", index=df.index) if "ts" in read else pd.NA
    return df


# --------------------------------------------------------------------------------------------
# prune


@dataclass
class PruneResult:
    """What a prune removed."""

    removed_days: list[str]
    removed_rows: int
    kept_from: str


def prune(store: str | os.PathLike, keep: dt.timedelta, now: dt.datetime) -> PruneResult:
    """Remove the days older than ``now - keep`` (whole UTC days; the day containing it is kept)."""
    root = _Root(store)
    if not root.exists(MANIFEST):
        raise StoreError(f"{store}: no _manifest.json here; not a maillens store")
    if keep < dt.timedelta(0):
        raise ValueError("keep must not be negative")
    cutoff = _day(now - keep)
    assert cutoff is not None
    with root.locked():
        m = load_manifest(root)
        gone = {rel: p for rel, p in m.parts.items() if p["day"] < cutoff}
        for rel in gone:
            del m.parts[rel]
        if m.pruned_before is None or cutoff > m.pruned_before:
            m.pruned_before = cutoff
        _write_manifest(root, m)  # commit first; the files are now debris
        _clean_debris(root, m)
    return PruneResult(sorted({p["day"] for p in gone.values()}), sum(p["rows"] for p in gone.values()), cutoff)
