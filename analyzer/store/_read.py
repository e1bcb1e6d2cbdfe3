"""Read events back: only the day partitions asked for, only the committed parts."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import heap
from ..schema import SCHEMA
from ._layout import MANIFEST, STORE_SCHEMA, PartMissing, Root, StoreError, day_of
from ._manifest import Manifest, load_manifest, missing_manifest

#: Rows per batch when the store is read batch by batch.
BATCH_ROWS = 20_000


def _ts(t: dt.datetime | dt.date | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def store_days(store: str | os.PathLike) -> list[str]:
    """The days (UTC, ISO) the store holds events for."""
    return load_manifest(store).days()


def _open_store(store: str | os.PathLike) -> Root:
    root = Root(store)
    if root.local is not None and not root.local.is_dir():
        raise StoreError(f"{store}: no such store")
    if not root.exists(MANIFEST):
        if root.entries():
            raise missing_manifest(root)
        raise StoreError(f"{store}: not a maillens store (no {MANIFEST}); build one with maillens ingest")
    return root


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
    A part the manifest lists that is missing or unreadable raises :class:`StoreDamaged` naming it.
    """
    root = _open_store(store)
    for attempt in range(5):
        m = load_manifest(root)
        try:
            scan = Scan(root, m, since, until, columns, hosts)
            tables = list(scan)
            table = pa.concat_tables(tables) if tables else scan.schema.empty_table()
            del tables
            return scan_frame(table, scan)
        except PartMissing as exc:
            # a prune may delete a part between reading the manifest and the part: then it is no longer listed
            if attempt == 4 or set(load_manifest(root).parts) == set(m.parts):
                raise exc from None
    raise AssertionError("unreachable")


def iter_event_batches(
    store: str | os.PathLike,
    since: dt.datetime | dt.date | str | None = None,
    until: dt.datetime | dt.date | str | None = None,
    columns: Sequence[str] | None = None,
    hosts: Sequence[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Scan:
    """The rows :func:`read_events` gives, as Arrow tables of at most ``batch_rows`` rows in the
    same order (an iterable that can be read more than once). Only the day partitions in the range,
    only the row groups whose ``ts`` range meets it, only ``columns``."""
    root = _open_store(store)
    return Scan(root, load_manifest(root), since, until, columns, hosts, batch_rows)


class Scan:
    """One read of the store (see :func:`iter_event_batches`): the parts of the days asked for, in
    day and part order; each iteration reads them again, batch by batch."""

    def __init__(self, root: Root, m: Manifest, since: Any, until: Any, columns: Sequence[str] | None,
                 hosts: Sequence[str] | None, batch_rows: int = BATCH_ROWS) -> None:
        lo, hi = day_of(since), day_of(until)
        self.root, self.batch_rows = root, batch_rows
        self.rels = [rel for rel, p in sorted(m.parts.items(), key=lambda kv: (kv[1]["day"], kv[0]))
                     if (lo is None or p["day"] >= lo) and (hi is None or p["day"] <= hi)]
        self.want = list(columns) if columns is not None else [n for n in STORE_SCHEMA.names]
        unknown = [c for c in self.want if c not in STORE_SCHEMA.names and c != "day"]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown}; the store has {list(STORE_SCHEMA.names)}")
        self.read = [c for c in STORE_SCHEMA.names if c in self.want or (c == "ts" and (since or until))
                     or (c == "host" and hosts)]
        self.schema = pa.schema([STORE_SCHEMA.field(c) for c in self.read])
        ts_type = SCHEMA.field("ts").type
        self.since = pa.scalar(_ts(since).to_pydatetime(), ts_type) if since is not None else None
        self.until = pa.scalar(_ts(until).to_pydatetime(), ts_type) if until is not None else None
        self.hosts = pa.array(list(hosts), pa.string()) if hosts else None

    def __iter__(self) -> Iterator[pa.Table]:
        for rel in self.rels:
            yield from self._part(rel)
            heap.release_arrow()  # the pages the Parquet reader left in Arrow's pools

    def _part(self, rel: str) -> Iterator[pa.Table]:
        """One part's batches, cut to the range and hosts asked for."""
        for batch in self.root.read_part_batches(rel, self.read, self.batch_rows, self._row_groups):
            table = pa.Table.from_batches([batch]).cast(self.schema)
            mask = None
            if self.since is not None:
                mask = pc.greater_equal(table.column("ts"), self.since)
            if self.until is not None:
                m2 = pc.less(table.column("ts"), self.until)
                mask = m2 if mask is None else pc.and_(mask, m2)
            if self.hosts is not None:
                m3 = pc.is_in(table.column("host"), self.hosts)
                mask = m3 if mask is None else pc.and_(mask, m3)
            if mask is not None:
                table = table.filter(mask)
            if table.num_rows:
                yield table

    def _row_groups(self, meta: Any) -> list[int]:
        """The row groups whose ts statistics can hold rows in [since, until)."""
        if self.since is None and self.until is None:
            return list(range(meta.num_row_groups))
        col = meta.schema.names.index("ts") if "ts" in meta.schema.names else None
        out = []
        for i in range(meta.num_row_groups):
            st = meta.row_group(i).column(col).statistics if col is not None else None
            if st is not None and st.has_min_max:
                lo, hi = pa.scalar(st.min, self.schema.field("ts").type), pa.scalar(st.max, self.schema.field("ts").type)
                if (self.since is not None and pc.less(hi, self.since).as_py()) or \
                        (self.until is not None and pc.greater_equal(lo, self.until).as_py()):
                    continue
            out.append(i)
        return out


def scan_frame(table: pa.Table, scan: Scan) -> pd.DataFrame:
    """A scan's table as the DataFrame :func:`read_events` returns."""
    want, read = scan.want, scan.read
    df = table.select([c for c in read if c in want]).to_pandas(types_mapper=pd.ArrowDtype)
    if "day" in want:
        df["day"] = pd.Series(pc.strftime(table.column("ts"), format="%Y-%m-%d").to_pylist(),
                              dtype="string[pyarrow]", index=df.index) if "ts" in read else pd.NA
    return df
