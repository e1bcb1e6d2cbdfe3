"""Attribution across lines: a retry-wait or give-up line takes the cause of the error behind it.

Exim logs only ``retry time not reached for any host for 'D'`` for every attempt after the
first failure to a domain, and ``retry timeout exceeded`` / ``all hosts for 'D' have been
failing for a long time`` when it gives up; Postfix logs ``status=expired, returned to sender``.
None of these lines says *why*. :func:`attribute` gives each of them the cause of the last real
error seen before it for the same message (queue id) or else the same recipient domain, with a
pointer (``cause_ref`` = ``source:line_no``) to the line it came from. When no earlier error is
in view the cause is ``queue.earlier_error_unseen``: never a guess.

Vectorised: one stable sort by time, then a grouped forward fill per key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.rules import KnowledgeBase

__all__ = ["attribute", "WAITING_CAUSES", "UNSEEN"]

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
#: The domain an Exim wait line names: "... for any host for 'example.com'".
_DOMAIN_IN_TEXT = r"for '(?P<d>[^']+)'"


def _strings(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), None, dtype=object)
    return df[name].astype(object).where(df[name].notna(), None).to_numpy(dtype=object)


def _arrow(df: pd.DataFrame, name: str) -> pa.Array:
    if name not in df.columns:
        return pa.nulls(len(df), pa.string())
    arr = pa.array(df[name].astype(object).where(df[name].notna(), None).to_numpy(dtype=object),
                   pa.string(), from_pandas=True)
    return arr


def _domains(df: pd.DataFrame) -> pa.Array:
    """Recipient domain, lower-cased; else the domain a wait line quotes."""
    rcpt = pc.utf8_lower(_arrow(df, "recipient"))
    dom = pc.extract_regex(rcpt, r"@(?P<d>[^@>\s]+)>?$").field("d")
    quoted = pc.extract_regex(pc.utf8_lower(_arrow(df, "reply_text")), _DOMAIN_IN_TEXT).field("d")
    return pc.coalesce(dom, quoted)


def _refs(df: pd.DataFrame) -> pa.Array:
    src = pc.fill_null(_arrow(df, "source"), "?")
    if "line_no" in df.columns:
        line = pa.array(df["line_no"].astype("Int64").astype(object).where(df["line_no"].notna(),
                                                                            None).to_numpy(),
                        pa.int64(), from_pandas=True).cast(pa.string())
    else:
        line = pa.nulls(len(df), pa.string())
    return pc.binary_join_element_wise(src, line, ":")


def attribute(df: pd.DataFrame, kb: KnowledgeBase, *, only_columns: bool = False) -> pd.DataFrame:
    """``df`` (classified) with the waiting lines' cause, severity and fix_id taken from the
    error behind them, and ``cause_ref`` pointing at it. Returns a new frame; ``df`` is kept."""
    n = len(df)
    out = df.copy(deep=False)
    ref_col = np.full(n, None, dtype=object)
    cause = _strings(df, "cause")
    action = _strings(df, "action")
    target = np.isin(cause, list(WAITING_CAUSES)) & np.isin(action, list(WAITING_ACTIONS))
    if only_columns or not target.any():
        out["cause_ref"] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(ref_col, pa.string())),
                                     index=df.index)
        return out
    outcome = _strings(df, "outcome")
    event = _strings(df, "event")
    source = (np.isin(outcome, list(FAILED)) & np.isin(event, list(ATTEMPT_EVENTS))
              & ~np.isin(cause, list(NOT_A_REASON)) & ~target)
    pos = np.arange(n)
    if "ts" in df.columns:
        ts = pd.to_datetime(df["ts"], utc=True, errors="coerce")
        key = ts.to_numpy(dtype="datetime64[ns]")
        order = np.lexsort((pos, np.where(np.isnat(key), np.datetime64(0, "ns"), key)))
    else:
        order = pos
    refs = np.asarray(_refs(df).to_pylist(), dtype=object)
    src_idx = np.where(source, pos, -1).astype(np.float64)
    src_idx[~source] = np.nan
    found = np.full(n, np.nan)
    keys = [_strings(df, "queue_id"), np.asarray(_domains(df).to_pylist(), dtype=object)]
    for k in keys:
        frame = pd.DataFrame({"k": k[order], "s": src_idx[order]})
        filled = frame.groupby("k", sort=False, dropna=True)["s"].ffill().to_numpy()
        got = np.full(n, np.nan)
        got[order] = filled
        found = np.where(np.isnan(found), got, found)
    hit = target & ~np.isnan(found)
    miss = target & np.isnan(found)
    src_rows = found[hit].astype(np.int64)
    new_cause = cause.copy()
    new_cause[hit] = cause[src_rows]
    new_cause[miss] = UNSEEN
    ref_col[hit] = refs[src_rows]
    fix = _strings(df, "fix_id").copy()
    fix[hit] = fix[src_rows]
    fix[miss] = UNSEEN
    severity = _strings(df, "severity").copy()
    sev = {c: e["severity"] for c, e in kb.causes.items()}
    severity[target] = pd.Series(new_cause[target], dtype=object).map(sev).to_numpy(dtype=object)
    for name, values in (("cause", new_cause), ("fix_id", fix), ("severity", severity),
                         ("cause_ref", ref_col)):
        out[name] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, pa.string())),
                              index=df.index)
    return out
