"""The headline: one paragraph a postmaster can paste into a chat, computed once into the report
dict (``report["headline"]``) and shown first by every renderer.

It says the volumes against the baseline, the two or three things that matter with their fix
and where to look (``file:line``), and "Nothing else unusual." when nothing else is. The things
that matter are the most severe findings (after the severity policy, so critical means our side),
then failures whose cause is on our side (our IP listed, our DMARC failing …) that no finding covers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = ["MAX_ITEMS", "VOLUME_KEYS", "add_headline", "compose", "expected_volumes", "headline", "short_location", "span",
           "weekly_headline"]

#: The volumes the headline reports, in its order.
VOLUME_KEYS = ("received", "delivered", "deferred", "bounced", "rejected")
#: At most this many things that matter.
MAX_ITEMS = 3
_HOUR = 3600.0
#: What each volume counts (event, and status where it matters), as the report's volumes do.
_KINDS = {"received": ("received", None), "delivered": ("delivery", "sent"), "deferred": ("delivery", "deferred"),
          "bounced": ("delivery", "bounced"), "rejected": ("reject", None)}


def short_location(file: Any, line: Any) -> str:
    """``basename:line``: how text, Markdown and HTML show a piece of evidence (JSON keeps the path)."""
    return f"{os.path.basename(str(file))}:{line}"


def _span_seconds(first: Any, last: Any) -> float:
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return _HOUR
    return max(_HOUR, (pd.Timestamp(last) - pd.Timestamp(first)).total_seconds())


def expected_volumes(baseline: pd.DataFrame | None, window_events: pd.DataFrame, since: Any = None,
                     until: Any = None, *, baseline_span: tuple[Any, Any] | None = None,
                     window_span: tuple[Any, Any] | None = None,
                     folded: dict[str, int] | None = None) -> dict[str, Any] | None:
    """What the baseline predicts for the report window: each volume's count scaled by the ratio
    of the two spans (each at least an hour). None without a baseline, or when the baseline is
    shorter than three quarters of the window (too little to say what is usual).

    ``baseline_span`` and ``window_span`` are the (first, last) times of all lines, where some
    lines were folded and are not rows of the tables (:mod:`analyzer.anomalies.aggregates`);
    ``folded`` the baseline's volumes among those lines (received lines)."""
    if baseline is None or "event" not in baseline.columns:
        return None
    if not len(baseline) and (baseline_span is None or baseline_span[0] is None):
        return None
    if window_span is None:
        ts = window_events["ts"] if len(window_events) else pd.Series([], dtype="datetime64[ns, UTC]")
        window_span = (ts.min() if len(ts) else None, ts.max() if len(ts) else None)
    if baseline_span is None:
        baseline_span = (baseline["ts"].min(), baseline["ts"].max())
    window = _span_seconds(since if since is not None else window_span[0],
                           until if until is not None else window_span[1])
    span = _span_seconds(*baseline_span)
    if span < 0.75 * window:
        return None
    counts = baseline.groupby(["event", "status"], dropna=False, observed=True).size()
    out: dict[str, Any] = {}
    for name, (event, status) in _KINDS.items():
        sel = counts[counts.index.get_level_values(0) == event]
        if status is not None:
            sel = sel[sel.index.get_level_values(1) == status]
        out[name] = round(float(sel.sum() + (folded or {}).get(name, 0)) * window / span, 1)
    return {"counts": out, "baseline_seconds": round(span), "window_seconds": round(window)}


def span(a: str | None, b: str | None, none: str = "-") -> str:
    """Two ISO UTC times as a reader wants them: ``2026-11-28 12:04–12:58 UTC`` on one day,
    ``2026-11-28 23:10 to 2026-11-29 01:00 UTC`` across days."""
    if not a or not b:
        return none
    if a[:10] == b[:10]:
        return f"{a[:10]} {a[11:16]}–{b[11:16]} UTC"
    return f"{a[:10]} {a[11:16]} to {b[:10]} {b[11:16]} UTC"


def _period(w: dict[str, Any]) -> str:
    return span(w.get("first_event"), w.get("last_event"), "No events")


