"""The same run read twice: one night's log in two formats (syslog and RFC 3339 stamps, a
file and a journal export) given together.

Both copies hold the same messages — the same queue ids, the same events — with stamps
written differently, so line-level duplicate checks do not see them and every figure doubles.
:func:`drop_repeated_runs` finds, for each set of files (a rotated set counts as one, in the
order read), the events an earlier set already has, keeps the first copy and names the
repeating files in a warning.

Two events are "the same" when every column but the stamp, the file and the line number is
equal and their stamps agree to the second modulo 15 minutes: a stamp read in another zone
(a whole number of quarter hours away), in another year (yearless syslog) or with a fraction
of a second still matches. Each event of a later set cancels at most one event of the earlier
ones, so repeated identical lines (the same client connecting again) are not lost. Only sets
that share half their queue ids with earlier ones are compared event by event, and only a set
with half its events matched is treated as a copy (partial copies lose just the matched events).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .parsers import LineCounts
from .sources import rotation_key

__all__ = ["MIN_SHARE", "drop_repeated_runs"]

#: A later set is compared with the earlier ones when at least this share of its queue ids was
#: seen before, and is a copy when at least this share of its events match: a message that
#: spans two days' files, or a few equal lines, never make a copy.
MIN_SHARE = 0.5
_SKIP = ("ts", "source", "line_no")
_QUARTER_HOUR_S = 900


def _group_of(sources: pd.Series) -> pd.Series:
    """The rotated set of each row's file: mail.log.2.gz, mail.log.1 and mail.log are one."""
    names = {s: rotation_key(str(s))[0] for s in sources.dropna().unique()}
    return sources.map(names)


def _keys(df: pd.DataFrame) -> pd.Series:
    content = [c for c in df.columns if c not in _SKIP]
    frame = df[content].copy()
    ts = pa.chunked_array([pa.array(df["ts"])]) if len(df) else pa.chunked_array([], pa.timestamp("s", "UTC"))
    secs = pc.cast(pc.cast(ts, pa.timestamp("us", "UTC")), pa.int64()).to_numpy(zero_copy_only=False) // 10**6
    frame["_t"] = pd.array(secs % _QUARTER_HOUR_S, dtype="Int64")
    return pd.util.hash_pandas_object(frame, index=False)


def drop_repeated_runs(df: pd.DataFrame, counts: LineCounts, warnings: list[str]) -> pd.DataFrame:
    """``df`` without the events a later set of files repeats from an earlier one (taken off
    ``counts.events`` too); one warning per repeating set. Returns ``df`` itself when nothing
    repeats."""
    if df.empty or "source" not in df.columns:
        return df
    group = _group_of(df["source"])
    order = list(dict.fromkeys(group.dropna()))
    if len(order) < 2:
        return df
    has_q = df["queue_id"].notna().to_numpy()
    q = pd.DataFrame({"host": df["host"], "queue_id": df["queue_id"], "g": group})[has_q].drop_duplicates()
    first = q.groupby(["host", "queue_id"], sort=False, dropna=False)["g"].transform("first")
    shared = (q["g"] != first).groupby(q["g"], sort=False).mean()
    candidates = [g for g in order if shared.get(g, 0.0) >= MIN_SHARE]
    if not candidates:
        return df
    keys = _keys(df)
    rank = group.map({g: i for i, g in enumerate(order)}).to_numpy()
    drop = np.zeros(len(df), dtype=bool)
    for g in candidates:
        in_g = (group == g).to_numpy()
        prior = (rank < order.index(g)) & ~drop
        k = keys[in_g]
        earlier = keys[prior]
        occurrence = k.groupby(k.to_numpy()).cumcount().to_numpy()
        dup = occurrence < k.map(earlier.value_counts()).fillna(0).to_numpy()
        if dup.sum() < MIN_SHARE * len(k):
            continue
        drop[np.flatnonzero(in_g)[dup]] = True
        origin = k[dup].map(pd.Series(group[prior].to_numpy(), index=earlier.to_numpy()).groupby(level=0).first())
        files = sorted({os.path.basename(str(s)) for s in df.loc[in_g, "source"].dropna().unique()})
        warnings.append(
            f"{', '.join(files)} repeat{'s' if len(files) == 1 else ''} {int(dup.sum()):,} events already read "
            f"from {origin.mode().iloc[0]}* (same queue ids and events, stamps written differently): counted "
            "once. Give one copy of each log to silence this")
    if not drop.any():
        return df
    counts.events -= int(drop.sum())
    return df[~drop].reset_index(drop=True)
