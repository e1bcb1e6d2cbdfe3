"""The peers' sections: what pflogsumm (Postfix) and eximstats (Exim) show, with their definitions.

:func:`peer_sections` builds the report's ``peers`` list from the event table: byte volumes,
senders and recipients by count and by size, the per-domain delivery summary with average and
maximum delay, warnings grouped by daemon and text, rejects grouped by kind and reason (pflogsumm);
byte volumes, sending hosts and destinations by count and volume, deliveries by transport, relayed
messages, time on the queue and rejects by kind (eximstats). Each section names the peer's section,
says what it counts and, where maillens counts differently, how (``difference``).
``tests/test_peers_*.py`` run both tools on the same logs and hold the figures equal.

The full tables come from :func:`pflogsumm_tables` and :func:`eximstats_tables` (what the tests
compare); the report shows the top rows of each with "and N more". Everything is vectorised: masks,
group-bys and RE2 rewrites (pyarrow) over the event table, no Python loop per line.

:func:`text_lines`, :func:`markdown_lines` and :func:`html_fragment` render the sections for the
text, Markdown and HTML reports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..later import Later
from ..peer_agg import KeyAgg
from ..peer_agg import rank as _rank
from ..peer_ex_rejects import ExRejects, ex_reject_rows
from ..peer_folds import QUEUE_BUCKETS, ExFold, PfFold
from ..peer_native import native_pf_fold, warning_texts
from ..peer_native_exim import NativeExFold, native_ex_fold
from ..totals import (
    by_mta,
    col,
    eq,
    ex_fold,
    ex_frame,
    isin,
    peer_totals_of,
    pf_fold,
    pf_frame,
    valid,
)
from .peers_held import MTA_COLUMNS, MTA_EVENTS, PF_WARNING_EVENTS, rows_by_mta, selected
from .peers_pf_rejects import NativeRejects, _pf_reject_rows

__all__ = ["MTA_COLUMNS", "MTA_EVENTS", "QUEUE_BUCKETS", "TOP", "PeersFold", "WindowPeersFold", "eximstats_tables", "peer_report", "peer_sections", "pflogsumm_tables"]

#: Rows shown per section (per kind for the reject sections); the rest is "and N more".
TOP = 10
#: pflogsumm cuts warning texts to 66 characters (63 and "..."); maillens groups by the whole text.
PF_WARNING_WIDTH = 66


# --------------------------------------------------------------------------------------------
# pflogsumm


#: The events that Postfix 'warning:' lines become (the generic one and those parsed further).
_PF_WARNING_EVENTS = list(PF_WARNING_EVENTS)


def _join(*parts: Any) -> pa.Array:
    """The strings of each row joined, null where a part is null."""
    return pc.binary_join_element_wise(*parts, "")


def _pf_warning_text(ev: pd.DataFrame, rows: np.ndarray) -> pa.Array:
    """The text after 'warning: ' of the warning lines among ``rows`` (null for the others), rebuilt
    from the fields for the warnings maillens parses into an event of their own (Arrow kernels)."""
    m = pa.array(rows)
    event, status, detail, host, ip, qid, user, reply, direction = (col(ev, n).filter(m).cast(pa.string()) for n in (
        "event", "status", "detail", "client_host", "client_ip", "queue_id", "sasl_username", "reply_text", "direction"))
    has_host, has_ip, has_detail = valid(host), valid(ip), valid(detail)
    host_, ip_, tail = pc.fill_null(host, ""), pc.fill_null(ip, ""), pc.fill_null(detail, "")
    client = _join(pc.fill_null(host, "unknown"), "[", ip_, "]")
    dns = eq(event, "dns")
    sasl = _join(client, ": SASL ", tail, " authentication failed: ", pc.fill_null(reply, ""),
                 pc.fill_null(_join(", sasl_username=", user), ""))
    text = pa.nulls(len(event), pa.string())
    for where, value in (
            (eq(event, "warning") & has_detail, _join(pc.fill_null(_join(qid, ": "), ""), tail)),
            (eq(event, "auth_failure") & ~eq(direction, "outbound") & has_detail, sasl),
            (eq(event, "protocol_error") & eq(status, "non-smtp command"), _join("non-SMTP command from ", client, ": ", tail)),
            # smtpd's reverse-DNS checks: 'hostname H does not resolve to address A...', 'address not
            # listed for hostname H...', 'A: hostname/address ...'
            (dns & has_host & has_ip, _join("hostname ", host_, " does not resolve to address ", ip_, tail)),
            (dns & has_host & ~has_ip, _join("address not listed for hostname ", host_, tail)),
            (dns & ~has_host & has_ip, _join(ip_, ": ", tail))):
        if where.any():
            text = pc.if_else(pa.array(where), value, text)
    # pflogsumm keeps what follows the last 'warning: ' of the line (each distinct text rewritten once)
    enc = pc.dictionary_encode(text)
    kept = pc.replace_substring_regex(enc.dictionary, pattern=r"^.*warning: ", replacement="", max_replacements=1)
    return kept.take(enc.indices)


def _pf_warning_rows(ev: pd.DataFrame, f: dict[str, Any]) -> list[Any]:
    """The daemon and the text of each warning line (what :func:`_pf_warnings` counts)."""
    if "warning_kinds" in f:  # a native fold step's (analyzer.peer_native)
        rows, text = warning_texts(ev, f)
    else:
        rows = f["seen"] & isin(f["event"], _PF_WARNING_EVENTS)
        text = _pf_warning_text(ev, rows)
    keep = valid(text)
    return [f["cmd"][rows][keep].astype(str), text.filter(pa.array(keep))]


def _counted(keys: list[str], rows: list[Any]) -> pd.DataFrame:
    """Lines per key (``count``), keys in first-seen order."""
    agg = KeyAgg(keys, {"count": "sum"})
    agg.add(rows, count=1)
    return agg.result()


def _pf_warnings(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    return _counted(["daemon", "text"], _pf_warning_rows(ev, f))


def _pf_rejects(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """pflogsumm's "message reject detail": :func:`_pf_reject_rows` counted."""
    return _counted(["kind", "reason"], _pf_reject_rows(ev, f))


