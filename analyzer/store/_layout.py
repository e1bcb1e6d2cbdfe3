"""What the store looks like on disk, and the root that reads and writes it (local directory or fsspec URL).

File names, the schema of a part file, the error raised when the store cannot be used, and
the day partition a time falls in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
from collections.abc import Callable, Iterator
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
#: The names maillens gives its part files and their temporary copies; nothing else is ever deleted.
RUN = r"\d{8}T\d{6}-[0-9a-f]{6}"
PART_NAME = re.compile(rf"^part-(?P<run>{RUN})-\d{{4,}}\.parquet$")
PART_TMP = re.compile(rf"^\.part-(?P<run>{RUN})-\d{{4,}}\.parquet\.tmp$")
DAY_DIR = re.compile(r"^day=(?P<day>\d{4}-\d{2}-\d{2})$")


class StoreError(OSError):
    """The store cannot be used (not a store, unreadable manifest, locked, unwritable)."""

    hint = "check --store: it must be a directory written by `maillens ingest` (or a new, empty one)"


class StoreDamaged(StoreError):
    """The store is a maillens store, but its manifest is lost or unreadable, or lists a missing or corrupt part."""

    def __init__(self, message: str, store: str) -> None:
        super().__init__(message)
        self.store = store
        self.hint = (f"maillens store repair --store {store}  (it lists the parts that are there; then ingest "
                     "the logs again to restore what a lost part held)")

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self):  # raised on a Dask worker, rebuilt on the client
        return (type(self), (self.args[0], self.store))


class StoreWriteError(StoreError):
    """A file of the store could not be written (disk full, read-only, permissions); the run was undone."""

    hint = "free space on the store's filesystem (or fix its permissions), then run the ingest again"

    def __str__(self) -> str:
        return str(self.args[0])


def _write_error(exc: OSError, path: str) -> StoreWriteError:
    """`No space left on device while writing PATH`: what failed, and on which file."""
    if exc.errno == errno.ENOSPC:
        what = "No space left on device"
    elif exc.errno:
        what = exc.strerror or os.strerror(exc.errno)
    else:
        what = str(exc)
    return StoreWriteError(f"{what} while writing {path}")


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
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.local / rel)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _write_error(exc, str(self.local / rel)) from exc
        fsync_dir(self.local)

    def write_table(self, rel: str, table: pa.Table) -> None:
        """Write a Parquet file durably under a temporary name, then rename it to ``rel``."""
        folder, name = rel.rsplit("/", 1)
        tmp = f"{folder}/.{name}.tmp"
        if self.local is None:
            try:
                self.fs.makedirs(self.path(folder), exist_ok=True)
                with self.fs.open(self.path(tmp), "wb") as fh:
                    pq.write_table(table, fh, compression="zstd")
                self.fs.mv(self.path(tmp), self.path(rel))
            except OSError as exc:
                self.remove(tmp)
                raise _write_error(exc, self.path(rel)) from exc
            return
        d = self.local / folder
        try:
            d.mkdir(exist_ok=True)
            with open(self.local / tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(self.local / tmp, self.local / rel)
        except OSError as exc:
            self.remove(tmp)
            raise _write_error(exc, str(self.local / rel)) from exc
        fsync_dir(d)

    def open_part(self, rel: str, schema: pa.Schema = STORE_SCHEMA) -> PartFile:
        """A part written batch by batch under a temporary name; :meth:`PartFile.close` makes it
        durable and renames it to ``rel``, :meth:`PartFile.abort` deletes it."""
        return PartFile(self, rel, schema)

    def read_table(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        if self.local is not None:
            return pq.read_table(self.local / rel, columns=columns)
        with self.fs.open(self.path(rel), "rb") as fh:
            return pq.read_table(fh, columns=columns)

    def read_part(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        """A part the manifest lists, with the store's schema; StoreDamaged naming it if it is missing or corrupt."""
        try:
            table = self.read_table(rel, columns=columns)
            want = [c for c in STORE_SCHEMA.names if columns is None or c in columns]
            return table.select(want).cast(pa.schema([STORE_SCHEMA.field(c) for c in want]))
        except FileNotFoundError as exc:
            raise PartMissing(f"{self.path(rel)}: listed in the store's manifest but missing", self.name) from exc
        except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
            raise StoreDamaged(f"{self.path(rel)}: listed in the store's manifest but not a readable part "
                               f"({exc})", self.name) from exc

    def read_part_batches(self, rel: str, columns: list[str], batch_rows: int,
                          row_groups: Callable[[Any], list[int]] | None = None) -> Iterator[pa.RecordBatch]:
        """A listed part's ``columns`` as record batches (of the row groups ``row_groups(metadata)``
        picks); StoreDamaged naming it if it is missing or corrupt."""
        with contextlib.ExitStack() as stack:
            try:
                if self.local is not None:
                    # mapped, not read into buffers of Arrow's C++ default pool (mimalloc), whose
                    # reading threads kept ~40-85 MiB of those pages after a 7-day store's reads
                    # (measured: bench/RESULTS.md, r16-weekly); parts are only ever replaced whole
                    # (written under a temporary name, then renamed), never changed where they are
                    pf = pq.ParquetFile(self.local / rel, memory_map=True)
                else:
                    pf = pq.ParquetFile(stack.enter_context(self.fs.open(self.path(rel), "rb")))
                stack.callback(pf.close)
                groups = row_groups(pf.metadata) if row_groups is not None else list(range(pf.num_row_groups))
                names = set(pf.schema_arrow.names)
                missing = [c for c in columns if c not in names]
                if missing:
                    raise KeyError(f"no column(s) {missing}")
                if not groups:
                    return
                it = pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=columns)
                while True:
                    try:
                        batch = next(it)
                    except StopIteration:
                        return
                    yield batch.select(columns)
            except FileNotFoundError as exc:
                raise PartMissing(f"{self.path(rel)}: listed in the store's manifest but missing", self.name) from exc
            except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
                raise StoreDamaged(f"{self.path(rel)}: listed in the store's manifest but not a readable part "
                                   f"({exc})", self.name) from exc

    def check_part(self, rel: str, rows: int | None) -> None:
        """Cheap check of a listed part (its Parquet footer and row count); StoreDamaged naming it if bad."""
        try:
            if self.local is not None:
                meta = pq.read_metadata(self.local / rel)
            else:
                with self.fs.open(self.path(rel), "rb") as fh:
                    meta = pq.read_metadata(fh)
        except FileNotFoundError as exc:
            raise PartMissing(f"{self.path(rel)}: listed in the store's manifest but missing", self.name) from exc
        except (OSError, pa.ArrowException) as exc:
            raise StoreDamaged(f"{self.path(rel)}: listed in the store's manifest but not a readable part "
                               f"({exc})", self.name) from exc
        if rows is not None and meta.num_rows != rows:
            raise StoreDamaged(f"{self.path(rel)}: holds {meta.num_rows} rows, the manifest says {rows}", self.name)

    def entries(self) -> list[str]:
        """The names at the top of the store that maillens did not put there itself (lock, manifest temporaries)."""
        try:
            if self.local is not None:
                names = [p.name for p in self.local.iterdir()] if self.local.is_dir() else []
            else:
                names = [str(f).rstrip("/").rsplit("/", 1)[-1] for f in self.fs.ls(self.base, detail=False)]
        except FileNotFoundError:
            return []
        return [n for n in names if n != LOCK and not (n.startswith(f".{MANIFEST}.") and n.endswith(".tmp"))]

    def day_files(self) -> list[str]:
        """Every file under the day=* directories, as paths relative to the store."""
        if self.local is not None:
            return sorted(f"{d.name}/{f.name}" for d in self.local.glob("day=*") if d.is_dir() for f in d.iterdir())
        found = self.fs.glob(f"{self.base}/day=*/*") + self.fs.glob(f"{self.base}/day=*/.*")
        return sorted({str(f)[len(self.base) + 1:] if str(f).startswith(self.base) else
                       "/".join(str(f).rsplit("/", 2)[-2:]) for f in found})

    def rename(self, rel: str, to: str) -> None:
        if self.local is not None:
            os.replace(self.local / rel, self.local / to)
        else:
            self.fs.mv(self.path(rel), self.path(to))

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


