"""What the store looks like on disk, and the root that reads and writes it (local directory or fsspec URL).

File names, the schema of a part file, the error raised when the store cannot be used, and
the day partition a time falls in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..schema import CLASS_COLUMNS, SCHEMA

MANIFEST = "_manifest.json"  # "_" and "." files are skipped by pyarrow, Spark and Hive readers
LOCK = ".lock"
KEY = "event_key"
STORE_SCHEMA = pa.schema(list(SCHEMA) + [pa.field(c.name, c.type) for c in CLASS_COLUMNS]
                         + [pa.field(KEY, pa.int64())])
#: Rows per part file at most (a big day is written as several parts).
PART_ROWS = 500_000


class StoreError(OSError):
    """The store cannot be used (not a store, unreadable manifest, locked, unwritable)."""

    hint = "check --store: it must be a directory written by `maillens ingest` (or a new, empty one)"


class Root:
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
        fsync_dir(self.local)

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
        fsync_dir(d)

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


def as_root(store: str | os.PathLike | Root) -> Root:
    return store if isinstance(store, Root) else Root(store)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def day_of(t: dt.datetime | dt.date | str | None) -> str | None:
    """The UTC day (ISO) a time falls in: the ``day=`` partition it belongs to."""
    if t is None:
        return None
    if isinstance(t, str):
        t = pd.Timestamp(t).to_pydatetime()
    if isinstance(t, dt.datetime):
        if t.tzinfo is not None:
            t = t.astimezone(dt.UTC)
        return t.date().isoformat()
    return t.isoformat()