def _pf_ranked(fold: PfFold, warnings: pd.DataFrame, rejects: pd.DataFrame,
               top: int | None = None) -> dict[str, pd.DataFrame]:
    """pflogsumm's tables, ranked, from a finished fold and the grouped warnings and rejects (the
    tables of entities only their ``top`` rows, when given: :func:`_rank`)."""
    t = fold.tables()
    senders, recipients = t["senders"], t["recipients"]
    volumes = pd.DataFrame({"measure": ["bytes received", "bytes delivered"],
                            "value": [int(senders["bytes"].sum()), int(recipients["bytes"].sum())]})
    return {
        "volumes": volumes,
        "senders_by_count": _rank(senders, ["messages", "bytes"], "sender", top),
        "senders_by_size": _rank(senders, ["bytes", "messages"], "sender", top),
        "recipients_by_count": _rank(recipients, ["messages", "bytes"], "recipient", top),
        "recipients_by_size": _rank(recipients, ["bytes", "messages"], "recipient", top),
        "domains": _rank(t["domains"], ["sent", "bytes"], "domain", top),
        "warnings": warnings.astype({"count": "int64"}).sort_values(
            ["daemon", "count", "text"], ascending=[True, False, True], kind="stable").reset_index(drop=True),
        "rejects": rejects.astype({"count": "int64"}).sort_values(
            ["kind", "count", "reason"], ascending=[True, False, True], kind="stable").reset_index(drop=True),
    }


