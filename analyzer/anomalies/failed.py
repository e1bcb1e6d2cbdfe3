"""Quiet failures counted per time step instead of held as rows (the weekly report's fold).

A failure a client met on its way in that is no reject, authentication failure nor session end
(a postscreen or dnsblog DNSBL hit, a protocol error: :func:`is_quiet_failure`) is read by two
detectors only, and only for its time, cause, provider, reply text (masked), whether its
severity is above info, and its file/line: the cause-spike detector counts the failures of each
cause per bucket (those above info), the new-signature detector the failures of each cause,
provider and masked text (any severity) and whether the baseline had them. Both read, of a
flagged cause or signature, the count, the most frequent cause, the first lines (evidence) and
the first and last time. So the weekly report counts them per (step, cause, provider, masked
text, above info) with each key's first and last time (:func:`failure_counts`), and keeps each
key's first :data:`~.folded.EXAMPLES` lines; their seconds and last lines go to the Bulk like the
other folded lines (the silence detector's traffic).

A key's first and last time place it on either side of a cut inside its step (the new-signature
detector's learning cut, ``last_ts - 1 day`` for a long window, is not on a step's edge): a key
wholly before the cut is learnt, one wholly after it is new, and one across it was learnt too,
which is all that detector asks (a value seen before the cut is never new, so its count after
the cut is never read).

The tables are a :class:`~analyzer.anomalies.aggregates.Bulk`'s ``failures`` and
``failure_examples``; without them (the nightly report) every such line is a row and nothing
changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .aggregates import _eq, _seconds_ns, _values
from .bulk_narrow import row_orders
from .folded import _counts, _first, combine_ends

__all__ = ["FAIL_KEYS", "ROW_EVENTS", "combine_failures", "failure_counts", "folded_failures", "is_quiet_failure",
           "with_examples"]

#: The keys the quiet failures are counted per (``spike``: severity above info).
FAIL_KEYS = ["sec", "cause", "provider", "text", "spike"]
#: The events some detector reads as rows (or as evidence) beyond their cause and signature.
ROW_EVENTS = ("delivery", "expired", "reject", "auth_failure", "disconnect", "lost_connection", "timeout",
              "fatal", "panic")


def is_quiet_failure(df: pd.DataFrame) -> np.ndarray:
    """Inbound failures of no :data:`ROW_EVENTS` event, naming no SASL user, of no message, no
    resource trouble, with a time: read by the cause-spike and new-signature detectors only."""
    from .context import FAILURES

    m = _eq(df["outcome"], FAILURES) & _eq(df["direction"], "inbound") & ~_eq(df["event"], ROW_EVENTS)
    if not m.any():
        return m
    m &= ~_eq(df["cause"], "local.resource") & df["ts"].notna().to_numpy(dtype=bool)
    return m & df["sasl_username"].isna().to_numpy(dtype=bool) & df["queue_id"].isna().to_numpy(dtype=bool)


def failure_counts(rows: pd.DataFrame, step: int, order: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quiet failures (``rows``: ``ts``, ``cause``, ``provider``, ``reply_text``, ``severity``,
    ``source``, ``line_no``; ``order`` their order within a second) counted per :data:`FAIL_KEYS`
    (``step``-second steps): ``n``, ``ts_min``, ``ts_max`` (ns); and each key's first lines."""
    from .delivery import _masked_text

    sec, ns = _seconds_ns(rows["ts"])
    t = pd.DataFrame({"sec": (sec // step) * step, "cause": _values(rows["cause"]),
                      "provider": _values(rows["provider"]), "text": _values(_masked_text(rows["reply_text"])),
                      "spike": ~_eq(rows["severity"], "info"),
                      "ts": ns, "order": order, "source": _values(rows["source"]),
                      "line_no": rows["line_no"].to_numpy(dtype=np.float64, na_value=np.nan)})
    return _counts(t, FAIL_KEYS), _first(t, FAIL_KEYS)


def combine_failures(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The counts and examples of several :func:`failure_counts` together (None, None without any)."""
    return combine_ends(parts, FAIL_KEYS)


def folded_failures(bulks: list[Any]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The quiet failures folded in ``bulks`` (counts, examples), None, None when none."""
    parts = [b for b in bulks if b is not None and getattr(b, "failures", None) is not None and len(b.failures)]
    if not parts:
        return None, None
    return (pd.concat([b.failures for b in parts], ignore_index=True),
            pd.concat([b.failure_examples for b in parts], ignore_index=True))


def bucket_of(sec: np.ndarray, bucket: pd.Timedelta) -> pd.DatetimeIndex:
    """The bucket (start, UTC) of each folded step start ``sec``."""
    step = int(bucket / pd.Timedelta(seconds=1))
    return pd.to_datetime((np.asarray(sec, dtype=np.int64) // step) * step, unit="s", utc=True)


def _orders_or_zeros(rows: pd.DataFrame) -> np.ndarray:
    got = row_orders(rows)
    return got if got is not None else np.zeros(len(rows), np.int64)


def with_examples(rows: pd.DataFrame, counted: pd.DataFrame, examples: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``rows`` (``ts``, ``source``, ``line_no``, and their order key's column when there:
    :func:`~.bulk_narrow.order_columns`) with the folded
    keys of ``counted``: their first lines (evidence, from ``examples``) and two lines without a
    file that carry their first and last time, in the rows' order (time, then order)."""
    ex = examples.merge(counted[keys].drop_duplicates(), on=keys, how="inner")
    ts_type = rows["ts"].dtype

    def times(ns: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(ns, unit="ns", utc=True)).astype(ts_type)

    add = pd.DataFrame({"ts": times(np.r_[ex["ts"].to_numpy(np.int64), counted["ts_min"].min(), counted["ts_max"].max()]),
                        "source": pd.Series(np.r_[ex["source"].to_numpy(dtype=object), [None, None]], dtype=object),
                        "line_no": np.r_[ex["line_no"].to_numpy(dtype=float), [np.nan, np.nan]],
                        "_o": np.r_[ex["order"].to_numpy(np.int64), [0, 0]]})
    mine = pd.DataFrame({"ts": rows["ts"].reset_index(drop=True),
                         "source": pd.Series(rows["source"].astype(object).to_numpy(dtype=object), dtype=object),
                         "line_no": rows["line_no"].to_numpy(dtype=float, na_value=np.nan),
                         "_o": _orders_or_zeros(rows)})
    both = pd.concat([mine, add], ignore_index=True) if len(rows) else add
    both["_t"] = both["ts"].astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]").astype(np.int64) \
        if len(both) else np.array([], np.int64)
    return both.sort_values(["_t", "_o"], kind="stable", ignore_index=True).drop(columns=["_t", "_o"])
