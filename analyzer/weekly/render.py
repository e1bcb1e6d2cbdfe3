"""Render the weekly report dict: text, markdown, json, or one self-contained html file.

Everything that came from logs is escaped for the target format (markdown table cells, html);
the html has inline SVG charts and CSS, no script and no external resource.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Callable
from typing import Any

__all__ = ["FORMATS", "render_weekly"]

FORMATS = ("text", "markdown", "json", "html")
KIND_LABEL = {"received": "received", "delivered": "delivered", "deferred": "deferred (attempts)",
              "bounced": "bounced", "rejected": "rejected (inbound)"}
COLORS = {"delivered": "#2e7d32", "deferred": "#f9a825", "bounced": "#c62828", "rejected": "#6a1b9a",
          "received": "#1565c0"}


def _n(x: Any) -> str:
    if x is None:
        return "–"
    return f"{x:,.1f}" if isinstance(x, float) and not float(x).is_integer() else f"{int(x):,}"


def _rate(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _pts(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f} pts"


def _change(x: float | None, before: float | int | None) -> str:
    if x is None:
        return "new" if before == 0 else "–"
    return "±0%" if round(x, 2) == 0 else f"{x:+.0%}"


def _rows(report: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The report's tables as rows of strings (shared by text, markdown and html)."""
    t: dict[str, list[list[str]]] = {}
    t["volumes"] = [[KIND_LABEL[v["kind"]], _n(v["count"]), _n(v["previous"]), _change(v["change"], v["previous"]),
                     _n(v["baseline"]), _change(v["vs_baseline"], v["baseline"])] for v in report["volumes"]]
    for key in ("host", "provider", "domain"):
        t[key] = [[r[key], _n(r["attempts"]), _rate(r["rate"]), _rate(r["previous_rate"]), _pts(r["change"]),
                   _rate(r["baseline_rate"])] for r in report[f"by_{key}"]]
    t["causes"] = [[c["cause"], c["title"], _n(c["count"]), _n(c["previous"]), _change(c["change"], c["previous"]),
                    _n(c["baseline"]), "yes" if c["new"] else ""] for c in report["causes"]]
    t["new"] = [[c["cause"], c["title"], c["severity"], _n(c["count"])] for c in report["new_causes"]]
    t["days"] = [[f"{d['weekday']} {d['day']}", _n(d["received"]), _n(d["delivered"]), _n(d["deferred"]),
                  _n(d["bounced"]), _n(d["rejected"]), _rate(d["rate"]), _rate(d["previous"]["rate"])]
                 for d in report["per_day"]]
    return t


HEAD = {
    "volumes": ["", "this week", "previous", "change", "baseline", "vs baseline"],
    "host": ["host", "attempts", "success", "previous", "change", "baseline"],
    "provider": ["provider", "attempts", "success", "previous", "change", "baseline"],
    "domain": ["domain", "attempts", "success", "previous", "change", "baseline"],
    "causes": ["cause", "title", "this week", "previous", "change", "baseline", "new"],
    "new": ["cause", "title", "severity", "count"],
    "days": ["day", "received", "delivered", "deferred", "bounced", "rejected", "success", "prev. week"],
}
TITLES = {
    "volumes": "Volumes", "host": "Delivery success by server", "provider": "Delivery success by provider",
    "domain": "Delivery success by destination domain", "causes": "Top causes of failures",
    "new": "Causes new this week", "days": "Per day",
}
ORDER = ("volumes", "days", "host", "provider", "domain", "causes", "new")


def _summary(r: dict[str, Any]) -> list[str]:
    d = r["delivery"]
    lines = [f"Week {r['week']} ({r['since']} to {r['until']}, UTC), servers: {', '.join(r['hosts']) or '(not named in the logs)'}",
             f"Compared with {r['previous_week']} and a baseline of {len(r['baseline_weeks'])} week(s)"
             + (f" ({r['baseline_weeks'][-1]} to {r['baseline_weeks'][0]})" if r["baseline_weeks"] else ""),
             f"Delivery success: {_rate(d['rate'])} (previous week {_rate(d['previous_rate'])}, "
             f"{_pts(d['change'])}; baseline {_rate(d['baseline_rate'])})"]
    missing = 7 - len(r["days_with_data"])
    if missing:
        lines.append(f"Note: {missing} day(s) of this week have no data in the store")
    return lines