def pflogsumm_tables(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The full pflogsumm tables of the Postfix events (uncapped, what the tests compare)."""
    f = pf_frame(events)
    return _pf_ranked(pf_fold(events), _pf_warnings(events, f), _pf_rejects(events, f))


# --------------------------------------------------------------------------------------------
# eximstats


def _ex_rejects(ev: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """Our rejects (rejected MAIL/RCPT/DATA/connection/HELO) by the command rejected and the reason
    Exim logged (its text up to the next colon, as eximstats cuts it)."""
    return _counted(["kind", "reason"], ex_reject_rows(ev, f))


def _ex_ranked(fold: ExFold, rejects: pd.DataFrame, top: int | None = None) -> dict[str, pd.DataFrame]:
    """eximstats' tables, ranked, from a finished fold and the grouped rejects (``top``: as
    :func:`_pf_ranked`)."""
    t = fold.tables()
    sources, dest = t["sources"], t["destinations"]
    volumes = pd.DataFrame({"measure": ["bytes received", "bytes delivered"],
                            "value": [int(sources["bytes"].sum()), int(dest["bytes"].sum())]})
    return {
        "volumes": volumes,
        "sources_by_count": _rank(sources, ["messages", "bytes"], "host", top),
        "sources_by_volume": _rank(sources, ["bytes", "messages"], "host", top),
        "destinations_by_count": _rank(dest, ["messages", "bytes"], "host", top),
        "destinations_by_volume": _rank(dest, ["bytes", "messages"], "host", top),
        "local_destinations": _rank(t["local_destinations"], ["messages", "bytes"], "recipient", top),
        "transports": t["transports"],
        "relayed": fold.relayed_ranked(top),
        "queue_times": t["queue_times"],
        "rejects": rejects.astype({"count": "int64"}).sort_values(
            ["kind", "count", "reason"], ascending=[True, False, True], kind="stable").reset_index(drop=True),
    }


def eximstats_tables(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The full eximstats tables of the Exim events (uncapped, what the tests compare)."""
    return _ex_ranked(ex_fold(events), _ex_rejects(events, ex_frame(events)))


# --------------------------------------------------------------------------------------------
# the report's sections

#: Column labels where they differ from the row key.
#: (Definitions never pair a '<' with a later '>': --redact would read that as an address.)
_LABELS = {"avg_delay": "avg delay s", "max_delay": "max delay s", "text": "warning", "count": "lines",
           "value": "bytes", "remote_messages": "with a remote delivery", "remote_share": "share",
           "time": "time on queue", "from": "from host and sender", "to": "to host and recipient"}


def _cols(*keys: str) -> list[dict[str, str]]:
    """Columns (``key``, ``label``) from row keys, ``"key=label"`` where the label is not the usual one."""
    out = []
    for k in keys:
        key, _, label = k.partition("=")
        out.append({"key": key, "label": label or _LABELS.get(key, key)})
    return out


