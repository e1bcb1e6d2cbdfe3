"""Small inline SVG charts for the HTML report: no JavaScript, no network, deterministic output.

Every label is XML-escaped here; the HTML template inserts the SVG as is.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["COLORS", "bar_chart", "volume_chart"]

COLORS = {"delivered": "#2e7d32", "deferred": "#f9a825", "bounced": "#c62828", "rejected": "#6a1b9a",
          "received": "#1565c0"}
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11"'


def _e(text: Any) -> str:
    return escape("" if text is None else str(text), quote=True)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** (len(str(int(v))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def volume_chart(per_hour: list[dict[str, Any]], keys: tuple[str, ...] = ("delivered", "deferred", "bounced",
                                                                          "rejected"),
                 labels: list[str] | None = None, axis: str = "hour (UTC)") -> str:
    """Stacked bars: per hour (or per ``labels``' periods, named ``axis``), how many deliveries
    ended each way, and rejects."""
    w, h, left, bottom, top = 760, 240, 48, 36, 28
    n = max(1, len(per_hour))
    plot_w, plot_h = w - left - 10, h - bottom - top
    totals = [sum(int(p.get(k, 0)) for k in keys) for p in per_hour]
    ymax = _nice_max(max(totals, default=0))
    bw = plot_w / n
    bar = min(40.0, max(1.0, bw - 2))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-volume" role="img" '
             f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" {FONT}>',
             "<title>Volume per hour by outcome</title>"]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 10}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{ymax * i / 4:,.0f}</text>')
    every = max(1, n // 12)
    for i, p in enumerate(per_hour):
        x = left + i * bw
        y = top + plot_h
        for k in keys:
            v = int(p.get(k, 0))
            if v <= 0:
                continue
            bh = plot_h * v / ymax
            y -= bh
            parts.append(f'<rect class="bar bar-{k}" x="{x + (bw - bar) / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                         f'height="{bh:.1f}" fill="{COLORS[k]}"><title>{_e(labels[i] if labels else p.get("hour"))} {k}: '
                         f'{v:,}</title></rect>')
        if i % every == 0:
            label = labels[i] if labels else str(p.get("hour") or "")[11:16] if n > 1 else str(p.get("hour") or "")
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{_e(label)}</text>')
    lx = left
    for k in keys:
        parts.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{COLORS[k]}"/>'
                     f'<text x="{lx + 14}" y="15">{_e(k)}</text>')
        lx += 90
    parts.append(f'<text x="{w - 10}" y="{h - 4}" text-anchor="end">{_e(axis)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(items: list[tuple[str, float]], *, chart_id: str, title: str, color: str = "#c62828") -> str:
    """Horizontal bars, one per (label, value), largest first as given."""
    items = items[:12]
    row, left, w = 22, 260, 760
    h = 30 + row * max(1, len(items))
    vmax = max((v for _, v in items), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}" role="img" '
             f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" {FONT}>', f"<title>{_e(title)}</title>"]
    if not items:
        parts.append('<text x="10" y="20">nothing to show</text>')
    for i, (label, v) in enumerate(items):
        y = 10 + i * row
        bw = (w - left - 70) * v / vmax
        short = label if len(label) <= 40 else label[:39] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{_e(short)}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 3}" width="{max(1.0, bw):.1f}" height="{row - 6}" '
                     f'fill="{color}"><title>{_e(label)}: {v:,.0f}</title></rect>')
        parts.append(f'<text x="{left + bw + 4:.1f}" y="{y + 14}">{v:,.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)
