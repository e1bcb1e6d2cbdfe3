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
from .peer_folds import PfFold, _Fold, _pf_domain, _pf_sender
from .peer_vocab import _strings, _texts, native_vocab
from .totals import _PF_CMD, _client_domain, col, lower_domain, mask, valid

__all__ = ["EVENTS", "STATUSES", "NativePfFold", "native_pf_fold", "warning_texts"]

#: The events and statuses the fold tells apart, by their ids in peerfold.rs (EV_*, ST_*: 1, 2, ...;
#: 0 for any other); after the events it reads, the warnings' (report.peers: their rows from the ids)
EVENTS = ("received", "queued", "delivery", "reject", "reject_warning", "filter_action",
          "warning", "auth_failure", "protocol_error", "dns")
STATUSES = ("client before queue", "sent", "deferred", "bounced", "warning", "hold", "discard", "non-smtp command")
_EV, _ST = ({n: i + 1 for i, n in enumerate(names)} for names in (EVENTS, STATUSES))
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


def _bits(*masks: np.ndarray) -> np.ndarray:
    """Boolean masks as the bits 1, 2, 4 ... of one uint8 per row."""
    out = np.zeros(len(masks[0]), dtype=np.uint8)
    for i, m in enumerate(masks):
        out |= m.astype(np.uint8) << np.uint8(i)
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
        self.senders, self.clients = new_vocab(), new_vocab()
        self._rcpts, self._domains = new_vocab(), new_vocab()

        def coded(derive: Any, null: str | None = None) -> Derived:
            return Derived(derive, null)

        def recipient(a: pa.Array) -> dict[str, np.ndarray]:
            low = lower_domain(a)
            return {"rcpt": self._rcpts.encode(low), "domain": self._domains.encode(_pf_domain(low))}

        self.cols = {"program": coded(_program), "event": coded(_ids(EVENTS)), "status": coded(_ids(STATUSES)),
                     "detail": coded(_detail), "sender": coded(lambda a: {"code": self.senders.encode(_pf_sender(a))}, ""),
                     "client_host": coded(lambda a: {"unknown": mask(pc.is_in(a, pa.array(["", "unknown"]))),
                                                     "short": self.clients.encode(_client_domain(a, pa.nulls(len(a), pa.string())))}, ""),
                     "client_ip": coded(lambda a: {"code": self.clients.encode(a)}, ""),
                     "recipient": coded(recipient, ""),
                     "direction": coded(lambda a: {"out": mask(pc.equal(a, "outbound"))})}

    def add(self, ev: Any, f: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fold a flush of Postfix events; returns what the warnings and rejects read of it: the
        class masks, the event ids (and the events as a dictionary column), the daemons."""
        assert not self.done, "a fold gives its result once"
        c = self.cols
        prog = c["program"](col(ev, "program"))
        events = c["event"].codes(col(ev, "event"))
        event = c["event"].values(events)["id"]
        status = c["status"](col(ev, "status"))["id"]
        qid = col(ev, "queue_id")
        has = valid(qid)
        h = np.zeros(len(has), dtype=np.uint64)
        if has.any():
            h[has] = key_hash(qid.filter(pa.array(has)))
        # each text read of the rows whose lines peerfold.rs reads it of only
        plain = c["detail"](col(ev, "detail"), event == _EV["reject"])["plain"]
        got = (event == _EV["received"]) | (status == _ST["client before queue"])
        host, ip = c["client_host"](col(ev, "client_host"), got), c["client_ip"](col(ev, "client_ip"), got)
        rcpt = c["recipient"](col(ev, "recipient"), event == _EV["delivery"])
        size = pc.fill_null(col(ev, "size"), 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        delay = pc.fill_null(pc.cast(col(ev, "delay"), pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        i32 = np.int32
        self.step.add(prog["bits"], event, status, _bits(has, plain),
                      h, np.ascontiguousarray(size, dtype=np.int64), c["sender"](col(ev, "sender"), event == _EV["queued"])["code"].astype(i32),
                      np.where(host["unknown"], ip["code"], host["short"]).astype(i32), rcpt["rcpt"].astype(i32),
                      rcpt["domain"].astype(i32), np.ascontiguousarray(delay, dtype=np.float64), _strings(_texts(col(ev, "reply_text"))))
        bits = prog["bits"]
        seen = (bits & 1) > 0
        # the warnings' kinds (peerfold_warn.rs): generic, SASL failure (not outbound), non-SMTP command, DNS check
        sasl = event == _EV["auth_failure"]
        sasl[sasl] = ~c["direction"](col(ev, "direction"), sasl)["out"][sasl]
        kinds = np.select([event == _EV["warning"], sasl, (event == _EV["protocol_error"]) & (status == _ST["non-smtp command"]),
                           event == _EV["dns"]], [1, 2, 3, 4], 0).astype(np.uint8)
        return {"seen": seen, "smtpd": (bits & 2) > 0, "cleanup": (bits & 4) > 0, "cmd": prog["cmd"], "plain": plain,
                "event_id": event, "warnings": seen & (event >= _EV["warning"]), "warning_kinds": kinds}

    def _finish_more(self) -> None:
        s = self.step
        s.finish()
        self.n = dict(zip(self.COUNTS, s.counts(), strict=True))
        flags, size, sender, client = (np.frombuffer(b, dtype=t) for b, t in zip(
            s.qids(), (np.uint8, np.int64, np.int32, np.int32), strict=True))
        self.qids = _State({"flags": flags, "size": size, "sender": sender, "client": client})  # type: ignore[assignment]

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
    """The warning lines of a flush :meth:`NativePfFold.add` read (``f``) and their texts
    (``report.peers._pf_warning_text``'s, built in Rust: native/src/peerfold_warn.rs)."""
    rows = f["warnings"]
    at = np.flatnonzero(rows)
    cols = [_strings(_texts(col(ev, n))) for n in ("detail", "client_host", "client_ip", "queue_id", "sasl_username",
                                                     "reply_text")]
    off, data, bits, nulls = native._module()[0].warning_texts(at.astype(np.int64), f["warning_kinds"][at], cols)
    validity = pa.py_buffer(bits) if nulls else None
    return rows, pa.Array.from_buffers(pa.large_string(), len(at), [validity, pa.py_buffer(off), pa.py_buffer(data)], nulls)


def native_pf_fold() -> NativePfFold | None:
    """A new :class:`NativePfFold` where the native engine runs (and the build has it), else None."""
    if native.engine() != "native" or native_vocab() is None:
        return None
    step = native._built("PfFold")
    return None if step is None else NativePfFold(step)