#: Per section: (id, peer section title, our title, columns, definition, difference from the peer or None)
PF_SECTIONS: tuple[tuple[str, str, str, list[dict[str, str]], str, str | None], ...] = (
    ("volumes", "Grand Totals: bytes received, bytes delivered", "Byte volumes",
     _cols("measure", "value"),
     "bytes received: the first qmgr size= of each queue id received (smtpd client= or pickup) in the logs read; "
     "bytes delivered: that size once per status=sent line (forwards excluded)", None),
    ("senders_by_count", "Senders by message count", "Senders by message count",
     _cols("sender", "messages", "bytes"),
     "messages received in the logs read, by envelope sender (domain lower-cased, from=<> for the null sender)",
     None),
    ("senders_by_size", "Senders by message size", "Senders by message size",
     _cols("sender", "bytes", "messages"),
     "the sizes of those messages summed per sender", None),
    ("recipients_by_count", "Recipients by message count", "Recipients by message count",
     _cols("recipient", "messages=deliveries", "bytes"),
     "status=sent lines (not forwards) by recipient (domain lower-cased): one per recipient and delivery", None),
    ("recipients_by_size", "Recipients by message size", "Recipients by message size",
     _cols("recipient", "bytes", "messages=deliveries"),
     "the message size (qmgr size=, 0 when not in the logs) summed over those lines", None),
    ("domains", "Host/Domain Summary: Message Delivery", "Deliveries by recipient domain",
     _cols("domain", "sent", "bytes", "defers", "avg_delay", "max_delay"),
     "per recipient domain: status=sent lines, their bytes, status=deferred lines, the average delay= of the "
     "sent lines and the largest delay= of sent and deferred lines (seconds)",
     "delays in seconds (the JSON to the millisecond); pflogsumm prints minutes or hours above 60 s"),
    ("warnings", "Warnings", "Warnings by daemon and text",
     _cols("daemon", "text", "count"),
     "'warning:' lines of each Postfix daemon, grouped by the text after 'warning: '",
     f"maillens groups by the whole text (pflogsumm by its first {PF_WARNING_WIDTH - 3} characters); "
     "warnings parsed into an event of their own are rebuilt from its fields (SASL failures, non-SMTP "
     "commands, hostname/address checks); TLS library and bare-LF warnings are left out; a warning "
     "with a queue id is counted as 'warning: QID: text' (pflogsumm skips 'QID: warning: text')"),
    ("rejects", "message reject detail", "Rejects by kind and reason",
     _cols("kind", "reason", "count"),
     "smtpd/postscreen reject lines by the rejected command (RCPT, MAIL, CONNECT, DATA, END-OF-MESSAGE) and "
     "pflogsumm's reason (the reply text cut by its rules); cleanup rejects under 'cleanup' by header/body",
     "HELO and EHLO rejects share one kind, HELO/EHLO; for kinds other than RCPT, MAIL, CONNECT and DATA "
     "pflogsumm's reason is the envelope tail (from=, to=, proto=): maillens cuts the reply text as for RCPT"),
)

EX_SECTIONS: tuple[tuple[str, str, str, list[dict[str, str]], str, str | None], ...] = (
    ("volumes", "Grand total summary: Received/Delivered Volume", "Byte volumes",
     _cols("measure", "value"),
     "bytes received: S= of the arrival lines; bytes delivered: the message's S= once per delivery "
     "line ('=>')", None),
    ("sources_by_count", "Top sending hosts by message count", "Sending hosts by message count",
     _cols("host", "messages", "bytes"),
     "'<=' lines by the first word of H= (name, (helo) or [ip]); 'local' without H=", None),
    ("sources_by_volume", "Top sending hosts by volume", "Sending hosts by volume",
     _cols("host", "bytes", "messages"),
     "S= of those lines summed per host", None),
    ("destinations_by_count", "Top host destinations by message count", "Destination hosts by message count",
     _cols("host", "messages", "addresses", "bytes"),
     "'=>' lines (messages; with '->' lines: addresses) by H= host, 'local' without one; bytes: the message's "
     "S= once per '=>' line", None),
    ("destinations_by_volume", "Top host destinations by volume", "Destination hosts by volume",
     _cols("host", "bytes", "messages", "addresses"),
     "the same, largest volume first", None),
    ("local_destinations", "Top local destinations by message count", "Local destinations",
     _cols("recipient=address", "messages", "addresses", "bytes"),
     "'=>' lines (messages; with '->' lines: addresses) without a remote host by address as logged (pipes "
     "and files with their parent address)", None),
    ("transports", "Deliveries by transport", "Deliveries by transport",
     _cols("transport", "messages", "bytes"),
     "'=>' lines by transport, :blackhole: for deliveries without one",
     "maillens does not keep the transport's name (T=): transports are grouped as remote (smtp: a T= "
     "naming smtp), local (the others) and :blackhole:"),
    ("relayed", "Relayed messages", "Relayed messages",
     _cols("from", "to", "count=messages"),
     "remote '=>' deliveries of messages received from a remote host in the logs read, the address unchanged "
     "(no alias), by sending host and sender, receiving host and recipient (lower-cased)", None),
    ("queue_times", "Time spent on the queue", "Time on the queue",
     _cols("time", "messages=all messages", "share", "remote_messages", "remote_share"),
     "per 'Completed' line: its time minus the message's arrival ('<=' line, else the time in the message id); "
     "all messages, and those with at least one remote delivery", None),
    ("rejects", "Top mail rejection reasons by message count", "Rejects by kind and reason",
     _cols("kind", "reason", "count"),
     "our rejected MAIL/RCPT/DATA/connection/HELO lines by the command rejected and the reason up to its "
     "first colon",
     "eximstats puts all reasons in one list and also counts synchronization errors, drops, blackhole "
     "deliveries and remote servers' replies that mention 'rejected'/'refused'/'dropped', and files any "
     "reason naming SpamAssassin under 'Rejected by SpamAssassin'; maillens groups by "
     "the rejected command and leaves those out (their totals are in peer_totals)"),
)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict("records"):
        out.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out


