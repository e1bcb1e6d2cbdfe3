"""pflogsumm's fold step in the native core: :class:`analyzer.peer_folds.PfFold` with its
per-message state and aggregates in Rust (native/src/peerfold.rs).

:class:`NativePfFold` folds a flush of Postfix lines in one native call (the GIL released): the
counts of ``PfFold._count``, each queue id's first qmgr size and sender and the client of its last
receive line, the delivery and deferral lines by recipient and domain (those whose size is not read
yet waiting, as ``PfFold`` holds them). The strings reach Rust as codes: each column's distinct
texts are coded once a day (:class:`analyzer.peer_coded.Derived`) and turned into what the fold
reads by ``PfFold``'s own functions (``_pf_sender``, ``lower_domain``, ``_client_domain`` ...);
the events, statuses and programs become the small ids and class bits of ``peerfold.rs``. The
tables and totals are ``PfFold``'s, made from the native state (``tests/test_peer_native.py``
holds them equal to the Python fold's, flushes cut anywhere).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import native
from .keyed import key_hash
from .peer_agg import new_vocab, texts
from .peer_coded import Derived
from .peer_ended import Ended, bare
from .peer_folds import PfFold, _Fold, _pf_domain, _pf_sender
from .peer_vocab import _strings, _texts, native_vocab
from .totals import _PF_CMD, _client_domain, col, lower_domain, mask, valid

__all__ = ["EVENTS", "STATUSES", "NativePfFold", "native_pf_fold", "warning_texts"]

#: The events and statuses the fold tells apart, by their ids in peerfold.rs (EV_*, ST_*: 1, 2, ...;
#: 0 for any other); after the events it reads, the warnings' (report.peers: their rows from the ids)
EVENTS = ("received", "queued", "delivery", "reject", "reject_warning", "filter_action", "removed",
          "warning", "auth_failure", "protocol_error", "dns")
STATUSES = ("client before queue", "sent", "deferred", "bounced", "warning", "hold", "discard", "non-smtp command")
_EV, _ST = ({n: i + 1 for i, n in enumerate(names)} for names in (EVENTS, STATUSES))
#: The columns a batch's rows are coded of (native/src/peerrows.rs): the six texts coded (each by
#: its own coded column), the queue id and the reply text
_ROW_TEXTS = ("program", "detail", "sender", "client_host", "client_ip", "recipient", "queue_id", "reply_text")
#: A program's class bits (peerfold.rs PROG_*): a Postfix daemon; smtpd or postscreen; cleanup; pickup; master
_PROG = ((1, None), (2, ("smtpd", "postscreen")), (4, ("cleanup",)), (8, ("pickup",)), (16, ("master",)))


def _ids(names: tuple[str, ...]) -> Any:
    ids = {n: i + 1 for i, n in enumerate(names)}
    return lambda a: {"id": np.array([ids.get(v, 0) for v in a.to_pylist()], dtype=np.uint8)}


def _program(a: pa.Array) -> dict[str, np.ndarray]:
    """pflogsumm's daemon of each program (:func:`analyzer.totals.pf_cmd`) and its class bits."""
    cmd = pd.Series(a.to_pylist(), dtype=object).astype(str).str.extract(_PF_CMD)["cmd"]
    cmd = cmd.astype(object).where(cmd.notna(), None).to_numpy()
    bits = np.zeros(len(cmd), dtype=np.uint8)
    for bit, names in _PROG:
        bits |= np.array([c is not None and (names is None or c in names) for c in cmd], dtype=bool) * np.uint8(bit)
    return {"bits": bits, "cmd": cmd}


def _detail(a: pa.Array) -> dict[str, np.ndarray]:
    """Whether a reject is plain (not a milter's or a proxy's)."""
    return {"plain": np.array([v not in ("milter-reject", "proxy-reject") for v in a.to_pylist()], dtype=bool)}


def _sender(senders: Any, a: pa.Array) -> dict[str, np.ndarray]:
    """Each sender's code in ``senders`` (pflogsumm's form) and whether it has no domain."""
    s = _pf_sender(a)
    return {"code": senders.encode(s), "bare": bare(s)}


def _bits(*masks: np.ndarray) -> np.ndarray:
    """Boolean masks as the bits 1, 2, 4 ... of one uint8 per row."""
    out = np.zeros(len(masks[0]), dtype=np.uint8)
    for i, m in enumerate(masks):
        out |= m.astype(np.uint8) << np.uint8(i)
    return out