def _usual(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 or float(n).is_integer() else f"{n:,.1f}"


def _short_fix(steps: list[str] | None) -> str | None:
    """The first step, short enough for a chat line: its first sentence, without a long aside."""
    if not steps:
        return None
    text = str(steps[0]).split(". ")[0].rstrip(".")
    if len(text) > 120 and " (" in text:
        text = text[:text.index(" (")]
    return text if len(text) <= 160 else text[:159] + "…"


def _item_from_finding(f: dict[str, Any]) -> dict[str, Any]:
    return {"severity": f["severity"], "title": f["title"], "fix": _short_fix(f.get("fix")),
            "evidence": list(f.get("evidence") or [])[:2], "finding": f.get("fingerprint"), "cause": f.get("cause")}


def _item_from_cause(c: dict[str, Any]) -> dict[str, Any]:
    n = int(c.get("messages") or c.get("count") or 0)
    ex = c.get("example")
    return {"severity": "warning", "title": f"{n:,} message{'' if n == 1 else 's'} failed: {c['title']}",
            "fix": _short_fix(c.get("fix")),
            "evidence": [{"file": ex["file"], "line": ex["line"]}] if ex else [], "finding": None,
            "cause": c["cause"]}


def compose(period: str, servers: list[str], volumes: list[dict[str, Any]], findings: list[dict[str, Any]],
            causes: Sequence[dict[str, Any]] = (), after_volumes: str = "", omitted: int = 0) -> dict[str, Any]:
    """The headline from its parts: ``volumes`` (``kind``, ``count``, ``usual`` or None), the
    findings (most severe first), failure ``causes`` on our side that no finding covers (report
    ``by_cause`` rows), an optional clause after the volumes (the weekly success rate), and the
    number of findings a size cap left out of ``findings`` (counted among the "more")."""
    chosen: list[dict[str, Any]] = []
    for f in findings:  # most severe first; one item per cause (a spike and its deferrals are one thing)
        if f["severity"] != "info" and len(chosen) < MAX_ITEMS and \
                (f.get("cause") is None or f.get("cause") not in {c.get("cause") for c in chosen}):
            chosen.append(f)
    items = [_item_from_finding(f) for f in chosen]
    room = max(0, MAX_ITEMS - len(items))
    items += [_item_from_cause(c) for c in causes[:room]]
    more_findings = len(findings) + omitted - sum(1 for i in items if i["finding"])
    more_causes = max(0, len(causes) - room)
    where = f" on {servers[0]}" if len(servers) == 1 else (f" on {len(servers)} servers" if servers else "")
    compared = any(x["usual"] is not None for x in volumes)
    parts = [f"{period}{where}: "
             + ", ".join(f"{x['kind']} {x['count']:,}" + (f" (usually {_usual(x['usual'])})"
                                                          if x["usual"] is not None else "") for x in volumes)
             + (f"; {after_volumes}" if after_volumes else "")
             + ("." if compared else "; no baseline to compare with.")]
    for i, it in enumerate(items, 1):
        where_ = ", ".join(short_location(e["file"], e["line"]) for e in it["evidence"])
        text = f"({i}) {it['severity'].upper()}: {it['title']}" + (f" ({where_})" if where_ else "")
        text += f" — fix: {it['fix']}" if it["fix"] else ""
        parts.append(text if text.endswith((".", "!", "?")) else text + ".")
    if more_findings or more_causes:
        bits = []
        if more_findings:
            bits.append(f"{more_findings} more finding{'' if more_findings == 1 else 's'}")
        if more_causes:
            bits.append(f"{more_causes} more failure cause{'' if more_causes == 1 else 's'} on our side")
        parts.append(" and ".join(bits) + " below.")
    else:
        parts.append("Nothing else unusual." if items else "Nothing unusual.")
    return {"text": " ".join(parts), "volumes": volumes, "items": items,
            "more_findings": more_findings, "nothing_else": not (more_findings or more_causes)}


def headline(r: dict[str, Any], our_side: Iterable[str] | None = None) -> dict[str, Any]:
    """The headline of a report dict (every other section already built). ``our_side``: the
    causes that are trouble on our side (default: ``[severity] our_side_causes`` of anomalies.toml);
    failures with one of them that no finding covers are named too, as warnings."""
    v = r["volumes"]
    usual = ((r.get("baseline") or {}).get("expected") or {}).get("counts") or {}
    volumes = [{"kind": k, "count": int(v.get(k, 0)), "usual": usual.get(k)} for k in VOLUME_KEYS]
    findings = r.get("findings") or []
    covered = {f.get("cause") for f in findings}
    if our_side is None:
        from ..anomalies import default_params

        our_side = default_params().get("severity", {}).get("our_side_causes", ())
    causes = [c for c in r.get("outcomes", {}).get("by_cause", [])
              if c["cause"] in our_side and c["cause"] not in covered
              and c.get("outcome") in ("transient_failure", "permanent_failure")]
    return compose(_period(r["window"]), [s["name"] for s in (r.get("servers") or [])], volumes, findings, causes,
                   omitted=int((r.get("omitted") or {}).get("findings", 0)))


def weekly_headline(r: dict[str, Any]) -> dict[str, Any]:
    """The headline of a weekly report dict: the week's volumes against its baseline weeks, the
    delivery success rate, and the findings that matter."""
    counts = {v["kind"]: v for v in r["volumes"]}
    volumes = [{"kind": k, "count": int(counts[k]["count"]), "usual": counts[k].get("baseline")}
               for k in VOLUME_KEYS if k in counts]
    d = r.get("delivery") or {}
    rate = d.get("rate")
    clause = "" if rate is None else f"delivery success {rate:.1%}" + (
        f" (usually {d['baseline_rate']:.1%})" if d.get("baseline_rate") is not None else "")
    return compose(f"Week {r['week']} ({r['since']} to {r['until']} UTC)", list(r.get("hosts") or []), volumes,
                   r.get("findings") or [], after_volumes=clause)


def add_headline(report: dict[str, Any]) -> dict[str, Any]:
    """The report with ``headline`` as its first key after ``schema_version`` (JSON shows it first);
    a weekly report (``kind`` = ``weekly``) gets :func:`weekly_headline`."""
    make = weekly_headline if report.get("kind") == "weekly" else headline
    out = {"schema_version": report["schema_version"], "headline": make(report)}
    out.update((k, val) for k, val in report.items() if k not in out)
    return out