def _cap(df: pd.DataFrame, group: str | None, top: int) -> pd.DataFrame:
    if group is None:
        return df.head(top)
    return df[df.groupby(group, sort=False).cumcount() < top]


def _sections(mta: str, peer: str, tables: dict[str, pd.DataFrame], spec: tuple[Any, ...], top: int) -> list[dict[str, Any]]:
    out = []
    for key, peer_title, title, columns, definition, difference in spec:
        df = tables[key]
        if key != "volumes" and df.empty:
            continue
        total = int(df.attrs.get("rows_total", len(df)))  # a table ranked to its top rows says how many it had
        shown = df if key in ("volumes", "queue_times", "transports") else \
            _cap(df, {"warnings": "daemon", "rejects": "kind"}.get(key), top)
        out.append({"id": f"{peer}.{key}", "mta": mta, "peer": peer, "peer_title": peer_title, "title": title,
                    "definition": definition, "difference": difference, "columns": columns,
                    "rows": _records(shown[[c["key"] for c in columns]]), "rows_total": total,
                    "more": total - len(shown)})
    return out


def peer_sections(events: pd.DataFrame, top: int = TOP) -> list[dict[str, Any]]:
    """The report's ``peers`` list: pflogsumm's sections for the Postfix events, eximstats' for the
    Exim events, each the top ``top`` rows (per daemon / kind where grouped) with ``more`` left out."""
    if not len(events):
        return []
    parts = by_mta(events)  # the same tables analyzer.totals reads: their folds are computed once
    out: list[dict[str, Any]] = []
    if "postfix" in parts:
        out += _sections("postfix", "pflogsumm", pflogsumm_tables(parts["postfix"]), PF_SECTIONS, top)
    if "exim" in parts:
        out += _sections("exim", "eximstats", eximstats_tables(parts["exim"]), EX_SECTIONS, top)
    return out


def _pf_fold() -> PfFold:
    """pflogsumm's fold: its step in Rust where the native engine runs (:mod:`analyzer.peer_native`)."""
    fold = native_pf_fold()
    if fold is None:
        return PfFold()
    fold.rejects = NativeRejects()
    return fold


def _native_steps() -> bool:
    """Whether both MTAs' fold steps are native (:func:`_pf_fold`, :func:`_ex_fold`): they read a
    batch's rows where they lie (``sel``)."""
    from .. import native

    if native.engine() != "native":
        return False
    mod = native._module()[0]
    return all(getattr(mod, name, None) is not None for name in ("PfFold", "ExFold", "Vocab"))


def _ex_fold() -> ExFold:
    """eximstats' fold: its step in Rust where the native engine runs (:mod:`analyzer.peer_native_exim`)."""
    return native_ex_fold() or ExFold()


