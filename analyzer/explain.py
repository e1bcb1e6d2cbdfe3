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
from analyzer.textsafe import printable

__all__ = [
    "CLASS_NAMES",
    "UnknownQuery",
    "advice_for",
    "codes_of",
    "explain",
    "line_direction",
    "render_explain",
    "reply_in_line",
]

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
#: An enhanced code standing alone: not part of an IP address, a version or a longer number.
_ENH_ALONE = re.compile(r"(?<![\w.])#?([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_CODE = re.compile(r"[1-5]\d\d")
#: Where the reply sits inside a pasted log line, most specific first. Each captures the reply.
_REPLY_IN_LINE = (
    re.compile(r"\bsaid: (.*?)(?: \(in reply to [^)]*\))?\)?$"),
    re.compile(r"refused to talk to me: (.*?)\)?$"),
    re.compile(r"SMTP error from remote (?:mail server|mailer) after [^:]*(?::<[^>]*>)?[^:]*: (.*?)(?: DT=\S+)?$"),
    re.compile(r"\breject(?:_warning)?: [A-Z-]+ from [^\s\[]*\[[^\]]*\](?::\d+)?: (.*?)(?:; from=<.*)?$"),
    re.compile(r"\brejected (?:RCPT|MAIL|EHLO|HELO|after DATA|connection)[^:]*: (.*)$"),
    re.compile(r"\bstatus=\w+ \((.*)\)$"),
    # Exim's '**' (failed) and '==' (deferred) markers stand alone after the message id: the
    # '==' that ends a base64 token quoted in a reply ('...jQ== IP: ...') is not one
    re.compile(r"(?:^|\s)(?:\*\*|==) \S+.*?: (.*?)(?: DT=\S+)?$"),
    # a bounce's Diagnostic-Code value: 'smtp; 550 5.1.1 ...', 'X-Postfix; unknown user' (RFC 3464)
    re.compile(r"^(?:Diagnostic-Code:\s*)?(?:smtp|x-[\w-]+)\s*;\s*(.*)$", re.I),
)
#: The words a bounce report (not a log line) wraps a reply in, peeled off by :func:`_unwrapped`
#: with plain string tests (linear whatever the text holds): Exchange's ``Remote Server returned
#: '...'``, its ``#550 5.1.1 ... ##`` (and the older ``#< ... > #SMTP#``), its ``< #5.0.0 smtp;
#: 451 ...>`` whose own enhanced code is the report's, not the reply's, and sendmail's ``<<< 550
#: ...`` transcript line; at most :data:`_PEEL` layers.
_RETURNED = "remote server returned '"
_HASH_ENDS = ("##", "#SMTP#")
#: the report's own status before the reply: '#5.0.0 smtp; ', '< #5.1.1 smtp;' (anchored prefix)
_REPORT_STATUS = re.compile(r"<?[ \t]*#?[245]\.\d{1,3}\.\d{1,3}[ \t]+smtp[ \t]*;[ \t]*", re.I)
_PEEL = 4
_REPLY_CODE = re.compile(r"^\s*([2-5]\d\d)(?:[ -]|$)")
#: Who judged whom, from the daemon or the wording of a pasted line.
_INBOUND_LINE = re.compile(r"postfix(?:/[\w.-]+)*/(?:smtpd|postscreen|dnsblog)\[|NOQUEUE: reject|"
                           r"\brejected (?:RCPT|MAIL|EHLO|HELO|after DATA|connection)|"
                           r"\bH=.*\brejected\b")
_OUTBOUND_LINE = re.compile(r"postfix(?:/[\w.-]+)*/(?:smtp|lmtp|error)\[|\bsaid: |"
                            r"refused to talk to me|SMTP error from remote|\bT=\S*smtp|"
                            r"\bconnect to \S+\[|lost connection with |conversation with |"
                            # Exim's per-host line of a delivery: '<id> H=mx.example [192.0.2.1]:25: ...'
                            r"\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} (?:[A-Z]=\S+ )*"
                            r"H=[^\s(]\S* \[[0-9A-Fa-f.:]+\](?::\d+)?: ")
DIRECTIONS = ("inbound", "outbound")


class UnknownQuery(ValueError):
    """explain() was given something that is not a code, a reply or a cause id."""

    hint = ("maillens explain with a reply code (521), an enhanced code (5.1.1), a reply "
            "('550 5.7.26 ...') or a cause id (host.no_mail)")


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _default_rules() -> KnowledgeBase:
    from analyzer.classify import default_rules

    return default_rules()


def _classified(kb: KnowledgeBase, text: str, code: int | None, enhanced: str | None,
                known: Any = False, direction: str | None = None
                ) -> tuple[str, str | None, dict[str, Any] | None]:
    """Cause, provider and the known reply that decided (None: a rule did) the classifier
    gives a lone reply (read without a direction). ``known`` is the table of known replies
    (None: the shipped one; False: rules only); it is not consulted for a reply ``direction``
    says our own server sent."""
    import pandas as pd  # only replies need the classifier: codes and causes are looked up (fast start)

    from analyzer.classify import classify, example_frame

    dirs: tuple[str | None, ...] = () if direction == "inbound" else ("outbound", None)
    row = classify(example_frame([{"text": text, "code": code, "enhanced": enhanced}]), kb,
                   attribute_causes=False, rule_ids=True,
                   known_replies=known if dirs else False, known_directions=dirs)
    provider = row["provider"].iloc[0]
    return (str(row["cause"].iloc[0]), (None if pd.isna(provider) else str(provider)),
            _known_row(known, row["rule_id"].iloc[0]))


def _known_row(known: Any, rule_id: Any) -> dict[str, Any] | None:
    """The known reply a ``known_reply:<id>`` rule id names, as explain shows it."""
    if not isinstance(rule_id, str) or not rule_id.startswith("known_reply:"):
        return None
    from analyzer.similar import default_known_replies

    table = default_known_replies() if known is None else known
    row = table.row(rule_id.split(":", 1)[1])
    if row is None:
        return None
    return {k: row.get(k) for k in ("id", "text", "cause", "provider", "source", "licence")}


def reply_in_line(line: str) -> str:
    """The reply inside a pasted log line (status line's 'said:', a reject, Exim's '**'/'=='
    line); the line itself when none is found."""
    text = line.strip()
    for rx in _REPLY_IN_LINE:
        m = rx.search(text)
        if m and m[1].strip():
            reply = m[1].strip()
            if text[m.end(1):m.end()].endswith(")") and reply.count("(") > reply.count(")"):
                reply += ")"  # the ')' taken as a status line's was the reply's own: '... (BL)'
            return _unwrapped(reply)
    return _unwrapped(text)


def _unwrapped(reply: str) -> str:
    """``reply`` without the bounce report's wrappers around it (:data:`_RETURNED` ...)."""
    for _ in range(_PEEL):
        inner = _peeled(reply)
        if not inner or inner == reply:
            return reply
        reply = inner
    return reply


def _peeled(text: str) -> str | None:
    """``text`` with its outermost bounce-report wrapper taken off; None where it has none."""
    if text.lower().startswith(_RETURNED) and text.endswith("'") and len(text) > len(_RETURNED):
        return text[len(_RETURNED):-1].strip()
    m = _REPORT_STATUS.match(text)
    if m:
        rest = text[m.end():].strip()
        return rest[:-1].rstrip() if text.startswith("<") and rest.endswith(">") else rest
    if text.startswith("#") and not _ENH_ALONE.match(text):
        ends = [at for at in (text.find(e, 1) for e in _HASH_ENDS) if at > 0]
        return text[1:min(ends)].strip() if ends else None
    if text.startswith("<<<"):
        rest = text[3:].strip()
        return rest if _REPLY_CODE.match(rest) else None
    if text.startswith("<") and text.endswith(">") and _REPLY_CODE.match(text[1:]):
        return text[1:-1].strip()
    return None


def line_direction(line: str) -> str | None:
    """'inbound' or 'outbound' when a pasted line tells who judged whom; None otherwise."""
    if _OUTBOUND_LINE.search(line):
        return "outbound"
    if _INBOUND_LINE.search(line):
        return "inbound"
    return None


def codes_of(reply: str) -> tuple[str | None, str | None]:
    """(reply code, enhanced code) of a reply: the code only where a reply starts with one, the
    enhanced code only where it stands alone (never digits of an IP address, a port or a time)."""
    code_m = _REPLY_CODE.match(reply)
    code = code_m[1] if code_m else None
    rest = reply[code_m.end():] if code_m else reply
    enh_m = _ENH_ALONE.match(rest.lstrip()) if code else None
    if enh_m is None and code is None:
        enh_m = _ENH_ALONE.search(reply)
    enh = f"{enh_m[1]}.{int(enh_m[2])}.{int(enh_m[3])}" if enh_m else None
    if code and enh and enh[0] != code[0]:
        enh = None  # 550 4.x.x: a class mismatch means the digits are something else
    return code, enh


def advice_for(cause_id: str, direction: str | None, kb: KnowledgeBase | None = None
               ) -> dict[str, dict[str, Any]]:
    """The advice that applies to ``cause_id``: {direction: entry} for the one direction given,
    or for each direction that reads the cause differently when none is given ({'': entry}
    when the cause reads the same both ways). trace and explain show these."""
    kb = kb or _default_rules()
    variants = kb.variants(cause_id)
    if direction in DIRECTIONS:
        return {direction: _advice(kb, kb.fix_for(cause_id, direction))}
    if not variants:
        return {"": _advice(kb, cause_id)}
    return {d: _advice(kb, variants.get(d, cause_id)) for d in DIRECTIONS}


def _advice(kb: KnowledgeBase, ident: str) -> dict[str, Any]:
    c = kb.causes[ident]
    return {"cause": ident, "title": c["title"], "meaning": c["meaning"],
            "severity": c["severity"], "fix": list(c["fix"])}


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


def _one(kb: KnowledgeBase, query: str, direction: str | None = None,
         known: Any = None) -> dict[str, Any]:
    entry = _one_plain(kb, query, direction, known)
    return _directed(kb, entry, direction or entry.pop("_direction", None))


def _directed(kb: KnowledgeBase, entry: dict[str, Any], direction: str | None) -> dict[str, Any]:
    """Put the direction's reading of the cause in the entry; without a direction, each
    reading labelled under 'by_direction' (only where the two differ)."""
    entry.pop("_direction", None)
    entry["direction"] = direction
    cause = entry["cause"]
    if direction in DIRECTIONS:
        target = kb.cause_for(cause, direction)
        fix_id = kb.fix_for(cause, direction)
        base = kb.causes[cause]
        if target != cause:
            c = kb.causes[target]
            entry.update(cause=target, cause_title=c["title"], cause_meaning=c["meaning"],
                         severity=c["severity"], when=c["when"],
                         title=entry["title"].replace(base["title"], c["title"], 1))
            if entry["meaning"] == base["meaning"]:
                entry["meaning"] = c["meaning"]
        if fix_id != cause:
            own = [r for r in entry["references"] if r not in base["references"]]
            entry["fix"] = list(kb.causes[fix_id]["fix"])
            entry["references"] = _dedup(own + list(kb.causes[fix_id]["references"]))
        return entry
    readings = advice_for(cause, None, kb)
    if "" not in readings:
        entry["by_direction"] = readings
    return entry


def _one_plain(kb: KnowledgeBase, query: str, direction: str | None,
               known: Any = None) -> dict[str, Any]:
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
    logged = _from_log_line(kb, q, known)
    if logged is not None:
        return logged
    reply = reply_in_line(q)
    code, enh = codes_of(reply)
    if code or enh or " " in q or not q.isascii():  # CJK replies carry no spaces
        cause, provider, known_row = _classified(kb, reply, int(code) if code else None, enh,
                                                 known, direction or line_direction(q))
        extra = {"reply": reply, "_direction": line_direction(q)}
        if known_row:
            extra["known_reply"] = known_row
        if not code and not enh:
            if cause == "unknown":
                raise UnknownQuery(_unknown_message(kb, q))
            return {**_entry(kb, q, "text", cause, title=kb.causes[cause]["title"],
                             provider=provider), **extra}
        title, refs = _code_title(kb, cause, code, enh)
        return {**_entry(kb, q, "reply", cause, title=title, code=code, enhanced=enh, refs=refs,
                         provider=provider), **extra}
    raise UnknownQuery(_unknown_message(kb, q))


def _code_title(kb: KnowledgeBase, cause: str, code: str | None, enh: str | None) -> tuple[str, list[str]]:
    """The entry's title (the cause, then what the code and enhanced code mean) and the code's references."""
    parts = []
    if code:
        info = kb.codes.get(code)
        parts.append(f"{code}: {info['title']}" if info else f"{code}: non-standard code")
    if enh:
        key = _enhanced_key(kb, *enh.split(".")[1:])
        parts.append(f"{enh}: {kb.enhanced[key]['title']}" if key else f"{enh}: unregistered detail")
    title = kb.causes[cause]["title"] + (f" ({'; '.join(parts)})" if parts else "")
    return title, list(kb.codes.get(code, {}).get("references", [])) if code else []


def _from_log_line(kb: KnowledgeBase, line: str, known: Any = None) -> dict[str, Any] | None:
    """A whole pasted log line (with its time stamp) read as the report reads it: parsed into one
    event and classified with its context (the daemon, the event, the stage, the direction), so
    explain and the report agree. None when the text does not parse as one recognised line."""
    if not re.match(r"\s*(?:\d{4}-\d\d-\d\d[ T]\d|[A-Z][a-z]{2} [ \d]\d \d\d:)", line):
        return None  # no time stamp: a reply or a fragment, read from its text
    import pandas as pd

    from analyzer.classify import classify
    from analyzer.reader import parse_lines

    ev = parse_lines([line.strip()]).events
    if len(ev) != 1:
        return None
    row = classify(ev, kb, attribute_causes=False, rule_ids=True, known_replies=known).iloc[0]

    def val(name: str) -> Any:
        v = row.get(name)
        return None if v is None or pd.isna(v) else v

    cause = val("cause")
    if not cause or cause == "unknown" or cause not in kb.causes:
        return None
    code = str(int(val("reply_code"))) if val("reply_code") is not None and val("code_origin") == "logged" else None
    enh = val("enhanced_code")
    reply = val("reply_text") or val("detail") or line.strip()
    direction = val("direction") if val("direction") in DIRECTIONS else None
    title, refs = _code_title(kb, cause, code, enh)
    known_row = _known_row(known, val("rule_id"))
    return {**_entry(kb, line, "reply" if code or enh else "text", cause, title=title, code=code,
                     enhanced=enh, refs=refs, provider=val("provider")),
            "reply": str(reply), "_direction": direction,
            **({"known_reply": known_row} if known_row else {})}


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


def explain(*queries: str, rules: KnowledgeBase | None = None,
            direction: str | None = None, known_replies: Any = None) -> dict[str, Any]:
    """One entry for one query; for two or more, a comparison with the key differences.

    A query may be a whole pasted log line: the reply inside it is found and explained.
    ``direction`` ('inbound': our server judged a client; 'outbound': a remote server judged
    us) picks the advice that applies; without it, a pasted line's own direction is used, and
    where none is known the readings that differ are both given, labelled. A reply the rules
    read only by its code may be answered from the closest known reply
    (:mod:`analyzer.similar`; ``known_replies``: a table, None for the shipped one, False for
    rules only); the entry's ``known_reply`` then names it, with its provider and source.
    """
    if not queries:
        raise UnknownQuery("nothing to explain")
    if direction is not None and direction not in DIRECTIONS:
        raise UnknownQuery(f"direction '{direction}' is not inbound or outbound")
    kb = rules or _default_rules()
    entries = [_one(kb, q, direction, known_replies) for q in queries]
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
    if e.get("reply") and e["reply"] != e["query"]:
        out.append(f"  reply:     {e['reply']}")
    if e.get("direction"):
        out.append(f"  direction: {e['direction']}")
    if e.get("known_reply"):
        out.append(f"  closest known reply: {_known_text(e['known_reply'], printable)}")
    out += ["  when you see it:", _wrap(e["when"], "    ")]
    for label, fix in _fixes(e):
        out.append(f"  how to fix it{label}:")
        for i, step in enumerate(fix, 1):
            out.append(textwrap.fill(step, 88, initial_indent=f"    {i}. ",
                                     subsequent_indent="       "))
    out.append("  references:")
    out += [f"    - {r}" for r in e["references"]]
    return out


def _known_text(row: dict[str, Any], escape: Any) -> str:
    """'<reply> (<provider>, <source>)', each part escaped for the output (quoted log text)."""
    return f"{escape(row['text'])} ({escape(row['provider'])}, {escape(row['source'])})"


def _fixes(e: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(label, steps) per reading: one unlabelled list, or one per direction when they differ."""
    if e.get("by_direction"):
        return [(f" ({d}: {r['title']}; severity {r['severity']})", r["fix"])
                for d, r in e["by_direction"].items()]
    return [("", e["fix"])]


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
        out += ["", *_text_entry(e)]
    return "\n".join(out) + "\n"


def _md_entry(e: dict[str, Any], level: str = "##") -> list[str]:
    out = [f"{level} `{e['query']}` — {e['title']}", ""]
    if e["class"]:
        out.append(f"- **Class:** {e['class']}")
    out.append(f"- **Cause:** `{e['cause']}` ({e['cause_title']}); outcome {e['outcome']}, "
               f"severity {e['severity']}")
    out += [f"- **Meaning:** {e['meaning']}", f"- **When you see it:** {e['when']}"]
    if e.get("known_reply"):
        from analyzer.report.markdown import md  # only markdown needs it

        out.append(f"- **Closest known reply:** {_known_text(e['known_reply'], md)}")
    for label, fix in _fixes(e):
        out += ["", f"**How to fix it{label}**", ""]
        out += [f"{i}. {s}" for i, s in enumerate(fix, 1)]
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
