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

**Streaming.** A file is parsed, classified and written batch by batch
(:class:`~analyzer.store._parse.SourceStream`): each day's new rows go to a part file open for that
day (a ``ParquetWriter``), a new part every ``part_rows`` rows. The occurrence numbers of the keys
count identical events of earlier batches too (:class:`~analyzer.store._keys.SourceKeys`), and
retry-wait lines take the cause of an error in an earlier batch
(:class:`analyzer.classify_stream.StreamClassifier`): the rows are the same for any batch size.
Memory: one batch, the classification cache, and 8 bytes per event of the file (its keys) plus,
when a day already holds events, that day's keys. Reading (:func:`iter_event_batches`) goes batch
by batch too: only the days asked for, the row groups whose ``ts`` range meets the time range,
and the columns asked for.

**Crash safety.** A run first records itself in ``_manifest.json``; it then writes each part under a
temporary name, fsyncs it, renames it into its day directory, and only then replaces
``_manifest.json`` (write, fsync, rename) listing the new parts. Readers read only the parts the
manifest lists. A part of a run the manifest records that is on disk but not listed is debris of a
killed run (or prune); the next writer deletes it and does the work again. One writer at a time
(``.lock``, released by the kernel when a process dies). A failed write (a full disk) deletes the
parts written for the file being added and the temporary file, and raises :class:`StoreWriteError`.

**Never deleting what maillens did not write.** Only maillens' temporary names
(``.part-RUN-N.parquet.tmp``, ``._manifest.json.PID.tmp``) and parts ``part-RUN-N.parquet`` of a RUN
the manifest records are ever deleted. A directory with files in it but no manifest is refused
(:class:`StoreDamaged` if it holds maillens parts, else :class:`StoreError`). A manifest that lists
a missing or corrupt part makes every operation stop with :class:`StoreDamaged` naming it;
:func:`repair` rebuilds the manifest from the parts that are there. Tools that read the directory as a plain
hive dataset (pandas, DuckDB, Spark) see the committed parts plus, between a killed run and the next
one, that run's finished but uncommitted parts: rows that are new, never copies of stored ones.

The code, one responsibility per module (all private; import from :mod:`analyzer.store`):

- ``_layout``: file names, the part schema, the errors, the root (local directory or fsspec URL)
- ``_manifest``: the manifest's format, loading and committing it, deleting debris
- ``_keys``: event keys and source fingerprints
- ``_parse``: one source parsed and classified into store rows (what a Dask worker runs)
- ``_ingest``, ``_read``, ``_prune``, ``_repair``: the operations
"""

from __future__ import annotations

from ._ingest import IngestResult, ingest
from ._keys import KEY_COLUMNS as KEY_COLUMNS
from ._keys import Digest as Digest
from ._keys import event_keys as event_keys
from ._layout import KEY, STORE_SCHEMA, StoreDamaged, StoreError, StoreWriteError
from ._layout import LOCK as LOCK
from ._layout import MANIFEST as MANIFEST
from ._layout import PART_ROWS as PART_ROWS
from ._manifest import FORMAT as FORMAT
from ._manifest import SCHEMA_VERSION as SCHEMA_VERSION
from ._manifest import Manifest, load_manifest
from ._parse import SourceTable, parse_source
from ._prune import PruneResult, prune
from ._read import Scan, iter_event_batches, read_events, scan_frame, store_days
from ._repair import RepairResult, repair

__all__ = [
    "KEY",
    "STORE_SCHEMA",
    "IngestResult",
    "Manifest",
    "PruneResult",
    "RepairResult",
    "Scan",
    "SourceTable",
    "StoreDamaged",
    "StoreError",
    "StoreWriteError",
    "ingest",
    "iter_event_batches",
    "load_manifest",
    "parse_source",
    "prune",
    "read_events",
    "repair",
    "scan_frame",
    "store_days",
]
