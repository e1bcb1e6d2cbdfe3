"""pflogsumm's "message reject detail": each reject line's kind and reason (:func:`_pf_reject_rows`,
the Python fold's), and :class:`NativeRejects`, the same keys made from a native fold step's codes.

smtpd/postscreen rejects are grouped by the rejected command (RCPT, MAIL, CONNECT ...) and
pflogsumm's reason (the reply text cut by its rules, :func:`_pf_reject_reason_of`); cleanup rejects
under 'cleanup' by header/body. :class:`NativeRejects` rewrites each distinct reply text once a day
(:class:`analyzer.peer_coded.Derived`), not once per flush.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import native
from ..peer_agg import KeyAgg, new_vocab
from ..peer_coded import Derived
from ..peer_native import EVENTS
from ..peer_vocab import _strings, _texts
from ..totals import col, eq, isin, mask

__all__ = ["NativeRejects"]

#: the reject event's id in a native fold step's event ids
_REJECT = EVENTS.index("reject") + 1

#: Postfix's reject word for each of our SMTP stages (pflogsumm groups rejects by that word).
_PF_KIND = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "connect": "CONNECT", "DATA": "DATA",
            "end of DATA": "END-OF-MESSAGE"}


def _dict_map(a: pa.Array, fn: Any) -> pa.Array:
    """``fn`` of each value (null included) as strings, called once per distinct value."""
    enc = pc.dictionary_encode(a, null_encoding="encode")
    return pa.array([fn(v) for v in enc.dictionary.to_pylist()], pa.string()).take(enc.indices)


def _pf_reject_reason(text: pd.Series, kind: pd.Series) -> pd.Series:
    """pflogsumm's reject "reason" of each reply text for the reject's kind (:func:`_pf_reasons`)."""
    t = pa.array(text.astype(object).where(text.notna(), None), type=pa.string(), from_pandas=True)
    reason = _pf_reasons(t, kind.eq("MAIL").to_numpy(dtype=bool))
    return pd.Series(reason.to_numpy(zero_copy_only=False), index=text.index, dtype=object)


def _pf_reasons(text: pa.Array, mail: np.ndarray) -> pa.Array:
    """pflogsumm's reject "reason": the reply text rewritten by its rules for the reject's kind
    (MAIL, or another): each distinct text of each rule rewritten once."""
    t = pc.fill_null(text, "")
    reasons, index, base = [], np.zeros(len(t), dtype=np.int64), 0
    for is_mail in (False, True):
        at = np.flatnonzero(mail == is_mail)
        if len(at):
            enc = pc.dictionary_encode(t.take(pa.array(at)))
            reasons.append(_pf_reject_reason_of(enc.dictionary, is_mail).cast(pa.string()))
            index[at] = base + enc.indices.to_numpy(zero_copy_only=False)
            base += len(enc.dictionary)
    return pa.concat_arrays(reasons).take(pa.array(index)) if reasons else pa.array([], pa.string())


def _pf_reject_reason_of(text: pa.Array, mail: bool) -> pa.Array:
    """The rules over Arrow arrays from start to end (most texts are distinct: no Python string
    per step)."""
    def re(a: pa.Array, pattern: str, repl: str) -> pa.Array:
        return pc.replace_substring_regex(a, pattern=pattern, replacement=repl, max_replacements=1)

    # the envelope maillens keeps apart ('; from=<...> to=<...>') ends the reason, as in the log line
    reason = pc.binary_join_element_wise(text, "; from=<>", "")
    if mail:
        reason = re(reason, r"^\d{3} (?:<.+>: )?([^;:]+)[;:]?.*$", r"\1")
    else:
        # pflogsumm's rule for other kinds (HELO, VRFY, END-OF-MESSAGE ...) keeps the envelope tail
        # ('from=<...> to=<...> proto=...'): maillens gives them the RCPT rule, which keeps the reason
        reason = re(reason, r"^(\d{3} <).*?(>:)", r"\1\2")
        reason = re(reason, r"^(?:\d{3} \d\.\d\.\d )(Protocol error);.*$", r"\1")
        reason = re(reason, r"^(?:.*?[:;] )(?:\[[^\]]+\] )?([^;,]+)[;,].*$", r"\1")
        reason = re(reason, r"^((?:Sender|Recipient) address rejected: [^:]+):.*$", r"\1")
        reason = re(reason, r"(client|Client host|Sender address) .+? blocked", "blocked")
    plain = pc.invert(pc.or_(pc.starts_with(reason, "Sender address rejected:"),
                             pc.match_substring_regex(reason, r"^(Recipient address rejected:|User unknown( |$))")))
    for pat, repl in ((r"^.*?\d{3} (Improper use of SMTP command pipelining);.*$", r"\1"),
                      (r"^.*?\d{3} (Message size exceeds fixed limit);.*$", r"\1"),
                      (r"^.*?\d{3} (Server configuration (?:error|problem));.*$", r"(Local) \1")):
        hit = pc.and_(plain, pc.match_substring_regex(reason, pat))
        if pc.any(hit).as_py():  # most days have none of these: no rewrite of every text
            reason = pc.if_else(hit, re(reason, pat, repl), reason)
            plain = pc.and_(plain, pc.invert(hit))
    return reason


def reject_reasons(text: pa.Array, mail: bool) -> pa.Array:
    """:func:`_pf_reject_reason_of` of each text (a null one read as empty), the rules compiled
    once in Rust where the native engine runs (native/src/peerreasons.rs)."""
    fn = getattr(native._module()[0], "pf_reject_reasons", None) if native.engine() == "native" else None
    if fn is None:
        return _pf_reject_reason_of(pc.fill_null(text, ""), mail).cast(pa.string())
    off, data = fn(_strings(_texts(text)), mail)
    return pa.Array.from_buffers(pa.large_string(), len(text), [None, pa.py_buffer(off), pa.py_buffer(data)])


_PF_PART = re.compile(r"^(header|body)\b")


def _part_of(detail: str | None) -> str | None:
    """The part (header/body) a cleanup check's detail names, None for none."""
    m = _PF_PART.match(detail or "")
    return m.group(1) if m else None


