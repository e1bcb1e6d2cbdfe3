"""Read events back: only the day partitions asked for, only the committed parts."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import SCHEMA
from ._layout import MANIFEST, STORE_SCHEMA, PartMissing, Root, StoreError, day_of
from ._manifest import Manifest, load_manifest, missing_manifest


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
    A part the manifest lists that is missing or unreadable raises :class:`StoreDamaged` naming it.
    """
    root = Root(store)
    if root.local is not None and not root.local.is_dir():
        raise StoreError(f"{store}: no such store")
    if not root.exists(MANIFEST):
        if root.entries():
            raise missing_manifest(root)
        raise StoreError(f"{store}: not a maillens store (no {MANIFEST}); build one with maillens ingest")
    for attempt in range(5):
        m = load_manifest(root)
        try:
            return _read(root, m, since, until, columns, hosts)
        except PartMissing as exc:
            # a prune may delete a part between reading the manifest and the part: then it is no longer listed
            if attempt == 4 or set(load_manifest(root).parts) == set(m.parts):
                raise exc from None
    raise AssertionError("unreachable")


def _read(root: Root, m: Manifest, since: Any, until: Any, columns: Sequence[str] | None,
          hosts: Sequence[str] | None) -> pd.DataFrame:
    lo, hi = day_of(since), day_of(until)
    rels = [rel for rel, p in sorted(m.parts.items(), key=lambda kv: (kv[1]["day"], kv[0]))
            if (lo is None or p["day"] >= lo) and (hi is None or p["day"] <= hi)]
    want = list(columns) if columns is not None else [n for n in STORE_SCHEMA.names]
    unknown = [c for c in want if c not in STORE_SCHEMA.names and c != "day"]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; the store has {list(STORE_SCHEMA.names)}")
    read = [c for c in STORE_SCHEMA.names if c in want or (c == "ts" and (since or until))
            or (c == "host" and hosts)]
    tables = [root.read_part(rel, columns=read) for rel in rels]
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
