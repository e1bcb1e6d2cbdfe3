"""Build the nightly report: a plain, JSON-serialisable dict with ``schema_version``.

:func:`make_report` is the one call the CLI makes: classify, cut the report window, take the
baseline (a history, or the part of the input before the window), detect anomalies and build.
:func:`build_report` assembles the sections from an already classified window.
The layout of the dict is documented in ``analyzer/report/SCHEMA.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..anomalies import FAILURES, Finding, detect_anomalies
from ..totals import peer_section
from .peers import peer_sections

__all__ = ["REPORT_COLUMNS", "SCHEMA_VERSION", "ReportWindow", "build_report", "collect_report_events", "make_report"]

#: Bumped when a field is removed or changes meaning; new fields may appear within a version.
SCHEMA_VERSION = 2
TOP = 10
SEVERITY_ORDER = ("critical", "warning", "info")
ABNORMAL_ENDS = ("lost_connection", "timeout", "too_many_errors")


@dataclass(frozen=True)
class ReportWindow:
    """The report's time window, UTC; None on a side means "from the first / to the last event"."""

    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None


def _iso(ts: Any) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _mask(s: pd.Series, values: str | tuple[str, ...]) -> np.ndarray:
    if isinstance(values, str):
        return (s == values).fillna(False).to_numpy(dtype=bool)
    return s.isin(list(values)).fillna(False).to_numpy(dtype=bool)


def _domain(s: pd.Series) -> pd.Series:
    return s.astype("string[pyarrow]").str.extract(r"@([^@<>\s]+)>?$", expand=False).str.lower()


def _units(rows: pd.DataFrame) -> pd.Series:
    """One key per message and recipient, as pflogsumm counts: (queue_id, recipient); a row
    lacking either (a NOQUEUE reject …) is its own unit."""
    qid, rcpt = rows["queue_id"], rows["recipient"]
    whole = (qid.notna() & rcpt.notna()).to_numpy(dtype=bool)
    own = pd.Series(np.arange(len(rows)), index=rows.index).astype(str)
    key = qid.astype(object).astype(str) + "\x00" + rcpt.astype(object).astype(str)
    return pd.Series(np.where(whole, "m\x00" + key, "l\x00" + own), index=rows.index)


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def _example(rows: pd.DataFrame) -> dict[str, Any] | None:
    rows = rows.dropna(subset=["source", "line_no"])
    if rows.empty:
        return None
    r = rows.iloc[0]
    text = r.get("reply_text")
    if text is None or pd.isna(text):
        text = r.get("detail")
    return {"file": str(r["source"]), "line": int(r["line_no"]),
            "text": None if text is None or pd.isna(text) else str(text)[:300]}


# --------------------------------------------------------------------------------------------
# sections


def _volumes(ev: pd.DataFrame) -> dict[str, Any]:
    is_delivery = _mask(ev["event"], "delivery")
    status = ev["status"]
    kinds = {
        "received": _mask(ev["event"], "received"),
        "delivered": is_delivery & _mask(status, "sent"),
        "deferred": is_delivery & _mask(status, "deferred"),
        "bounced": is_delivery & _mask(status, "bounced"),  # as pflogsumm: expiries apart
        "expired": _mask(ev["event"], "expired"),
        "rejected": _mask(ev["event"], "reject"),
    }
    sessions = int((_mask(ev["event"], "connect")
                    & ~ev["program"].fillna("").str.endswith("postscreen").to_numpy(dtype=bool)
                    & ~_mask(ev["direction"], "outbound")).sum())
    hours = ev["ts"].dt.floor("h")
    per_hour = []
    if len(ev):
        for h in pd.date_range(hours.min(), hours.max(), freq="h"):
            in_h = (hours == h).to_numpy(dtype=bool)
            per_hour.append({"hour": _iso(h), **{k: int((m & in_h).sum()) for k, m in kinds.items()}})
    delays = ev.loc[kinds["delivered"], "delay"].dropna().astype(float)
    delay = {"count": len(delays)}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        delay[name] = round(float(delays.quantile(q)), 3) if len(delays) else None
    delay["max"] = round(float(delays.max()), 3) if len(delays) else None
    return {"sessions": sessions, **{k: int(m.sum()) for k, m in kinds.items()},
            "per_hour": per_hour, "delay_seconds": delay}