class PartFile:
    """One part being written (see :meth:`Root.open_part`): a ``ParquetWriter`` on its temporary file."""

    def __init__(self, root: Root, rel: str, schema: pa.Schema) -> None:
        self.root, self.rel, self.rows = root, rel, 0
        folder, name = rel.rsplit("/", 1)
        self.folder, self.tmp = folder, f"{folder}/.{name}.tmp"
        try:
            if root.local is None:
                root.fs.makedirs(root.path(folder), exist_ok=True)
                self.fh = root.fs.open(root.path(self.tmp), "wb")
            else:
                (root.local / folder).mkdir(exist_ok=True)
                self.fh = open(root.local / self.tmp, "wb")  # noqa: SIM115 - held open across writes, closed by close()/abort()
            self.writer = pq.ParquetWriter(self.fh, schema, compression="zstd")
        except OSError as exc:
            self.abort()
            raise _write_error(exc, root.path(rel)) from exc

    def write(self, table: pa.Table) -> None:
        try:
            self.writer.write_table(table)
        except OSError as exc:
            self.abort()
            raise _write_error(exc, self.root.path(self.rel)) from exc
        self.rows += table.num_rows

    def close(self) -> None:
        """Finish the file, make it durable, and rename it into place."""
        root = self.root
        try:
            self.writer.close()
            if root.local is not None:
                self.fh.flush()
                os.fsync(self.fh.fileno())
            self.fh.close()
            root.rename(self.tmp, self.rel)
        except OSError as exc:
            self.abort()
            raise _write_error(exc, root.path(self.rel)) from exc
        if root.local is not None:
            fsync_dir(root.local / self.folder)

    def abort(self) -> None:
        """Delete the temporary file (and the part, if it was renamed)."""
        for close in (getattr(getattr(self, "writer", None), "close", None), getattr(getattr(self, "fh", None),
                                                                                   "close", None)):
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        self.root.remove(self.tmp)


class PartMissing(StoreDamaged):
    """A part the manifest lists is not on disk (deleted by hand, or by a prune running at the same time)."""


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