def _by_codes(tests: Any, name: str, ids: dict[str, int]) -> np.ndarray | None:
    """``ids`` of each row's value of column ``name`` (0 for another or null) from the codes the
    batch's ``tests`` made of it; None where it made none."""
    coded = tests.cached_codes(name) if tests is not None else None
    if coded is None:
        return None
    distinct, codes = coded
    return np.array([ids.get(v, 0) for v in distinct], dtype=np.uint8)[codes]


def _hashes(qid: pa.Array, has: np.ndarray) -> np.ndarray:
    """The queue id's hash of the rows ``has`` (0 elsewhere)."""
    h = np.zeros(len(has), dtype=np.uint64)
    if has.any():
        h[has] = key_hash(qid.filter(pa.array(has)))
    return h


def _numbers(ev: Any, name: str, null: Any, kind: pa.DataType, at: np.ndarray) -> np.ndarray:
    """The rows ``at`` of a number column as numpy, null as ``null``."""
    return pc.fill_null(pc.cast(col(ev, name).take(pa.array(at)), kind), null).to_numpy(zero_copy_only=False)


def _forwarded(reply: pa.Array, rows: np.ndarray) -> np.ndarray:
    """Whether the reply of each of ``rows`` says 'forwarded as' (False elsewhere, and for a null reply)."""
    out = np.zeros(len(rows), dtype=bool)
    if rows.any():
        out[rows] = mask(pc.match_substring(reply.filter(pa.array(rows)), "forwarded as"))
    return out


