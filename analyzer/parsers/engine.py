"""The vectorized matching engine shared by the Postfix and Exim parsers.

A parser is a list of :class:`Pattern` (data: a regex with named groups, the event it means and
constant column values). :func:`match_patterns` runs them over an Arrow array of messages in
order, each pattern only over the rows no earlier pattern took, with RE2 (pyarrow's regex engine,
linear time in the input, whatever the line holds). No Python code runs per line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..pattern_spec import Pattern  # (defined without pyarrow: analyzer.early_fold)

__all__ = ["Matched", "Pattern", "extract", "map_uniques", "match_patterns", "match_regex", "nonempty"]


@dataclass
class Matched:
    """The rows a list of patterns recognised: row positions, pattern index, captured groups."""

    rows: pa.Array  # int64 positions into the input
    pattern: pa.Array  # int32 index into the pattern list
    groups: pa.Table  # string columns, one per group name (null where not captured)


def nonempty(arr: pa.Array) -> pa.Array:
    """Empty strings (groups that did not take part in the match) become null."""
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def match_regex(arr: pa.Array, regex: str) -> pa.Array:
    """``pc.match_substring_regex``, by the native core when it runs (same answers)."""
    from .. import native

    got = native.mask(arr, regex)
    return pc.match_substring_regex(arr, regex) if got is None else got


def extract(arr: pa.Array, regex: str) -> pa.StructArray:
    """pyarrow extract_regex, tolerant of an all-null or empty input."""
    return pc.extract_regex(arr, pattern=regex)


_TAIL = re.compile(r"\(\?P<(\w+)>\.\*\)\$$")


@functools.lru_cache(maxsize=1024)
def _split_tail(regex: str) -> tuple[str, str] | None:
    """``^P(?P<name>.*)$`` with P free of top-level alternatives: (``^(?P<_head>P)``, name), else None.

    On a line that matches the whole pattern, P matches the same text with the same groups
    alone (what follows it always matches the rest of a line), and the tail group is the rest of
    the line: :func:`extract_matched` cuts it off by byte offsets instead of capturing it, which
    RE2 does slowly over long texts."""
    m = _TAIL.search(regex)
    if m is None or not regex.startswith("^") or "_head" in regex:
        return None
    head = regex[1:m.start()]
    depth, i, in_class = 0, 0, False
    while i < len(head):
        c = head[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if head[i + 1:i + 2] == "^":
                i += 1
            if head[i + 1:i + 2] == "]":
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return None
        i += 1
    if depth != 0 or in_class:
        return None
    return f"^(?P<_head>{head})", m.group(1)


def extract_matched(arr: pa.Array, regex: str) -> pa.StructArray:
    """:func:`extract` on rows known to match ``regex`` (no nulls): the same groups, a trailing
    ``(?P<name>.*)$`` cut off by offsets (:func:`_split_tail`)."""
    split = _split_tail(regex) if arr.null_count == 0 else None
    if split is None:
        return extract(arr, regex)
    from .syslog import _after

    head, name = split
    st = pc.extract_regex(arr, pattern=head)
    rest = _after(arr, pc.binary_length(st.field("_head")))
    names = [f.name for f in st.type if f.name != "_head"]
    return pa.StructArray.from_arrays([st.field(k) for k in names] + [rest], names=[*names, name])


def sparse_extract(arr: pa.Array, regex: str, literal: str | None = None,
                   where: pa.Array | None = None) -> dict[str, pa.Array]:
    """extract_regex on only the rows that are non-null (and contain ``literal``), scattered
    back to full length with nulls elsewhere; empty captures become null.

    Capturing is the expensive part of RE2, so skipping the rows that cannot match pays off
    on sparse columns such as Exim's optional NAME=value items.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    mask = pc.is_valid(arr)
    if where is not None:
        mask = pc.and_(mask, pc.fill_null(where, False))
    names = re.findall(r"\(\?P<(\w+)>", regex)
    if literal is not None and pc.any(mask).as_py():
        # the substring test only on the rows still in question
        cand = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        hit = pc.match_substring(arr.take(pa.array(cand)), literal).to_numpy(zero_copy_only=False)
        keep = np.zeros(n, dtype=bool)
        keep[cand[hit]] = True
        mask = pa.array(keep)
    if not pc.any(mask).as_py():
        return {name: pa.nulls(n, pa.string()) for name in names}
    st = pc.extract_regex(pc.filter(arr, mask), pattern=regex)
    out = {}
    for name in names:
        vals = nonempty(st.field(name))
        out[name] = pc.replace_with_mask(pa.nulls(n, pa.string()), mask, vals)
    return out


