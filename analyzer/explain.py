"""What a reply code, enhanced status code, reply or cause means, and what to do about it.

``explain("521")``, ``explain("5.1.1")``, ``explain("550 5.7.26")``, ``explain("host.no_mail")``
return one entry (a JSON-serialisable dict); two or more queries return a comparison with the
key differences. :func:`render_explain` turns either into text, markdown or JSON.
"""

from __future__ import annotations

import difflib
import json
import re
import textwrap
from typing import Any

from analyzer.rules import KnowledgeBase

__all__ = ["explain", "render_explain", "UnknownQuery", "CLASS_NAMES"]

CLASS_NAMES = {
    "2": "2xx positive completion",
    "3": "3xx positive intermediate",
    "4": "4xx transient negative completion",
    "5": "5xx permanent negative completion",
}
ASPECTS = (("class", "class"), ("outcome", "outcome"), ("severity", "severity"),
           ("cause", "cause"), ("meaning", "meaning"), ("when", "when you see it"),
           ("todo", "what to do"))
_ENH = re.compile(r"([245xX])\.(\d{1,3})\.(\d{1,3})")
_CODE = re.compile(r"[1-5]\d\d")


class UnknownQuery(ValueError):
    """explain() was given something that is not a code, a reply or a cause id."""

    hint = ("maillens explain with a reply code (521), an enhanced code (5.1.1), a reply "
            "('550 5.7.26 ...') or a cause id (host.no_mail)")


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _classified(kb: KnowledgeBase, text: str, code: int | None,
                enhanced: str | None) -> tuple[str, str | None]:
    """Cause and provider the classifier gives a lone reply (imports pandas: only replies need it)."""
    import pandas as pd

    from analyzer.classify import classify, example_frame

    row = classify(example_frame([{"text": text, "code": code, "enhanced": enhanced}]), kb)
    provider = row["provider"].iloc[0]
    return str(row["cause"].iloc[0]), (None if pd.isna(provider) else str(provider))


def _entry(kb: KnowledgeBase, query: str, kind: str, cause_id: str, *, title: str | None = None,
           meaning: str | None = None, when: str | None = None, code: str | None = None,
           enhanced: str | None = None, refs: list[str] | None = None,
           provider: str | None = None) -> dict[str, Any]:
    cause = kb.causes[cause_id]
    klass = (code or enhanced or "")[:1]
    return {
        "query": query,
        "kind": kind,
        "code": code,
        "enhanced": enhanced,
        "class": CLASS_NAMES.get(klass),
        "title": title or cause["title"],
        "meaning": meaning or cause["meaning"],
        "when": when or cause["when"],
        "cause": cause_id,
        "cause_title": cause["title"],
        "cause_meaning": cause["meaning"],
        "outcome": cause["outcome"] if klass not in CLASS_NAMES else
        {"2": "ok", "3": "ok", "4": "transient_failure", "5": "permanent_failure"}[klass],
        "severity": cause["severity"],
        "provider": provider,
        "fix": list(cause["fix"]),
        "references": _dedup((refs or []) + list(cause["references"])),
    }


def _enhanced_key(kb: KnowledgeBase, subject: str, detail: str) -> str | None:
    key = f"X.{int(subject)}.{int(detail)}"
    return key if key in kb.enhanced else None


