"""Anomaly detection: small pure detectors over the classified event table.

``detect_anomalies(events, baseline=None, params=None, now=None)`` runs every detector in
:data:`DETECTORS` and returns their :class:`Finding` objects, most severe first.

* ``events`` is the classified event table of the report window (``analyzer.classify`` adds
  the classification when it is missing).
* ``baseline`` is an earlier events table with the same columns (a history store, or the part
  of the input before the report window). Detectors compare each time bucket of ``events``
  with the baseline *and* the earlier buckets of ``events`` themselves, so a single night's log
  is its own baseline.
* ``params`` are the thresholds: :func:`load_params` reads the documented defaults in
  ``analyzer/anomalies.toml`` and merges a site file over them.
* ``now`` is the end of observation: a gap between the last event and ``now`` counts as
  silence. Library code never reads the clock.

Each detector is ``fn(ctx) -> list[Finding]`` where ``ctx`` holds the frames and parameters;
it has no side effects.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BASELINE_COLUMNS",
    "DETECTORS",
    "SEVERITIES",
    "AnomalyConfigError",
    "Finding",
    "default_params",
    "detect_anomalies",
    "load_params",
]

SEVERITIES = ("info", "warning", "critical")
#: The columns the detectors read: enough to ask a history store for (baseline=...).
BASELINE_COLUMNS = ("ts", "program", "queue_id", "event", "direction", "client_ip", "relay_host", "sender", "recipient",
                    "status", "smtp_stage", "reply_text", "delay", "quit", "sasl_username", "detail", "source",
                    "line_no", "reply_class", "outcome", "cause", "provider", "severity")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
DEFAULTS_FILE = Path(__file__).with_name("anomalies.toml")
FAILURES = ("transient_failure", "permanent_failure")
MAD_SCALE = 1.4826


class AnomalyConfigError(ValueError):
    """A thresholds file is broken: ``FILE: [section] key: what is wrong``."""

    hint = "Fix the key named in the message (see analyzer/anomalies.toml for every key and its default)."


@dataclass(frozen=True)
class Finding:
    """One abnormal thing, with what was expected, where to look and what to do."""

    fingerprint: str
    severity: str
    title: str
    detector: str
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    entity: str
    observed: float
    expected: float | None
    evidence: tuple[tuple[str, int], ...] = ()
    cause: str | None = None
    fix: tuple[str, ...] = ()
    detail: str = ""
    unit: str = "count"  # what observed/expected measure: "count", or "share" (a fraction, 0.5 = 50 %)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 UTC strings)."""
        return {
            "fingerprint": self.fingerprint,
            "severity": self.severity,
            "title": self.title,
            "detector": self.detector,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "entity": self.entity,
            "observed": _num(self.observed),
            "expected": None if self.expected is None else _num(self.expected),  # null also when not finite
            "evidence": [{"file": f, "line": int(n)} for f, n in self.evidence],
            "cause": self.cause,
            "fix": list(self.fix),
            "detail": self.detail,
            "unit": self.unit,
        }


def _iso(ts: pd.Timestamp | None) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(x: float) -> float | int | None:
    x = float(x)
    if not np.isfinite(x):
        return None
    return int(x) if x.is_integer() else round(x, 4)


# --------------------------------------------------------------------------------------------
# parameters


def _merge(base: dict[str, Any], extra: dict[str, Any], src: str) -> dict[str, Any]:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in extra.items():
        if section not in out or not isinstance(values, dict):
            raise AnomalyConfigError(f"{src}: [{section}]: unknown section (known: {', '.join(out)})")
        for key, value in values.items():
            if key not in out[section]:
                raise AnomalyConfigError(f"{src}: [{section}] {key}: unknown key")
            want = type(out[section][key])
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, want) or isinstance(value, bool) != (want is bool):
                raise AnomalyConfigError(f"{src}: [{section}] {key}: expected {want.__name__}, "
                                         f"got {value!r}")
            out[section][key] = value
    return out


def default_params() -> dict[str, dict[str, Any]]:
    """The documented defaults from ``analyzer/anomalies.toml``."""
    with open(DEFAULTS_FILE, "rb") as fh:
        return tomllib.load(fh)


