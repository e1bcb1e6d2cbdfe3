"""Detectors for the health of the mail system itself: silence, abnormal session ends, fatal
errors and resource trouble."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .baseline import _robust, _runs, _with_bucket
from .context import Context, _finding, _str_eq, _truthy
from .finding import Finding


def _silences(ts: np.ndarray, *, start: np.datetime64 | None, end: np.datetime64 | None, p: dict[str, Any],
              hist_rate: Callable[[np.datetime64, np.datetime64], float] | None) -> list[tuple[Any, Any, float]]:
    """Gaps in the sorted times ``ts`` (numpy datetime64[ns]) longer than min_gap whose expected
    count (from the surrounding traffic or the history's rate) is at least min_expected."""
    if len(ts) == 0:
        return []
    points = ts
    if end is not None and end > ts[-1]:
        points = np.append(points, end)
    gaps = np.diff(points)
    min_gap = np.timedelta64(int(p["min_gap"]), "s")
    ctxw = np.timedelta64(int(p["context"]), "s")
    out = []
    for i in np.flatnonzero(gaps >= min_gap):
        a, b = points[i], points[i + 1]
        if hist_rate is not None:
            exp = hist_rate(a, b)
        else:
            before = ts[(ts >= a - ctxw) & (ts <= a)]
            after = ts[(ts > b) & (ts <= b + ctxw)] if b != end else ts[:0]
            # The quieter side sets the rate: a gap next to a burst is not silence.
            rates = []
            for side, span in ((before, min(ctxw, a - ts[0])), (after, min(ctxw, ts[-1] - b))):
                secs = span / np.timedelta64(1, "s")
                if len(side) and secs >= p["min_gap"]:
                    rates.append(len(side) / secs)
            if not rates:
                continue
            exp = min(rates) * ((b - a) / np.timedelta64(1, "s"))
        if exp >= p["min_expected"]:
            out.append((a, b, float(exp)))
    return out


def detect_silence(ctx: Context) -> list[Finding]:
    """Deliveries, receptions or all traffic stop for a period where the baseline had traffic."""
    p = ctx.params["silence"]
    ev = ctx.events
    series = [
        ("all traffic", np.ones(len(ev), dtype=bool)),
        ("receptions", _str_eq(ev["event"], "received")),
        ("deliveries", _str_eq(ev["event"], "delivery") & _str_eq(ev["status"], "sent")),
    ]
    hist = ctx.history
    hist_days = 0.0
    if len(hist):
        hist_days = (hist["ts"].max() - hist["ts"].min()) / pd.Timedelta(days=1)
    end = None if ctx.now is None else np.datetime64(pd.Timestamp(ctx.now).tz_convert("UTC").tz_localize(None), "ns")
    out: list[Finding] = []
    covered: list[tuple[Any, Any]] = []
    hmasks = {"all traffic": np.ones(len(hist), dtype=bool)}
    if len(hist):
        hmasks["receptions"] = _str_eq(hist["event"], "received")
        hmasks["deliveries"] = _str_eq(hist["event"], "delivery") & _str_eq(hist["status"], "sent")
    for name, mask in series:
        # Arrivals are the seconds with at least one line: one session logs many lines at once.
        ts = np.unique(ev.loc[mask, "ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(
            dtype="datetime64[ns]").astype("datetime64[s]")).astype("datetime64[ns]")
        rate_fn = None
        if hist_days >= 1.0:
            # Seasonal baseline: the history's mean count per hour of day.
            hts = hist.loc[hmasks[name], "ts"].dt.tz_convert("UTC").dt.floor("s").drop_duplicates()
            per_hour = hts.dt.hour.value_counts().reindex(range(24), fill_value=0).to_numpy() / hist_days

            def rate_fn(a, b, per_hour=per_hour):
                hours = pd.date_range(pd.Timestamp(a).floor("min"), pd.Timestamp(b), freq="min").hour
                return float(per_hour[hours].sum() / 60.0)
        for a, b, exp in _silences(ts, start=None, end=end, p=p, hist_rate=rate_fn):
            if any(a < cb and ca < b for ca, cb in covered):
                continue
            if name == "all traffic":
                covered.append((a, b))
            ta, tb = pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")
            minutes = (tb - ta) / pd.Timedelta(minutes=1)
            last = ev[_truthy(ev["ts"] <= ta) & mask].tail(1)
            sev = "critical" if exp >= p["critical_expected"] else "warning"
            out.append(_finding(ctx, detector="silence", severity=sev, entity=name, rows=last,
                                title=f"Silence: no {name if name != 'all traffic' else 'log lines'} for "
                                      f"{minutes:.0f} minutes",
                                observed=0.0, expected=exp, start=ta, end=tb,
                                detail=f"about {exp:.0f} active seconds expected from the traffic around it; "
                                       "the evidence is the last line before the gap"))
    return out


def detect_session_ends(ctx: Context) -> list[Finding]:
    """Lost connections and timeouts rising relative to normal QUIT/221 closes, per bucket."""
    p = ctx.params["session_ends"]
    min_hist = int(ctx.params["general"]["min_history"])
    df = ctx.all
    inbound = ~_str_eq(df["direction"], ("outbound", "local"))
    closed = _str_eq(df["event"], "disconnect") & _truthy(df["quit"]) & inbound
    abnormal = _str_eq(df["event"], ("lost_connection", "timeout")) & inbound
    ends = _with_bucket(ctx, df.loc[closed | abnormal, ["ts", "event", "smtp_stage", "cause", "source", "line_no"]])
    if ends.empty:
        return []
    ends["abnormal"] = _str_eq(ends["event"], ("lost_connection", "timeout"))
    g = ends.groupby("bucket")["abnormal"].agg(["sum", "count"])
    g["share"] = g["sum"] / g["count"]
    window_start = ctx.events["ts"].min().floor(ctx.bucket)
    hit, exps = [], {}
    for i, (b, row) in enumerate(g.iterrows()):
        if b < window_start or row["sum"] < p["min_abnormal"] or row["share"] < p["min_share"]:
            continue
        hist = g["share"].to_numpy()[:i]
        if len(hist) < min_hist:
            continue
        med, sd = _robust(hist)
        if row["share"] >= med + max(p["k"] * sd, p["min_increase"]):
            hit.append(b)
            exps[b] = med
    out = []
    for run in _runs(hit, ctx.bucket):
        rows = ends[ends["bucket"].isin(run).to_numpy()]
        bad = rows[rows["abnormal"]]
        share = len(bad) / len(rows)
        stage = bad["smtp_stage"].mode()
        where = f" mostly after {stage.iloc[0]}" if len(stage) else ""
        cause = bad["cause"].mode().iloc[0]
        out.append(_finding(ctx, detector="session_ends", severity="warning", entity="inbound sessions", rows=bad,
                            title=f"Abnormal session ends: {share:.0%} of {len(rows)} sessions lost or timed out{where}",
                            observed=share, expected=float(np.mean([exps[b] for b in run])), cause=cause,
                            unit="share", detail=f"{len(bad)} lost or timed out against {len(rows) - len(bad)} normal QUIT/221 closes"))
    return out


def detect_server_trouble(ctx: Context) -> list[Finding]:
    """Our own server in trouble: fatal/panic lines, queue file write errors, disk or resource warnings."""
    p = ctx.params["server"]
    ev = ctx.events
    text = ev["detail"].fillna("").astype(str) + " " + ev["reply_text"].fillna("").astype(str)
    own = ~_str_eq(ev["direction"], ("outbound", "inbound"))
    resource = (_truthy(text.str.contains(p["text"], regex=True)) & own) | _str_eq(ev["cause"], "local.resource")
    groups = [
        ("critical", "fatal/panic", _str_eq(ev["event"], ("fatal", "panic")),
         "The mail system logged fatal or panic errors"),
        ("critical", "resources", resource & ~_str_eq(ev["event"], ("fatal", "panic")),
         "Disk, queue file or resource errors"),
    ]
    out = []
    for sev, entity, mask, title in groups:
        rows = ev[mask]
        if rows.empty:
            continue
        cause = rows["cause"].mode().iloc[0]
        programs = ", ".join(sorted(rows["program"].dropna().unique().tolist())[:5])
        out.append(_finding(ctx, detector="server", severity=sev, entity=entity, rows=rows,
                            title=f"{title} ({len(rows)} line{'' if len(rows) == 1 else 's'}{', ' + programs if programs else ''})",
                            observed=float(len(rows)), expected=0.0, cause=cause if cause != "unknown" else None,
                            detail=str(rows["detail"].dropna().head(1).tolist()[0] if rows["detail"].notna().any()
                                       else "")[:300]))
    return out
