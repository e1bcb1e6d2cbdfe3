"""Build the weekly report from the store: a plain, JSON-serialisable dict with ``schema_version``.

Weeks are ISO weeks (Monday first) in UTC, like the store's day partitions. The report compares
the week with the previous one and with the *baseline*: the mean of up to ``BASELINE_WEEKS``
weeks before it that the store holds data for (the previous week included).

The numbers come from per-day *facts* (:func:`day_facts`: counts grouped by host, kind, domain,
provider, cause and outcome), which are small and can be computed per day partition in parallel
(``engine="dask"``); the findings come from :func:`analyzer.anomalies.detect_anomalies` over the
week's events with the baseline weeks' events as history.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..store import load_manifest
from .events import ORDER as ORDER  # the detectors' rows' order (re-exported)
from .events import deferred_qids, week_events

__all__ = [
    "BASELINE_WEEKS",
    "SCHEMA_VERSION",
    "WeekError",
    "build_weekly",
    "day_facts",
    "last_complete_week",
    "parse_week",
    "week_days",
]

SCHEMA_VERSION = 1
BASELINE_WEEKS = 8
TOP = 12
FAILURES = ("transient_failure", "permanent_failure")
KINDS = ("received", "delivered", "deferred", "bounced", "rejected")
ATTEMPTS = ("delivered", "deferred", "bounced")
FACT_COLUMNS = ["ts", "host", "event", "status", "recipient", "provider", "cause", "outcome"]
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


class WeekError(ValueError):
    """A --week that is not an ISO week, or a week the store has no data for."""

    hint = "give an ISO week such as 2026-W48 (Monday first); `maillens weekly --help`"


def parse_week(text: str) -> dt.date:
    """'2026-W48' -> the Monday of that ISO week."""
    m = _WEEK.match(text.strip())
    if not m:
        raise WeekError(f"--week {text!r} is not an ISO week")
    try:
        return dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise WeekError(f"--week {text!r}: {exc}") from exc


def week_name(monday: dt.date) -> str:
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


def last_complete_week(now: dt.datetime) -> dt.date:
    """The Monday of the last ISO week that ended at or before ``now`` (UTC)."""
    today = now.astimezone(dt.UTC).date()
    return today - dt.timedelta(days=today.weekday() + 7)


def week_days(monday: dt.date) -> list[str]:
    return [(monday + dt.timedelta(days=i)).isoformat() for i in range(7)]


# --------------------------------------------------------------------------------------------
# facts


def _m(s: pd.Series, values: str | tuple[str, ...]) -> np.ndarray:
    if isinstance(values, str):
        return (s == values).fillna(False).to_numpy(dtype=bool)
    return s.isin(list(values)).fillna(False).to_numpy(dtype=bool)


def facts_of(ev: pd.DataFrame) -> pd.DataFrame:
    """Counts of an event table grouped by day, host, kind, domain, provider, cause, outcome."""
    cols = ["day", "host", "kind", "domain", "provider", "cause", "outcome", "count"]
    if ev.empty:
        return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "count" else object) for c in cols})
    is_del = _m(ev["event"], "delivery")
    kind = np.full(len(ev), "", dtype=object)
    kind[_m(ev["event"], "received")] = "received"
    kind[is_del & _m(ev["status"], "sent")] = "delivered"
    kind[is_del & _m(ev["status"], "deferred")] = "deferred"
    kind[(is_del & _m(ev["status"], ("bounced", "expired"))) | _m(ev["event"], "expired")] = "bounced"
    kind[_m(ev["event"], "reject")] = "rejected"
    failure = _m(ev["outcome"], FAILURES)
    keep = (kind != "") | failure
    ev = ev[keep]
    kind = kind[keep]
    failure = failure[keep]
    domain = ev["recipient"].astype("string[pyarrow]").str.extract(r"@([^@<>\s]+)>?$", expand=False).str.lower()
    frame = pd.DataFrame({
        "day": ev["ts"].dt.strftime("%Y-%m-%d").astype(object).to_numpy(),
        "host": ev["host"].astype(object).fillna("").to_numpy(),
        "kind": kind,
        "domain": np.where(np.isin(kind, ATTEMPTS), domain.astype(object).fillna("").to_numpy(), ""),
        "provider": np.where(np.isin(kind, ATTEMPTS), ev["provider"].astype(object).fillna("").to_numpy(), ""),
        "cause": np.where(failure, ev["cause"].astype(object).fillna("unknown").to_numpy(), ""),
        "outcome": np.where(failure, ev["outcome"].astype(object).fillna("").to_numpy(), ""),
    })
    out = frame.groupby(cols[:-1], sort=True).size().rename("count").reset_index()
    return out[cols]


def day_facts(store: str | os.PathLike, day: str) -> pd.DataFrame:
    """The facts of one day partition of the store, folded batch by batch (only the fact columns
    are read): memory is one batch and the counts, not the day."""
    from ..store import iter_event_batches

    nxt = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    cols = ["day", "host", "kind", "domain", "provider", "cause", "outcome"]
    parts = [facts_of(t.to_pandas(types_mapper=pd.ArrowDtype))
             for t in iter_event_batches(store, since=day, until=nxt, columns=FACT_COLUMNS)]
    parts = [f for f in parts if len(f)]
    if len(parts) <= 1:
        return parts[0] if parts else facts_of(pd.DataFrame())
    both = pd.concat(parts, ignore_index=True)
    return both.groupby(cols, sort=True)["count"].sum().reset_index()[[*cols, "count"]]


# --------------------------------------------------------------------------------------------
# the report


def _pct(new: float, old: float) -> float | None:
    return None if not old else round((new - old) / old, 4)


def _rate(d: dict[str, float]) -> float | None:
    n = sum(d.get(k, 0) for k in ATTEMPTS)
    return round(d.get("delivered", 0) / n, 4) if n else None


def _kinds(f: pd.DataFrame) -> dict[str, float]:
    s = f.groupby("kind")["count"].sum() if len(f) else pd.Series(dtype="int64")
    return {k: float(s.get(k, 0)) for k in KINDS}


def _rates_by(this: pd.DataFrame, prev: pd.DataFrame, base: pd.DataFrame, key: str, nbase: int,
              top: int = TOP) -> list[dict[str, Any]]:
    """Delivery success rate per value of ``key`` (domain, provider, host), this week vs previous vs baseline."""

    def table(f: pd.DataFrame) -> pd.DataFrame:
        f = f[f["kind"].isin(ATTEMPTS) & (f[key] != "")]
        if f.empty:
            return pd.DataFrame(columns=list(ATTEMPTS))
        return f.pivot_table(index=key, columns="kind", values="count", aggfunc="sum", fill_value=0)

    t, p, b = table(this), table(prev), table(base)

    def rate(tab: pd.DataFrame, k: str) -> tuple[int, float | None]:
        if k not in tab.index:
            return 0, None
        row = tab.loc[k]
        n = int(sum(row.get(a, 0) for a in ATTEMPTS))
        return n, (round(float(row.get("delivered", 0)) / n, 4) if n else None)

    rows = []
    for k in t.index:
        n, r = rate(t, k)
        pn, pr = rate(p, k)
        bn, br = rate(b, k)
        rows.append({key: str(k), "attempts": n, "rate": r, "previous_attempts": pn, "previous_rate": pr,
                     "baseline_attempts": round(bn / nbase, 1) if nbase else 0, "baseline_rate": br,
                     "change": None if r is None or pr is None else round(r - pr, 4)})
    # the busiest, then any other whose rate moved by 10 points or more on real volume
    rows.sort(key=lambda r: (-r["attempts"], r[key]))
    shown = rows[:top]
    moved = [r for r in rows[top:] if r["change"] is not None and abs(r["change"]) >= 0.1 and r["attempts"] >= 20]
    return shown + moved[:top]


def _causes(this: pd.DataFrame, prev: pd.DataFrame, base: pd.DataFrame, nbase: int, kb: Any,
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def counts(f: pd.DataFrame) -> pd.Series:
        f = f[f["cause"] != ""]
        return f.groupby("cause")["count"].sum() if len(f) else pd.Series(dtype="int64")

    t, p, b = counts(this), counts(prev), counts(base)
    outcome = (this[this["cause"] != ""].groupby("cause")["outcome"].agg(lambda s: s.mode().iloc[0])
               if len(this) else pd.Series(dtype=object))

    def info(c: str) -> dict[str, Any]:
        return kb.causes.get(c, {}) if kb is not None else {}

    rows = []
    for c in sorted(set(t.index) | set(p.index)):
        n, pn = int(t.get(c, 0)), int(p.get(c, 0))
        rows.append({"cause": c, "title": str(info(c).get("title", c)), "severity": info(c).get("severity", "info"),
                     "outcome": str(outcome.get(c, "")), "count": n, "previous": pn,
                     "baseline": round(float(b.get(c, 0)) / nbase, 1) if nbase else 0.0,
                     "change": _pct(n, pn), "new": n > 0 and int(b.get(c, 0)) == 0,
                     "fix": list(info(c).get("fix", []))})
    top = sorted(rows, key=lambda r: (-r["count"], -r["previous"], r["cause"]))[:TOP]
    new = sorted((r for r in rows if r["new"]), key=lambda r: (-r["count"], r["cause"]))
    return top, new


def _per_day(this: pd.DataFrame, prev: pd.DataFrame, monday: dt.date) -> list[dict[str, Any]]:
    out = []
    for i in range(7):
        d, pd_ = monday + dt.timedelta(days=i), monday - dt.timedelta(days=7 - i)
        k, pk = _kinds(this[this["day"] == d.isoformat()]), _kinds(prev[prev["day"] == pd_.isoformat()])
        out.append({"day": d.isoformat(), "weekday": d.strftime("%a"), **{x: int(k[x]) for x in KINDS},
                    "rate": _rate(k), "previous": {**{x: int(pk[x]) for x in KINDS}, "rate": _rate(pk)}})
    return out


def _findings(store: str | os.PathLike, monday: dt.date, base_mondays: list[dt.date], kb: Any) -> list[dict[str, Any]]:
    """The detectors' findings over the week's events, the baseline weeks' as history (the first 25)."""
    from ..anomalies import detect_anomalies

    until = monday + dt.timedelta(days=7)
    # the deferred messages of the week and its history: the only queue ids kept of the folded lines
    deferred = deferred_qids(store, base_mondays[-1] if base_mondays else monday, until)
    ev, bulk = week_events(store, monday, until, deferred)
    hist, hist_bulk = week_events(store, base_mondays[-1], monday, deferred) if base_mondays else (None, None)
    return [f.to_dict() for f in detect_anomalies(ev, baseline=hist, now=pd.Timestamp(until, tz="UTC"), kb=kb,
                                                  bulk=bulk, bulk_history=hist_bulk)[:25]]


