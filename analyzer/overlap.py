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
ones, so repeated identical lines (the same client connecting again) are not lost. Sets that
share no queue id are never compared event by event.
"""

from __future__ import annotations

import os

import pandas as pd

from .parsers import LineCounts
from .sources import rotation_key

__all__ = ["MIN_SHARED_QUEUE_IDS", "drop_repeated_runs"]

#: A later set is a copy only if at least this many of its queue-id events match (or all of
#: them, when it has fewer): a few stray equal lines never make a copy.
MIN_SHARED_QUEUE_IDS = 3
_SKIP = ("ts", "source", "line_no")
_QUARTER_HOUR_S = 900


def _group_of(sources: pd.Series) -> pd.Series:
    """The rotated set of each row's file: mail.log.2.gz, mail.log.1 and mail.log are one."""
    names = {s: rotation_key(str(s))[0] for s in sources.dropna().unique()}
    return sources.map(names)


def _keys(df: pd.DataFrame) -> pd.Series:
    content = [c for c in df.columns if c not in _SKIP]
    frame = df[content].copy()
    secs = df["ts"].dt.floor("s").astype("int64") // 10**9
    frame["_t"] = secs % _QUARTER_HOUR_S
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
    candidates = set(q["g"][q["g"] != first])
    if not candidates:
        return df
    keys = _keys(df)
    drop = pd.Series(False, index=df.index)
    earlier = pd.DataFrame({"k": pd.Series([], dtype="uint64"), "g": pd.Series([], dtype=object)})
    for g in order:
        in_g = (group == g).to_numpy()
        k = keys[in_g]
        if g in candidates and len(earlier):
            occurrence = k.groupby(k.to_numpy()).cumcount()
            dup = occurrence.to_numpy() < k.map(earlier["k"].value_counts()).fillna(0).to_numpy()
            q_rows = has_q[in_g]
            matched_q = int((dup & q_rows).sum())
            if matched_q >= min(MIN_SHARED_QUEUE_IDS, int(q_rows.sum())) and matched_q > 0:
                drop[k.index[dup]] = True
                origin = k[dup].map(earlier.drop_duplicates("k").set_index("k")["g"]).mode()
                files = sorted({os.path.basename(str(s)) for s in df.loc[in_g, "source"].dropna().unique()})
                warnings.append(
                    f"{', '.join(files)} repeat{'s' if len(files) == 1 else ''} {int(dup.sum()):,} events "
                    f"already read from {origin.iloc[0] if len(origin) else 'another file'}* (same queue ids and "
                    "events, stamps written differently): counted once. Give one copy of each log to silence this")
                k = k[~dup]
        earlier = pd.concat([earlier, pd.DataFrame({"k": k.to_numpy(), "g": g})], ignore_index=True)
    if not drop.any():
        return df
    counts.events -= int(drop.sum())
    return df[~drop.to_numpy()].reset_index(drop=True)
