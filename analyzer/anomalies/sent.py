"""Sent deliveries counted per time step instead of held as rows (the weekly report's fold).

Of a sent outbound delivery (:func:`is_sent`) the detectors read only its time, recipient domain,
provider and file/line: the failure-spike and concentration detectors count deliveries per
(domain or provider, bucket) and per bucket (a sent one never fails, nor is evidence); the
severity policy counts (domain, provider) pairs; the silence detector reads the active seconds
and the last line of each stream (a :class:`~analyzer.anomalies.aggregates.Bulk` row of kind
``delivered``); the deferral detector a message's first time (the Bulk's queue ids). So the
weekly report folds them: :func:`sent_counts` per batch, :func:`combine` over the week, read by
:func:`analyzer.anomalies.outbound.outbound_lines` (the outbound deliveries with these counts, on
codes) and :func:`pair_counts`. Without a fold (the nightly report) nothing changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .aggregates import _seconds_ns, _values
from .batch_tests import tests_of

__all__ = ["SENT_KEYS", "combine", "empty", "is_local_sent", "is_quiet_local_sent", "is_sent", "pair_counts", "sent_counts"]

SENT_KEYS = ["sec", "domain", "provider"]


def is_sent(df: pd.DataFrame) -> np.ndarray:
    """Sent outbound deliveries that no detector reads but as counts: not a failure, naming no
    SASL user, no resource trouble, with a time."""
    from .context import FAILURES

    t = tests_of(df)
    m = t.eq("event", "delivery") & t.eq("direction", "outbound") & t.eq("status", "sent")
    return m & ~t.eq("outcome", FAILURES) & ~t.eq("cause", "local.resource") & t.null("sasl_username") & t.notnull("ts")


def is_local_sent(df: pd.DataFrame) -> np.ndarray:
    """Sent local deliveries (Exim's ``=>`` to a mailbox: most of an Exim day's deliveries) that
    say nothing (no detail, no reply text: the server-trouble detector matches our own lines'
    texts), not a failure, naming no SASL user, no resource trouble, with a time: only the silence
    detector's delivery series reads them (their seconds and last lines: the Bulk's ``delivered``
    rows) and the deferral detector a message's first time (the Bulk's queue ids)."""
    from .context import FAILURES

    t = tests_of(df)
    m = t.eq("event", "delivery") & t.eq("direction", "local") & t.eq("status", "sent")
    m &= ~t.eq("outcome", FAILURES) & ~t.eq("cause", "local.resource")
    for c in ("sasl_username", "detail", "reply_text"):
        m &= t.null(c)
    return m & t.notnull("ts")


def is_quiet_local_sent(df: pd.DataFrame) -> np.ndarray:
    """Of :func:`is_local_sent`'s deliveries, those the nightly report folds too (into its
    :class:`~analyzer.anomalies.aggregates.Bulk`, kind ``delivered``: counted per second, file and
    host, their last lines and queue ids kept): severity info, no delay (the report's delay quantiles read every
    delay) and no cause taken from another line (the top tables read those of local waits). The
    report reads nothing else of them: not outbound (no top table), no reply class, no sender."""
    m = is_local_sent(df)
    if not m.any():
        return m
    t = tests_of(df)
    m &= t.eq("severity", "info")  # not a state the outcomes list
    for c in ("cause_ref", "delay", "sender"):
        if c in t.columns:
            m &= t.null(c)
    return m


def empty() -> pd.DataFrame:
    return pd.DataFrame({"sec": np.array([], np.int64), "domain": np.array([], object),
                         "provider": np.array([], object), "n": np.array([], np.int64),
                         "ts_min": np.array([], np.int64), "ts_max": np.array([], np.int64)})


def sent_counts(rows: pd.DataFrame, step: int) -> pd.DataFrame:
    """``rows`` (sent deliveries, with a time) counted per (``step``-second step, recipient domain,
    provider), with each key's first and last time (ns): one Arrow group-by, no object per row."""
    import pyarrow as pa

    from .context import _domain

    if not len(rows):
        return empty()
    sec, ns = _seconds_ns(rows["ts"])
    prov = rows["provider"]
    prov = pa.array(prov.astype(object).to_numpy(dtype=object), type=pa.string(), from_pandas=True) \
        if isinstance(prov.dtype, pd.CategoricalDtype) else pa.array(prov.astype("string[pyarrow]").array, type=pa.string())
    t = pa.table({"sec": (sec // step) * step, "domain": pa.array(_domain(rows["recipient"]).array, type=pa.string()),
                  "provider": prov, "n": np.ones(len(rows), np.int64), "ts_min": ns, "ts_max": ns})
    return _group(t)


def _group(t: Any) -> pd.DataFrame:
    g = t.group_by(SENT_KEYS).aggregate([("n", "sum"), ("ts_min", "min"), ("ts_max", "max")])
    g = g.rename_columns([c.split("_sum")[0].replace("ts_min_min", "ts_min").replace("ts_max_max", "ts_max")
                          for c in g.column_names])
    out = g.to_pandas()
    out = out.sort_values(SENT_KEYS, kind="stable", na_position="last", ignore_index=True)
    for c in ("domain", "provider"):
        out[c] = _values(out[c])
    return out[["sec", "domain", "provider", "n", "ts_min", "ts_max"]]


def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The counts of several :func:`sent_counts` tables together."""
    import pyarrow as pa

    parts = [p for p in parts if len(p)]
    if not parts:
        return empty()
    t = pd.concat(parts, ignore_index=True)
    cols = {c: pa.array(t[c].to_numpy(), type=pa.string(), from_pandas=True) for c in ("domain", "provider")}
    return _group(pa.table({"sec": t["sec"].to_numpy(), **cols, "n": t["n"].to_numpy(),
                            "ts_min": t["ts_min"].to_numpy(), "ts_max": t["ts_max"].to_numpy()}))


def pair_counts(bulk: Any, entities: set[str]) -> pd.DataFrame:
    """(domain ``d``, provider ``p``, count ``w``) of the sent deliveries folded in ``bulk`` to
    the domains in ``entities`` with a provider."""
    if bulk is None or bulk.sent is None or not len(bulk.sent):
        return pd.DataFrame({"d": [], "p": [], "w": []})
    s = bulk.sent
    sel = s["domain"].isin(list(entities)).to_numpy(dtype=bool) & s["provider"].notna().to_numpy(dtype=bool)
    return pd.DataFrame({"d": s.loc[sel, "domain"].to_numpy(dtype=object),
                         "p": s.loc[sel, "provider"].astype(str).to_numpy(dtype=object),
                         "w": s.loc[sel, "n"].to_numpy(dtype=np.int64)})