def _findings(r: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(title, when and detail, fix steps) per finding; the steps of a cause are shown once."""
    shown: set[tuple[str, ...]] = set()
    out = []
    for f in r["findings"]:
        when = f"{(f['window_start'] or '')[:16].replace('T', ' ')} – {(f['window_end'] or '')[11:16]}"
        fix = tuple(f["fix"][:3])
        out.append((f"[{f['severity']}] {f['title']}", when + (f" · {f['detail']}" if f["detail"] else ""),
                    list(fix) if fix not in shown else ["(what to do: see above)"] if fix else []))
        shown.add(fix)
    return out


# --------------------------------------------------------------------------------------------
# text


def _text_table(head: list[str], rows: list[list[str]], limit: int = 60) -> list[str]:
    cells = [[c[:limit] for c in row] for row in [head, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 or not _numeric(c) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return [fmt(cells[0]), "  ".join("-" * w for w in widths), *[fmt(r) for r in cells[1:]]]


def _numeric(c: str) -> bool:
    return (bool(c) and (c[0].isdigit() or c[0] in "+-–")) or c.endswith("%")


def _text(r: dict[str, Any]) -> str:
    out = [f"maillens weekly report {r['week']}", "=" * 40]
    if r.get("headline"):
        out += [*textwrap.wrap(r["headline"]["text"], 100), ""]
    out += [*_summary(r), ""]
    t = _rows(r)
    for key in ORDER:
        out.append(TITLES[key])
        out.extend(_text_table(HEAD[key], t[key]) if t[key] else ["(none)"])
        out.append("")
    out.append("Findings")
    if not r["findings"]:
        out.append("(none)")
    for title, when, fix in _findings(r):
        out.append(f"* {title}")
        out.append(f"  {when}")
        out.extend(f"  - {s}" for s in fix)
    out.append("")
    out.append(f"{r['generator']} · generated {r['generated_at']}")
    return "\n".join(_clean(x) for x in out) + "\n"


def _clean(s: str) -> str:
    """No control characters from logs in a terminal."""
    return "".join(ch if ch >= " " or ch == "\t" else "?" for ch in s)


# --------------------------------------------------------------------------------------------
# markdown


def _md_cell(s: str) -> str:
    s = _clean(s).replace("\\", "\\\\").replace("|", "\\|")
    for ch in "`*_[]<>#":
        s = s.replace(ch, "\\" + ch)
    return s


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)
    return out


def _markdown(r: dict[str, Any]) -> str:
    out = [f"# maillens weekly report {r['week']}", ""]
    if r.get("headline"):
        out += [_md_cell(r["headline"]["text"]), ""]
    out.extend(f"- {_md_cell(x)}" for x in _summary(r))
    out.append("")
    t = _rows(r)
    for key in ORDER:
        out += [f"## {TITLES[key]}", ""]
        out.extend(_md_table(HEAD[key], t[key]) if t[key] else ["(none)"])
        out.append("")
    out += ["## Findings", ""]
    if not r["findings"]:
        out.append("(none)")
    for title, when, fix in _findings(r):
        out.append(f"- **{_md_cell(title)}**  ")
        out.append(f"  {_md_cell(when)}")
        out.extend(f"  - {_md_cell(s)}" for s in fix)
    out += ["", f"_{_md_cell(r['generator'])} · generated {_md_cell(r['generated_at'])}_"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# html


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _svg_days(r: dict[str, Any]) -> str:
    """Grouped bars per day: delivered, deferred, bounced, rejected; a dot for last week's deliveries."""
    kinds = ("delivered", "deferred", "bounced", "rejected")
    days = r["per_day"]
    top = max([1] + [d[k] for d in days for k in kinds] + [d["previous"]["delivered"] for d in days])
    w, h, pad, gw = 640, 220, 36, 84
    bw = (gw - 12) / len(kinds)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h + 40}" width="{w}" height="{h + 40}" '
             f'role="img" aria-label="events per day">']
    parts.append(f'<line x1="{pad}" y1="{h}" x2="{w - 4}" y2="{h}" stroke="#888"/>')
    parts.append(f'<text x="{pad - 4}" y="14" font-size="10" text-anchor="end">{_e(_n(top))}</text>')
    for i, d in enumerate(days):
        x0 = pad + 6 + i * gw
        for j, k in enumerate(kinds):
            bh = (h - 20) * d[k] / top
            parts.append(f'<rect x="{x0 + j * bw:.1f}" y="{h - bh:.1f}" width="{bw - 1:.1f}" height="{bh:.1f}" '
                         f'fill="{COLORS[k]}"><title>{_e(d["day"])} {_e(k)}: {_e(_n(d[k]))}</title></rect>')
        py = h - (h - 20) * d["previous"]["delivered"] / top
        parts.append(f'<circle cx="{x0 + bw / 2:.1f}" cy="{py:.1f}" r="3" fill="none" stroke="#000">'
                     f'<title>previous week delivered: {_e(_n(d["previous"]["delivered"]))}</title></circle>')
        parts.append(f'<text x="{x0 + gw / 2 - 6:.1f}" y="{h + 14}" font-size="11" text-anchor="middle">'
                     f'{_e(d["weekday"])}</text>')
    lx = pad
    for k in kinds:
        parts.append(f'<rect x="{lx}" y="{h + 24}" width="10" height="10" fill="{COLORS[k]}"/>'
                     f'<text x="{lx + 14}" y="{h + 33}" font-size="11">{_e(k)}</text>')
        lx += 100
    parts.append(f'<circle cx="{lx + 5}" cy="{h + 29}" r="3" fill="none" stroke="#000"/>'
                 f'<text x="{lx + 14}" y="{h + 33}" font-size="11">delivered, previous week</text></svg>')
    return "".join(parts)