def build_weekly(
    store: str | os.PathLike,
    week: str | dt.date | None = None,
    *,
    now: dt.datetime,
    kb: Any = None,
    engine: str = "local",
    scheduler: Any = None,
    findings: bool = True,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The weekly report of ``store`` for ``week`` (ISO '2026-W48' or its Monday; default: the last
    complete week before ``now``). ``engine="dask"`` computes the per-day facts on a cluster."""
    from ..classify import default_rules

    kb = kb or default_rules()
    monday = (parse_week(week) if isinstance(week, str) else week) or last_complete_week(now)
    m = load_manifest(store)
    days_held = set(m.days())
    this_days = week_days(monday)
    if not days_held.intersection(this_days):
        exc = WeekError(f"the store holds no events for {week_name(monday)} ({this_days[0]} … {this_days[-1]})")
        held = sorted({week_name(dt.date.fromisoformat(d) - dt.timedelta(days=dt.date.fromisoformat(d).weekday()))
                       for d in days_held})
        # suggest a week that has data, never the empty one just asked for
        exc.hint = (f"the store holds {held[0]} … {held[-1]}: e.g. maillens weekly --week {held[-1]}" if held
                    else "ingest logs first: maillens ingest LOGS --store DIR")
        raise exc
    prev_monday = monday - dt.timedelta(days=7)
    base_mondays = [monday - dt.timedelta(days=7 * i) for i in range(1, BASELINE_WEEKS + 1)]
    base_mondays = [b for b in base_mondays if days_held.intersection(week_days(b))]
    wanted = sorted(days_held.intersection(this_days + [d for b in base_mondays for d in week_days(b)]))
    # the findings first: their phase (the week's rows and the detectors) is the weekly's peak, and
    # the facts' reads left pages and garbage under it (measured: bench/RESULTS.md, r16-weekly)
    found = _findings(store, monday, base_mondays, kb) if findings else []
    if engine == "dask":
        from ..scale import map_days

        parts = map_days(day_facts, [(str(store), d) for d in wanted], scheduler=scheduler)
    else:
        parts = [day_facts(store, d) for d in wanted]
    facts = pd.concat(parts, ignore_index=True) if parts else facts_of(pd.DataFrame())
    this = facts[facts["day"].isin(this_days)]
    prev = facts[facts["day"].isin(week_days(prev_monday))]
    base = facts[facts["day"].isin([d for b in base_mondays for d in week_days(b)])]
    nb = len(base_mondays)
    k, pk, bk = _kinds(this), _kinds(prev), _kinds(base)
    volumes = [{"kind": x, "count": int(k[x]), "previous": int(pk[x]), "change": _pct(k[x], pk[x]),
                "baseline": round(bk[x] / nb, 1) if nb else None,
                "vs_baseline": _pct(k[x], bk[x] / nb) if nb else None} for x in KINDS]
    top_causes, new_causes = _causes(this, prev, base, nb, kb)
    hosts = sorted(h for h in this["host"].unique() if h)

    report = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"maillens {__version__}",
        "generated_at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": "weekly",
        "week": week_name(monday),
        "since": this_days[0],
        "until": this_days[-1],
        "previous_week": week_name(prev_monday),
        "baseline_weeks": [week_name(b) for b in base_mondays],
        "hosts": hosts,
        "days_with_data": [d for d in this_days if d in days_held],
        "volumes": volumes,
        "delivery": {"rate": _rate(k), "previous_rate": _rate(pk), "baseline_rate": _rate(bk),
                     "change": (None if _rate(k) is None or _rate(pk) is None
                                else round(_rate(k) - _rate(pk), 4))},  # type: ignore[operator]
        "by_host": _rates_by(this, prev, base, "host", nb),
        "by_provider": _rates_by(this, prev, base, "provider", nb),
        "by_domain": _rates_by(this, prev, base, "domain", nb),
        "causes": top_causes,
        "new_causes": new_causes,
        "findings": found,
        "per_day": _per_day(this, prev, monday),
    }
    from ..report.headline import add_headline

    report = add_headline(report)  # first in every format, as in the nightly report
    return redact(report) if redact is not None else report
