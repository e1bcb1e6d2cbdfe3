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
#: Columns computed from others (or added by classification): no identity of their own.
_DERIVED = frozenset({"mta", "direction", "smtp_stage", "quit", "reply_class", "outcome", "cause", "provider",
                      "severity", "fix_id"})
_QUARTER_HOUR_S = 900


def _ranks(sources: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's set of files (a rotated set is one: mail.log.2.gz, mail.log.1, mail.log), as
    a rank in input order, and the sets' names."""
    codes, names = pd.factorize(sources)  # names in order of first appearance
    sets = [rotation_key(str(n))[0] for n in names]
    order = list(dict.fromkeys(sets))
    of_name = np.array([order.index(s) for s in sets] + [-1], dtype=np.int64)
    return of_name[codes], order  # code -1 (a missing source) maps to rank -1


def _keys(df: pd.DataFrame) -> pd.Series:
    """A hash per event of everything but its file, line and exact stamp (see the module doc)."""
    ts = pa.chunked_array([pa.array(df["ts"])]) if len(df) else pa.chunked_array([], pa.timestamp("s", "UTC"))
    secs = pc.cast(pc.cast(ts, pa.timestamp("us", "UTC")), pa.int64()).to_numpy(zero_copy_only=False) // 10**6
    h = pd.util.hash_array(np.nan_to_num(secs % _QUARTER_HOUR_S, nan=-1).astype(np.int64))
    with np.errstate(over="ignore"):
        for c in df.columns:
            if c not in _SKIP and c not in _DERIVED:
                codes, _ = pd.factorize(df[c], use_na_sentinel=False)  # equal values, equal codes
                h = h * np.uint64(1_000_003) ^ pd.util.hash_array(codes.astype(np.int64))
    return pd.Series(h, index=df.index)


def _shared_queue_ids(host: pd.Series, qid: pd.Series, rank: np.ndarray, n_groups: int) -> np.ndarray:
    """For each set (by rank): the share of its distinct (host, queue id) pairs an earlier set has."""
    if not len(qid):
        return np.zeros(n_groups)
    h, _ = pd.factorize(host, use_na_sentinel=False)
    q, uq = pd.factorize(qid)
    pair, _ = pd.factorize(h.astype(np.int64) * (len(uq) + 1) + q)
    u = np.unique(pair.astype(np.int64) * n_groups + rank)  # each (pair, set) once
    p, g = u // n_groups, u % n_groups
    first = pd.Series(g).groupby(p).transform("min").to_numpy()  # sets are ranked in input order
    seen = np.bincount(g, weights=(g != first).astype(float), minlength=n_groups)
    total = np.bincount(g, minlength=n_groups)
    return np.divide(seen, total, out=np.zeros(n_groups), where=total > 0)


def drop_repeated_runs(df: pd.DataFrame, counts: LineCounts, warnings: list[str]) -> pd.DataFrame:
    """``df`` without the events a later set of files repeats from an earlier one (taken off
    ``counts.events`` too); one warning per repeating set. Returns ``df`` itself when nothing
    repeats."""
    if df.empty or "source" not in df.columns:
        return df
    rank, order = _ranks(df["source"])
    if len(order) < 2:
        return df
    has_q = df["queue_id"].notna().to_numpy() & (rank >= 0)
    shared = _shared_queue_ids(df.loc[has_q, "host"], df.loc[has_q, "queue_id"], rank[has_q], len(order))
    candidates = [i for i in range(len(order)) if shared[i] >= MIN_SHARE]
    if not candidates:
        return df
    keys = _keys(df)
    drop = np.zeros(len(df), dtype=bool)
    for g in candidates:
        in_g = rank == g
        prior = (rank < g) & (rank >= 0) & ~drop
        k = keys[in_g]
        earlier = keys[prior]
        occurrence = k.groupby(k.to_numpy()).cumcount().to_numpy()
        dup = occurrence < k.map(earlier.value_counts()).fillna(0).to_numpy()
        if dup.sum() < MIN_SHARE * len(k):
            continue
        drop[np.flatnonzero(in_g)[dup]] = True
        first_set = pd.Series(rank[prior], index=earlier.to_numpy()).groupby(level=0).first()
        origin = order[int(k[dup].map(first_set).mode().iloc[0])]
        files = sorted({os.path.basename(str(s)) for s in df.loc[in_g, "source"].dropna().unique()})
        warnings.append(
            f"{', '.join(files)} repeat{'s' if len(files) == 1 else ''} {int(dup.sum()):,} events already read "
            f"from {origin}* (same queue ids and events, stamps written differently): counted "
            "once. Give one copy of each log to silence this")
    if not drop.any():
        return df
    counts.events -= int(drop.sum())
    return df[~drop].reset_index(drop=True)
