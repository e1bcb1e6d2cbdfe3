"""eximstats' rejects as the report counts them: each reject's kind (the SMTP command rejected) and
reason (Exim's text up to its first colon). :func:`ex_reject_rows` makes them of a table (the
Python fold's, the specification); :class:`ExRejects` counts them where the native engine runs,
each distinct stage and reply text coded (of the rejects' rows only) and
rewritten once a day (:class:`analyzer.peer_coded.Derived`), not once per batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .peer_agg import KeyAgg, new_vocab
from .peer_coded import Derived
from .totals import col, eq

__all__ = ["EX_KIND", "ExRejects", "ex_reject_rows"]

#: Exim's SMTP stages as eximstats names the command rejected.
EX_KIND = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "end of DATA": "after DATA", "DATA": "DATA",
           "HELO/EHLO": "HELO/EHLO", "connect": "connection"}


def _kind(stage: str | None) -> str:
    return EX_KIND.get(stage or "connection", stage or "connection")


def _reason(text: str | None) -> str:
    return ("(no reason logged)" if text is None else text).split(":")[0]


def _rejected(f: dict[str, Any]) -> np.ndarray:
    return f["rejected"] if "rejected" in f else eq(f["event"], "reject") & eq(f["status"], "rejected")


def ex_reject_rows(ev: pd.DataFrame, f: dict[str, Any]) -> list[pa.Array]:
    """The kind and reason of each of our rejects (what ``report.peers._ex_rejects`` counts)."""
    from .report.peers_pf_rejects import _dict_map

    r = pa.array(_rejected(f))
    return [_dict_map(col(ev, "smtp_stage").filter(r), _kind), _dict_map(col(ev, "reply_text").filter(r), _reason)]


def _words(words: Any, fn: Any) -> Any:
    """A derivation: ``fn`` of each distinct string, coded in ``words``."""
    return lambda a: {"code": words.encode(pa.array([fn(v) for v in a.to_pylist()], pa.string()))}


class ExRejects:
    """:func:`ex_reject_rows` counted by (kind, reason) in a :class:`KeyAgg` (``agg``), each row's
    stage and reply text read by its code: the kinds and reasons made once per distinct value."""

    def __init__(self) -> None:
        # (the derivations hold the vocabulary, not self: no reference cycle)
        self.words = words = new_vocab()
        self.agg = KeyAgg(["kind", "reason"], {"count": "sum"}, vocabs={"kind": words, "reason": words})
        self.stages = Derived(_words(words, _kind), None)
        self.texts = Derived(_words(words, _reason), None)

    def add(self, ev: Any, f: dict[str, Any]) -> None:
        """The rejects among ``ev``'s rows (``f``: what the fold step read of them) counted."""
        at = np.flatnonzero(_rejected(f))
        if not len(at):
            return
        at = pa.array(at)  # (a batch's few rejects taken out: nothing read of its other rows)
        self.agg.add([self.stages(col(ev, "smtp_stage").take(at))["code"], self.texts(col(ev, "reply_text").take(at))["code"]],
                     count=1)