def _outcomes(ev: pd.DataFrame, kb: Any) -> dict[str, Any]:
    rc = ev["reply_class"].dropna()
    total_rc = len(rc)
    by_class = [{"reply_class": str(k), "count": int(v), "share": _share(int(v), total_rc)}
                for k, v in sorted(rc.value_counts().items())]
    notable = ~(_mask(ev["severity"], "info") & _mask(ev["outcome"], ("ok", "info")))
    rows = ev[notable]
    by_cause = []
    if len(rows):
        g = pd.DataFrame({"cause": rows["cause"].astype(str).to_numpy(), "unit": _units(rows).to_numpy()})
        agg = g.groupby("cause").agg(messages=("unit", "nunique"), lines=("unit", "size"))
        agg = agg.reset_index().sort_values(["messages", "lines", "cause"], ascending=[False, False, True]).head(25)
        total = int(g.drop_duplicates(["cause", "unit"]).shape[0])
        for cause, m, n in zip(agg["cause"], agg["messages"], agg["lines"], strict=True):
            sel = rows[_mask(rows["cause"], str(cause))]
            info = kb.causes.get(str(cause), {}) if kb is not None else {}
            by_cause.append({
                "cause": str(cause), "title": info.get("title", str(cause)),
                "outcome": str(sel["outcome"].mode().iloc[0]), "severity": info.get("severity", "info"),
                "messages": int(m), "lines": int(n), "count": int(n), "share": _share(int(m), total),
                "example": _example(sel), "fix": list(info.get("fix", [])),
            })
    return {"by_reply_class": by_class, "by_cause": by_cause}


def _session_ends(ev: pd.DataFrame) -> dict[str, Any]:
    inbound = ~_mask(ev["direction"], ("outbound", "local"))
    disc = _mask(ev["event"], "disconnect") & inbound
    quit_ = ev["quit"].fillna(False).to_numpy(dtype=bool)
    out: dict[str, Any] = {
        "closed": int((disc & quit_).sum()),
        "closed_without_quit": int((disc & ~quit_).sum()),
        "lost": int((_mask(ev["event"], "lost_connection") & inbound).sum()),
        "timeout": int((_mask(ev["event"], "timeout") & inbound).sum()),
        "too_many_errors": int((_mask(ev["event"], "too_many_errors") & inbound).sum()),
    }
    bad = ev[_mask(ev["event"], ABNORMAL_ENDS) & inbound]
    stages = []
    if len(bad):
        g = bad.assign(stage=bad["smtp_stage"].fillna("unknown")).groupby("stage")["event"].value_counts()
        for stage in g.index.get_level_values(0).unique():
            row = g.loc[stage]
            stages.append({"stage": str(stage), **{k: int(row.get(k, 0)) for k in ABNORMAL_ENDS}})
        stages.sort(key=lambda r: (-(r["lost_connection"] + r["timeout"] + r["too_many_errors"]), r["stage"]))
    out["by_stage"] = stages
    return out


def _top_failures(rows: pd.DataFrame, key: str, name: str) -> list[dict[str, Any]]:
    rows = rows.dropna(subset=[key])
    if rows.empty:
        return []
    failed = _mask(rows["outcome"], FAILURES)
    g = pd.DataFrame({"k": rows[key].astype(str).to_numpy(), "f": failed, "cause": rows["cause"].astype(str).to_numpy(),
                      "unit": _units(rows).to_numpy()})
    g["fu"] = g["unit"].where(g["f"])  # the failed units (NaN elsewhere: nunique skips it)
    agg = g.groupby("k").agg(attempts=("f", "size"), failures=("f", "sum"), messages=("unit", "nunique"),
                             failed_messages=("fu", "nunique"))
    agg = agg[agg["failures"] > 0].reset_index()
    agg = agg.sort_values(["failed_messages", "failures", "k"], ascending=[False, False, True]).head(TOP)
    fails = g[g["f"] & g["k"].isin(agg["k"])]
    causes = fails.drop_duplicates(["k", "cause", "unit"]).groupby(["k", "cause"]).size().reset_index(name="n")
    top = causes.sort_values(["n", "cause"], ascending=[False, True]).drop_duplicates("k").set_index("k")["cause"]
    return [{name: str(r.k), "messages": int(r.messages), "failed_messages": int(r.failed_messages),
             "attempts": int(r.attempts), "failures": int(r.failures),
             "failure_rate": _share(int(r.failed_messages), int(r.messages)), "top_cause": str(top[r.k])}
            for r in agg.itertuples(index=False)]