def load_params(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then a site TOML file, then ``overrides`` (same shape); errors name file and key."""
    params = default_params()
    if path is not None:
        try:
            with open(path, "rb") as fh:
                site = tomllib.load(fh)
        except OSError as exc:
            raise AnomalyConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise AnomalyConfigError(f"{path}: not valid TOML ({exc})") from exc
        params = _merge(params, site, str(path))
    if overrides:
        params = _merge(params, overrides, "overrides")
    return params


# --------------------------------------------------------------------------------------------
# context shared by the detectors


@dataclass
class Context:
    """What every detector reads: the window's events, the history before them, parameters."""

    events: pd.DataFrame          # the report window, classified, sorted by ts
    history: pd.DataFrame         # baseline rows before the window (may be empty)
    params: dict[str, Any]
    kb: Any = None
    now: pd.Timestamp | None = None
    bucket: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(hours=1))

    @cached_property
    def all(self) -> pd.DataFrame:
        """History and window together (history first)."""
        if len(self.history) == 0:
            return self.events
        return pd.concat([self.history, self.events], ignore_index=True)

    def fix_for(self, cause: str | None, detector: str) -> tuple[str, ...]:
        if cause and self.kb is not None and cause in self.kb.causes:
            steps = self.kb.causes[cause].get("fix") or []
            if steps:
                return tuple(steps)
        return tuple(self.params.get(detector, {}).get("fix", ()))

    def cause_title(self, cause: str | None) -> str:
        if cause and self.kb is not None and cause in self.kb.causes:
            return str(self.kb.causes[cause].get("title", cause))
        return cause or ""


def _fingerprint(detector: str, entity: str, cause: str | None, start: pd.Timestamp | None) -> str:
    key = f"{detector}|{entity}|{cause or ''}|{_iso(start) or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _finding(ctx: Context, *, detector: str, severity: str, title: str, entity: str, rows: pd.DataFrame,
             observed: float, expected: float | None, cause: str | None = None, detail: str = "",
             start: pd.Timestamp | None = None, end: pd.Timestamp | None = None, unit: str = "count") -> Finding:
    """A finding whose window and evidence come from ``rows`` (unless given)."""
    n = int(ctx.params["general"]["max_evidence"])
    if len(rows):
        ts = rows["ts"]
        start = ts.min() if start is None else start
        end = ts.max() if end is None else end
    ev = rows.dropna(subset=["source", "line_no"]).head(n) if len(rows) else rows
    evidence = tuple((str(s), int(line)) for s, line in zip(ev["source"], ev["line_no"], strict=False)) if len(ev) else ()
    return Finding(_fingerprint(detector, entity, cause, start), severity, title, detector, start, end,
                   entity, float(observed), None if expected is None else float(expected), evidence,
                   cause, ctx.fix_for(cause, detector), detail, unit)


def _domain(s: pd.Series) -> pd.Series:
    """The domain of an address column, lower-cased; null where there is none."""
    return s.astype("string[pyarrow]").str.extract(r"@([^@<>\s]+)>?$", expand=False).str.lower()


def _truthy(s: pd.Series) -> np.ndarray:
    return s.fillna(False).to_numpy(dtype=bool)


def _str_eq(s: pd.Series, value: str | Iterable[str]) -> np.ndarray:
    if isinstance(value, str):
        return _truthy(s == value)
    return _truthy(s.isin(list(value)))


def _runs(buckets: list[pd.Timestamp], step: pd.Timedelta) -> list[list[pd.Timestamp]]:
    """Group sorted bucket starts into runs of consecutive buckets."""
    runs: list[list[pd.Timestamp]] = []
    for b in sorted(buckets):
        if runs and b - runs[-1][-1] <= step:
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs


