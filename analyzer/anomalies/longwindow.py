"""Detectors over long windows: attacks too slow for any one hour's threshold.

A password guesser that tries three times an hour for three weeks never reaches the hourly
brute-force threshold of :mod:`.abuse`, nor does a dictionary attack spread over days, nor a
guesser that rotates over the addresses of one network. Here the same events are counted per
client over each UTC day and over the whole span (history and window together), per address and
per network (/24 for IPv4, /64 for IPv6), with the thresholds of ``[long_window]`` in
``analyzer/anomalies.toml``. Clients that reached the hourly threshold are left to :mod:`.abuse`.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd

from .client_counts import (
    DAY_NS,
    Lines,
    client_lines,
    codes_of,
    first_last,
    narrow,
    per_key,
    release_client_lines,
    step_index,
)
from .context import Context, _finding, _str_eq
from .finding import Finding

UNKNOWN_RECIPIENT = ("mailbox.unknown", "client.recipient_unknown")


def _networks(ips: pd.Series) -> pd.Series:
    """The network of each client address: ``a.b.c.0/24`` for IPv4, the /64 for IPv6; null
    for anything else. IPv4 is told by a pattern and cut at its last dot; IPv6 (compressed
    forms) per distinct address (the cuts a Python call per address: a few hundred, against
    pandas' masked assignments of string arrays)."""
    s = ips.astype("string")
    v4 = s.str.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}").fillna(False).to_numpy(dtype=bool)
    v6 = s.str.contains(":", regex=False).fillna(False).to_numpy(dtype=bool)
    values = s.to_numpy(dtype=object, na_value=None)
    out = np.full(len(s), None, dtype=object)
    for i in np.flatnonzero(v4):
        out[i] = values[i].rsplit(".", 1)[0] + ".0/24"
    nets: dict[str, str | None] = {}
    for i in np.flatnonzero(v6):
        ip = values[i]
        if ip not in nets:  # distinct IPv6 clients, not lines
            try:
                nets[ip] = str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
            except ValueError:
                nets[ip] = None
        out[i] = nets[ip]
    return pd.Series(out, index=ips.index, dtype="string")


def _stats(df: pd.DataFrame, lines: Lines, sel: np.ndarray, key: np.ndarray, names: np.ndarray,
           client: np.ndarray, distinct: np.ndarray | None, step: int) -> pd.DataFrame:
    """Per key (codes ``key`` of the lines ``sel``, -1 left out; index: the keys' names, in code
    order; column ``code``): ``total`` (lines, or distinct ``distinct`` values), ``days`` with
    any, ``per_day`` (the most in one day), ``per_hour`` (the most in one ``step``), ``ips``
    (distinct clients), ``first`` and ``last`` (times). Counted in place over the lines (``sel``
    given to :func:`.client_counts.per_key`: no copy of their keys, times or values); the days and
    steps as their numbers (int32)."""
    sel = sel & (key >= 0)
    (codes,), total = per_key([key], distinct, sel=sel)

    def most(within: np.ndarray) -> np.ndarray:
        (kk, _), n = per_key([key, within], distinct, sel=sel)
        return np.maximum.reduceat(n, np.flatnonzero(np.r_[True, kk[1:] != kk[:-1]]))

    # the lines' days, then their steps: one array of them at a time (4 bytes a line each)
    day = step_index(lines.ns, DAY_NS)
    days, per_day = per_key([key], day, sel=sel)[1], most(day)
    del day
    per_hour = most(step_index(lines.ns, step))
    ips = per_key([key], client, sel=sel)[1]
    first, last = _first_last(lines.ns, key, sel, len(names))
    ts = df["ts"]
    idx = pd.Index(names[codes], name=None)
    return pd.DataFrame({"code": codes, "total": total, "days": days, "per_day": per_day,
                         "per_hour": per_hour, "ips": ips,
                         "first": ts.iloc[lines.pos[first[codes]]].array,
                         "last": ts.iloc[lines.pos[last[codes]]].array},
                        index=idx)