def _one(kb: KnowledgeBase, query: str) -> dict[str, Any]:
    q = query.strip()
    if not q:
        raise UnknownQuery("empty query; " + UnknownQuery.hint)
    if q in kb.causes:
        return _entry(kb, q, "cause", q)
    if _CODE.fullmatch(q):
        entry = kb.codes.get(q)
        if entry is not None:
            cause = entry.get("cause") or _classified(kb, q, int(q), None)[0]
            return _entry(kb, q, "code", cause, title=entry["title"], meaning=entry["meaning"],
                          when=entry.get("when"), code=q, refs=entry.get("references"))
        if q[0] in "2345":
            cause = _classified(kb, q, int(q), None)[0]
            return _entry(kb, q, "code", cause, code=q, title=f"Non-standard reply code {q}",
                          meaning=f"{q} is not defined by the SMTP standards; only its first "
                          f"digit counts: {CLASS_NAMES[q[0]]}. Read the reply text.",
                          refs=["RFC 5321 §4.2.1 (reply code structure)"])
    m = _ENH.fullmatch(q)
    if m:
        key = _enhanced_key(kb, m[2], m[3])
        klass = m[1] if m[1] in "245" else None
        concrete = f"{klass or 5}.{int(m[2])}.{int(m[3])}"
        if key:
            entry = kb.enhanced[key]
            cause = entry.get("cause") or _classified(kb, concrete, None, concrete)[0]
            return _entry(kb, q, "enhanced", cause, title=entry["title"],
                          meaning=entry["meaning"], when=entry.get("when"),
                          enhanced=q if klass else key, refs=entry.get("references"))
        cause = _classified(kb, concrete, None, concrete)[0]
        return _entry(kb, q, "enhanced", cause, enhanced=q if klass else None,
                      title=f"Unregistered enhanced code {q}",
                      meaning=f"{q} is not in the IANA registry; providers define their own "
                      f"detail codes. Closest meaning: {kb.causes[cause]['meaning']}",
                      refs=["RFC 3463 §2 (structure of enhanced codes)"])
    code_m = re.match(r"\s*([2-5]\d\d)(?:[ -]|$)", q)
    enh_m = _ENH.search(q)
    if code_m or enh_m:
        code = code_m[1] if code_m else None
        enh = f"{enh_m[1]}.{enh_m[2]}.{enh_m[3]}" if enh_m and enh_m[1] in "245" else None
        cause, provider = _classified(kb, q, int(code) if code else None, enh)
        parts = []
        if code:
            info = kb.codes.get(code)
            parts.append(f"{code}: {info['title']}" if info else f"{code}: non-standard code")
        if enh:
            key = _enhanced_key(kb, enh_m[2], enh_m[3])  # type: ignore[index]
            parts.append(f"{enh}: {kb.enhanced[key]['title']}" if key else
                         f"{enh}: unregistered detail")
        refs = []
        for k in ([code] if code else []):
            refs += kb.codes.get(k, {}).get("references", [])
        title = f"{kb.causes[cause]['title']} ({'; '.join(parts)})"
        return _entry(kb, q, "reply", cause, title=title, code=code, enhanced=enh, refs=refs,
                      provider=provider)
    raise UnknownQuery(_unknown_message(kb, q))


def _unknown_message(kb: KnowledgeBase, q: str) -> str:
    candidates = list(kb.causes) + list(kb.codes) + list(kb.enhanced)
    close = difflib.get_close_matches(q, candidates, n=4, cutoff=0.5)
    if not close:
        close = [c for c in kb.causes if q.lower() in c.lower()][:4]
    msg = f"'{q}' is not a reply code, enhanced code, reply or cause id in the knowledge base"
    if close:
        return msg + f"; did you mean {', '.join(close)}?"
    return msg + ("; try a reply code (521), an enhanced code (5.1.1), a reply "
                  "('550 5.7.26 ...') or a cause id such as host.no_mail")


def _todo(entry: dict[str, Any]) -> str:
    return entry["fix"][0] if entry["fix"] else ""


def explain(*queries: str, rules: KnowledgeBase | None = None) -> dict[str, Any]:
    """One entry for one query; for two or more, a comparison with the key differences."""
    if not queries:
        raise UnknownQuery("nothing to explain")
    if rules is None:
        from analyzer.classify import default_rules

        rules = default_rules()
    kb = rules
    entries = [_one(kb, q) for q in queries]
    if len(entries) == 1:
        return entries[0]
    differences, same = [], []
    for key, label in ASPECTS:
        values = {e["query"]: (_todo(e) if key == "todo" else e[key]) for e in entries}
        (same if len(set(map(str, values.values()))) == 1 else differences).append(
            {"aspect": label, "values": values})
    summary = []
    for e in entries:
        head = f"{e['query']}: {e['title']}"
        if e["class"]:
            head += f" ({e['class']})"
        summary.append(f"{head}. Outcome {e['outcome']}, severity {e['severity']}. "
                       f"Seen: {e['when']}")
    return {
        "compare": [e["query"] for e in entries],
        "entries": entries,
        "differences": differences,
        "same": [s["aspect"] for s in same],
        "applies": {e["query"]: e["when"] for e in entries},
        "summary": summary,
    }


