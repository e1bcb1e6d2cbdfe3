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

import pandas as pd

from .context import Context, _finding, _str_eq
from .finding import Finding

UNKNOWN_RECIPIENT = ("mailbox.unknown", "client.recipient_unknown")


def _networks(ips: pd.Series) -> pd.Series:
    """The network of each client address: ``a.b.c.0/24`` for IPv4, the /64 for IPv6; null
    for anything else. IPv4 is cut with string operations; IPv6 (compressed forms) per distinct
    address."""
    s = ips.astype("string")
    v4 = s.str.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}").fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NA, index=ips.index, dtype="string")
    out[v4] = s[v4].str.rsplit(".", n=1).str[0] + ".0/24"
    v6 = s.str.contains(":", regex=False).fillna(False).to_numpy(dtype=bool)
    if v6.any():
        nets = {}
        for ip in pd.unique(s[v6].to_numpy()):  # distinct IPv6 clients, not lines
            try:
                nets[ip] = str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
            except ValueError:
                nets[ip] = pd.NA
        out[v6] = s[v6].map(nets)
    return out


def _stats(rows: pd.DataFrame, key: str, distinct: str | None) -> pd.DataFrame:
    """Per value of ``key``: ``total`` (lines, or distinct ``distinct`` values), ``days`` with
    any, ``per_day`` (the most in one day), ``per_hour`` (the most in one hour), ``ips``."""
    g = rows.groupby(key, observed=True)
    if distinct:
        total = g[distinct].nunique()
        per_day = rows.groupby([key, "day"], observed=True)[distinct].nunique().groupby(level=0).max()
        per_hour = rows.groupby([key, "hour"], observed=True)[distinct].nunique().groupby(level=0).max()
    else:
        total = g.size()
        per_day = rows.groupby([key, "day"], observed=True).size().groupby(level=0).max()
        per_hour = rows.groupby([key, "hour"], observed=True).size().groupby(level=0).max()
    return pd.DataFrame({"total": total, "days": g["day"].nunique(), "per_day": per_day, "per_hour": per_hour,
                         "ips": g["client_ip"].nunique(), "first": g["ts"].min(), "last": g["ts"].max()})


def detect_slow_abuse(ctx: Context) -> list[Finding]:
    """SASL brute force and dictionary attacks too slow for the hourly thresholds: per client
    address or network, per UTC day and over the whole span."""
    p = ctx.params["long_window"]
    hourly = ctx.params["abuse"]
    df = ctx.all
    window_start = ctx.first_ts
    base = df["client_ip"].notna().to_numpy(dtype=bool)
    kinds = [
        ("Slow SASL brute force", _str_eq(df["event"], "auth_failure"), None, int(hourly["sasl_failures"]),
         "authentication failures", int(p["sasl_per_day"]), int(p["sasl_per_span"])),
        ("Slow dictionary attack", _str_eq(df["event"], "reject") & _str_eq(df["cause"], UNKNOWN_RECIPIENT), "recipient",
         int(hourly["unknown_recipients"]), "unknown recipients", int(p["unknown_per_day"]),
         int(p["unknown_per_span"])),
    ]
    out: list[Finding] = []
    for title, mask, distinct, per_hour_limit, what, per_day, per_span in kinds:
        rows = df.loc[mask & base, ["ts", "client_ip", "recipient", "cause", "sasl_username", "source", "line_no"]]
        if rows.empty:
            continue
        rows = rows.assign(day=rows["ts"].dt.floor("D"), hour=rows["ts"].dt.floor(ctx.bucket))
        ips = _stats(rows, "client_ip", distinct)
        # fast clients are the hourly detector's; persistent ones may join a network
        slow = ips[ips["per_hour"] < per_hour_limit]
        rows = rows[rows["client_ip"].isin(slow.index).to_numpy()]
        if rows.empty:
            continue

        def flagged(st: pd.DataFrame, per_day: int = per_day, per_span: int = per_span) -> pd.Series:
            return (((st["per_day"] >= per_day) | ((st["total"] >= per_span) & (st["days"] >= p["min_days"])))
                    & (st["last"] >= window_start))

        persistent = slow.index[slow["total"] >= p["network_ip_min"]]
        nrows = rows[rows["client_ip"].isin(persistent).to_numpy()]
        nrows = nrows.assign(net=_networks(nrows["client_ip"]).to_numpy())
        nets = _stats(nrows.dropna(subset=["net"]), "net", distinct) if len(nrows) else pd.DataFrame()
        nets = nets[(nets["ips"] >= p["network_min_ips"]) & flagged(nets)] if len(nets) else nets
        in_net = nrows.dropna(subset=["net"])
        covered = set(in_net.loc[in_net["net"].isin(nets.index), "client_ip"].tolist()) if len(nets) else set()
        single = slow[flagged(slow) & ~slow.index.isin(list(covered))]
        found = [(str(n), "network", st, in_net[(in_net["net"] == n).to_numpy()]) for n, st in nets.iterrows()]
        found += [(str(ip), "address", st, rows[(rows["client_ip"] == ip).to_numpy()]) for ip, st in single.iterrows()]
        for entity, scope, st, ent_rows in found:  # flagged clients only: few
            total, days = int(st["total"]), int(st["days"])
            recent = ent_rows[(ent_rows["ts"] >= window_start).to_numpy()]
            users = ent_rows["sasl_username"].dropna().nunique()
            who = f"network {entity} ({int(st['ips'])} addresses)" if scope == "network" else entity
            sev = "critical" if days >= p["critical_days"] and distinct is None else "warning"
            out.append(_finding(
                ctx, detector="long_window", severity=sev, entity=entity, rows=recent if len(recent) else ent_rows,
                title=f"{title} from {who}: {total:,} {what} over {days} "
                      f"day{'' if days == 1 else 's'} (at most {int(st['per_hour'])} an hour)",
                observed=float(total), expected=float(per_span), cause=str(ent_rows["cause"].mode().iloc[0]),
                start=st["first"], end=st["last"],
                detail=f"{len(ent_rows):,} log lines, at most {int(st['per_day'])} {what} in one day"
                       + (f", {users} user names tried" if users else "")
                       + f"; below the hourly threshold ({per_hour_limit} an hour) all along"))
    return out