def _svg_rate(r: dict[str, Any]) -> str:
    """Delivery success per day, this week (solid) against the previous week (dashed)."""
    w, h, pad = 640, 160, 36
    days = r["per_day"]
    step = (w - pad - 60) / 6

    def points(vals: list[float | None]) -> list[tuple[float, float]]:
        return [(pad + 10 + i * step, h - 10 - (h - 30) * v) for i, v in enumerate(vals) if v is not None]

    def path(vals: list[float | None]) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points(vals)))

    def dots(vals: list[float | None], fill: str, stroke: str) -> list[str]:
        """A mark per day with data: a line through one point alone would draw nothing."""
        return [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{fill}" stroke="{stroke}"/>'
                for x, y in points(vals)]

    this = [d["rate"] for d in days]
    prev = [d["previous"]["rate"] for d in days]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h + 20}" width="{w}" height="{h + 20}" '
             f'role="img" aria-label="delivery success per day">',
             f'<line x1="{pad}" y1="{h - 10}" x2="{w - 4}" y2="{h - 10}" stroke="#888"/>',
             f'<text x="{pad - 4}" y="{h - 8}" font-size="10" text-anchor="end">0%</text>',
             f'<text x="{pad - 4}" y="24" font-size="10" text-anchor="end">100%</text>']
    if any(v is not None for v in prev):
        parts.append(f'<path d="{path(prev)}" fill="none" stroke="#777" stroke-dasharray="4 3"/>')
        parts += dots(prev, "none", "#777")
    if any(v is not None for v in this):
        parts.append(f'<path d="{path(this)}" fill="none" stroke="{COLORS["delivered"]}" stroke-width="2"/>')
        parts += dots(this, COLORS["delivered"], COLORS["delivered"])
    for i, d in enumerate(days):
        parts.append(f'<text x="{pad + 10 + i * step:.1f}" y="{h + 8}" font-size="11" text-anchor="middle">'
                     f'{_e(d["weekday"])} {_e(_rate(d["rate"]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
.critical{color:#b71c1c}.warning{color:#e65100}.info{color:#555}.meta{color:#666;font-size:.9em}
.headline{background:#fff4ce;border:2px solid #e0a800;border-radius:4px;padding:.2em 1em;margin:.5em 0 1em}
li{margin:.3em 0}"""


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def _html(r: dict[str, Any]) -> str:
    t = _rows(r)
    body = [f"<h1>maillens weekly report {_e(r['week'])}</h1>"]
    if r.get("headline"):
        body.append(f'<section class="headline" id="headline"><p>{_e(r["headline"]["text"])}</p></section>')
    body.append("<ul>")
    body += [f"<li>{_e(x)}</li>" for x in _summary(r)] + ["</ul>"]
    body += ["<h2>Charts per day</h2>", _svg_days(r), _svg_rate(r)]
    for key in ORDER:
        body += [f"<h2>{_e(TITLES[key])}</h2>", _html_table(HEAD[key], t[key])]
    body.append("<h2>Findings</h2>")
    if not r["findings"]:
        body.append("<p>(none)</p>")
    else:
        body.append("<ul>")
        for (title, when, fix), f in zip(_findings(r), r["findings"], strict=True):
            steps = "".join(f"<li>{_e(s)}</li>" for s in fix)
            body.append(f'<li><strong class="{_e(f["severity"])}">{_e(title)}</strong><br>'
                        f'<span class="meta">{_e(when)}</span>' + (f"<ul>{steps}</ul>" if steps else "") + "</li>")
        body.append("</ul>")
    body.append(f'<p class="meta">{_e(r["generator"])} · generated {_e(r["generated_at"])}</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>maillens weekly {_e(r['week'])}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _json(r: dict[str, Any]) -> str:
    return json.dumps(r, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {"text": _text, "markdown": _markdown, "json": _json,
                                                         "html": _html}


def render_weekly(report: dict[str, Any], fmt: str = "text") -> str:
    """The report as ``fmt``: text, markdown, json or html."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](report)
