"""Detectors for abuse by clients: SASL brute force, dictionary attacks, relay probing."""

from __future__ import annotations

import numpy as np

from .baseline import _runs, _with_bucket
from .context import Context, _finding, _str_eq
from .finding import Finding


def detect_abuse(ctx: Context) -> list[Finding]:
    """SASL brute force, dictionary attacks and relay probing, per client IP and bucket."""
    p = ctx.params["abuse"]
    src = ctx.events
    # only the clients' lines and the columns read here: no copy of the whole window
    ev = src.loc[src["client_ip"].notna().to_numpy(dtype=bool) & _str_eq(src["event"], ("auth_failure", "reject")),
                 ["ts", "client_ip", "event", "cause", "recipient", "sasl_username", "source", "line_no"]]
    ev = _with_bucket(ctx, ev)
    out: list[Finding] = []
    checks: list[tuple[str, np.ndarray, str | None, int, str]] = [
        ("SASL brute force", _str_eq(ev["event"], "auth_failure"), None, int(p["sasl_failures"]),
         "authentication failures"),
        ("Dictionary attack", _str_eq(ev["event"], "reject") & (_str_eq(ev["cause"], "mailbox.unknown")
                                                 | _str_eq(ev["cause"], "client.recipient_unknown")),
         "recipient", int(p["unknown_recipients"]), "unknown recipients"),
        ("Relay probing", _str_eq(ev["event"], "reject") & (_str_eq(ev["cause"], "relay.denied")
                                             | _str_eq(ev["cause"], "client.relay_denied")), None,
         int(p["relay_attempts"]), "relay attempts refused"),
    ]
    for title, mask, distinct, threshold, what in checks:
        rows = ev[mask]
        if rows.empty:
            continue
        if distinct:
            g = rows.groupby(["client_ip", "bucket"])[distinct].nunique()
        else:
            g = rows.groupby(["client_ip", "bucket"]).size()
        g = g[g >= threshold]
        for ip in sorted(g.index.get_level_values(0).unique()):
            for run in _runs(g.loc[ip].index.tolist(), ctx.bucket):
                r = rows[(rows["client_ip"] == ip).to_numpy() & rows["bucket"].isin(run).to_numpy()]
                n = int(r[distinct].nunique()) if distinct else len(r)
                cause = r["cause"].mode().iloc[0]
                crit = title == "SASL brute force" and n >= p["sasl_critical"]
                users = r["sasl_username"].dropna().nunique() if "sasl_username" in r else 0
                out.append(_finding(ctx, detector="abuse", severity="critical" if crit else "warning",
                                    entity=str(ip), rows=r, title=f"{title} from {ip}: {n} {what}",
                                    observed=float(n), expected=float(threshold), cause=cause,
                                    detail=f"{len(r)} log lines" + (f", {users} user names tried" if users else "")))
    return out
