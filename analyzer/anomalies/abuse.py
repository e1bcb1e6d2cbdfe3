"""Detectors for abuse by clients: SASL brute force, dictionary attacks, relay probing."""

from __future__ import annotations

import numpy as np

from .client_counts import by_name, client_lines, count_distinct, per_key, runs, step_index
from .context import Context, _finding, _str_eq
from .finding import Finding


def detect_abuse(ctx: Context) -> list[Finding]:
    """SASL brute force, dictionary attacks and relay probing, per client IP and bucket.

    Counted per (client, bucket) on codes (:mod:`.client_counts`); of the flagged clients' runs
    of buckets, what a finding says is read on the lines' codes and times, and only the first
    lines (evidence) are taken from the window."""
    p = ctx.params["abuse"]
    src = ctx.events
    lines, ips = client_lines(ctx, src)
    if not len(lines.pos):
        return []
    event, cause = src["event"], src["cause"]

    def at_lines(mask: np.ndarray) -> np.ndarray:  # (a mask over the window taken at the lines: no column copied)
        return mask[lines.pos]

    client = lines.client
    step = int(ctx.bucket.value)
    bucket = step_index(lines.ns, step)  # (numbers of buckets: their starts are these times ``step``)
    out: list[Finding] = []
    checks: list[tuple[str, np.ndarray, bool, int, str]] = [
        ("SASL brute force", at_lines(_str_eq(event, "auth_failure")), False, int(p["sasl_failures"]),
         "authentication failures"),
        ("Dictionary attack",
         at_lines(_str_eq(event, "reject") & _str_eq(cause, ("mailbox.unknown", "client.recipient_unknown"))),
         True, int(p["unknown_recipients"]), "unknown recipients"),
        ("Relay probing", at_lines(_str_eq(event, "reject") & _str_eq(cause, ("relay.denied", "client.relay_denied"))),
         False, int(p["relay_attempts"]), "relay attempts refused"),
    ]
    n_evidence = int(ctx.params["general"]["max_evidence"])
    for title, mask, distinct, threshold, what in checks:
        if not mask.any():
            continue
        # distinct recipients: their codes at the lines (the check's lines counted in place: ``sel``)
        recipient = lines.coded(src, "recipient") if distinct else None
        at = np.flatnonzero(mask)  # (where each of the check's lines is among all)
        (kc, kb), n = per_key([client, bucket], recipient, sel=mask)
        kb = kb * step  # (the buckets' starts)
        hit = n >= threshold
        flagged = by_name(ips, kc[hit])
        # the check's lines of each flagged client (in line order), found once: not a pass over
        # every line per client and run (measured: most of the report's CPU at 10M Exim lines)
        of_ips = _lines_of(at, client, flagged)
        for c in flagged:
            ip = ips[c]
            of_ip = of_ips[c]
            for run in runs(kb[hit & (kc == c)], step):
                # a run's lines (positions among the lines, in order) read on their codes and
                # times: no copy of its rows but its evidence
                sel = of_ip[np.isin(bucket[of_ip], run // step)]
                n_run = count_distinct(recipient[sel]) if recipient is not None else len(sel)
                crit = title == "SASL brute force" and n_run >= p["sasl_critical"]
                users = lines.distinct(src, "sasl_username", sel) if "sasl_username" in src.columns else 0
                start, end = lines.span(src, sel)
                out.append(_finding(ctx, detector="abuse", severity="critical" if crit else "warning",
                                    entity=str(ip), rows=None, evidence=lines.evidence(src, sel, n_evidence),
                                    title=f"{title} from {ip}: {n_run} {what}",
                                    observed=float(n_run), expected=float(threshold),
                                    cause=lines.mode(src, "cause", sel), start=start, end=end,
                                    detail=f"{len(sel)} log lines" + (f", {users} user names tried" if users else "")))
    return out


def _lines_of(at: np.ndarray, client: np.ndarray, wanted: list[int]) -> dict[int, np.ndarray]:
    """Of the lines ``at`` (positions, ascending), those of each client code ``wanted``, in order."""
    if not wanted:
        return {}
    at = at[np.isin(client[at], wanted)]
    at = at[np.argsort(client[at], kind="stable")]  # by client, each one's lines still in order
    cut = np.searchsorted(client[at], wanted)
    ends = np.searchsorted(client[at], wanted, side="right")
    return {c: at[a:b] for c, a, b in zip(wanted, cut, ends, strict=True)}