# --------------------------------------------------------------------------------------------
# rendering


def _wrap(text: str, indent: str, width: int = 88) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def _text_entry(e: dict[str, Any]) -> list[str]:
    out = [f"{e['query']} — {e['title']}"]
    if e["class"]:
        out.append(f"  class:     {e['class']}")
    out.append(f"  cause:     {e['cause']} ({e['cause_title']}); outcome {e['outcome']}, "
               f"severity {e['severity']}")
    if e.get("provider"):
        out.append(f"  provider:  {e['provider']}")
    out += ["  meaning:", _wrap(e["meaning"], "    ")]
    if e["kind"] != "cause" and e["cause_meaning"] != e["meaning"]:
        out += ["  cause in detail:", _wrap(e["cause_meaning"], "    ")]
    out += ["  when you see it:", _wrap(e["when"], "    "), "  how to fix it:"]
    for i, step in enumerate(e["fix"], 1):
        out.append(textwrap.fill(step, 88, initial_indent=f"    {i}. ",
                                 subsequent_indent="       "))
    out.append("  references:")
    out += [f"    - {r}" for r in e["references"]]
    return out


def _text(result: dict[str, Any]) -> str:
    if "compare" not in result:
        return "\n".join(_text_entry(result)) + "\n"
    out = [f"{' vs '.join(result['compare'])}: key differences", ""]
    for d in result["differences"]:
        out.append(f"{d['aspect']}:")
        for q, v in d["values"].items():
            out.append(textwrap.fill(str(v), 88, initial_indent=f"  {q}: ",
                                     subsequent_indent=" " * (len(q) + 4)))
    if result["same"]:
        out.append(f"same for all: {', '.join(result['same'])}")
    out += ["", "when each applies:"]
    out += [textwrap.fill(s, 88, initial_indent="  - ", subsequent_indent="    ")
            for s in result["summary"]]
    for e in result["entries"]:
        out += [""] + _text_entry(e)
    return "\n".join(out) + "\n"


def _md_entry(e: dict[str, Any], level: str = "##") -> list[str]:
    out = [f"{level} `{e['query']}` — {e['title']}", ""]
    if e["class"]:
        out.append(f"- **Class:** {e['class']}")
    out.append(f"- **Cause:** `{e['cause']}` ({e['cause_title']}); outcome {e['outcome']}, "
               f"severity {e['severity']}")
    out += [f"- **Meaning:** {e['meaning']}", f"- **When you see it:** {e['when']}", "",
            "**How to fix it**", ""]
    out += [f"{i}. {s}" for i, s in enumerate(e["fix"], 1)]
    out += ["", "**References**", ""] + [f"- {r}" for r in e["references"]] + [""]
    return out


def _cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def _markdown(result: dict[str, Any]) -> str:
    if "compare" not in result:
        return "\n".join(_md_entry(result)).rstrip() + "\n"
    qs = result["compare"]
    out = [f"## {' vs '.join(f'`{q}`' for q in qs)}", "",
           "| aspect | " + " | ".join(f"`{q}`" for q in qs) + " |",
           "|---|" + "---|" * len(qs)]
    for d in result["differences"]:
        out.append(f"| {d['aspect']} | " + " | ".join(_cell(d["values"][q]) for q in qs) + " |")
    out += ["", "**When each applies**", ""] + [f"- {s}" for s in result["summary"]] + [""]
    for e in result["entries"]:
        out += _md_entry(e, "###")
    return "\n".join(out).rstrip() + "\n"


def render_explain(result: dict[str, Any], fmt: str = "text") -> str:
    """``result`` from :func:`explain` as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if fmt in ("markdown", "md"):
        return _markdown(result)
    if fmt == "text":
        return _text(result)
    raise ValueError(f"unknown format '{fmt}'; use text, markdown or json")
