"""Attribution across lines: a retry-wait or give-up line takes the cause of the error behind it.

Exim logs only ``retry time not reached for any host for 'D'`` for every attempt after the
first failure to a domain, and ``retry timeout exceeded`` / ``all hosts for 'D' have been
failing for a long time`` when it gives up; Postfix logs ``status=expired, returned to sender``.
None of these lines says *why*. :func:`attribute` gives each of them the cause of the last real
error seen before it for the same message (queue id, up to the line that ends the message:
:func:`message_ends`) or else the same recipient domain, with a
pointer (``cause_ref`` = ``source:line_no``) to the line it came from. When no earlier error is
in view the cause is ``queue.earlier_error_unseen``: never a guess.

Vectorised over the waiting and failed-attempt lines only: per key (queue id, then recipient
domain), one sort by key and time and one running maximum find the last error before each line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.lazy import lazy_module
from analyzer.rules import KnowledgeBase

pd = lazy_module("pandas")  # imported when first used (analyzer.lazy)

__all__ = ["UNSEEN", "WAITING_CAUSES", "attribute", "attribute_from_store", "bare_columns", "message_ends",
           "scatter", "wait_columns"]

#: Causes that say only that the MTA is waiting or gave up: they take an earlier line's cause.
WAITING_CAUSES = frozenset({"queue.retry_wait", "queue.expired"})
#: The actions of such lines (classify's `action` column).
WAITING_ACTIONS = frozenset({"waiting_retry", "expired"})
UNSEEN = "queue.earlier_error_unseen"
#: Lines that can be the real error behind a later wait: delivery attempts that failed.
ATTEMPT_EVENTS = frozenset({"delivery", "reply", "connect_failure", "timeout", "lost_connection",
                            "tls", "dns"})
FAILED = frozenset({"transient_failure", "permanent_failure"})
#: Causes that are no reason (bookkeeping, generic fallbacks with nothing to tell).
NOT_A_REASON = frozenset({"unknown", "queue.retry_wait", "queue.expired", UNSEEN,
                          "queue.frozen", "queue.run", "system.config_warning"})
#: MTA error lines that can explain a reject logged right after them with no reason of its own.
ERROR_EVENTS = frozenset({"error", "panic"})
#: The domain an Exim wait line names: "... for any host for 'example.com'".
_DOMAIN_IN_TEXT = r"for '(?P<d>[^']+)'"


#: A frame or an Arrow table (the stream classifier hands its batches over without pandas).
Frame = Any  # pd.DataFrame | pa.Table (pandas is imported when first used)


def _has(df: Frame, name: str) -> bool:
    return name in (df.column_names if isinstance(df, pa.Table) else df.columns)


def _arrow(df: Frame, name: str, typ: pa.DataType = pa.string()) -> pa.Array:
    """Column ``name`` as one Arrow array (nulls where the frame lacks it)."""
    if not _has(df, name):
        return pa.nulls(len(df), typ)
    if isinstance(df, pa.Table):
        arr: pa.Array | pa.ChunkedArray = df.column(name)
    else:
        s = df[name]
        arr = s.array.__arrow_array__() if isinstance(s.dtype, pd.ArrowDtype) else \
            pa.array(s.to_numpy(dtype=object), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr if arr.type == typ else arr.cast(typ)


def _isin(arr: pa.Array, values: frozenset[str]) -> np.ndarray:
    return pc.fill_null(pc.is_in(arr, value_set=pa.array(sorted(values))), False).to_numpy(
        zero_copy_only=False)


def _key_codes(arr: pa.Array) -> np.ndarray:
    """Integer codes of a string column (-1 for null)."""
    enc = pc.dictionary_encode(arr)
    return pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _domains(df: Frame, rows: np.ndarray) -> pa.Array:
    """Recipient domain of ``rows``, lower-cased; else the domain a wait line quotes; else null.
    (``pc.struct_field``, not ``.field``: the struct's child is "" where the regex did not match,
    and rows without a domain must not share one key "" and take each other's errors.)"""
    take = pa.array(rows, pa.int64())
    rcpt = pc.utf8_lower(_arrow(df, "recipient").take(take))
    dom = pc.struct_field(pc.extract_regex(rcpt, r"@(?P<d>[^@>\s]+)>?$"), "d")
    if not dom.null_count:
        return dom
    text = pc.utf8_lower(_arrow(df, "reply_text").take(take))
    quoted = pc.struct_field(pc.extract_regex(text, _DOMAIN_IN_TEXT), "d")
    return pc.coalesce(dom, quoted)


def _last_source(keys: np.ndarray, order_ts: np.ndarray, is_source: np.ndarray) -> np.ndarray:
    """For each row, the index of the last source row before it (in time) with the same key;
    -1 where there is none or the key is null. One sort and one running maximum."""
    n = len(keys)
    pos = np.arange(n)
    order = np.lexsort((pos, order_ts, keys))
    k = keys[order]
    start = np.ones(n, dtype=bool)
    start[1:] = k[1:] != k[:-1]
    group_start = np.maximum.accumulate(np.where(start, pos, 0))
    last = np.maximum.accumulate(np.where(is_source[order], pos, -1))
    found = np.where((last >= group_start) & (k >= 0), order[np.maximum(last, 0)], -1)
    out = np.full(n, -1, dtype=np.int64)
    out[order] = found
    return out


def message_ends(df: Frame) -> np.ndarray:
    """The lines that end a message: it left the queue (Postfix's ``removed``, Exim's
    ``Completed``). A queue id seen after its message's end names another message (Postfix
    reuses queue ids), which does not take the first one's errors."""
    if not _has(df, "event") or not _has(df, "queue_id"):
        return np.zeros(len(df), dtype=bool)
    return _isin(_arrow(df, "event"), frozenset({"removed"})) & pc.is_valid(_arrow(df, "queue_id")).to_numpy(
        zero_copy_only=False)


def _message_keys(keys: np.ndarray, ts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Queue id codes (``keys``, -1 for null) made message codes: rows of a queue id after one
    of its ``ends`` (in time, then row order) get a code of their own, one per message."""
    if not ends.any():
        return keys
    n = len(keys)
    pos = np.arange(n)
    order = np.lexsort((pos, ts, keys))
    k = keys[order]
    e = ends[order].astype(np.int64)
    before = np.cumsum(e) - e  # ends strictly before each row, over the whole sort
    start = np.ones(n, dtype=bool)
    start[1:] = k[1:] != k[:-1]
    first = np.maximum.accumulate(np.where(start, pos, 0))
    gen = before - before[first]  # ... within its queue id
    out = np.empty(n, dtype=np.int64)
    out[order] = np.where(k >= 0, k * (int(gen.max()) + 1) + gen, -1)
    return out


def _put(arr: pa.Array, at: np.ndarray, values: pa.Array, at2: np.ndarray | None = None,
         values2: pa.Array | None = None) -> pa.Array:
    """``arr`` with ``values`` written at the (sorted) rows ``at`` (and ``values2`` at ``at2``)."""
    if at2 is not None and values2 is not None and len(at2):
        idx = np.concatenate([at, at2])
        order = np.argsort(idx, kind="stable")
        at, values = idx[order], pa.concat_arrays([values, values2]).take(pa.array(order))
    return scatter(arr, at, values)


def scatter(arr: pa.Array | pa.ChunkedArray, at: np.ndarray, values: pa.Array) -> pa.Array | pa.ChunkedArray:
    """``arr`` with ``values`` written at the distinct rows ``at``, the first value at the first
    of them in row order: what ``pc.replace_with_mask`` gives (a mask true at ``at``), made as
    one ``take`` from ``arr``'s chunks and ``values`` (for text ~2x cheaper: nothing is
    concatenated first). An array for an array, a chunked array for a chunked one; ``arr``
    itself when ``at`` is empty."""
    if not len(at):
        return arr
    n = len(arr)
    idx = np.arange(n, dtype=np.int64)
    idx[np.sort(at)] = np.arange(n, n + len(at), dtype=np.int64)
    values = values.slice(0, len(at))
    if values.type != arr.type:
        values = values.cast(arr.type)
    pieces = [*(arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]),
              *(values.chunks if isinstance(values, pa.ChunkedArray) else [values])]
    out = pa.chunked_array(pieces, arr.type).take(pa.array(idx))  # (no concatenation of the pieces first)
    if isinstance(arr, pa.ChunkedArray):
        return out
    return out.chunk(0) if out.num_chunks == 1 else out.combine_chunks()


def attribute(df: pd.DataFrame, kb: KnowledgeBase, *, only_columns: bool = False) -> pd.DataFrame:
    """``df`` (classified) with the waiting lines' cause, severity and fix_id taken from the
    error behind them, and ``cause_ref`` pointing at it; a reject that logs no reason takes the
    error line logged just before it (:func:`_bare_rejects`). Returns a new frame; ``df`` is kept."""
    out = _waits(df, kb, only_columns=only_columns)
    return out if only_columns else _bare_rejects(out, kb)


def _severity_of(kb: KnowledgeBase, causes: pa.Array) -> pa.Array:
    sev = {c: e["severity"] for c, e in kb.causes.items()}
    return pc.take(pa.array(list(sev.values()), pa.string()),
                   pc.index_in(causes, value_set=pa.array(list(sev), pa.string())))


def _refs(df: Frame, src_rows: pa.Array) -> pa.Array:
    """'source:line_no' of ``src_rows``."""
    src_name = pc.fill_null(_arrow(df, "source").take(src_rows), "?")
    line = _arrow(df, "line_no", pa.int64()).take(src_rows).cast(pa.string())
    return pc.binary_join_element_wise(src_name, line, ":")


def _bare_rejects(df: pd.DataFrame, kb: KnowledgeBase) -> pd.DataFrame:
    """A reject that logs no reason (Exim's ``rejected MAIL <a@b>`` when the ACL's ``message=``
    failed to expand) takes the cause of the MTA error logged just before it: the line above it
    in the same file, within a second (Exim writes the error, then the reject)."""
    columns = bare_columns(df, kb)
    if columns is None:
        return df
    out = df.copy(deep=False)
    for name, values in columns.items():
        out[name] = pd.Series(pd.arrays.ArrowExtensionArray(values), index=df.index)
    return out


def bare_columns(df: Frame, kb: KnowledgeBase) -> dict[str, pa.Array] | None:
    """cause, fix_id, severity and cause_ref of ``df`` (a frame or an Arrow table) with its bare
    rejects explained (:func:`_bare_rejects`); None where none is."""
    n = len(df)
    if not n or not all(_has(df, c) for c in ("source", "line_no", "reply_text", "event")):
        return None
    event = _arrow(df, "event")
    bare = _isin(event, frozenset({"reject"})) & pc.is_null(_arrow(df, "reply_text")).to_numpy(
        zero_copy_only=False)
    if not bare.any():
        return None
    src = _key_codes(_arrow(df, "source"))
    line = pc.fill_null(_arrow(df, "line_no", pa.int64()), -10).to_numpy(zero_copy_only=False)
    order = np.lexsort((line, src))
    prev = np.full(n, -1, dtype=np.int64)
    prev[order[1:]] = order[:-1]
    p = np.maximum(prev, 0)
    cause = _arrow(df, "cause")
    ts = pc.fill_null(_arrow(df, "ts", pa.timestamp("ns", "UTC")).cast(pa.int64()), 0).to_numpy(
        zero_copy_only=False) if _has(df, "ts") else np.zeros(n, dtype=np.int64)
    explained = (bare & (prev >= 0) & (src[p] == src) & (src >= 0) & (line[p] == line - 1)
                 & (np.abs(ts - ts[p]) <= 1_000_000_000) & _isin(event, ERROR_EVENTS)[p]
                 & ~_isin(cause, NOT_A_REASON | {"system.error", "system.warning"})[p])
    rows = np.flatnonzero(explained)
    if not len(rows):
        return None
    src_rows = pa.array(p[rows], pa.int64())
    new_cause = cause.take(src_rows)
    return {"cause": _put(cause, rows, new_cause),
            "fix_id": _put(_arrow(df, "fix_id"), rows, _arrow(df, "fix_id").take(src_rows)),
            "severity": _put(_arrow(df, "severity"), rows, _severity_of(kb, new_cause)),
            "cause_ref": _put(_arrow(df, "cause_ref"), rows, _refs(df, src_rows))}


def _waits(df: pd.DataFrame, kb: KnowledgeBase, *, only_columns: bool = False) -> pd.DataFrame:
    """The retry-wait and give-up lines' attribution (see the module's docstring)."""
    n = len(df)
    out = df.copy(deep=False)
    cause = _arrow(df, "cause")
    target = _isin(cause, WAITING_CAUSES) & _isin(_arrow(df, "action"), WAITING_ACTIONS) \
        if not only_columns and n else np.zeros(n, dtype=bool)
    if not target.any():
        out["cause_ref"] = pd.Series(pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.string())),
                                     index=df.index)
        return out
    for name, values in wait_columns(df, kb, target).items():
        out[name] = pd.Series(pd.arrays.ArrowExtensionArray(values), index=df.index)
    return out


def wait_columns(df: Frame, kb: KnowledgeBase, target: np.ndarray,
                 domains: pa.Array | None = None, known: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> dict[str, pa.Array]:
    """cause, fix_id, severity and cause_ref of ``df`` (a frame or an Arrow table) with the
    waiting lines ``target`` attributed (:func:`attribute`'s work, without pandas for a table).
    ``domains``: :func:`_domains` of all of ``df``'s rows, where the caller has them; ``known``:
    its (sources, :func:`message_ends`), where the caller has them (the stream's classifier)."""
    n = len(df)
    cause = _arrow(df, "cause")
    if known is not None:
        source, ends = known
    else:
        source = (_isin(_arrow(df, "outcome"), FAILED) & _isin(_arrow(df, "event"), ATTEMPT_EVENTS)
                  & ~_isin(cause, NOT_A_REASON) & ~target)
        ends = message_ends(df)
    # only sources, targets and the ends of messages take part: a small share of a day's lines
    rows = np.flatnonzero(source | target | ends)
    take = pa.array(rows, pa.int64())
    if _has(df, "ts"):
        ts = pc.fill_null(_arrow(df, "ts", pa.timestamp("ns", "UTC")).take(take).cast(pa.int64()), 0)
        ts_np = ts.to_numpy(zero_copy_only=False)
    else:
        ts_np = np.zeros(len(rows), dtype=np.int64)
    src_sub = source[rows]
    found = np.full(len(rows), -1, dtype=np.int64)
    qids = _message_keys(_key_codes(_arrow(df, "queue_id").take(take)), ts_np, ends[rows])
    doms = _domains(df, rows) if domains is None else domains.take(take)
    for keys in (qids, _key_codes(doms)):
        got = _last_source(keys, ts_np, src_sub)
        found = np.where(found < 0, got, found)
    tgt_sub = target[rows]
    hit_sub = tgt_sub & (found >= 0)
    miss = rows[tgt_sub & (found < 0)]
    hit = rows[hit_sub]
    src_rows = pa.array(rows[found[hit_sub]], pa.int64())

    unseen = pa.array([UNSEEN] * len(miss), pa.string())
    new_cause = _put(cause, hit, cause.take(src_rows), miss, unseen)
    severity = pc.if_else(pa.array(target), _severity_of(kb, new_cause), _arrow(df, "severity"))
    refs = _refs(df, src_rows)
    return {
        "cause": new_cause,
        "fix_id": _put(_arrow(df, "fix_id"), hit, _arrow(df, "fix_id").take(src_rows), miss, unseen),
        "severity": severity,
        "cause_ref": _put(pa.nulls(n, pa.string()), hit, refs),
    }


# --------------------------------------------------------------------------------------------
# attribution from the store's history (previous nights)

#: How far back the store is searched: longer than Postfix's default maximal_queue_lifetime (5d)
#: and Exim's default retry timeout (4d), so the first error of any message still queued is in view.
LOOKBACK_DAYS = 7
#: The store columns the look-up reads (and nothing else).
HISTORY_COLUMNS = ("ts", "queue_id", "recipient", "event", "outcome", "cause", "fix_id", "action",
                   "cause_ref", "source", "line_no")


def _sources_mask(df: pd.DataFrame) -> np.ndarray:
    """Rows that can explain a later wait: a failed delivery attempt with a reason, or a wait
    line that already took one (its pointer is kept)."""
    cause = _arrow(df, "cause")
    attempt = _isin(_arrow(df, "outcome"), FAILED) & _isin(_arrow(df, "event"), ATTEMPT_EVENTS)
    waited = _isin(_arrow(df, "action"), WAITING_ACTIONS)
    return (attempt | waited) & ~_isin(cause, NOT_A_REASON)


def _history(store: object, keys: list[tuple[str | None, str | None]], before: pd.Timestamp, days: int,
             read: object) -> pd.DataFrame:
    """The store's error lines for the (queue id, domain) ``keys`` from ``days`` before ``before``:
    read one day at a time, newest first, only :data:`HISTORY_COLUMNS`, keeping only matching
    rows, and stopping once every key has an error for its queue id or its domain."""
    open_keys = {(q, d) for q, d in keys if q or d}
    want_q = {q for q, _ in open_keys if q}
    want_d = {d for _, d in open_keys if d}
    found: list[pd.DataFrame] = []
    day = before.floor("D")
    start = before - pd.Timedelta(days=days)
    while open_keys and day + pd.Timedelta(days=1) > start:
        lo, hi = max(day, start), min(day + pd.Timedelta(days=1), before)
        day -= pd.Timedelta(days=1)
        if hi <= lo:
            continue
        t = read(store, since=lo.to_pydatetime(), until=hi.to_pydatetime(), columns=list(HISTORY_COLUMNS))
        if not len(t):
            continue
        dom = pc.utf8_lower(pc.struct_field(pc.extract_regex(_arrow(t, "recipient"), r"@(?P<d>[^@>\s]+)>?$"), "d"))
        q = _arrow(t, "queue_id")
        match = (_isin(q, frozenset(want_q)) | _isin(dom, frozenset(want_d))) & _sources_mask(t)
        if not match.any():
            continue
        hit = t[match].copy()
        hit["_domain"] = pd.Series(pd.arrays.ArrowExtensionArray(dom.filter(pa.array(match))), index=hit.index)
        found.append(hit)
        got_q = set(hit["queue_id"].dropna().astype(str))
        got_d = set(hit["_domain"].dropna().astype(str))
        open_keys = {(q, d) for q, d in open_keys if q not in got_q and d not in got_d}
        want_q = {q for q, _ in open_keys if q}
        want_d = {d for _, d in open_keys if d}
    if not found:
        return pd.DataFrame(columns=[*HISTORY_COLUMNS, "_domain"])
    return pd.concat(found, ignore_index=True)


def _pick(src_q: pa.Array, src_d: pa.Array, src_ts: np.ndarray, tgt_q: pa.Array, tgt_d: pa.Array,
          tgt_ts: np.ndarray) -> np.ndarray:
    """For each target, the index of the last source before it with its queue id, else with its
    domain; -1 where none."""
    ns = len(src_q)
    ts = np.concatenate([src_ts, tgt_ts])
    is_source = np.concatenate([np.ones(ns, dtype=bool), np.zeros(len(tgt_q), dtype=bool)])
    found = np.full(len(tgt_q), -1, dtype=np.int64)
    for a, b in ((src_q, tgt_q), (src_d, tgt_d)):
        keys = _key_codes(pa.concat_arrays([a.cast(pa.string()), b.cast(pa.string())]))
        got = _last_source(keys, ts, is_source)[ns:]
        found = np.where(found < 0, got, found)
    return found


def _ts_ns(df: pd.DataFrame) -> np.ndarray:
    if "ts" not in df.columns:
        return np.zeros(len(df), dtype=np.int64)
    return pc.fill_null(_arrow(df, "ts", pa.timestamp("ns", "UTC")).cast(pa.int64()), 0).to_numpy(
        zero_copy_only=False)


def attribute_from_store(df: pd.DataFrame, store: object, kb: KnowledgeBase, *, days: int = LOOKBACK_DAYS,
                         read: object = None) -> pd.DataFrame:
    """``df`` (classified events, as read from logs or from the store) with each wait line still
    'earlier error not in these logs' given the last real error for its queue id, else its
    recipient domain: first from ``df``'s own earlier lines (events read from a store were
    attributed per ingest run), then from the store's history before ``df``'s first event
    (``days`` back), with ``cause_ref`` pointing at that row's file:line (or at the line that
    row itself took its cause from). Only the keys of the lines still unexplained are looked up,
    a day at a time, reading only :data:`HISTORY_COLUMNS`. ``read`` is
    :func:`analyzer.store.read_events` (injectable for tests)."""
    n = len(df)
    if not n or "cause" not in df.columns or "ts" not in df.columns or not df["ts"].notna().any():
        return df
    target = _isin(_arrow(df, "cause"), frozenset({UNSEEN})) & _isin(_arrow(df, "action"), WAITING_ACTIONS)
    if not target.any():
        return df
    rows = np.flatnonzero(target)
    take = pa.array(rows, pa.int64())
    t_q, t_d, t_ts = _arrow(df, "queue_id").take(take), _domains(df, rows), _ts_ns(df)[rows]
    # 1. this frame's own earlier errors
    s_rows = np.flatnonzero(_sources_mask(df))
    s_take = pa.array(s_rows, pa.int64())
    own = _pick(_arrow(df, "queue_id").take(s_take), _domains(df, s_rows), _ts_ns(df)[s_rows], t_q, t_d, t_ts)
    pieces = []  # (target rows, source frame, source rows in it)
    if (own >= 0).any():
        pieces.append((rows[own >= 0], df, s_rows[own[own >= 0]]))
    # 2. the store's history for the lines still unexplained
    left = own < 0
    if left.any():
        if read is None:
            from analyzer.store import read_events as read
        keys = list(zip(t_q.filter(pa.array(left)).to_pylist(), t_d.filter(pa.array(left)).to_pylist(), strict=True))
        hist = _history(store, keys, pd.Timestamp(df["ts"].min()), days, read)
        if len(hist):
            lt = pa.array(np.flatnonzero(left), pa.int64())
            got = _pick(_arrow(hist, "queue_id"), _arrow(hist, "_domain"), _ts_ns(hist),
                        t_q.take(lt), t_d.take(lt), t_ts[left])
            if (got >= 0).any():
                pieces.append((rows[left][got >= 0], hist, got[got >= 0]))
    if not pieces:
        return df
    at = np.concatenate([p[0] for p in pieces])
    order = np.argsort(at, kind="stable")
    at = at[order]

    def column(name: str) -> pa.Array:
        parts = [_arrow(src, name).take(pa.array(idx, pa.int64())).cast(pa.string()) for _, src, idx in pieces]
        return pa.concat_arrays(parts).take(pa.array(order))

    refs = pa.concat_arrays([pc.coalesce(_arrow(src, "cause_ref").take(pa.array(idx, pa.int64())),
                                         _refs(src, pa.array(idx, pa.int64()))) for _, src, idx in pieces]
                            ).take(pa.array(order))
    new_cause = column("cause")
    out = df.copy(deep=False)
    columns = {"cause": _put(_arrow(df, "cause"), at, new_cause),
               "fix_id": _put(_arrow(df, "fix_id"), at, pc.coalesce(column("fix_id"), new_cause)),
               "severity": _put(_arrow(df, "severity"), at, pc.coalesce(
                   _severity_of(kb, new_cause), _arrow(df, "severity").take(pa.array(at, pa.int64())))),
               "cause_ref": _put(_arrow(df, "cause_ref"), at, refs)}
    for name, values in columns.items():
        out[name] = pd.Series(pd.arrays.ArrowExtensionArray(values), index=df.index)
    return out