def _robust(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 x MAD) of ``values``."""
    if len(values) == 0:
        return 0.0, 0.0
    med = float(np.median(values))
    return med, MAD_SCALE * float(np.median(np.abs(values - med)))


def _with_bucket(ctx: Context, df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["bucket"] = df["ts"].dt.floor(ctx.bucket)
    return df


# --------------------------------------------------------------------------------------------
# detectors


def _outbound(df: pd.DataFrame) -> pd.DataFrame:
    m = _str_eq(df["event"], ("delivery", "expired")) & _str_eq(df["direction"], "outbound")
    out = df.loc[m, ["ts", "recipient", "provider", "outcome", "cause", "severity", "source", "line_no",
                     "relay_host", "status"]].copy()
    out["domain"] = _domain(out["recipient"])
    # Failures whose cause is harmless (greylisting) are the destination's normal behaviour.
    out["failed"] = _str_eq(out["outcome"], FAILURES) & ~_str_eq(out["severity"], "info")
    return out


def detect_failure_spike(ctx: Context) -> list[Finding]:
    """Failure rate per destination domain and per provider, per bucket, against earlier buckets;
    and the count of each failure cause per bucket against earlier buckets."""
    p = ctx.params["failure_spike"]
    min_hist = int(ctx.params["general"]["min_history"])
    allrows = _with_bucket(ctx, _outbound(ctx.all))
    if allrows.empty:
        return []
    window_start = ctx.events["ts"].min()
    findings: list[Finding] = []
    for dim in ("domain", "provider"):
        sub = allrows.dropna(subset=[dim])
        if sub.empty:
            continue
        g = sub.groupby([dim, "bucket"], observed=True)["failed"].agg(["sum", "count"]).reset_index()
        g.columns = [dim, "bucket", "fail", "n"]
        g["fail"] = g["fail"].astype(float)
        g["n"] = g["n"].astype(float)
        # Everything we sent, per bucket: the prior for destinations with little history.
        tot = allrows.groupby("bucket")["failed"].agg(["sum", "count"])
        flagged: dict[str, list[tuple[pd.Timestamp, float, float, float]]] = {}
        for entity, grp in g.groupby(dim, sort=True):
            grp = grp.sort_values("bucket")
            buckets, fails, ns = grp["bucket"].tolist(), grp["fail"].to_numpy(), grp["n"].to_numpy()
            for i, b in enumerate(buckets):
                if b < window_start.floor(ctx.bucket) or fails[i] < p["min_failures"]:
                    continue
                rate = fails[i] / ns[i]
                hist_rates = fails[:i][ns[:i] >= 3] / ns[:i][ns[:i] >= 3]
                if len(hist_rates) >= min_hist:
                    exp, sd = _robust(hist_rates)
                else:
                    # Little history for this entity: compare with everything we sent before,
                    # and say nothing when there was no before.
                    prior = tot[tot.index < b]
                    if len(prior) < min_hist:
                        continue
                    exp, _sd = _robust((prior["sum"] / prior["count"]).to_numpy(dtype=float))
                    sd = 0.0
                if rate >= p["min_rate"] and rate >= exp + max(p["k"] * sd, p["min_increase"]):
                    flagged.setdefault(str(entity), []).append((b, rate, exp, fails[i]))
        for entity, items in flagged.items():
            by_b = {b: (r, e, f) for b, r, e, f in items}
            for run in _runs(list(by_b), ctx.bucket):
                ent_rows = sub[(sub[dim] == entity).fillna(False).to_numpy() & sub["bucket"].isin(run).to_numpy()]
                failed = ent_rows[ent_rows["failed"]]
                nfail = float(len(failed))
                rate = nfail / max(1, len(ent_rows))
                exp = float(np.mean([by_b[b][1] for b in run]))
                cause = failed["cause"].mode().iloc[0] if len(failed) else None
                sev = "critical" if max(by_b[b][2] for b in run) >= p["critical_failures"] else "warning"
                label = "destination" if dim == "domain" else "provider"
                findings.append(_finding(
                    ctx, detector="failure_spike", severity=sev, entity=str(entity), rows=failed,
                    title=f"Failure spike at {label} {entity}: {rate:.0%} of {len(ent_rows)} deliveries failed",
                    observed=rate, expected=exp, cause=cause, unit="share",
                    detail=f"{int(nfail)} failed deliveries, mostly {ctx.cause_title(cause)}; the expected "
                           f"failure rate was {exp:.0%}"))
    findings.extend(_cause_spike(ctx))
    return findings


def _cause_spike(ctx: Context) -> list[Finding]:
    p = ctx.params["failure_spike"]
    min_hist = int(ctx.params["general"]["min_history"])
    df = ctx.all
    m = _str_eq(df["outcome"], FAILURES) & ~_str_eq(df["cause"], "unknown") & ~_str_eq(df["severity"], "info")
    fail = _with_bucket(ctx, df.loc[m, ["ts", "cause", "source", "line_no"]])
    if fail.empty:
        return []
    all_buckets = pd.date_range(df["ts"].min().floor(ctx.bucket), df["ts"].max().floor(ctx.bucket),
                                freq=ctx.bucket)
    window_start = ctx.events["ts"].min().floor(ctx.bucket)
    counts = fail.groupby(["cause", "bucket"]).size().unstack(fill_value=0).reindex(columns=all_buckets,
                                                                                      fill_value=0)
    out: list[Finding] = []
    for cause, row in counts.iterrows():
        vals = row.to_numpy(dtype=float)
        hit: list[pd.Timestamp] = []
        exps: dict[pd.Timestamp, float] = {}
        for i, b in enumerate(all_buckets):
            if b < window_start or i < min_hist or vals[i] < p["cause_min_count"]:
                continue
            med, sd = _robust(vals[:i])
            exp = max(med, 1.0)
            if vals[i] >= p["cause_factor"] * exp and vals[i] >= med + p["k"] * sd:
                hit.append(b)
                exps[b] = med
        for run in _runs(hit, ctx.bucket):
            rows = fail[(fail["cause"] == cause).to_numpy() & fail["bucket"].isin(run).to_numpy()]
            n = float(sum(vals[list(all_buckets).index(b)] for b in run)) / len(run)
            exp = float(np.mean([exps[b] for b in run]))
            sev = "critical" if n >= p["critical_failures"] else "warning"
            out.append(_finding(ctx, detector="cause_spike", severity=sev, entity=str(cause), rows=rows,
                                title=f"More '{ctx.cause_title(str(cause))}' than usual: {n:.0f} per hour "
                                      f"(usually {exp:.0f})",
                                observed=n, expected=exp, cause=str(cause),
                                detail=f"{len(rows)} events with cause {cause} in the window"))
    return out


def detect_new_signature(ctx: Context) -> list[Finding]:
    """A failure cause, provider or normalised reply text that the baseline never had."""
    from .classify import MASK, MASKED

    p = ctx.params["new_signature"]
    hist, ev = ctx.history, ctx.events
    # Earlier buckets of the window count as history once there are enough of them.
    learn_until = None
    if len(hist) == 0:
        start = ev["ts"].min().floor(ctx.bucket)
        learn_until = start + ctx.bucket * int(p["min_history"])
        if ev["ts"].max() < learn_until:
            return []
        hist, ev = ev[_truthy(ev["ts"] < learn_until)], ev[_truthy(ev["ts"] >= learn_until)]
    fm = _str_eq(ev["outcome"], FAILURES)
    hm = _str_eq(hist["outcome"], FAILURES)
    cur, old = ev.loc[fm].copy(), hist.loc[hm].copy()
    if cur.empty:
        return []
    cur["text"] = cur["reply_text"].astype("string[pyarrow]").str.replace(MASK, MASKED, regex=True)
    old["text"] = old["reply_text"].astype("string[pyarrow]").str.replace(MASK, MASKED, regex=True)
    out: list[Finding] = []
    dims = [("cause", "cause"), ("provider", "provider")] + ([("text", "reply")] if learn_until is None else [])
    for col, what in dims:
        seen = set(old[col].dropna().unique().tolist())
        counts = cur[col].dropna().value_counts()
        for value, n in counts.items():
            if value in seen or n < p["min_count"] or value == "unknown":
                continue
            rows = cur[_truthy(cur[col] == value)]
            cause = rows["cause"].mode().iloc[0] if col != "cause" else str(value)
            shown = str(value) if col != "cause" else f"{value} ({ctx.cause_title(str(value))})"
            out.append(_finding(ctx, detector="new_signature", severity="info", entity=str(value)[:200],
                                rows=rows, title=f"New failure {what}: {shown[:120]}", observed=float(n),
                                expected=0.0, cause=cause,
                                detail=f"{n} failures with a {what} the baseline never had"))
    return out


def detect_concentration(ctx: Context) -> list[Finding]:
    """One destination refusing most of what we send it; one client IP producing most rejects."""
    p = ctx.params["concentration"]
    out: list[Finding] = []
    ob = _with_bucket(ctx, _outbound(ctx.events))
    for dim, label in (("domain", "destination"), ("provider", "provider")):
        sub = ob.dropna(subset=[dim])
        if sub.empty:
            continue
        g = sub.groupby([dim, "bucket"])["failed"].agg(["sum", "count"]).reset_index()
        g = g[(g["count"] >= p["min_attempts"]) & (g["sum"] / g["count"] >= p["min_share"])]
        for entity, grp in g.groupby(dim, sort=True):
            for run in _runs(grp["bucket"].tolist(), ctx.bucket):
                rows = sub[(sub[dim] == entity).fillna(False).to_numpy() & sub["bucket"].isin(run).to_numpy()]
                failed = rows[rows["failed"]]
                share = len(failed) / len(rows)
                cause = failed["cause"].mode().iloc[0] if len(failed) else None
                perm = int(_str_eq(failed["outcome"], "permanent_failure").sum())
                sev = "critical" if perm >= p["min_attempts"] else "warning"
                out.append(_finding(ctx, detector="concentration", severity=sev, entity=str(entity), rows=failed,
                                    title=f"{label.capitalize()} {entity} refuses {share:.0%} of our mail "
                                          f"({len(failed)} of {len(rows)})",
                                    observed=share, expected=None, cause=cause, unit="share",
                                    detail=f"mostly {ctx.cause_title(cause)}; {perm} of the failures are permanent"))
    ev = _with_bucket(ctx, ctx.events)
    rej = ev[_str_eq(ev["event"], "reject") & ev["client_ip"].notna().to_numpy()]
    if not rej.empty:
        tot = rej.groupby("bucket").size()
        g = rej.groupby(["client_ip", "bucket"]).size().reset_index(name="n")
        g["share"] = g["n"] / g["bucket"].map(tot).to_numpy()
        g = g[(g["n"] >= p["client_min_rejects"]) & (g["share"] >= p["client_min_share"])]
        for ip, grp in g.groupby("client_ip", sort=True):
            for run in _runs(grp["bucket"].tolist(), ctx.bucket):
                rows = rej[(rej["client_ip"] == ip).to_numpy() & rej["bucket"].isin(run).to_numpy()]
                share = len(rows) / int(tot[run].sum())
                cause = rows["cause"].mode().iloc[0]
                out.append(_finding(ctx, detector="concentration", severity="warning", entity=str(ip), rows=rows,
                                    title=f"Client {ip} caused {share:.0%} of all rejects ({len(rows)})",
                                    observed=share, expected=None, cause=cause, unit="share",
                                    detail=f"mostly {ctx.cause_title(cause)}"))
    return out


def detect_abuse(ctx: Context) -> list[Finding]:
    """SASL brute force, dictionary attacks and relay probing, per client IP and bucket."""
    p = ctx.params["abuse"]
    ev = _with_bucket(ctx, ctx.events)
    ev = ev[ev["client_ip"].notna().to_numpy()]
    out: list[Finding] = []
    checks: list[tuple[str, np.ndarray, str | None, int, str]] = [
        ("SASL brute force", _str_eq(ev["event"], "auth_failure"), None, int(p["sasl_failures"]),
         "authentication failures"),
        ("Dictionary attack", _str_eq(ev["event"], "reject") & _str_eq(ev["cause"], "mailbox.unknown"),
         "recipient", int(p["unknown_recipients"]), "unknown recipients"),
        ("Relay probing", _str_eq(ev["event"], "reject") & _str_eq(ev["cause"], "relay.denied"), None,
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


def detect_deferral_buildup(ctx: Context) -> list[Finding]:
    """Messages deferred for longer than min_age, per destination domain and bucket, growing
    above what earlier buckets had."""
    p = ctx.params["deferral_buildup"]
    df = ctx.all
    m = _str_eq(df["event"], "delivery") & _str_eq(df["status"], "deferred")
    d = _with_bucket(ctx, df.loc[m, ["ts", "recipient", "queue_id", "delay", "cause", "source", "line_no"]])
    if d.empty:
        return []
    # A message's age: the MTA's delay where logged (Postfix delay=), else the time since its
    # queue id was first seen (Exim logs no age on '==' lines).
    ids = df.dropna(subset=["queue_id"])
    first_seen = ids.groupby("queue_id")["ts"].min()
    seen = d["queue_id"].map(first_seen)
    age = ((d["ts"] - seen).dt.total_seconds()).astype("float64").fillna(0.0)
    d["delay"] = np.fmax(d["delay"].astype("float64").fillna(0.0).to_numpy(), age.to_numpy())
    d = d[_truthy(d["delay"] >= p["min_age"])]
    d["domain"] = _domain(d["recipient"])
    d = d.dropna(subset=["domain"])
    if d.empty:
        return []
    d["msg"] = d["queue_id"].fillna(d["recipient"])
    all_buckets = pd.date_range(df["ts"].min().floor(ctx.bucket), df["ts"].max().floor(ctx.bucket), freq=ctx.bucket)
    window_start = ctx.events["ts"].min().floor(ctx.bucket)
    counts = d.groupby(["domain", "bucket"])["msg"].nunique().unstack(fill_value=0).reindex(
        columns=all_buckets, fill_value=0)
    out: list[Finding] = []
    for dom, row in counts.iterrows():
        vals = row.to_numpy(dtype=float)
        hit, exps = [], {}
        for i, b in enumerate(all_buckets):
            if b < window_start or vals[i] < p["min_messages"]:
                continue
            med, _sd = _robust(vals[:i]) if i else (0.0, 0.0)
            if vals[i] >= p["factor"] * max(med, 1.0):
                hit.append(b)
                exps[b] = med
        for run in _runs(hit, ctx.bucket):
            rows = d[(d["domain"] == dom).to_numpy() & d["bucket"].isin(run).to_numpy()]
            peak = max(vals[list(all_buckets).index(b)] for b in run)
            msgs = rows["msg"].nunique()
            oldest = float(rows["delay"].max())
            cause = rows["cause"].mode().iloc[0]
            sev = "critical" if peak >= p["critical_messages"] else "warning"
            out.append(_finding(ctx, detector="deferral_buildup", severity=sev, entity=str(dom), rows=rows,
                                title=f"Deferrals piling up for {dom}: {msgs} messages waiting, the oldest "
                                      f"{oldest / 3600:.1f} h",
                                observed=float(peak), expected=float(np.mean([exps[b] for b in run])), cause=cause,
                                detail=f"up to {peak:.0f} long-deferred messages per hour; mostly "
                                       f"{ctx.cause_title(cause)}"))
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


#: The detectors, in the order they run. Each is ``fn(ctx) -> list[Finding]``.
DETECTORS: list[Callable[[Context], list[Finding]]] = [
    detect_server_trouble,
    detect_silence,
    detect_failure_spike,
    detect_concentration,
    detect_abuse,
    detect_deferral_buildup,
    detect_session_ends,
    detect_new_signature,
]


def _overlap(a: Finding, b: Finding) -> bool:
    if None in (a.window_start, a.window_end, b.window_start, b.window_end):
        return False
    return bool(a.window_start <= b.window_end and b.window_start <= a.window_end)


def merge_related(findings: list[Finding]) -> list[Finding]:
    """Say each thing once: a concentration finding goes into the failure spike of the same
    entity, and a cause spike into the entity finding (spike, abuse, build-up) with the same
    cause at the same time; the finding kept takes the higher severity."""
    keep = list(findings)
    absorbed: set[int] = set()
    for i, f in enumerate(keep):
        for j, g in enumerate(keep):
            if i == j or j in absorbed or i in absorbed or not _overlap(f, g):
                continue
            same_entity = f.detector == "concentration" and g.detector == "failure_spike" and f.entity == g.entity
            same_cause = (f.detector == "cause_spike" and g.detector in ("failure_spike", "abuse", "deferral_buildup",
                                                                         "concentration") and f.cause == g.cause)
            if same_entity or same_cause:
                absorbed.add(i)
                if _RANK[f.severity] > _RANK[g.severity]:
                    keep[j] = replace(g, severity=f.severity)
                break
    return [f for i, f in enumerate(keep) if i not in absorbed]


def _prepare(df: pd.DataFrame, kb: Any) -> pd.DataFrame:
    if "cause" not in df.columns:
        from .classify import classify
        df = classify(df, kb)
    return df.sort_values("ts", kind="stable").reset_index(drop=True)


def detect_anomalies(events: pd.DataFrame, baseline: pd.DataFrame | None = None, params: dict[str, Any] | None = None,
                     now: Any = None, *, kb: Any = None,
                     detectors: Iterable[Callable[[Context], list[Finding]]] | None = None) -> list[Finding]:
    """Run the detectors over ``events`` against ``baseline``; findings most severe first."""
    params = params or default_params()
    if kb is None:
        from .classify import default_rules
        kb = default_rules()
    events = _prepare(events.dropna(subset=["ts"]), kb)
    if events.empty:
        return []
    hist = events.iloc[0:0]
    if baseline is not None and len(baseline):
        hist = _prepare(baseline.dropna(subset=["ts"]), kb)
        hist = hist[_truthy(hist["ts"] < events["ts"].min())][list(events.columns.intersection(hist.columns))]
        hist = hist.reindex(columns=events.columns)
    ctx = Context(events=events, history=hist, params=params, kb=kb,
                  now=None if now is None else pd.Timestamp(now),
                  bucket=pd.Timedelta(seconds=int(params["general"]["bucket"])))
    found: list[Finding] = []
    for fn in (detectors or DETECTORS):
        found.extend(fn(ctx))
    found = merge_related(found)
    far = pd.Timestamp.max.tz_localize("UTC")
    found.sort(key=lambda f: (-_RANK[f.severity], f.window_start if f.window_start is not None else far,
                              f.detector, f.entity))
    return found