def match_patterns(msgs: pa.Array, patterns: Sequence[Pattern], daemons: pa.Array | None = None,
                   ) -> tuple[Matched, pa.Array]:
    """Run ``patterns`` in order over ``msgs``; return what matched and the unmatched positions.

    ``daemons`` (same length as msgs) restricts each pattern to the rows of its daemons: rows
    are grouped by daemon once, so each group is a zero-copy slice. Per pattern, a capture-free
    match runs first (RE2 runs it as a DFA, far cheaper than capturing); groups are captured
    only on the rows that match and that no earlier pattern took.
    """
    n = len(msgs)
    from .. import native

    m = native.matcher([p.regex for p in patterns], [p.daemons for p in patterns])
    if m is not None:  # the native core runs the same patterns (analyzer.native)
        return _match_native(m, msgs, n, daemons)
    if daemons is None:
        order = np.arange(n, dtype=np.int64)
        groups = [(None, 0, n)]
        sorted_msgs = msgs
    else:
        order = pc.sort_indices(daemons).to_numpy()
        sorted_msgs = pc.take(msgs, pa.array(order))
        sorted_d = pc.take(daemons, pa.array(order))
        groups = _runs(sorted_d)
    rows_out: list[np.ndarray] = []
    pat_out: list[np.ndarray] = []
    groups_out: list[pa.Table] = []
    free = np.ones(n, dtype=bool)  # in sorted order
    for daemon, a, b in groups:
        idx = np.arange(a, b, dtype=np.int64)  # sorted positions still free in this group
        chunk = sorted_msgs.slice(a, b - a)
        live = None  # boolean mask over chunk when not compacted
        for i, pat in enumerate(patterns):
            if len(idx) == 0:
                break
            if pat.daemons is not None and daemon is not None and daemon not in pat.daemons:
                continue
            ok = pc.match_substring_regex(chunk, pattern=pat.regex).to_numpy(zero_copy_only=False)
            if live is not None:
                ok &= live
            nhit = int(ok.sum())
            if nhit == 0:
                continue
            st = extract_matched(pc.filter(chunk, pa.array(ok)), pat.regex)
            hit_pos = idx[ok] if live is None else np.flatnonzero(ok) + a
            rows_out.append(order[hit_pos])
            pat_out.append(np.full(nhit, i, dtype=np.int32))
            free[hit_pos] = False
            cols = {st.type.field(j).name: st.field(j) for j in range(st.type.num_fields)}
            groups_out.append(pa.table(cols) if cols else pa.table({"_": pa.nulls(nhit, pa.string())}))
            if live is None:
                # compact: later patterns only see what is left (copying pays off when much went)
                keep = ~ok
                idx = idx[keep]
                chunk = pc.filter(chunk, pa.array(keep))
            else:
                live &= ~ok
    remaining = np.sort(order[free])
    if rows_out:
        groups_t = pa.concat_tables(groups_out, promote_options="default")
        if "_" in groups_t.column_names:
            groups_t = groups_t.drop_columns(["_"])
        matched = Matched(pa.array(np.concatenate(rows_out)), pa.array(np.concatenate(pat_out)), groups_t)
    else:
        matched = Matched(pa.array([], pa.int64()), pa.array([], pa.int32()), pa.table({}))
    return matched, pa.array(remaining, pa.int64())


def _match_native(m, msgs: pa.Array, n: int, daemons: pa.Array | None) -> tuple[Matched, pa.Array]:
    """:func:`match_patterns` by the native core: same rows, order, groups and columns."""
    rows, pats, cols = m.run(msgs, daemons)
    free = np.ones(n, dtype=bool)
    free[rows.to_numpy()] = False
    remaining = pa.array(np.flatnonzero(free), pa.int64())
    if len(rows) == 0:
        return Matched(pa.array([], pa.int64()), pa.array([], pa.int32()), pa.table({})), remaining
    # columns in the order concatenating the Python engine's per-pattern tables gives
    p = pats.to_numpy()
    _, first = np.unique(p, return_index=True)
    names: dict[str, None] = {}
    for i in sorted(first):
        names.update(dict.fromkeys(m.groups[int(p[i])]))
    groups = pa.table({k: cols[k] for k in names}) if names else pa.table({"_": pa.nulls(len(rows), pa.string())}).drop_columns(["_"])
    return Matched(rows, pats, groups), remaining


def _runs(sorted_values: pa.Array) -> list[tuple[str | None, int, int]]:
    """(value, start, end) of each run of equal values in a sorted array."""
    vc = pc.value_counts(sorted_values)
    counts = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))
    out = []
    pos = 0
    # sort_indices puts nulls last; values come in sorted order
    for value in sorted(k for k in counts if k is not None):
        out.append((value, pos, pos + counts[value]))
        pos += counts[value]
    if None in counts:
        out.append((None, pos, pos + counts[None]))
    return out


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
    vals = [p.event for p in patterns] if key == "event" else [p.consts.get(key) for p in patterns]
    if all(v is None for v in vals):
        return None
    return pc.take(pa.array(vals, typ), pattern_idx)
