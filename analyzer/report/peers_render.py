"""The peers' sections (:mod:`.peers`) rendered as text, Markdown and an HTML fragment; every log
value is escaped or cleaned."""

from __future__ import annotations

from typing import Any

__all__ = ["html_fragment", "markdown_lines", "text_lines"]

_RIGHT = {"messages", "bytes", "value", "count", "sent", "defers", "avg_delay", "max_delay", "addresses",
          "share", "remote_messages", "remote_share"}


def _cell(key: str, v: Any, other: Any) -> str:
    from .text import number, pct

    if key in ("share", "remote_share"):
        return pct(v)
    if key in ("avg_delay", "max_delay"):
        return "-" if v is None else f"{v:,.1f}"
    return number(v, other)


def _of(peer: str) -> str:
    return peer + ("'" if peer.endswith("s") else "'s")


def _more(s: dict[str, Any]) -> str:
    return f"… and {s['more']:,} more" if s["more"] else ""


def text_lines(report: dict[str, Any]) -> list[str]:
    """The peers' sections of the text report."""
    from .text import clean, table

    out: list[str] = []
    for s in report.get("peers") or []:
        cols = s["columns"]
        out += ["", f"{s['title'].upper()} (as {_of(s['peer'])} \"{clean(s['peer_title'])}\")"]
        out += table([c["label"] for c in cols],
                     [[_cell(c["key"], r[c["key"]], lambda v: clean(v, 70)) for c in cols] for r in s["rows"]],
                     right={i for i, c in enumerate(cols) if c["key"] in _RIGHT}) if s["rows"] else ["  none"]
        if s["more"]:
            out.append("  " + _more(s))
    return out


def markdown_lines(report: dict[str, Any]) -> list[str]:
    """The peers' sections of the Markdown report (every log value escaped)."""
    from .markdown import md

    sections = report.get("peers") or []
    if not sections:
        return []
    out = ["## As pflogsumm and eximstats show it", ""]
    for s in sections:
        cols = s["columns"]
        out += [f"### {md(s['title'])} ({s['peer']}: {md(s['peer_title'])})", "", f"_{md(s['definition'])}_", ""]
        if s["difference"]:
            out += [f"_Unlike {s['peer']}: {md(s['difference'])}_", ""]
        if s["rows"]:
            out += ["| " + " | ".join(md(c["label"]) for c in cols) + " |",
                    "|" + "|".join("---:" if c["key"] in _RIGHT else "---" for c in cols) + "|"]
            out += ["| " + " | ".join(_cell(c["key"], r[c["key"]], lambda v: md(v, 120)) for c in cols) + " |"
                    for r in s["rows"]]
        else:
            out.append("_none_")
        if s["more"]:
            out += ["", md(_more(s))]
        out.append("")
    return out


def html_fragment(report: dict[str, Any]) -> Any:
    """The peers' sections as an HTML fragment (markupsafe ``Markup``; every value escaped)."""
    from markupsafe import Markup, escape

    from .text import clean

    sections = report.get("peers") or []
    if not sections:
        return Markup("")
    parts = ['<h2 id="peers">As pflogsumm and eximstats show it</h2>']
    for s in sections:
        cols = s["columns"]
        parts.append(f'<h3 id="{escape(s["id"])}">{escape(s["title"])} '
                     f'<span class="muted">({escape(s["peer"])}: {escape(s["peer_title"])})</span></h3>')
        parts.append(f'<p class="muted">{escape(s["definition"])}'
                     + (f" Unlike {escape(s['peer'])}: {escape(s['difference'])}" if s["difference"] else "") + "</p>")
        if not s["rows"]:
            parts.append("<p>none</p>")
            continue
        num = [' class="n"' if c["key"] in _RIGHT else "" for c in cols]
        cls = [n or ' class="t"' for n in num]
        head = "".join(f"<th{n}>{escape(c['label'])}</th>" for c, n in zip(cols, num, strict=True))
        body = "".join("<tr>" + "".join(
            f"<td{k}>{escape(_cell(c['key'], r[c['key']], lambda v: clean(v, 200)))}</td>"
            for c, k in zip(cols, cls, strict=True)) + "</tr>" for r in s["rows"])
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
        if s["more"]:
            parts.append(f'<p class="muted">{escape(_more(s))}</p>')
    return Markup("\n".join(parts))