def _pf_reject_rows(ev: pd.DataFrame, f: dict[str, Any]) -> list[pa.Array]:
    """The kind and reason of each reject line (what :func:`_pf_rejects` counts): smtpd/postscreen
    rejects by the rejected command (RCPT, MAIL, CONNECT ...) and pflogsumm's reason; cleanup
    rejects under 'cleanup' by header/body."""
    reject = f["seen"] & eq(f["event"], "reject")
    plain = ~isin(col(ev, "detail"), ["milter-reject", "proxy-reject"])
    smtpd = pa.array(reject & f["smtpd"] & plain)
    kind = _dict_map(col(ev, "smtp_stage").filter(smtpd), lambda s: "other" if s is None else _PF_KIND.get(s, s))
    reason = _pf_reasons(col(ev, "reply_text").filter(smtpd), mask(pc.equal(kind, "MAIL")))
    cleanup = pa.array(reject & f["cleanup"])
    # header/body checks name the part in the detail; a milter's reject names the stage (END-OF-MESSAGE)
    part = _dict_map(col(ev, "detail").filter(cleanup), _part_of)
    where = pc.coalesce(part, _dict_map(col(ev, "smtp_stage").filter(cleanup), lambda s: _PF_KIND.get(s, "other")))
    return [pa.concat_arrays([kind, pa.array(["cleanup"] * len(where), pa.string())]),
            pa.concat_arrays([reason, where])]


def _codes(words: Any, texts: list[Any]) -> np.ndarray:
    return words.encode(pa.array(texts, pa.string()))