def _first_last(ns: np.ndarray, key: np.ndarray, sel: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key code, the line (position among the lines) of its least time and of its greatest
    (the first and the last of them in line order among equal times, as a stable sort by time
    gives): where the lines' times never decrease (a window or history sorted by time, the
    usual case), the key's first and last line (:func:`.client_counts.first_last`: no sort)."""
    if len(ns) < 2 or bool((ns[1:] >= ns[:-1]).all()):
        return first_last(key, sel, size)
    at = np.flatnonzero(sel)
    first = np.full(size, -1, dtype=np.int64)
    last = np.full(size, -1, dtype=np.int64)
    if not len(at):
        return first, last
    k = key[at]
    order = np.lexsort((ns[at], k))
    starts = np.flatnonzero(np.r_[True, k[order][1:] != k[order][:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    first[k[order[starts]]] = at[order[starts]]
    last[k[order[ends]]] = at[order[ends]]
    return first, last


def _among(codes: np.ndarray, wanted: np.ndarray, size: int) -> np.ndarray:
    """``np.isin(codes, wanted)`` of codes in ``[-1, size)`` (-1: none, never wanted) by a table of
    the ``size`` codes: no sort of the lines' codes (isin's int64 temporaries, three a line)."""
    table = np.zeros(size + 1, dtype=bool)
    wanted = np.asarray(wanted, dtype=np.int64)
    table[wanted[wanted >= 0]] = True
    return table[codes]  # (code -1 reads the last entry: False)


def slow_finding(ctx: Context, kind: tuple[str, str, int, int, bool], entity: str, scope: str, st: pd.Series,
                 df: pd.DataFrame, lines: Lines, sel: np.ndarray) -> Finding:
    """The finding of a flagged address or network (``st``: its counts; ``sel``: its lines, a
    mask over ``lines`` of ``df``); ``kind``: (title, what is counted, hourly limit, span
    threshold, counted as distinct recipients). Read on the lines' codes (no copy of its rows)."""
    p = ctx.params["long_window"]
    title, what, per_hour_limit, per_span, distinct = kind
    total, days = int(st["total"]), int(st["days"])
    recent = sel & (lines.ns >= ctx.first_ts.value)
    users = lines.distinct(df, "sasl_username", sel) if "sasl_username" in df.columns else 0
    who = f"network {entity} ({int(st['ips'])} addresses)" if scope == "network" else entity
    sev = "critical" if days >= p["critical_days"] and not distinct else "warning"
    evidence = lines.evidence(df, recent if recent.any() else sel, int(ctx.params["general"]["max_evidence"]))
    return _finding(
        ctx, detector="long_window", severity=sev, entity=entity, rows=None, evidence=evidence,
        title=f"{title} from {who}: {total:,} {what} over {days} "
              f"day{'' if days == 1 else 's'} (at most {int(st['per_hour'])} an hour)",
        observed=float(total), expected=float(per_span), cause=str(lines.mode(df, "cause", sel)),
        start=st["first"], end=st["last"],
        detail=f"{int(sel.sum()):,} log lines, at most {int(st['per_day'])} {what} in one day"
               + (f", {users} user names tried" if users else "")
               + f"; below the hourly threshold ({per_hour_limit} an hour) all along")


def detect_slow_abuse(ctx: Context) -> list[Finding]:
    """SASL brute force and dictionary attacks too slow for the hourly thresholds: per client
    address or network, per UTC day and over the whole span (counted on codes: :mod:`.client_counts`)."""
    p = ctx.params["long_window"]
    hourly = ctx.params["abuse"]
    df = ctx.all
    window_start = ctx.first_ts
    step = int(ctx.bucket.value)
    every_line, names = client_lines(ctx, df)  # (the client codes shared with the hourly detectors)
    kinds = [
        ("Slow SASL brute force", _str_eq(df["event"], "auth_failure"), False, int(hourly["sasl_failures"]),
         "authentication failures", int(p["sasl_per_day"]), int(p["sasl_per_span"])),
        ("Slow dictionary attack", _str_eq(df["event"], "reject") & _str_eq(df["cause"], UNKNOWN_RECIPIENT), True,
         int(hourly["unknown_recipients"]), "unknown recipients", int(p["unknown_per_day"]),
         int(p["unknown_per_span"])),
    ]
    out: list[Finding] = []
    for title, mask, distinct, per_hour_limit, what, per_day, per_span in kinds:
        # the kind's lines as a mask over every line (no copy of their times and codes)
        of_kind = mask[every_line.pos]
        if not of_kind.any():
            continue
        lines = every_line
        client = lines.client
        recipient = lines.coded(df, "recipient") if distinct else None
        ips = _stats(df, lines, of_kind, client, names, client, recipient, step)
        # fast clients are the hourly detector's; persistent ones may join a network
        slow = ips[ips["per_hour"] < per_hour_limit]
        of_slow = of_kind & _among(client, slow["code"].to_numpy(), len(names))
        if not of_slow.any():
            continue

        def flagged(st: pd.DataFrame, per_day: int = per_day, per_span: int = per_span) -> pd.Series:
            return (((st["per_day"] >= per_day) | ((st["total"] >= per_span) & (st["days"] >= p["min_days"])))
                    & (st["last"] >= window_start))

        persistent = slow["code"].to_numpy()[(slow["total"] >= p["network_ip_min"]).to_numpy()]
        # each persistent client's network, worked out once per address (not per line)
        net_of = np.full(len(names), -1, dtype=np.int64)
        nets = pd.DataFrame()
        in_net = np.zeros(len(lines.pos), dtype=bool)
        net = np.full(0, -1, dtype=np.int32)  # (each line's network code, -1 none: read where in_net alone)
        if len(persistent):
            net_codes, net_names = codes_of(_networks(pd.Series(names[persistent], dtype=object)), sort=True)
            net_of[persistent] = net_codes
            net = narrow(net_of)[client]  # (the codes narrowed before they are taken per line)
            in_net = of_slow & (net >= 0)
            if in_net.any():
                nets = _stats(df, lines, in_net, net, net_names, client, recipient, step)
                nets = nets[(nets["ips"] >= p["network_min_ips"]) & flagged(nets)]
        # (the lines' network codes as made above: not the clients' looked up again, int64 a line)
        covered = np.unique(client[in_net & _among(net, nets["code"].to_numpy(), len(net_names))]) \
            if len(nets) else []
        single = slow[flagged(slow) & ~slow["code"].isin(covered)]
        found = [(str(n), "network", st) for n, st in nets.iterrows()]
        found += [(str(ip), "address", st) for ip, st in single.iterrows()]
        for entity, scope, st in found:  # flagged clients only: few (each one's lines a mask made in turn)
            sel = in_net & (net == st["code"]) if scope == "network" else of_kind & (client == st["code"])
            out.append(slow_finding(ctx, (title, what, per_hour_limit, per_span, distinct), entity, scope, st,
                                    df, lines, sel))
    # the last of the detectors that read the clients' lines: not held under the later ones' peaks
    # (measured at 7x3M Exim lines: deferral_buildup's peak over them was the weekly's highest)
    release_client_lines(ctx)
    return out