def _top(ev: pd.DataFrame) -> dict[str, Any]:
    out_rows = ev[_mask(ev["event"], ("delivery", "expired")) & _mask(ev["direction"], "outbound")].copy()
    out_rows["domain"] = _domain(out_rows["recipient"])
    # Postfix logs the sender once per message (qmgr from=), not on delivery lines.
    known = ev.dropna(subset=["queue_id", "sender"]).drop_duplicates("queue_id")
    by_qid = pd.Series(known["sender"].to_numpy(), index=known["queue_id"].to_numpy())
    if len(by_qid):
        missing = out_rows["sender"].isna().to_numpy(dtype=bool) & out_rows["queue_id"].notna().to_numpy(dtype=bool)
        filled = out_rows.loc[missing, "queue_id"].map(by_qid)
        out_rows["sender"] = out_rows["sender"].astype(object)
        out_rows.loc[missing, "sender"] = filled.astype(object).to_numpy()
    rej = ev[_mask(ev["event"], "reject")].dropna(subset=["client_ip"])
    clients = []
    if len(rej):
        for ip, n in rej["client_ip"].value_counts().head(TOP).items():
            sel = rej[_mask(rej["client_ip"], str(ip))]
            host = sel["client_host"].dropna()
            clients.append({"client_ip": str(ip), "client_host": str(host.iloc[0]) if len(host) else None,
                            "rejects": int(n), "top_cause": str(sel["cause"].mode().iloc[0])})
        clients.sort(key=lambda d: (-d["rejects"], d["client_ip"]))
    auth = ev[_mask(ev["event"], "auth_failure")].dropna(subset=["client_ip"])
    auths = []
    if len(auth):
        for ip, n in auth["client_ip"].value_counts().head(TOP).items():
            sel = auth[_mask(auth["client_ip"], str(ip))]
            auths.append({"client_ip": str(ip), "failures": int(n),
                          "user_names": int(sel["sasl_username"].dropna().nunique())})
        auths.sort(key=lambda d: (-d["failures"], d["client_ip"]))
    return {
        "destinations": _top_failures(out_rows, "domain", "domain"),
        "relays": _top_failures(out_rows, "relay_host", "relay"),
        "senders": _top_failures(out_rows, "sender", "sender"),
        "clients_by_rejects": clients,
        "clients_by_auth_failures": auths,
    }


def _unrecognised(counts: Any) -> dict[str, Any]:
    if counts is None:
        return {"lines": 0, "kinds": [], "foreign": [], "headerless": 0}
    kinds = [{"kind": str(k), "count": int(n),
              "samples": [{"file": str(f), "line": int(line), "text": str(t)} for f, line, t in counts.samples.get(k, [])]}
             for k, n in sorted(counts.unknown.items(), key=lambda kv: (-kv[1], kv[0]))[:20]]
    return {"lines": int(counts.unrecognised), "kinds": kinds,
            "foreign": [{"program": str(p), "lines": int(n)} for p, n in
                        sorted(counts.foreign.items(), key=lambda kv: (-kv[1], kv[0]))[:12]],
            "headerless": int(counts.headerless)}


