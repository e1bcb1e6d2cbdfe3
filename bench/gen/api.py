"""``generate()``: write a synthetic Postfix or Exim log of exactly N lines."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from bench.gen.exim import Exim
from bench.gen.incidents import DEFAULT_START, Incident, parse_incident, parse_time
from bench.gen.postfix import Postfix


def generate(
    mta: str = "postfix",
    lines: int = 1000,
    seed: int = 1,
    out: str | os.PathLike | IO[str] | None = None,
    start: str | datetime | float = DEFAULT_START,
    hours: float = 24.0,
    host: str = "mx1",
    style: str = "syslog",
    incidents: Iterable[str | Incident] = (),
    record: str | os.PathLike | None = None,
) -> dict:
    """Write ``lines`` lines of a synthetic ``mta`` log to ``out`` (path, text stream, or None
    for a returned string). Returns ``{"lines": n, "incidents": [records], "text": str|None}``.
    """
    if mta not in ("postfix", "exim"):
        raise ValueError("mta must be 'postfix' or 'exim'")
    if style not in ("syslog", "rfc3339"):
        raise ValueError("style must be 'syslog' or 'rfc3339'")
    if lines < 0:
        raise ValueError("lines must be >= 0")
    if hours <= 0:
        raise ValueError("hours must be positive")
    if isinstance(start, datetime):
        st = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
    elif isinstance(start, (int, float)):
        st = float(start)
    else:
        st = parse_time(start)
    incs = [i if isinstance(i, Incident) else parse_incident(i, st) for i in incidents]
    if sum(1 for i in incs if i.kind == "silence") and hours * 3600 - sum(
            max(0.0, min(i.end, st + hours * 3600) - max(i.start, st))
            for i in incs if i.kind == "silence") < 900:
        raise ValueError("silence covers (almost) the whole log window")
    cls = Postfix if mta == "postfix" else Exim
    g = cls(lines, seed, st, hours, host, incs)
    g.run()
    wstyle = "exim" if mta == "exim" else style
    text = None
    if out is None:
        buf = io.StringIO()
        g.write(buf, wstyle)
        text = buf.getvalue()
    elif hasattr(out, "write"):
        g.write(out, wstyle)
    else:
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            g.write(fh, wstyle)
    recs = [i.record() for i in incs]
    if record is not None:
        with open(record, "w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps({"mta": mta, **rec}) + "\n")
    return {"lines": len(g.ev), "incidents": recs, "text": text}