def _stage(words: Any, a: pa.Array) -> dict[str, np.ndarray]:
    """Per SMTP stage (``NativeRejects.stages``): its kind's code in ``words``, whether it is MAIL,
    and the code of a cleanup reject's stage."""
    s = a.to_pylist()
    kind = ["other" if v is None else _PF_KIND.get(v, v) for v in s]
    return {"kind": _codes(words, kind), "mail": np.array([k == "MAIL" for k in kind], dtype=bool),
            "where": _codes(words, [_PF_KIND.get(v, "other") for v in s])}  # type: ignore[arg-type]


def _part(words: Any, a: pa.Array) -> dict[str, np.ndarray]:
    """Per detail (``NativeRejects.parts``): the code of the part a header/body check names, -1 for none."""
    return {"part": _codes(words, [_part_of(d) for d in a.to_pylist()]).astype(np.int64)}  # (None: -1)


class NativeRejects:
    """:func:`_pf_reject_rows` counted by (kind, reason) from the masks of a native fold step
    (:meth:`analyzer.peer_native.NativePfFold.add`): the stages' kinds, the details' parts and the
    reply texts' reasons (both rules: MAIL's and the others') made once per distinct value."""

    def __init__(self) -> None:
        # (the derivations hold the vocabulary, not self: no reference cycle, freed when the fold goes)
        self.words = words = new_vocab()  # the kinds and reasons
        self.agg = KeyAgg(["kind", "reason"], {"count": "sum"}, vocabs={"kind": words, "reason": words})
        self.cleanup = int(words.encode(pa.array(["cleanup"]))[0])
        self.stages = Derived(lambda a: _stage(words, a), None)
        # the reply texts of MAIL rejects and of the others: each distinct one rewritten by its kind's rule once
        self.texts = [Derived(lambda a, mail=mail: {"reason": words.encode(reject_reasons(a, mail))}, "")
                      for mail in (False, True)]
        self.parts = Derived(lambda a: _part(words, a), None)
        self._held: list[tuple[Any, ...]] = []  # per batch held (hold): kinds, MAIL or not, texts' codes, cleanup's

    def add(self, ev: Any, f: dict[str, Any]) -> None:
        self.hold(ev, f)
        self.fold()

    def hold(self, ev: Any, f: dict[str, Any]) -> None:
        """The reject lines of ``ev`` (``f``: what the fold step read of its lines) coded, their reasons
        derived and counted at the next :meth:`fold` (several stream batches' at once)."""
        reject = f["seen"] & (f["event_id"] == _REJECT)
        smtpd, cleanup = reject & f["smtpd"] & f["plain"], reject & f["cleanup"]
        rows = smtpd | cleanup
        if not rows.any():
            return
        at = f["at"]  # (the lines' rows in ev)
        stage = self.stages(col(ev, "smtp_stage").take(pa.array(at[rows])))
        mine = smtpd[rows]
        is_mail = stage["mail"][mine]  # per smtpd reject, in row order
        mail = np.zeros(len(rows), dtype=bool)
        mail[np.flatnonzero(rows)[mine]] = is_mail
        reply = col(ev, "reply_text")
        texts = [self.texts[m].codes(reply.take(pa.array(at[smtpd & (mail == m)]))) for m in (False, True)]
        part = self.parts(col(ev, "detail").take(pa.array(at[cleanup])))["part"]
        self._held.append((stage["kind"][mine], is_mail, texts, np.where(part >= 0, part, stage["where"][~mine])))

    def fold(self) -> None:
        """Count the reject lines held: the smtpd rejects, then the cleanup rejects (as one flush)."""
        if not self._held:
            return
        held, self._held = self._held, []
        kind, is_mail, where = (np.concatenate([h[i] for h in held]) for i in (0, 1, 3))
        reason = np.empty(len(is_mail), dtype=np.int64)
        for m, texts in ((False, self.texts[0]), (True, self.texts[1])):
            at = is_mail == m
            if at.any():
                reason[at] = texts.values(np.concatenate([h[2][m] for h in held]))["reason"]
        self.agg.add([np.concatenate([kind, np.full(len(where), self.cleanup)]), np.concatenate([reason, where])], count=1)
