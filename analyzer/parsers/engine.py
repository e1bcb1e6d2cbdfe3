"""The vectorized matching engine shared by the Postfix and Exim parsers.

A parser is a list of :class:`Pattern` (data: a regex with named groups, the event it means and
constant column values). :func:`match_patterns` runs them over an Arrow array of messages in
order, each pattern only over the rows no earlier pattern took, with RE2 (pyarrow's regex engine,
linear time in the input, whatever the line holds). No Python code runs per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Pattern", "Matched", "match_patterns", "map_uniques", "nonempty", "extract"]


@dataclass(frozen=True)
class Pattern:
    """One kind of log message.

    ``regex`` is RE2 syntax, anchored by the author, with named groups whose names are event
    columns or one of the derived names the parser understands (client, relay, stage ...).
    ``consts`` are column values every match gets. ``daemons`` limits the pattern to some
    programs (None: every program of the MTA).
    """

    name: str
    regex: str
    event: str
    consts: dict[str, Any] = field(default_factory=dict)
    daemons: frozenset[str] | None = None
    prefix: str | None = None  # a literal the message must start with (cheap pre-filter)


@dataclass
class Matched:
    """The rows a list of patterns recognised: row positions, pattern index, captured groups."""

    rows: pa.Array  # int64 positions into the input
    pattern: pa.Array  # int32 index into the pattern list
    groups: pa.Table  # string columns, one per group name (null where not captured)


def nonempty(arr: pa.Array) -> pa.Array:
    """Empty strings (groups that did not take part in the match) become null."""
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def extract(arr: pa.Array, regex: str) -> pa.StructArray:
    """pyarrow extract_regex, tolerant of an all-null or empty input."""
    return pc.extract_regex(arr, pattern=regex)


def match_patterns(msgs: pa.Array, patterns: Sequence[Pattern], daemons: pa.Array | None = None,
                   ) -> tuple[Matched, pa.Array]:
    """Run ``patterns`` in order over ``msgs``; return what matched and the unmatched positions.

    ``daemons`` (same length as msgs) restricts each pattern to the rows of its daemons.
    """
    n = len(msgs)
    taken = np.zeros(n, dtype=bool)
    remaining = np.arange(n, dtype=np.int64)
    rows_out: list[pa.Array] = []
    pat_out: list[pa.Array] = []
    groups_out: list[pa.Table] = []
    for i, pat in enumerate(patterns):
        if len(remaining) == 0:
            break
        cand = pa.array(remaining)
        if pat.daemons is not None and daemons is not None:
            d = pc.take(daemons, cand)
            mask = pc.is_in(d, value_set=pa.array(sorted(pat.daemons)))
            cand = pc.filter(cand, mask)
        if len(cand) == 0:
            continue
        m = pc.take(msgs, cand)
        if pat.prefix is not None:
            ok = pc.starts_with(m, pattern=pat.prefix)
            cand = pc.filter(cand, ok)
            m = pc.filter(m, ok)
            if len(cand) == 0:
                continue
        st = extract(m, pat.regex)
        valid = st.is_valid()
        hits = pc.filter(cand, valid)
        if len(hits) == 0:
            continue
        st = pc.filter(st, valid)
        cols = {}
        for j in range(st.type.num_fields):
            cols[st.type.field(j).name] = st.field(j)
        rows_out.append(hits)
        pat_out.append(pa.array(np.full(len(hits), i, dtype=np.int32)))
        groups_out.append(pa.table(cols) if cols else pa.table({"_": pa.nulls(len(hits), pa.string())}))
        taken[hits.to_numpy()] = True
        remaining = remaining[~taken[remaining]]
    if rows_out:
        groups = pa.concat_tables(groups_out, promote_options="default")
        if "_" in groups.column_names:
            groups = groups.drop_columns(["_"])
        matched = Matched(pa.concat_arrays(rows_out), pa.concat_arrays(pat_out), groups)
    else:
        matched = Matched(pa.array([], pa.int64()), pa.array([], pa.int32()), pa.table({}))
    return matched, pa.array(remaining)


def map_uniques(arr: pa.Array, fn, out_type: pa.DataType = pa.string()) -> pa.Array:
    """Apply a Python function to the distinct values of ``arr`` only, then map back.

    Used for small vocabularies (stage names, month names): the Python call count is the
    number of distinct values, not the number of rows.
    """
    uniq = pc.unique(arr)
    mapped = pa.array([None if v is None else fn(v) for v in uniq.to_pylist()], out_type)
    idx = pc.index_in(arr, value_set=uniq)
    return pc.take(mapped, idx)


def const_column(patterns: Sequence[Pattern], pattern_idx: pa.Array, key: str,
                 typ: pa.DataType = pa.string()) -> pa.Array | None:
    """The value of consts[key] (or 'event' for key == 'event') for each matched row."""
    if key == "event":
        vals = [p.event for p in patterns]
    else:
        vals = [p.consts.get(key) for p in patterns]
    if all(v is None for v in vals):
        return None
    return pc.take(pa.array(vals, typ), pattern_idx)
