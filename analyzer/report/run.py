"""The report of a run: read an event stream into what the report needs, then build it.

:func:`collect_report_events` folds an event stream (:mod:`.fold`): the lines the report only
counts (sessions, TLS, postscreen, Postfix's message-id/removed: :mod:`analyzer.anomalies.aggregates`)
into per-second aggregates, the others kept as rows; :func:`make_report` is the one call the CLI
makes after it: cut the report window, take the baseline (a history, or the part of the input
before the window), detect anomalies and build (:func:`.build.build_report`). Given a table in
memory instead, it runs the same fold over it in slices (:func:`split_events`), so both give the
same report.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import heap
from ..anomalies import detect_anomalies
from ..anomalies.aggregates import ORDER_COLUMN, Bulk, BulkFold, _empty_senders, fold_masks, span
from ..anomalies.arrow_columns import taken
from ..anomalies.folded import LoginFold, is_quiet_login
from ..anomalies.sent import is_quiet_local_sent
from ..later import InOrder, Later
from ..reader import ParseResult
from ..report_columns import REPORT_COLUMNS  # (the CLI names them to the stream without importing this)
from .build import ReportWindow, build_report, top_tables
from .ends_fold import is_foldable_end, new_ends_fold
from .fold import SECTION_FOLDS, RowsFold, fold_frame, fold_stream, register_section
from .peers import WindowPeersFold
from .sent_fold import SENT_STEP, SentFold, is_foldable_sent

__all__ = ["QUIET_BLANK", "REPORT_COLUMNS", "ROW_COLUMNS", "FoldedResult", "ReportFold", "collect_report_events", "make_report", "quiet_rows",
           "split_events"]

#: Of those, the ones only the peers' sections read (folded from the stream, :class:`.peers.WindowPeersFold`):
#: not kept in the rows.
_PEERS_ONLY = frozenset({"mta", "size", "helo", "relay_ip", "orig_recipient"})
#: The columns of the rows kept (:class:`ReportFold`): what the sections built from rows and the detectors read.
ROW_COLUMNS = tuple(c for c in REPORT_COLUMNS if c not in _PEERS_ONLY)
#: Of those, the ones with few distinct values: held dictionary-encoded while a run is read.
_FEW_VALUES = frozenset({"host", "mta", "program", "event", "direction", "client_host", "relay_host", "relay_ip", "status",
                         "smtp_stage", "source", "reply_class", "outcome", "cause", "provider", "severity",
                         "fix_id", "action"})
#: Of those, the ones the kept rows hold as pandas Categoricals (a small code per row instead of a
#: string: a third of the rows' memory); the report's code reads them as it reads strings (compares,
#: ``isin``, ``astype(str)``). ``smtp_stage`` too (r35-r10ex: 8.3 -> 0.8 MiB held through the end
#: of the 10M-line Exim report): the session ends' section fills it, of its few abnormal rows,
#: as objects (:func:`.build._session_ends`).
_CATEGORICAL = _FEW_VALUES
#: The texts of a kept row that are read only where the line went wrong, is no session's nor
#: delivery's (our own lines: the server-trouble detector) or is an example (the cause lists'
#: failed and notable rows): :func:`quiet_rows`' rows keep them null (a third of the rows' memory
#: at 1M Postfix lines was reply texts, most of them sent deliveries' "250 ... queued as").
QUIET_BLANK = ("reply_text", "detail")
#: The kept rows' texts, held as each batch's distinct values and an index per row (:class:`.fold.RowsFold`'s
#: ``texts``): the same reply, client, sender or user recurs among a batch's rejects and deferrals.
_TEXTS = ("reply_text", "client_ip", "sender", "recipient", "sasl_username", "detail", "queue_id", "cause_ref")


def quiet_rows(batch: pd.DataFrame) -> np.ndarray:
    """The rows whose :data:`QUIET_BLANK` texts nothing reads: a session's or delivery's line
    (inbound or outbound) that went well (outcome ok or info, severity info) and takes no cause
    from another line."""
    from ..anomalies.batch_tests import tests_of

    t = tests_of(batch)
    m = t.eq("direction", ("inbound", "outbound")) & t.eq("outcome", ("ok", "info")) & t.eq("severity", "info")
    return m & t.null("cause_ref") if "cause_ref" in t.columns else m


@dataclass
class FoldedResult(ParseResult):
    """A :class:`analyzer.reader.ParseResult` whose ``events`` hold only the lines the report
    reads one by one; the others (:func:`analyzer.anomalies.aggregates.is_bulk`) are folded into
    ``bulk``."""

    bulk: Bulk | None = None
    #: each row's place in the input order (:func:`analyzer.anomalies.aggregates.row_order`)
    order: np.ndarray | None = None
    #: the registered section folds' results (:func:`.fold.register_section`) and the window they kept
    sections: dict[str, Any] = field(default_factory=dict)
    window: ReportWindow = ReportWindow()  # noqa: RUF009 (frozen: one shared default is safe)
    #: set by the :func:`make_report` of a large window, which let go of what only the top tables
    #: read once it had made them (:func:`_let_go_top_inputs`): such a result is reported once
    spent: bool = False

    def first_event(self) -> pd.Timestamp | None:
        """The time of the first line read, kept as a row or folded."""
        first = span(self.events["ts"], self.bulk)[0]
        return None if first is None or pd.isna(first) else first


register_section("peers", WindowPeersFold)  # the report's peer_totals and peers, from the stream


class ReportFold:
    """The report's fold (:mod:`.fold`): each batch's bulk lines into a :class:`Bulk`, the sent
    outbound deliveries that say nothing into the Bulk and a :class:`.sent_fold.SentFold` (its
    counts become ``Bulk.sent``, the rest ``sections["sent"]``), the inbound session ends of no
    message into the Bulk and an :class:`.ends_fold.EndsFold` (``Bulk.ends``/``failures`` and their
    examples, ``sections["ends"]``), the other lines kept as rows
    (:data:`ROW_COLUMNS`, the columns with few values dictionary-encoded while held), and the
    registered section folds (:data:`.fold.SECTION_FOLDS`) for ``window``. ``result()`` is
    ``(rows, bulk, sections)``."""

    #: The quiet logins' rows (:func:`analyzer.anomalies.folded.is_quiet_login`) held before they are folded.
    LOGIN_ROWS = 4096

    def __init__(self, columns: Any = ROW_COLUMNS, window: ReportWindow = ReportWindow()) -> None:
        self.rows = RowsFold(list(columns), few_values=_FEW_VALUES, order_column=ORDER_COLUMN,
                             categorical=_CATEGORICAL, blank_columns=QUIET_BLANK, texts=_TEXTS)
        # a message's first line per side of the window start, of the deferred messages only; the
        # senders of the messages whose outbound lines name none only (what the top tables look up)
        self.bulk = BulkFold(first_only=True, split=window.since, deferred_only=True, looked_up_only=True)
        self.logins = LoginFold(window.since, window.until)
        self.sent = SentFold(window)  # the sent outbound deliveries that say nothing: counted, not rows
        self.ends = new_ends_fold(window)  # the inbound session ends of no failure nor message: counted, not rows
        self.sections = {name: factory(window) for name, factory in SECTION_FOLDS.items()}
        self._jobs = InOrder("maillens-fold", ahead=1)  # one batch folded there while this one tests the next
        self._sent_jobs = InOrder("maillens-sent", ahead=1)  # the SentFold beside them (its own state)
        self._logins: list[dict[str, Any]] = []  # the quiet logins' rows not yet given to self.logins (Arrow)

    def prepare(self, batch: pd.DataFrame) -> None:
        """The batch's masks (functions of the batch alone), made ahead of :meth:`add` on the
        stream's own thread (:func:`.fold.fold_stream`)."""
        object.__setattr__(batch, "_report_masks", self._masks(batch))
        if "ts" in batch.columns:
            # its Series made here, kept by a stream batch (fold._Batch): the sections' window test
            # reads it on the main thread (measured: ~0.5 CPU-ms a batch there otherwise)
            batch["ts"]

    @staticmethod
    def _masks(batch: pd.DataFrame) -> tuple[np.ndarray, ...]:
        bulk, apart = fold_masks(batch)  # their shared tests made once
        # queued and received lines: counted, their senders kept (Bulk.senders); local sent deliveries
        # that say nothing: counted per second as the Bulk's delivered lines
        more, login = _more_folded(batch)
        m = bulk | apart | more
        sent = is_foldable_sent(batch) & ~m
        return bulk, m, sent, login, quiet_rows(batch), is_foldable_end(batch) & ~m

    def add(self, batch: pd.DataFrame) -> None:
        masks = batch.__dict__.get("_report_masks")
        bulk, m, sent, login, blank, ends = masks if masks is not None else self._masks(batch)
        for f in self.sections.values():
            # a section that leaves the bulk lines out is given them rather than test every line again
            f.add(batch, bulk=bulk) if getattr(f, "takes_bulk", False) else f.add(batch)
        # the folds that keep state, on their thread (in order) while this one takes the next batch
        self._jobs.submit(self._keep, batch, m, sent, login, blank, ends)
        if sent.any():  # into the SentFold; into the Bulk by _keep (their seconds, queue ids, senders)
            self._sent_jobs.submit(self.sent.add, batch, sent)

    def _keep(self, batch: pd.DataFrame, m: np.ndarray, sent: np.ndarray, login: np.ndarray, blank: np.ndarray,
              ends: np.ndarray) -> None:
        if login.any():  # (a few rows a batch: grouped by LoginFold a few thousand at a time, not per batch)
            self._logins.append(taken(batch, ("ts", "client_ip"), login))
            if sum(len(p["ts"]) for p in self._logins) >= self.LOGIN_ROWS:
                self._add_logins()
        if sent.any():  # into the Bulk (their seconds, queue ids, senders); the SentFold on its thread
            m = m | sent
        if ends.any():  # into the Bulk (their seconds, last lines, closes) and the EndsFold
            self.ends.add(batch, ends)
            m = m | ends
        self.bulk.add(batch, m)
        self.rows.add(batch, ~m, blank=blank)

    def _add_logins(self) -> None:
        if self._logins:
            self.logins.add(_login_rows(self._logins))
            self._logins = []

    def result(self) -> tuple[pd.DataFrame, Bulk, dict[str, Any]]:
        # the small results first, each fold's state freed (and Arrow's pool released) before the
        # next is built; the rows (the largest) last, when the small ones' temporaries are gone
        # (measured at 3M Exim lines: the main process's peak in the fold's results 804 -> 713 MiB)
        # the Bulk is made on the fold thread, after its last batch (ahead=1: the submit returns
        # once every batch's job is done), while this one makes the small results and the rows
        # beside it (the rows' result is mostly Arrow's concatenations and takes, outside the GIL:
        # not after the Bulk's, on the end's critical path, as before r20-rend)
        made: list[Bulk] = []
        many = False
        try:
            self._jobs.submit(lambda: made.append(self.bulk.result()))
            sent = self._sent_jobs
            # (read after the submit: it returns once the last batch's _keep has added its rows)
            many = self.rows.held_rows() >= APART_ROWS
            if many:
                # many rows: the Bulk's result alone first (its table's temporaries beside the
                # small results' were the fold's end's peak: measured at 10M Postfix lines, main's
                # RSS 525 MiB while it ran beside the SentFold's and the EndsFold's), its state
                # given back before they are made
                self._jobs.wait()
                heap.give_back()
        except BaseException:
            self._sent_jobs.wait()
            raise
        try:
            sent.wait()
            self._add_logins()
            sections = {name: f.result() for name, f in self.sections.items()}
            self.sections = {}
            if many:
                # the peers' tables (made on their fold's thread, handed back as a Later) waited
                # for here, not made beside the SentFold's and EndsFold's results: side by side
                # their temporaries added up (measured at 10M Postfix lines: main's RSS 399 -> 530
                # MiB while the three ran, the fold's end's peak and main's highest)
                for made_later in sections.values():
                    if isinstance(made_later, Later):
                        made_later.wait()
            heap.shed() if many else heap.give_back()  # (and the peers' folds' cycles)
            logins = self.logins.result()
            folded_sent, sections["sent"] = self.sent.result()
            if many:
                heap.give_back()  # (the SentFold's pieces, before the EndsFold's tables are made)
            ends, sections["ends"] = self.ends.result()
            heap.give_back()  # (many rows: the Bulk's result was made first, not beside the rows'
            # either: side by side their peaks added up, measured +100 MiB at 10M Exim lines)
            rows = self.rows.result()
        finally:
            self._jobs.wait()
        bulk, self.bulk = made[0], BulkFold()
        bulk.logins, bulk.sent, bulk.sent_step = logins, folded_sent, SENT_STEP
        bulk.ends, bulk.end_examples, bulk.failures, bulk.failure_examples = ends
        heap.give_back()
        return rows, bulk, sections


