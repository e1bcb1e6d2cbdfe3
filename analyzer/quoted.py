"""The reply a wrapper quotes, for the rules to read as well as the whole text.

A report reads a remote server's reply inside its MTA's words: Postfix's ``host mx[~] said: R (in
reply to RCPT TO command)`` and Exim's ``SMTP error from remote mail server after RCPT TO:<~>: R``.
Rules written from replies alone anchor their clause to the reply's start or end (``^550``, ``…
blocked$``) and miss it there. :func:`best_with_quoted` lets every rule read the quoted reply too: a
combination takes the first rule, in the rules' order, whose text pattern matches the whole text
*or* the quoted reply (the rules that name the wrapper keep reading the whole text). Found by
r31-cvrules' probe: of 3,238 development replies that open with a code, 3,045 read right alone,
3,018 inside a Postfix line, 3,024 inside an Exim line.

The quoted reply is cut with plain string searches (linear in the text, whatever it holds).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

_SAID = " said: "
_EXIM = "smtp error from remote mail server after "
_IN_REPLY = " (in reply to "


def quoted_reply(text: str | None) -> str | None:
    """The reply a Postfix ``said:`` or an Exim ``SMTP error from remote mail server after X:``
    quotes, without Postfix's ``(in reply to … command)``; None where the text quotes none (or
    the quote is the whole text)."""
    if not text:
        return None
    at = text.find(_SAID)
    if at >= 0:
        reply = text[at + len(_SAID):]
        cut = reply.rfind(_IN_REPLY)
        if cut >= 0 and reply.endswith(")") and ")" not in reply[cut + len(_IN_REPLY):-1]:
            reply = reply[:cut]
    else:
        at = text.lower().find(_EXIM)
        if at < 0:
            return None
        sep = text.find(": ", at + len(_EXIM))
        if sep < 0:
            return None
        reply = text[sep + 2:]
    reply = reply.strip()
    return reply if reply and reply != text else None


_RANKS: dict[int, tuple[Any, np.ndarray]] = {}  # id(rule list) -> (the walk's steps, their ranks)


def _ranks(kb: Any) -> np.ndarray:
    """Each rule's place in the order the walk tries them (its score first, then its index);
    -1 (no rule) ranks last. Worked out once per rule list, from the walk's own order
    (:func:`analyzer.rulematch._prepared`: 1,004 rules' scores sorted were ~2 ms a call)."""
    from .rulematch import _prepared

    prep = _prepared(kb)
    got = _RANKS.get(id(prep.rules))
    if got is not None and got[0] is prep.steps:
        return got[1]
    order = np.fromiter((step[0] for step in prep.steps), dtype=np.int64, count=len(prep.steps))
    rank = np.empty(len(kb.rules) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = len(order)  # best == -1 indexes the last slot
    if len(_RANKS) > 16:
        _RANKS.clear()
    _RANKS[id(prep.rules)] = (prep.steps, rank)
    return rank


def best_with_quoted(kb: Any, match: Any, u: dict[str, np.ndarray], v: dict[str, list[Any]],
                     texts: pa.Array) -> np.ndarray:
    """``match(kb, u, v, texts)`` (the first rule per combination), with each combination whose
    text quotes a reply walked over the quoted reply as well, in the same call (the walk's fixed
    cost paid once): it keeps the earlier rule of the two, which is the first rule whose pattern
    matches either text. A combination's rule depends on its own values alone, so the quoted
    ones ride along as extra combinations whose text codes name the quoted replies."""
    quoted = [quoted_reply(t) for t in texts.to_pylist()]
    has = np.array([False] + [q is not None for q in quoted])
    rows = np.flatnonzero(has[u["text"]])
    if not len(rows):
        return match(kb, u, v, texts)
    n = len(u["text"])
    at = np.zeros(len(quoted) + 1, dtype=np.int64)  # old text code -> the quoted reply's code
    kept = [q for q in quoted if q is not None]
    at[np.flatnonzero(has)] = np.arange(len(texts) + 1, len(texts) + len(kept) + 1)
    both = {key: np.concatenate([col, col[rows]]) for key, col in u.items()}
    both["text"][n:] = at[u["text"][rows]]
    got = match(kb, both, v, pa.concat_arrays([texts.cast(pa.string()), pa.array(kept, pa.string())]))
    best, again = got[:n].copy(), got[n:]
    rank = _ranks(kb)
    take = rank[again] < rank[best[rows]]
    best[rows[take]] = again[take]
    return best