class PeersFold:
    """The report's ``peer_totals`` and ``peers`` folded batch by batch (the fold protocol of
    :mod:`analyzer.report.fold`: :meth:`add` each batch of classified events, then :meth:`result`
    once). Memory: the queue ids' state and the aggregates of :mod:`analyzer.peer_folds`, the
    warnings and rejects grouped by text; the result equals :func:`peer_sections` and
    :func:`analyzer.totals.peer_section` of the whole table."""

    def __init__(self, top: int = TOP) -> None:
        self.top = top
        self.pf: PfFold | None = None
        self.ex: ExFold | None = None
        self.pf_warnings = KeyAgg(["daemon", "text"], {"count": "sum"})
        self.pf_rejects = KeyAgg(["kind", "reason"], {"count": "sum"})
        self.ex_rejects = KeyAgg(["kind", "reason"], {"count": "sum"})
        self.ex_coded: ExRejects | bool | None = None  # (ExRejects where the Exim fold's step is native)

    def add(self, batch: pd.DataFrame) -> None:
        if not len(batch):
            return
        self._add_parts(by_mta(batch))

    def _add_parts(self, parts: dict[str, Any], sel: np.ndarray | None = None) -> None:
        """Fold each MTA's table of ``parts`` (``sel``: the rows of the Exim table folded, read
        where they lie by the native step; None: all)."""
        if "postfix" in parts:
            ev = parts["postfix"]
            self.pf = self.pf or _pf_fold()
            f = self.pf.add(ev)
            self.pf_warnings.add(_pf_warning_rows(ev, f), count=1)
            if self.pf.rejects is not None:  # a native step's
                self.pf.rejects.add(ev, f)
            else:
                self.pf_rejects.add(_pf_reject_rows(ev, f), count=1)
        if "exim" in parts:
            ev = parts["exim"]
            self.ex = self.ex or _ex_fold()
            f = self.ex.add(ev) if sel is None else self.ex.add(ev, sel=sel)  # type: ignore[call-arg]
            if self.ex_coded is None:  # the Exim fold's step is native: its rejects read by their codes
                self.ex_coded = ExRejects() if isinstance(self.ex, NativeExFold) else False
            if self.ex_coded:
                self.ex_coded.add(ev, f)
            else:
                self.ex_rejects.add(ex_reject_rows(ev, f), count=1)

    def result(self) -> dict[str, list[dict[str, Any]]]:
        """``{"peer_totals": ..., "peers": ...}`` as the report holds them."""
        peers: list[dict[str, Any]] = []
        totals: dict[str, dict[str, int]] = {}
        if self.pf is not None:
            rejects = self.pf_rejects if self.pf.rejects is None else self.pf.rejects.agg
            peers += _sections("postfix", "pflogsumm", _pf_ranked(self.pf, self.pf_warnings.result(),
                                                                 rejects.result(), self.top),
                                PF_SECTIONS, self.top)
            totals["pflogsumm"] = self.pf.totals()
        if self.ex is not None:
            rejects = self.ex_coded.agg if self.ex_coded else self.ex_rejects
            peers += _sections("exim", "eximstats", _ex_ranked(self.ex, rejects.result(), self.top), EX_SECTIONS, self.top)
            totals["eximstats"] = self.ex.totals()
        return {"peer_totals": peer_totals_of(totals), "peers": peers}