def build_report(events: pd.DataFrame, findings: list[Finding], *, kb: Any = None, counts: Any = None,
                 files: list[Any] | None = None, warnings: list[str] | None = None,
                 window: ReportWindow = ReportWindow(), generated_at: Any = None,
                 baseline_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report dict for an already classified and windowed events table."""
    ev = events
    sev_counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_ORDER}
    worst = next((s for s in SEVERITY_ORDER if sev_counts[s]), None)
    lines = {
        "read": int(counts.lines) if counts is not None else None,
        "events": int(counts.events) if counts is not None else len(ev),
        "foreign": int(sum(counts.foreign.values())) if counts is not None else 0,
        "unrecognised": int(counts.unrecognised) if counts is not None else 0,
        "debug": int(getattr(counts, "debug", 0)) if counts is not None else 0,
    }
    from .servers import attach_finding_servers, by_server, server_names

    names = server_names(ev)
    finding_dicts = [f.to_dict() for f in findings]
    attach_finding_servers(finding_dicts, ev, names)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"maillens {__version__}",
        "generated_at": _iso(generated_at),
        "window": {"since": _iso(window.since), "until": _iso(window.until),
                   "first_event": _iso(ev["ts"].min()) if len(ev) else None,
                   "last_event": _iso(ev["ts"].max()) if len(ev) else None,
                   "events": len(ev)},
        "baseline": baseline_info or {"source": "none", "events": 0},
        "inputs": [{"file": str(f.name), "lines": int(f.lines), "events": int(f.events), "format": f.flavour}
                   for f in (files or [])],
        "lines": lines,
        "summary": {"worst_severity": worst, **sev_counts},
        "findings": finding_dicts,
        "volumes": _volumes(ev),
        "servers": by_server(ev, names),
        "outcomes": _outcomes(ev, kb),
        "session_ends": _session_ends(ev),
        "top": _top(ev),
        "unrecognised": _unrecognised(counts),
        "peer_totals": peer_section(ev),
        "peers": peer_sections(ev),
        "warnings": list(warnings or []),
    }


#: The columns the report and the detectors read (classified events).
REPORT_COLUMNS = ("ts", "host", "mta", "program", "queue_id", "event", "direction", "client_host", "client_ip",
                  "relay_host", "sender", "recipient", "status", "smtp_stage", "reply_text", "delay", "size", "quit",
                  "sasl_username", "detail", "source", "line_no", "reply_class", "outcome", "cause", "provider",
                  "severity", "helo", "relay_ip", "orig_recipient")
#: Of those, the ones with few distinct values: held dictionary-encoded while a run is read.
_FEW_VALUES = frozenset({"host", "mta", "program", "event", "direction", "client_host", "relay_host", "relay_ip", "status",
                         "smtp_stage", "source", "reply_class", "outcome", "cause", "provider", "severity"})


#: The event columns classify() reads (its rules and the attribution of retry/give-up lines).
_CLASSIFY_READS = frozenset({"event", "status", "smtp_stage", "mta", "dsn", "enhanced_code", "reply_code", "quit",
                             "relay_host", "reply_text", "detail", "direction", "host", "queue_id", "recipient",
                             "ts", "source", "line_no"})


def collect_report_events(stream: Any, kb: Any = None) -> Any:
    """Read a classified event stream (:mod:`analyzer.pipeline`) into the compact table the report
    needs: only :data:`REPORT_COLUMNS`, the columns with few values dictionary-encoded per batch
    while reading (about a third of the memory of the full event table)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..reader import ParseResult
    from ..schema import SCHEMA, to_pandas

    pieces: list[tuple[int, pa.Table]] = []
    # classified at the end, on the compact table: classify() links rows of one message
    keep = list(REPORT_COLUMNS) if stream.classifier is not None else \
        [c for c in SCHEMA.names if c in REPORT_COLUMNS or c in _CLASSIFY_READS]
    for b in stream:
        if not b.table.num_rows:
            continue
        t = b.table.select(keep)
        for name in _FEW_VALUES & set(keep):
            i = t.schema.get_field_index(name)
            t = t.set_column(i, name, pc.dictionary_encode(t.column(i)))
        pieces.append((b.index, t))
    pieces.sort(key=lambda it: it[0])  # input order (secondary logs may be read last)
    if pieces:
        table = pa.concat_tables([t for _, t in pieces])
        del pieces
        for name in _FEW_VALUES & set(keep):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, table.column(i).cast(pa.string()))
    else:
        table = SCHEMA.empty_table().select(keep)
    events = to_pandas(table)
    del table
    if stream.classifier is None:
        from ..classify import classify

        events = classify(events, kb)[list(REPORT_COLUMNS)]
    return ParseResult(events, stream.counts, stream.files, stream.warnings)


def make_report(result: Any, *, kb: Any = None, window: ReportWindow = ReportWindow(),
                baseline: pd.DataFrame | None = None, params: dict[str, Any] | None = None,
                now: Any = None, generated_at: Any = None,
                redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole report for a :class:`analyzer.reader.ParseResult`.

    ``window`` cuts the events; without a ``baseline`` the input's events before
    ``window.since`` serve as one. ``now`` is the end of observation for silence detection;
    ``generated_at`` is stamped into the report. ``redact`` (from :mod:`.redact`) is applied to
    the finished dict, so every format shows the same pseudonyms.
    """
    from ..classify import classify, default_rules

    kb = kb or default_rules()
    ev = result.events
    if "cause" not in ev.columns:
        ev = classify(ev, kb)
    ts = ev["ts"]
    inside = np.ones(len(ev), dtype=bool)
    if window.since is not None:
        inside &= (ts >= window.since).fillna(False).to_numpy(dtype=bool)
    if window.until is not None:
        inside &= (ts < window.until).fillna(False).to_numpy(dtype=bool)
    cur = ev if inside.all() else ev[inside]
    if not cur["ts"].is_monotonic_increasing:  # else sorting would only copy a large table
        cur = cur.sort_values("ts", kind="stable")
    cur = cur.reset_index(drop=True)
    info: dict[str, Any]
    if baseline is not None:
        # a history that held nothing before the window is no baseline: do not call it one
        info = {"source": "history" if len(baseline) else "none (the history holds no events before the window)",
                "events": len(baseline)}
    elif window.since is not None:
        baseline = ev[(ts < window.since).fillna(False).to_numpy(dtype=bool)]
        info = {"source": "input before the window" if len(baseline) else "none", "events": len(baseline)}
    else:
        info = {"source": "none", "events": 0}
    info["note"] = "earlier hours of the window are compared with the hours before them"
    findings = detect_anomalies(cur, baseline=baseline if baseline is not None and len(baseline) else None,
                                params=params, now=now, kb=kb)
    report = build_report(cur, findings, kb=kb, counts=result.counts, files=result.files,
                          warnings=result.warnings, window=window, generated_at=generated_at, baseline_info=info)
    return redact(report) if redact is not None else report
