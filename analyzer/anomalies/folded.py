"""Session ends and SASL logins counted per time step instead of held as rows (the weekly report's fold).

Of an inbound session's abnormal end (a lost connection or timeout that says nothing else:
:func:`is_session_end`) the detectors read its time, event, SMTP stage, cause and file/line: the
session-end detector counts them per bucket against the normal closes, and for a flagged run
reads the most frequent stage and cause, the first lines (evidence) and the first and last
time. So the weekly report counts them per (step, event, stage, cause) with each key's first
and last time (:func:`end_counts`) and keeps each key's first :data:`EXAMPLES` lines
(:func:`end_examples`); their seconds and last lines go to the Bulk like the other folded lines.

Of a received line that names a SASL user (:func:`is_login`) only the severity policy reads
something beyond its second and queue id: whether the client logged in at or after a time. So
the weekly report keeps per (step, client) the last time (:func:`login_counts`).

Both tables are a :class:`~analyzer.anomalies.aggregates.Bulk`'s ``ends``/``end_examples`` and
``logins``; without them (the nightly report) every such line is a row and nothing changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .aggregates import _seconds_ns, _values
from .batch_tests import tests_of

__all__ = ["END_KEYS", "EXAMPLES", "LoginFold", "combine_ends", "combine_logins", "end_counts", "is_login",
           "is_quiet_login", "is_session_end", "login_counts", "quiet", "weighted_mode"]

#: The keys the session ends are counted per.
END_KEYS = ["sec", "event", "smtp_stage", "cause"]
#: Lines kept per key as evidence: a finding shows at most ``max_evidence`` (anomalies.toml, 5).
EXAMPLES = 5


def quiet(df: pd.DataFrame) -> np.ndarray:
    """Lines that no detector reads for their text or outcome: not a failure, not outbound, no
    resource trouble, and none of our own lines (neither inbound nor outbound) that says
    something (the server-trouble detector matches their texts); with a time."""
    from .context import FAILURES

    t = tests_of(df)
    m = ~t.eq("outcome", FAILURES) & ~t.eq("direction", ("outbound", "local"))
    m &= ~t.eq("cause", "local.resource") & t.notnull("ts")
    own = ~t.eq("direction", ("outbound", "inbound"))
    says = t.notnull("detail") | t.notnull("reply_text")
    return m & ~(own & says)


def is_session_end(df: pd.DataFrame) -> np.ndarray:
    """Inbound lost connections and timeouts (:func:`quiet`, naming no SASL user, of no message)."""
    t = tests_of(df)
    m = t.eq("event", ("lost_connection", "timeout")) & quiet(df)
    return m & t.null("sasl_username") & t.null("queue_id")


def is_quiet_disconnect(df: pd.DataFrame) -> np.ndarray:
    """Inbound disconnects (:func:`quiet`, naming no SASL user): the session-end detector reads
    only whether they had a QUIT (the Bulk's ``closed``/``unclosed`` counts)."""
    t = tests_of(df)
    return t.eq("event", "disconnect") & quiet(df) & t.null("sasl_username")


def is_login(df: pd.DataFrame) -> np.ndarray:
    """Received lines (:func:`quiet`) that name a SASL user and a client."""
    t = tests_of(df)
    m = t.eq("event", "received")
    if not m.any():  # (most batches: the tests below not made)
        return np.zeros(t.rows, dtype=bool)
    return m & quiet(df) & t.notnull("sasl_username") & t.notnull("client_ip")


def is_quiet_login(df: pd.DataFrame) -> np.ndarray:
    """The SASL-named received lines the nightly report folds (r12-rmem): :func:`is_login`'s that
    went well (outcome ok or info, severity info) and name no status, recipient nor borrowed cause
    (as :func:`~analyzer.anomalies.aggregates.is_received`'s lines but for the SASL user; their
    reply text and detail, such as Postfix's ``sasl_method=PLAIN``, are what the report's rows
    blank on such lines: :func:`analyzer.report.run.quiet_rows`). The report counts them as received
    lines in its Bulk (their seconds, last lines, queue ids and senders) and the severity policy
    reads their client's last login time (:class:`LoginFold`); nothing else reads them."""
    m = is_login(df)
    if not m.any():
        return m
    t = tests_of(df)
    m &= t.eq("severity", "info") & t.eq("outcome", ("ok", "info"))
    for c in ("status", "recipient", "cause_ref"):
        if c in t.columns:
            m &= t.null(c)
    return m


class LoginFold:
    """The report's fold of :func:`is_quiet_login` lines into a ``logins`` table (as
    :func:`login_counts`: per (hour step, client) the first and last time, ns), each key split
    apart on either side of ``since`` and ``until`` (the report window), so that cutting the
    table at those limits by its first and last times is exact. Held as numpy arrays, grouped by
    a sort (what pandas' group-by of the keys, sorted, gives: lines without a client left out;
    r21-nends: its set-up was most of the fold's ~6 ms a call); the clients as codes of a
    vocabulary (:func:`analyzer.peer_agg.new_vocab`), ranked as strings once, at the result
    (r24-rfold: a sort of the clients' Python strings at every call was most of the fold's CPU)."""

    STEP = 3600
    _KEYS = ("sec", "side", "client")

    def __init__(self, since: Any = None, until: Any = None) -> None:
        from ..peer_agg import new_vocab

        self.limits = [pd.Timestamp(t).value for t in (since, until) if t is not None]
        self._parts: list[dict[str, np.ndarray]] = []
        self._clients = new_vocab()

    def add(self, rows: pd.DataFrame) -> None:
        """``rows``: the folded lines' ``ts`` and ``client_ip``."""
        from .arrow_columns import as_arrow

        if not len(rows):
            return
        sec, ns = _seconds_ns(rows["ts"])
        side = np.zeros(len(ns), dtype=np.int8)
        for limit in self.limits:
            side += (ns >= limit).astype(np.int8)
        client = np.asarray(self._clients.encode(as_arrow(rows["client_ip"])), dtype=np.int64)
        t = {"sec": (sec // self.STEP) * self.STEP, "side": side, "client": client, "ts_min": ns, "ts_max": ns}
        self._parts.append(self._group(t, client))
        if len(self._parts) >= 16:
            joined = self._joined()
            self._parts = [self._group(joined, joined["client"])]

    def _joined(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in self._parts]) for k in self._parts[0]}

    @classmethod
    def _group(cls, t: dict[str, np.ndarray], rank: np.ndarray) -> dict[str, np.ndarray]:
        """One entry per (step, side, client), sorted by (step, side, ``rank``: the clients' order);
        the first and last time of each."""
        keep = t["client"] >= 0  # (-1: no client)
        t = {k: v[keep] for k, v in t.items()}
        rank = rank[keep]
        idx = np.lexsort((rank, t["side"], t["sec"]))
        new = np.zeros(len(idx), dtype=bool)
        new[:1] = True
        for k in (t["sec"][idx], t["side"][idx], t["client"][idx]):
            new[1:] |= k[1:] != k[:-1]
        starts = np.flatnonzero(new)
        first = idx[starts]
        return {"sec": t["sec"][first], "side": t["side"][first], "client": t["client"][first],
                "ts_min": np.minimum.reduceat(t["ts_min"][idx], starts) if len(idx) else t["ts_min"][:0],
                "ts_max": np.maximum.reduceat(t["ts_max"][idx], starts) if len(idx) else t["ts_max"][:0]}

    def result(self) -> pd.DataFrame | None:
        if not self._parts:
            return None
        names = np.asarray(self._clients.words().to_numpy(zero_copy_only=False), dtype=object)
        order = np.argsort(names, kind="stable")  # the clients as strings sort (np.unique's order before)
        rank = np.empty(len(names), dtype=np.int64)
        rank[order] = np.arange(len(names))
        joined = self._joined()
        t = self._group(joined, rank[joined["client"]])
        self._parts = []
        return pd.DataFrame({"sec": t["sec"].astype(np.int64), "client_ip": names[t["client"]].astype(object),
                             "ts_min": t["ts_min"].astype(np.int64), "ts_max": t["ts_max"].astype(np.int64)})


def end_counts(rows: pd.DataFrame, step: int, order: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Session ends (``rows``: ``ts``, ``event``, ``smtp_stage``, ``cause``, ``source``, ``line_no``;
    ``order`` their order within a second) counted per (``step``-second step, event, stage,
    cause): ``n``, ``ts_min``, ``ts_max`` (ns); and each key's first :data:`EXAMPLES` lines."""
    sec, ns = _seconds_ns(rows["ts"])
    t = pd.DataFrame({"sec": (sec // step) * step, "event": _values(rows["event"]),
                      "smtp_stage": _values(rows["smtp_stage"]), "cause": _values(rows["cause"]),
                      "ts": ns, "order": order, "source": _values(rows["source"]),
                      "line_no": rows["line_no"].to_numpy(dtype=np.float64, na_value=np.nan)})
    return _counts(t), _first(t)


def _counts(t: pd.DataFrame, keys: list[str] = END_KEYS) -> pd.DataFrame:
    """Lines (or counts) per ``keys`` (the first the step, the others values): ``n``, ``ts_min``, ``ts_max``."""
    if "n" not in t.columns:
        t = t.assign(n=np.ones(len(t), np.int64), ts_min=t["ts"], ts_max=t["ts"])
    g = t.groupby(keys, dropna=False, sort=True).agg(n=("n", "sum"), ts_min=("ts_min", "min"),
                                                     ts_max=("ts_max", "max")).reset_index()
    for c in keys[1:]:
        if g[c].dtype != bool:
            g[c] = _values(g[c])
    return g


def _first(t: pd.DataFrame, keys: list[str] = END_KEYS) -> pd.DataFrame:
    """Each key's first :data:`EXAMPLES` lines, by time and then order."""
    cols = [*keys, "ts", "order", "source", "line_no"]
    t = t[cols].sort_values(["ts", "order"], kind="stable")
    keep = t.groupby(keys, dropna=False, sort=False).cumcount().to_numpy() < EXAMPLES
    return t[keep].reset_index(drop=True)


def combine_ends(parts: list[tuple[pd.DataFrame, pd.DataFrame]],
                 keys: list[str] = END_KEYS) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The counts and examples of several :func:`end_counts` (or other counts per ``keys``)
    together (None, None without any)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return None, None
    return (_counts(pd.concat([p[0] for p in parts], ignore_index=True), keys),
            _first(pd.concat([p[1] for p in parts], ignore_index=True), keys))


def login_counts(rows: pd.DataFrame, step: int) -> pd.DataFrame:
    """SASL-named received lines (``ts``, ``client_ip``) per (step, client): first and last time (ns)."""
    sec, ns = _seconds_ns(rows["ts"])
    t = pd.DataFrame({"sec": (sec // step) * step, "client_ip": _values(rows["client_ip"]), "ts_min": ns, "ts_max": ns})
    return combine_logins([t])


def combine_logins(parts: list[pd.DataFrame]) -> pd.DataFrame | None:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    t = pd.concat(parts, ignore_index=True)
    return t.groupby(["sec", "client_ip"], sort=True).agg(ts_min=("ts_min", "min"), ts_max=("ts_max", "max")).reset_index()


def weighted_mode(values: pd.Series, weights: np.ndarray) -> Any:
    """The most frequent non-null value of ``values`` counting each ``weights`` times, the least
    among equals (as ``Series.mode().iloc[0]`` of the rows over sorted categories or strings);
    None when every value is null."""
    s = pd.Series(np.asarray(weights, dtype=np.int64), index=pd.Index(_values(values), dtype=object))
    s = s[s.index.notna()]
    if s.empty:
        return None
    c = s.groupby(level=0, sort=True).sum()
    return sorted(c.index[c.to_numpy() == c.max()].tolist())[0]