class _State:
    """The native fold's state as ``PfFold``'s tables read it (its ``qids.column``)."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self._columns = columns

    def column(self, name: str) -> np.ndarray:
        return self._columns[name]


class _Agg:
    """A native aggregate (recipients or domains) as ``KeyAgg.result`` gives it."""

    def __init__(self, key: str, vocab: Any, codes: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        self.key, self.vocab, self.codes, self.columns = key, vocab, codes, columns

    def result(self) -> pd.DataFrame:
        keys = texts(self.vocab, self.codes) if len(self.codes) else pd.Series([], dtype=object)
        return pd.DataFrame({self.key: keys, **self.columns})


class NativePfFold(PfFold):
    """:class:`PfFold` whose :meth:`add` runs in Rust (``analyzer._native.PfFold``)."""

    def __init__(self, step: Any) -> None:
        _Fold.__init__(self)
        self.n = dict.fromkeys(self.COUNTS, 0)
        self.step = step
        # whether encode codes the rows in one native call (_coded_native), else by _coded (the
        # specification: tests/test_peer_rows.py)
        self.native_rows = getattr(native._module()[0], "encode_pf_rows", None) is not None
        # (the derivations hold the vocabularies, not the fold: no reference cycle through self)
        self.senders, self.clients = senders, clients = new_vocab(), new_vocab()
        self._rcpts, self._domains = rcpts, domains = new_vocab(), new_vocab()

        def coded(derive: Any, null: str | None = None) -> Derived:
            return Derived(derive, null)

        def recipient(a: pa.Array) -> dict[str, np.ndarray]:
            low = lower_domain(a)
            return {"rcpt": rcpts.encode(low), "domain": domains.encode(_pf_domain(low))}

        self.cols = {"program": coded(_program), "event": coded(_ids(EVENTS)), "status": coded(_ids(STATUSES)),
                     "detail": coded(_detail), "sender": coded(lambda a: _sender(senders, a), ""),
                     "client_host": coded(lambda a: {"unknown": mask(pc.is_in(a, pa.array(["", "unknown"]))),
                                                     "short": clients.encode(_client_domain(a, pa.nulls(len(a), pa.string())))}, ""),
                     "client_ip": coded(lambda a: {"code": clients.encode(a)}, ""),
                     "recipient": coded(recipient, ""),
                     "direction": coded(lambda a: {"out": mask(pc.equal(a, "outbound"))})}

    def add(self, ev: Any, f: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fold a flush of Postfix events; returns what the warnings and rejects read of it: the
        class masks, the event ids (and the events as a dictionary column), the daemons."""
        coded, f = self.encode(ev)
        self.fold([coded])
        return f

    def encode(self, ev: Any, rows: np.ndarray | None = None, tests: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The lines ``rows`` of ``ev`` (None: all) as :meth:`fold` reads them, each text by its
        code (the new texts derived at the fold: a stream batch's lines are coded where they lie,
        several batches folded at once), and what the warnings and rejects read of those lines
        (``at``: their rows in ``ev``; the others, each an entry per line). ``tests``: the batch's
        :class:`analyzer.anomalies.batch_tests.BatchTests`, whose codes of the few-valued columns
        (events, statuses, directions) are read where it made them (nothing hashed again)."""
        assert not self.done, "a fold gives its result once"
        c = self.cols
        event = _by_codes(tests, "event", _EV)
        if event is None:
            event = c["event"].values(c["event"].codes(col(ev, "event")))["id"]
        status = _by_codes(tests, "status", _ST)
        if status is None:
            status = c["status"](col(ev, "status"))["id"]
        n = len(event)
        at = np.arange(n) if rows is None else np.flatnonzero(rows)
        if rows is not None:
            event, status = np.where(rows, event, np.uint8(0)), np.where(rows, status, np.uint8(0))
        coded = (self._coded_native if self.native_rows else self._coded)(ev, at, event, status)
        bits, event, status = coded["prog"], coded["event"], coded["status"]
        seen = (bits & 1) > 0
        # the warnings' kinds (peerfold_warn.rs): generic, SASL failure (not outbound), non-SMTP command, DNS check
        sasl = event == _EV["auth_failure"]
        if sasl.any():
            out = _by_codes(tests, "direction", {"outbound": 1})
            outbound = c["direction"](col(ev, "direction").take(pa.array(at[sasl])))["out"] if out is None else out[at[sasl]] > 0
            sasl[sasl] = ~outbound
        kinds = np.select([event == _EV["warning"], sasl, (event == _EV["protocol_error"]) & (status == _ST["non-smtp command"]),
                           event == _EV["dns"]], [1, 2, 3, 4], 0).astype(np.uint8)
        return coded, {"at": at, "seen": seen, "smtpd": (bits & 2) > 0, "cleanup": (bits & 4) > 0, "cmd": coded.pop("cmd"),
                       "plain": coded.pop("plain"), "event_id": event, "warnings": seen & (event >= _EV["warning"]),
                       "warning_kinds": kinds}

    def _coded(self, ev: Any, at: np.ndarray, event: np.ndarray, status: np.ndarray) -> dict[str, Any]:
        """The rows ``at`` of ``ev`` as :meth:`fold` reads them (``event``, ``status``: the ids of
        every row, 0 off ``at``), with each row's daemon and whether a reject is plain."""
        c, rows = self.cols, np.zeros(len(event), dtype=bool)
        rows[at] = True
        prog = c["program"](col(ev, "program"), rows)
        qid = col(ev, "queue_id")
        has = valid(qid) & rows
        # each text read of the rows whose lines peerfold.rs reads it of only
        plain = c["detail"](col(ev, "detail"), event == _EV["reject"])["plain"]
        got = (event == _EV["received"]) | (status == _ST["client before queue"])
        delivery = event == _EV["delivery"]
        return {"prog": prog["bits"][at], "cmd": prog["cmd"][at], "plain": plain[at], "event": event[at],
                "status": status[at], "bits": _bits(has, plain)[at], "h": _hashes(qid, has)[at],
                "size": _numbers(ev, "size", 0, pa.int64(), at), "delay": _numbers(ev, "delay", 0.0, pa.float64(), at),
                "sender": c["sender"].codes(col(ev, "sender"), event == _EV["queued"])[at],
                "host": c["client_host"].codes(col(ev, "client_host"), got)[at],
                "ip": c["client_ip"].codes(col(ev, "client_ip"), got)[at],
                "rcpt": c["recipient"].codes(col(ev, "recipient"), delivery)[at],
                "forwarded": _forwarded(col(ev, "reply_text"), delivery & (status == _ST["sent"]))[at]}

    def _coded_native(self, ev: Any, at: np.ndarray, event: np.ndarray, status: np.ndarray) -> dict[str, Any]:
        """:meth:`_coded` in one native call (native/src/peerrows.rs): the rows read where they lie."""
        c = self.cols
        coded = [c[n] for n in _ROW_TEXTS[:6]]
        ev_at, st_at = event[at], status[at]
        codes, h, has, fwd = native._module()[0].encode_pf_rows(
            [d.vocab._v for d in coded], [_strings(_texts(col(ev, n))) for n in _ROW_TEXTS],
            at.astype(np.int64), ev_at, st_at)
        codes = [np.frombuffer(b, dtype=np.int64) for b in codes]
        prog, plain = coded[0].values(codes[0]), coded[1].values(codes[1])["plain"]
        return {"prog": prog["bits"], "cmd": prog["cmd"], "plain": plain, "event": ev_at, "status": st_at,
                "bits": _bits(np.frombuffer(has, dtype=bool), plain), "h": np.frombuffer(h, dtype=np.uint64),
                "size": _numbers(ev, "size", 0, pa.int64(), at), "delay": _numbers(ev, "delay", 0.0, pa.float64(), at),
                "sender": codes[2], "host": codes[3], "ip": codes[4], "rcpt": codes[5],
                "forwarded": np.frombuffer(fwd, dtype=bool)}

    def fold(self, parts: list[dict[str, Any]]) -> None:
        """Fold the lines :meth:`encode` coded (``parts``, in their order) in one native call."""
        assert not self.done, "a fold gives its result once"
        r = {k: np.concatenate([p[k] for p in parts]) if len(parts) > 1 else parts[0][k] for k in parts[0]}
        c, i32 = self.cols, np.int32
        # the new texts derived in the order the Python fold derives them: clients (names, then
        # addresses: one vocabulary), recipients, senders
        host, ip = c["client_host"].values(r["host"]), c["client_ip"].values(r["ip"])
        rcpt = c["recipient"].values(r["rcpt"])
        sender = c["sender"].values(r["sender"])
        bits = r["bits"] | (sender["bare"].astype(np.uint8) << np.uint8(2))  # peerfold.rs BIT_BARE
        sender = sender["code"]
        reply = pc.if_else(pa.array(r["forwarded"]), pa.scalar("forwarded as"), pa.scalar(None, pa.string()))
        self.step.add(r["prog"], r["event"], r["status"], bits, r["h"], np.ascontiguousarray(r["size"], dtype=np.int64),
                      sender.astype(i32), np.where(host["unknown"], ip["code"], host["short"]).astype(i32),
                      rcpt["rcpt"].astype(i32), rcpt["domain"].astype(i32), np.ascontiguousarray(r["delay"], dtype=np.float64),
                      _strings(_texts(reply)))

    def _finish_more(self) -> None:
        s = self.step
        s.finish()
        self.n = dict(zip(self.COUNTS, s.counts(), strict=True))
        flags, size, sender, client = (np.frombuffer(b, dtype=t) for b, t in zip(
            s.qids(), (np.uint8, np.int64, np.int32, np.int32), strict=True))
        self.qids = _State({"flags": flags, "size": size, "sender": sender, "client": client})  # type: ignore[assignment]
        *got, deferred = s.ended()
        self.ended = Ended()
        self.ended.held(*(np.frombuffer(b, dtype=t) for b, t in zip(got, (np.int32, np.int64, np.int64, np.int32, np.int32),
                                                                    strict=True)), deferred)

        def agg(domains: bool) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
            codes, ints, sums, maxs = s.agg(domains)
            return (np.frombuffer(codes, dtype=np.int32), [np.frombuffer(v, dtype=np.int64) for v in ints],
                    np.frombuffer(sums, dtype=np.float64), np.frombuffer(maxs, dtype=np.float64))

        codes, ints, _, _ = agg(False)
        self.recipients = _Agg("recipient", self._rcpts, codes, {"messages": ints[0], "bytes": ints[1]})  # type: ignore[assignment]
        codes, ints, sums, maxs = agg(True)
        self.domains = _Agg("domain", self._domains, codes, {"sent": ints[0], "bytes": ints[1], "defers": ints[2],  # type: ignore[assignment]
                                                             "delay_sum": sums, "max_delay": maxs})


def warning_texts(ev: Any, f: dict[str, Any]) -> tuple[np.ndarray, pa.Array]:
    """The warning lines of the lines :meth:`NativePfFold.encode` read (``f``: a mask over them)
    and their texts (``report.peers._pf_warning_text``'s, built in Rust: native/src/peerfold_warn.rs)."""
    rows = f["warnings"]
    at = f["at"][rows]
    cols = [_strings(_texts(col(ev, n))) for n in ("detail", "client_host", "client_ip", "queue_id", "sasl_username",
                                                     "reply_text")]
    off, data, bits, nulls = native._module()[0].warning_texts(at.astype(np.int64), f["warning_kinds"][rows], cols)
    validity = pa.py_buffer(bits) if nulls else None
    return rows, pa.Array.from_buffers(pa.large_string(), len(at), [validity, pa.py_buffer(off), pa.py_buffer(data)], nulls)


def native_pf_fold() -> NativePfFold | None:
    """A new :class:`NativePfFold` where the native engine runs (and the build has it), else None."""
    if native.engine() != "native" or native_vocab() is None:
        return None
    step = native._built("PfFold")
    return None if step is None else NativePfFold(step)