class WindowPeersFold(PeersFold):
    """:class:`PeersFold` as a report section (:func:`analyzer.report.fold.register_section`): it
    folds the lines of the window that the report keeps as rows (not the lines only counted,
    :func:`analyzer.anomalies.aggregates.is_bulk`), so that its result is :func:`peer_report` of
    the window's rows, without holding them. The lines are handed on :data:`FLUSH_ROWS` at a time:
    the peers' fold costs mostly per call (masks, group-bys), so a few large calls cost less than
    one per stream batch; memory stays bounded by twice that many rows (one flush folded on the
    fold's thread while the next is gathered, :meth:`_flush`)."""

    takes_bulk = True  # (analyzer.report.run.ReportFold passes each batch's is_bulk mask as ``bulk``)
    FLUSH_ROWS = 50_000  # (lines held before they are folded)
    #: The native coded Postfix lines held before they are folded (:meth:`_fold_batch`; 50k: the 10M peak +12 MiB)
    PF_FLUSH_ROWS = 20_000
    #: The columns the peers' folds read (:data:`MTA_COLUMNS`): only those are held.
    COLUMNS = tuple(dict.fromkeys(c for cols in MTA_COLUMNS.values() for c in cols))

    def __init__(self, window: Any, top: int = TOP) -> None:
        super().__init__(top)
        self.window = window
        self._held: list[pd.DataFrame] = []
        self._rows = 0
        self._pool: Any = None  # the fold's thread (_flush), and the flush it folds
        self._pending: Any = None
        # where the native folds run, each stream batch is handed to the fold's thread as it is
        # (_fold_batch): its jobs under way; the Postfix lines held there until a flush
        self._by_rows = _native_steps()
        self._jobs: deque[Future] = deque()
        self._pf_held: list[dict[str, Any]] = []  # the Postfix lines coded (NativePfFold.encode), folded at a flush
        self._pf_rows = 0

    def add(self, batch: pd.DataFrame, bulk: np.ndarray | None = None) -> None:
        from ..anomalies.aggregates import in_window, is_bulk
        from ..anomalies.batch_tests import tests_of

        # the Bulk's lines left out, but a message's 'removed' line (Postfix's is one of them): the
        # peers' fold lets go of its slot there (analyzer.peer_ended)
        bulk = is_bulk(batch) if bulk is None else bulk
        if bulk.any():
            t = tests_of(batch)
            bulk = bulk & ~(t.eq("event", "removed") & t.notnull("queue_id"))
        keep = ~bulk & in_window(batch["ts"], self.window)
        if not keep.any():
            return
        cols = [c for c in self.COLUMNS if c in batch.columns]
        table = batch.__dict__.get("arrow")  # a stream batch's own Arrow table (report.fold._Batch): no Series
        if table is not None and self._by_rows:
            self._fold_rows(table.select(cols), keep, batch.__dict__.get("_tests"))
            return
        series = [] if table is not None else [batch[c] for c in cols]
        if all(isinstance(s.dtype, pd.ArrowDtype) for s in series):  # (not batch.dtypes: a Series per call)
            # Arrow-backed: the rows kept by one Arrow filter of the table (not a pandas take per
            # column), made at once on the fold's thread, not the report's main
            t = table.select(cols) if table is not None else \
                pa.Table.from_arrays([s.array.__arrow_array__() for s in series], names=cols)
            self._held.append(self._thread().submit(self._kept, t, None if keep.all() else pa.array(keep),
                                                    batch.__dict__.get("_tests") if table is not None else None))
        else:
            self._held.append(batch[cols] if keep.all() else batch.loc[keep, cols])
        self._rows += int(keep.sum())
        if self._rows >= self.FLUSH_ROWS:
            self._flush()

    #: Batches handed to the fold's thread and not yet folded, at most (then this one waits): each
    #: holds its stream batch's table (a spool file mapped, ~7 MiB at the 10M-line Postfix day); 4
    #: (the slack of the flushes) held up to four of them while the fold's thread lagged at load
    AHEAD = 1

    def _fold_rows(self, t: pa.Table, keep: np.ndarray, tests: Any) -> None:
        """The rows ``keep`` of a stream batch's table ``t`` to the fold's thread
        (:meth:`_fold_batch`), in order, at most :data:`AHEAD` batches behind this one."""
        jobs = self._jobs
        while jobs and (jobs[0].done() or len(jobs) >= self.AHEAD):
            jobs.popleft().result()  # (raises what the fold raised)
        jobs.append(self._thread().submit(self._fold_batch, t, keep, tests))

    def _fold_batch(self, t: pa.Table, keep: np.ndarray, tests: Any) -> None:
        """(On the fold's thread.) A stream batch's rows kept: the Exim lines folded where they
        lie (the native step's ``sel``: not copied out, nor held); the Postfix lines coded where
        they lie (:meth:`analyzer.peer_native.NativePfFold.encode`: their texts' codes, nothing
        copied out), their warnings' texts counted and their rejects coded, the codes held and
        folded :data:`PF_FLUSH_ROWS` lines at a time (the new texts' pflogsumm forms derived then:
        Arrow's rewrites cost mostly per call, bench/RESULTS.md r23-rfold)."""
        t, rows = rows_by_mta(t, keep, tests)
        if "exim" in rows:
            self._add_parts({"exim": t}, rows["exim"])
        if "postfix" in rows:
            self.pf = self.pf or _pf_fold()
            coded, f = self.pf.encode(t, rows["postfix"], tests)
            self.pf_warnings.add(_pf_warning_rows(t, f), count=1)
            self.pf.rejects.hold(t, f)
            self._pf_held.append(coded)
            self._pf_rows += len(coded["event"])
            if self._pf_rows >= self.PF_FLUSH_ROWS:
                self._fold_pf_held()

    def _fold_pf_held(self) -> None:
        if self._pf_held:
            held, self._pf_held, self._pf_rows = self._pf_held, [], 0
            self.pf.fold(held)
            self.pf.rejects.fold()

    @staticmethod
    def _kept(t: pa.Table, keep: pa.Array | None, tests: Any = None) -> pa.Table:
        """The rows ``keep`` of ``t`` (on the fold's thread), of the columns and events read of the
        MTAs it holds (:func:`.peers_held.selected`, with the batch's ``tests``; a mixed flush's
        tables are joined with the columns one lacks as nulls: the other MTA's)."""
        t, keep = selected(t, keep, tests)
        return t if keep is None else t.filter(keep)

    def _flush(self) -> None:
        """Hand the held lines to the fold's thread (its Arrow and numpy work beside the main
        thread, the report's bottleneck), one flush at a time, in order: the same result."""
        if not self._held:
            return
        held, self._held, self._rows = self._held, [], 0
        if self._pending is not None:
            self._pending.result()  # (raises what the fold raised)
        self._pending = self._thread().submit(self._fold_held, held)

    def _thread(self) -> Any:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="maillens-peers")
        return self._pool

    def _fold_held(self, held: list[Any]) -> None:
        from ..schema import to_pandas

        held = [h.result() if isinstance(h, Future) else h for h in held]  # (done: jobs in order)
        if all(isinstance(h, pa.Table) for h in held):
            # folded as Arrow (analyzer.totals.col reads either): no pandas table per flush,
            # each column made one chunk once, not at every read
            rows: Any = pa.concat_tables(held, promote_options="permissive").combine_chunks()
        else:
            held = [to_pandas(h) if isinstance(h, pa.Table) else h for h in held]
            rows = held[0] if len(held) == 1 else pd.concat(held, ignore_index=True)
        del held
        # the stream batches' coded Postfix lines first (their codes are into the vocabulary
        # that PeersFold.add may start afresh: peer_coded.Derived.LIMIT); empty but where a
        # run mixes stream batches with others
        self._fold_pf_held()
        PeersFold.add(self, rows)

    def result(self) -> Mapping[str, list[dict[str, Any]]]:
        """:meth:`PeersFold.result`, made on the fold's thread after its last flush and handed back
        at once (:class:`analyzer.later.Later`): the main thread goes on with the report (~9% of
        it was these tables) and waits where it reads them."""
        self._flush()
        pending, pool, self._pending, self._pool = self._pending, self._pool, None, None
        jobs, self._jobs = list(self._jobs), deque()
        if pool is None:
            return super().result()
        try:
            later = pool.submit(self._result_after, pending, jobs)
        finally:
            pool.shutdown(wait=False)  # (the thread ends once the result is made)
        return Later(later)

    def _result_after(self, pending: Any, jobs: list[Future]) -> dict[str, list[dict[str, Any]]]:
        for job in [*jobs, *([pending] if pending is not None else [])]:
            job.result()  # (done: one thread, jobs in order; raises what the fold raised)
        self._fold_pf_held()
        return PeersFold.result(self)


def peer_report(events: pd.DataFrame, top: int = TOP) -> dict[str, list[dict[str, Any]]]:
    """The report's ``peer_totals`` and ``peers`` of a table, folded slice by slice
    (:func:`analyzer.report.fold.fold_frame`): what the whole table gives, without its masks."""
    from .fold import fold_frame

    fold = PeersFold(top)
    fold_frame(events, [fold])
    return fold.result()