def _login_rows(parts: list[dict[str, Any]]) -> pd.DataFrame:
    """The ``ts`` and ``client_ip`` of the quiet logins' rows (what :class:`LoginFold` reads), taken
    where they lay in each batch (:func:`taken`: a stream batch's Arrow columns; pandas'
    ``batch.loc[login, names]`` took every column of the batch first) and made one table."""
    def column(name: str) -> Any:
        arrays = [p[name] for p in parts]
        if any(a.type != arrays[0].type for a in arrays):  # (another table's columns: each as pandas has it)
            return pd.concat([pd.Series(pd.arrays.ArrowExtensionArray(a)) for a in arrays], ignore_index=True).array
        return pd.arrays.ArrowExtensionArray(pa.chunked_array(arrays, arrays[0].type))

    return pd.DataFrame({name: column(name) for name in ("ts", "client_ip")})


#: The columns :func:`_more_folded`'s tests and the Bulk's fold read (a history store's narrow rows lack some).
_MORE_NEEDS = frozenset({"ts", "event", "outcome", "severity", "direction", "cause", "source", "host", "program",
                         "reply_class", "line_no", "queue_id", "sender", "status", "recipient", "client_ip",
                         "sasl_username", "detail", "reply_text", "cause_ref", "delay"})


def _more_folded(batch: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The lines r12-rmem folds beside the bulk and counted-apart ones: quiet local sent deliveries
    (the Bulk's delivered lines) and SASL-named arrivals that went well (received lines, their
    clients' login times into a :class:`LoginFold`), and the latter apart; none in a table that
    lacks a column they read."""
    from ..anomalies.batch_tests import tests_of

    if not tests_of(batch).columns >= _MORE_NEEDS:
        none = np.zeros(len(batch), dtype=bool)
        return none, none
    login = is_quiet_login(batch)
    return is_quiet_local_sent(batch) | login, login


#: From this many rows in the window on, :func:`make_report` runs the detectors, the top tables and
#: the sections one after the other rather than the first two beside the third: their temporaries
#: (~100 MiB each at 800k rows) no longer add up at the end's peak; below it (a 1M-3M-line day keeps
#: 40k-250k rows: the stream holds the peak there) they overlap for the end's wall. Likewise the
#: Bulk's and the rows' results at the stream's end (:meth:`ReportFold.result`).
APART_ROWS = 300_000


#: The stream's batches are classified together up to this many bytes of tables
#: (:func:`analyzer.pipeline.classify_grouped`), not its 160,000 rows: a block's table of the report's
#: columns (~7 MiB) is a call of its own, small files' batches are still grouped. The batches a group
#: held, each a spool file mapped, were most of those in flight (10M-line Postfix day: 8-12 of ~7 MiB
#: mapped; a call a block: 4-6), and the group's last waited for its first to be folded. 12 MiB (about
#: two blocks a call), not 4 (one): the lead's idle pairs at stop 46 read a call a block +0.2-0.5 CPU-s
#: and +0.2-0.4 s of wall on the 1M reports (peak -30 MiB), two blocks a call the same CPU and wall as
#: before the bound (peak -14 to -26 MiB)
GROUP_BYTES = 12 << 20


#: After the stream, blocks from this size on are mapped apart (given back when freed); the
#: stream's 256 KiB (:data:`analyzer.heap.MAP_LARGE`) made the end's temporaries of a few hundred
#: thousand rows (the Bulk's table: 220k-320k rows at the 1M days) a mapping each, faulted in page
#: by page and unmapped when freed: ~40% of the end's minor faults (bench/RESULTS.md, r18-rend).
END_MAP_LARGE = 4 << 20


class _MapLargeFromFirst:
    """A fold that folds nothing: when the stream's first batch comes (classified: the
    classifier's warm-up is over), the heap's free pages go back and large blocks are mapped
    apart from then on (:func:`analyzer.heap.map_large_from_now`; see :func:`analyzer.heap.hand_back_early`)."""

    def __init__(self) -> None:
        self.mapped = False

    def add(self, batch: pd.DataFrame) -> None:
        if not self.mapped:
            heap.map_large_from_now()
            self.mapped = True

    def result(self) -> None:
        return None


def collect_report_events(stream: Any, kb: Any = None, window: ReportWindow = ReportWindow()) -> FoldedResult:
    """Fold an event stream (:mod:`analyzer.pipeline`) into what the report needs: each batch
    classified as it comes (:class:`analyzer.classify_stream.StreamClassifier`: the answers of
    classifying the whole table, the cache and the errors behind retry-waits carried across
    batches) and folded by :class:`ReportFold`: the lines only counted into per-second
    aggregates, the others kept as rows of :data:`REPORT_COLUMNS`; the registered section folds
    keep what lies in ``window`` (the window :func:`make_report` is then given)."""
    fold = ReportFold(window=window)
    fold_stream(stream, [_MapLargeFromFirst(), fold], kb=kb, columns=REPORT_COLUMNS, group_bytes=GROUP_BYTES)
    heap.release_arrow()
    # the stream's batches are gone: before the rows are put together; from now on the report's
    # large temporary tables are given back to the system when freed, not kept by the C heap
    # (from END_MAP_LARGE on: the end's blocks below it are reused, not mapped and faulted in again)
    heap.trim()
    heap.keep_freed(heap.TRIM_DEFAULT, END_MAP_LARGE)
    events, bulk, sections = fold.result()
    heap.give_back()  # and the pieces they were made of, before the report is built
    order = events.pop(ORDER_COLUMN).to_numpy(dtype=np.int64)
    return FoldedResult(events, stream.counts, stream.files, stream.warnings, bulk=bulk, order=order,
                        sections=sections, window=window)


def split_events(events: pd.DataFrame) -> tuple[pd.DataFrame, Bulk]:
    """A classified table in memory as the stream's fold leaves it: (the rows kept, with their
    place under :data:`ORDER_COLUMN`; the bulk lines folded), by the same fold, slice by slice."""
    bulk = BulkFold()
    logins = LoginFold()
    masks: list[np.ndarray] = []

    class _Split:
        def add(self, batch: pd.DataFrame) -> None:
            bulk_m, apart = fold_masks(batch)  # as ReportFold folds them (their shared tests made once)
            more, login = _more_folded(batch)
            m = bulk_m | apart | more
            if login.any():
                logins.add(batch.loc[login, ["ts", "client_ip"]])
            masks.append(m)
            bulk.add(batch, m)

        def result(self) -> None:
            return None

    fold_frame(events, [_Split()])
    m = np.concatenate(masks) if masks else np.zeros(len(events), dtype=bool)
    rows = events[~m] if m.any() else events
    rows = rows.assign(**{ORDER_COLUMN: np.flatnonzero(~m).astype(np.int64)})
    folded = bulk.result()
    folded.logins = logins.result()
    return rows, folded


def _let_go_senders(bulks: tuple[Bulk | None, ...]) -> None:
    """The Bulks' senders let go of (each Bulk's own: a cut of another holds a copy of them)."""
    for b in bulks:
        if b is not None and len(b.senders):
            b.senders = _empty_senders()


def _let_go_top_inputs(result: Any, bulks: tuple[Bulk | None, ...], sections: dict[str, Any] | None) -> None:
    """Once the top tables are made, let go of what only they read: the Bulk's senders (the folded
    queued lines' senders, :attr:`Bulk.senders`) and the sent fold's per-line codes and their names
    (``sections["sent"]``'s ``top`` and ``values``, :func:`.sent_fold.folded_outbound`): measured
    30-35 and 23-33 MiB at the 10M-line days, held under the detectors' and the sections' peaks
    before. They belong to ``result`` (the caller's): it is marked ``spent``, and
    :func:`make_report` refuses it again rather than make top tables without them."""
    _let_go_senders(bulks)
    sent = (sections or {}).get("sent")
    if sent:
        sections["sent"] = {k: v for k, v in sent.items() if k not in ("top", "values")}  # type: ignore[index]
    if getattr(result, "bulk", None) is not None:
        result.spent = True
    heap.give_back()


def make_report(result: Any, *, kb: Any = None, window: ReportWindow = ReportWindow(),
                baseline: pd.DataFrame | None = None, params: dict[str, Any] | None = None,
                now: Any = None, generated_at: Any = None,
                redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole report for a :class:`analyzer.reader.ParseResult`.

    ``window`` cuts the events; without a ``baseline`` the input's events before
    ``window.since`` serve as one. ``now`` is the end of observation for silence detection;
    ``generated_at`` is stamped into the report. ``redact`` (from :mod:`.redact`) is applied to
    the finished dict, so every format shows the same pseudonyms.
    """
    from ..classify import classify, default_rules

    if getattr(result, "spent", False):
        raise ValueError("this result was reported once already, and that report let go of what its top tables "
                         "read: fold the stream again (collect_report_events) for another report")
    kb = kb or default_rules()
    ev = result.events
    if "cause" not in ev.columns:
        ev = classify(ev, kb)
    bulk = getattr(result, "bulk", None)
    sections = getattr(result, "sections", None)
    if bulk is not None and (SECTION_FOLDS or sections) and getattr(result, "window", window) != window:
        raise ValueError("the events were folded for another window: pass the same window to "
                         "collect_report_events and make_report")
    if bulk is None:  # a table in memory: the same folds as the stream's
        sections = {}
        if SECTION_FOLDS:
            folds = {name: factory(window) for name, factory in SECTION_FOLDS.items()}
            fold_frame(ev, list(folds.values()))
            sections = {name: f.result() for name, f in folds.items()}
        ev, bulk = split_events(ev)
    else:
        order = getattr(result, "order", None)
        if order is not None and len(order) == len(ev):
            ev = ev.assign(**{ORDER_COLUMN: order})
    ts = ev["ts"]
    inside = np.ones(len(ev), dtype=bool)
    if window.since is not None:
        inside &= (ts >= window.since).fillna(False).to_numpy(dtype=bool)
    if window.until is not None:
        inside &= (ts < window.until).fillna(False).to_numpy(dtype=bool)
    cur = ev if inside.all() else ev[inside]
    if not cur["ts"].is_monotonic_increasing:  # else sorting would only copy a large table
        cur = cur.sort_values("ts", kind="stable")
    cur = cur.reset_index(drop=True)
    cur_bulk = bulk.cut(window.since, window.until)
    info: dict[str, Any]
    base_bulk: Bulk | None = None
    if baseline is not None:
        if "cause" in baseline.columns:
            baseline, base_bulk = split_events(baseline)
        n_base = len(baseline) + (len(base_bulk) if base_bulk is not None else 0)
        # a history that held nothing before the window is no baseline: do not call it one
        info = {"source": "history" if n_base else "none (the history holds no events before the window)",
                "events": n_base}
    elif window.since is not None:
        baseline = ev[(ts < window.since).fillna(False).to_numpy(dtype=bool)]
        base_bulk = bulk.cut(None, window.since)
        n_base = len(baseline) + len(base_bulk)
        info = {"source": "input before the window" if n_base else "none", "events": n_base}
    else:
        info = {"source": "none", "events": 0}
    info["note"] = "earlier hours of the window are compared with the hours before them"
    from .headline import expected_volumes

    # the headline's "usually"
    info["expected"] = expected_volumes(baseline, cur, window.since, window.until,
                                        baseline_span=span(baseline["ts"], base_bulk) if baseline is not None else None,
                                        window_span=span(cur["ts"], cur_bulk),
                                        folded={"received": int(base_bulk.received().sum()),
                                                "delivered": int(base_bulk.delivered().sum())}
                                        if base_bulk is not None else None)
    has_base = baseline is not None and (len(baseline) or (base_bulk is not None and len(base_bulk)))
    heap.shed() if len(cur) >= APART_ROWS else heap.release_arrow()  # and the stream's cyclic garbage (peers' folds)

    def detect() -> list[Any]:
        found = detect_anomalies(cur, baseline=baseline if has_base else None,
                                 params=params, now=now, kb=kb, bulk=cur_bulk,
                                 bulk_history=base_bulk if has_base else None)
        heap.release_arrow()  # the detectors' temporaries
        return found

    if len(cur) >= APART_ROWS:
        # a large window: the detectors, the top tables and the sections one after the other, each
        # one's temporaries given back before the next (side by side their peaks add up: measured
        # +100-130 MiB at 10M Exim lines); the same work, on one thread. The top tables first: what
        # only they read is let go of before the detectors and the sections run
        held = (bulk, cur_bulk, base_bulk)
        tops = top_tables(cur, cur_bulk, sections, let_go=lambda: _let_go_senders(held))
        _let_go_top_inputs(result, held, sections)
        found = detect()
        report = build_report(cur, found, kb=kb, counts=result.counts, files=result.files,
                              warnings=result.warnings, window=window, generated_at=generated_at, baseline_info=info,
                              bulk=cur_bulk, sections=sections or {}, top=lambda: tops)
        return redact(report) if redact is not None else report
    # the detectors on a thread of their own, then the top tables there (or here: tops), while this one builds the
    # sections that do not read their findings (all read the window's rows and Bulk, none writes
    # them): what of either runs outside the GIL (numpy's sorts and loops, Arrow's kernels, the
    # page faults) overlaps
    with ThreadPoolExecutor(1, thread_name_prefix="maillens-detect") as pool:
        findings = pool.submit(detect)
        top = pool.submit(top_tables, cur, cur_bulk, sections)

        def tops() -> tuple[dict[str, Any], dict[str, int]]:
            # the top tables by whichever thread is free first: this one, when the detectors still
            # run once its sections are built (the detectors and the top tables were the longer of
            # the two threads: measured 0.35-0.40 against 0.22-0.28 CPU-s at 1M lines, r22-rend)
            return top_tables(cur, cur_bulk, sections) if top.cancel() else top.result()

        report = build_report(cur, findings.result, kb=kb, counts=result.counts, files=result.files,
                              warnings=result.warnings, window=window, generated_at=generated_at, baseline_info=info,
                              bulk=cur_bulk, sections=sections or {}, top=tops)
    return redact(report) if redact is not None else report
