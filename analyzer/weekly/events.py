"""The events the weekly report's detectors read, folded from the store one day partition at a time.

:func:`week_events` reads ``[since, until)`` day by day (only the columns the detectors and the
fold read, only that day's row groups). Of each day:

* the lines only counted (:func:`analyzer.anomalies.aggregates.is_bulk`, and the arrival, queued
  and completed lines of :func:`~analyzer.anomalies.aggregates.counted_apart`, as the nightly
  report folds them) go into a per-second :class:`~analyzer.anomalies.aggregates.Bulk`, its
  queue ids cut to each one's first time of the day (all that ``first_seen`` reads) and without
  the senders (which no detector reads);
* the sent deliveries, abnormal session ends, SASL logins (:mod:`analyzer.anomalies.sent`,
  :mod:`~analyzer.anomalies.folded`) and quiet failures (DNSBL hits, protocol errors:
  :mod:`~analyzer.anomalies.failed`) are counted per hour, with their first lines where a
  detector shows them;
* the other lines are kept as rows of the columns the detectors read (their texts as the
  detectors read them: :func:`_as_read`), sorted in :data:`ORDER`
  within the day (days are disjoint ranges of ``ts``, so the days in turn are the week in order),
  then handed to one :class:`~analyzer.report.fold.RowsFold` for the week (dictionary codes shared
  by every day): no sort, nor copy, of the week's rows at the end.

What is held: the week's kept rows (compact) and per-second counts; the day being read is dropped
before the next is read.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import numpy as np
import pandas as pd

from .. import heap
from ..anomalies import failed, folded
from ..anomalies.bulk_narrow import PAIR_COLUMN, PAIR_MAX, last_orders, narrow_times, order_key, widen_times

__all__ = ["ORDER", "READ_COLUMNS", "ROW_COLUMNS", "week_events"]

#: The detectors' rows in a canonical order, whatever runs added them: findings do not depend on ingest history.
ORDER = ["ts", "host", "source", "line_no"]
#: Columns with few distinct values: held as codes while the week is read, and given to the
#: detectors as pandas Categoricals (as the nightly report gives them: a code per row). The
#: clients' addresses too: not few, but a client logs many rejects, and the abuse detectors'
#: copies and group-bys of the rejects' addresses were their peak (codes, not strings; same findings).
#: The kept rows' ``detail`` (our own lines' texts only, :func:`_as_read`) and SASL user names (an
#: attacker tries a list of them over many lines) too: null on most rows, an offset a row as strings.
#: And the recipients kept (:func:`_as_read`: the deliveries' and the unknown recipients of
#: dictionary attacks, whose words repeat: 69k distinct of 754k at 7x3M Exim lines): a code a row
#: and the distinct addresses once (23.8 MiB of Arrow strings there), and the abuse detectors count
#: their distinct recipients on those codes (no dictionary of the column made in each detector).
_FEW = ("host", "program", "event", "direction", "relay_host", "status", "smtp_stage", "source", "reply_class",
        "outcome", "cause", "provider", "severity", "reply_text", "client_ip", "detail", "sasl_username",
        "recipient")
_NO_MATCH = object()
#: Read by the fold only (what is folded, and where), never by a detector: not kept in the rows.
_FOLD_ONLY = ("sender", "cause_ref", "reply_class")
#: The step (seconds) the sent deliveries are counted per (``Bulk.sent``): the detectors' default
#: bucket; a bucket that is not a multiple of it is refused by the detectors.
SENT_STEP = 3600


def _columns() -> tuple[list[str], list[str]]:
    from ..anomalies.bulk_masks import _NEEDS
    from ..anomalies.context import BASELINE_COLUMNS

    read = list(dict.fromkeys([*BASELINE_COLUMNS, *ORDER, *sorted(_NEEDS), "cause_ref"]))
    return read, [c for c in read if c not in _FOLD_ONLY]


#: The columns read from the store, and those of them kept in the rows.
READ_COLUMNS, ROW_COLUMNS = _columns()


def _range_keys(store: str | os.PathLike, since: dt.date, until: dt.date) -> tuple[dict[tuple[Any, Any], int], bool]:
    """The (host, source) pairs of the range, ranked in the order of :data:`ORDER` (nulls last),
    and whether every line number of the range fits int32 (the kept rows'
    ``line_no`` then held as int32: 4 of a row's bytes), in one read of the range's three columns."""
    import pyarrow.compute as pc

    from ..store import iter_event_batches

    pairs: set[tuple[Any, Any]] = set()
    fits = True
    for t in iter_event_batches(store, since=since, until=until, columns=["host", "source", "line_no"]):
        u = t.group_by(["host", "source"]).aggregate([])
        pairs.update(zip(u.column("host").to_pylist(), u.column("source").to_pylist(), strict=True))
        lo, hi = pc.min_max(t.column("line_no")).values()
        fits = fits and (lo.as_py() is None or (lo.as_py() >= -(1 << 31) and hi.as_py() < 1 << 31))
    ordered = sorted(pairs, key=lambda p: (p[0] is None, p[0] or "", p[1] is None, p[1] or ""))
    return {p: min(i, PAIR_MAX) for i, p in enumerate(ordered)}, fits


def _pairs(host: Any, source: Any, rank: dict[tuple[Any, Any], int]) -> np.ndarray:
    """The (host, source) rank of each line (int64; :data:`~analyzer.anomalies.bulk_narrow.PAIR_MAX`
    for a pair not ranked), looked up once per distinct pair (codes of each column, no tuple per row)."""
    # a column is factorized as it is (an Arrow column's values are not made Python strings per row)
    hc, hu = pd.factorize(host if isinstance(host, pd.Series) else pd.Series(host, dtype=object), use_na_sentinel=False)
    sc, su = pd.factorize(source if isinstance(source, pd.Series) else pd.Series(source, dtype=object),
                          use_na_sentinel=False)
    # a null host or source is ranked last (PAIR_MAX), as a pair with a null never matches a rank
    hv = [_NO_MATCH if pd.isna(v) else v for v in hu]
    sv = [_NO_MATCH if pd.isna(v) else v for v in su]
    pair = hc.astype(np.int64) * max(len(sv), 1) + sc
    pc_, pu = pd.factorize(pair)
    ranks = np.array([rank.get((hv[int(p) // max(len(sv), 1)], sv[int(p) % max(len(sv), 1)]), PAIR_MAX)
                      for p in pu], dtype=np.int64)
    return ranks[pc_] if len(pc_) else np.zeros(0, dtype=np.int64)


def _order_key(us: np.ndarray, host: Any, source: Any, line: np.ndarray,
               rank: dict[tuple[Any, Any], int]) -> np.ndarray:
    """Where each line falls in :data:`ORDER` among the lines of its second (one int64:
    :func:`~analyzer.anomalies.bulk_narrow.order_key`)."""
    return order_key(us, _pairs(host, source, rank), line)


def _days(since: dt.date, until: dt.date) -> list[tuple[dt.date, dt.date]]:
    out, d = [], since
    while d < until:
        out.append((d, min(d + dt.timedelta(days=1), until)))
        d += dt.timedelta(days=1)
    return out


#: The events some detector reads as rows (or as evidence); a line of another event is traffic only.
_ROW_EVENTS = failed.ROW_EVENTS


def traffic_only(df: pd.DataFrame) -> np.ndarray:
    """The lines no detector reads but as traffic of their log stream (its active seconds, its last
    line before a gap, a message's first time: what a :class:`~analyzer.anomalies.aggregates.Bulk`
    keeps): not a delivery, reject, authentication failure or session end (the delivery, abuse and
    session detectors' rows), no failure (cause and signature spikes), not outbound (the severity
    policy's domain providers), naming no SASL user (the policy's logins of an attacker), no
    resource trouble nor fatal line, and none of our own lines (neither inbound nor outbound) that
    says something (the server-trouble detector matches their texts). A received line folds as one
    (its ``kind``): the silence detector counts receptions from the folded seconds too."""
    from ..anomalies.aggregates import _eq
    from ..anomalies.context import FAILURES

    m = ~_eq(df["event"], _ROW_EVENTS) & ~_eq(df["outcome"], FAILURES) & ~_eq(df["direction"], "outbound")
    m &= df["sasl_username"].isna().to_numpy(dtype=bool) & ~_eq(df["cause"], "local.resource")
    own = ~_eq(df["direction"], ("outbound", "inbound"))
    says = df["detail"].notna().to_numpy(dtype=bool) | df["reply_text"].notna().to_numpy(dtype=bool)
    return m & ~(own & says)


def _as_read(keep: pd.DataFrame) -> pd.DataFrame:
    """The kept rows' texts as the detectors read them (no detector reads more of them, so the
    findings are the same; the rows are a third of their size):

    * ``reply_text`` masked (:data:`analyzer.classify.MASK`, as the new-signature detector masks
      it: masking a masked text again changes nothing), but on our own lines (neither inbound nor
      outbound), which the server-trouble detector matches as they are: a few distinct texts
      (held as codes, :data:`_FEW`) instead of one per line;
    * ``detail`` only on our own lines, resource trouble and fatal/panic lines (the server-trouble
      detector's);
    * ``recipient`` only on outbound lines, deliveries, expiries (the delivery detectors' and the
      severity policy's domains) and rejects of unknown recipients (the dictionary-attack counts).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..anomalies.aggregates import _eq
    from ..anomalies.longwindow import UNKNOWN_RECIPIENT
    from ..classify import MASK, MASKED

    if not len(keep):
        return keep
    own = ~_eq(keep["direction"], ("outbound", "inbound"))
    detail = own | _eq(keep["cause"], "local.resource") | _eq(keep["event"], ("fatal", "panic"))
    recipient = _eq(keep["direction"], "outbound") | _eq(keep["event"], ("delivery", "expired"))
    recipient |= _eq(keep["event"], "reject") & _eq(keep["cause"], UNKNOWN_RECIPIENT)

    def arrow(name: str) -> Any:
        col = keep[name].array
        arr = col.__arrow_array__() if hasattr(col, "__arrow_array__") else pa.array(col, from_pandas=True)
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr

    def column(arr: Any) -> pd.Series:
        return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=keep.index)

    text = arrow("reply_text")
    if pa.types.is_string(text.type) or pa.types.is_large_string(text.type):
        d = pc.dictionary_encode(text)  # each distinct text masked once
        masked = pa.DictionaryArray.from_arrays(d.indices, pc.replace_substring_regex(d.dictionary, MASK, MASKED))
        text = pc.if_else(pa.array(own), text, masked.cast(text.type))
    out = {"reply_text": column(text)}
    for name, where in (("detail", detail), ("recipient", recipient)):
        arr = arrow(name)
        out[name] = column(pc.if_else(pa.array(where), arr, pa.nulls(len(arr), arr.type)))
    return keep.assign(**out)


def _int32(s: pd.Series) -> pd.Series:
    """An integer column (whose values fit) as Arrow int32, nulls kept."""
    import pyarrow as pa

    arr = s.array.__arrow_array__() if hasattr(s.array, "__arrow_array__") else pa.array(s, from_pandas=True)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr.cast(pa.int32())), index=s.index)


def _first_seen_of_day(qids: pd.DataFrame) -> pd.DataFrame:
    """A day's folded queue-id lines cut to each queue id's first line (``first_seen`` reads the
    least ``ts`` per id; the day's lines lie in one day, so the cut holds for any cut at a day)."""
    if len(qids) < 2:
        return qids
    q = qids.sort_values(["qid", "ts"], kind="stable")
    first = np.r_[True, q["qid"].to_numpy()[1:] != q["qid"].to_numpy()[:-1]]
    return q[first].reset_index(drop=True)


class _Day:
    """The fold of one day: its bulk lines per second, its kept rows (``RowsFold``, in read order)."""

    def __init__(self, rank: dict[tuple[Any, Any], int], deferred: np.ndarray | None = None,
                 line32: bool = False) -> None:
        from ..anomalies.aggregates import BulkFold
        from ..report.fold import RowsFold
        from ..report.run import QUIET_BLANK

        self.rank, self.deferred, self.line32 = rank, deferred, line32
        # codes while the day is read, given to the week's fold as Categoricals (categories sorted:
        # ORDER sorts them as their strings): the few-value columns are never made strings per row
        # (they were, then sorted, then coded again: most of the day's transient)
        self.rows = RowsFold([*ROW_COLUMNS, PAIR_COLUMN], few_values=_FEW, categorical=_FEW,
                             blank_columns=QUIET_BLANK)
        self.bulk = BulkFold()
        self.sent: list[pd.DataFrame] = []
        # the day's session ends and logins, a few columns of their lines: counted once per day
        # (a group-by per batch cost more CPU than the counts save)
        self.ends: list[pd.DataFrame] = []
        self.logins: list[pd.DataFrame] = []
        self.fails: list[pd.DataFrame] = []

    def add(self, df: pd.DataFrame) -> None:
        from ..anomalies.aggregates import fold_masks
        from ..anomalies.sent import is_local_sent, is_sent, sent_counts
        from ..report.run import quiet_rows

        sent = is_sent(df)  # counted per step (Bulk.sent), their seconds and last lines in the Bulk
        if sent.any():
            self.sent.append(sent_counts(df.loc[sent, ["ts", "recipient", "provider"]], SENT_STEP))
        # session ends and SASL logins: counted per step (.anomalies.folded), their seconds,
        # last lines and queue ids in the Bulk; the inbound disconnects only there (closed or not)
        ends, logins = folded.is_session_end(df), folded.is_login(df)
        if ends.any():
            e = df.loc[ends, ["ts", "event", "smtp_stage", "cause", "source", "line_no", "host"]]
            self.ends.append(e.drop(columns=["host"]).assign(_o=self._order(e)))
        if logins.any():
            self.logins.append(df.loc[logins, ["ts", "client_ip"]])
        # failures only the cause-spike and new-signature detectors read: counted per step (.anomalies.failed)
        fails = failed.is_quiet_failure(df)
        if fails.any():
            f = df.loc[fails, ["ts", "cause", "provider", "reply_text", "severity", "source", "line_no", "host"]]
            self.fails.append(f.drop(columns=["host"]).assign(_o=self._order(f)))
        # the local ones that say nothing: their seconds and last lines only (no counts read)
        bulk, apart = fold_masks(df)
        m = bulk | apart | traffic_only(df) | sent | is_local_sent(df)
        m |= ends | logins | fails | folded.is_quiet_disconnect(df)
        # without the sender: the Bulk keeps no senders (the weekly reads none); without the reply
        # class, which no detector reads of a Bulk: one row per second, file, host and kind (the
        # reply classes of a second apart made its table several times longer)
        self.bulk.add(df.drop(columns=["sender"]).assign(reply_class=None, queue_id=self._deferred_ids(df, m)), m)
        keep = _as_read(df[~m])
        if self.line32:  # (every line number of the week fits: _range_keys)
            keep = keep.assign(line_no=_int32(keep["line_no"]))
        # the order key's (host, source) rank (2 bytes a row), the key made again where it is read
        keep = keep.assign(**{PAIR_COLUMN: _pairs(keep["host"], keep["source"], self.rank).astype(np.int16)})
        keep.attrs.update(df.attrs)
        self.rows.add(keep, blank=quiet_rows(keep))  # texts nothing reads, as the report's rows

    def _deferred_ids(self, df: pd.DataFrame, m: np.ndarray) -> pd.Series:
        """The queue ids of the folded lines (``m``) that the Bulk keeps: with ``deferred``, only
        those (the others null): the Bulk's per-line queue ids were the day's largest temporary
        (28 MiB of a 3M-line day, then sorted) for the few thousand ids kept at its end."""
        q = df["queue_id"]
        if self.deferred is None:
            return q
        import pyarrow as pa
        import pyarrow.compute as pc

        from ..anomalies.aggregates import qid_hash

        at = np.flatnonzero(m & q.notna().to_numpy(dtype=bool))
        keep = np.zeros(len(df), dtype=bool)
        if len(at):
            keep[at] = np.isin(qid_hash(q.iloc[at]), self.deferred)
        arr = q.array.__arrow_array__() if hasattr(q.array, "__arrow_array__") else pa.array(q, from_pandas=True)
        out = pc.if_else(pa.array(keep), arr, pa.nulls(len(arr), arr.type))
        return pd.Series(pd.arrays.ArrowExtensionArray(out), index=df.index)

    def _order(self, rows: pd.DataFrame) -> np.ndarray:
        """The order key (:func:`_order_key`) of some of the day's lines (``ts``, ``host``, ``source``, ``line_no``)."""
        us = rows["ts"].astype("int64[pyarrow]").to_numpy(dtype=np.int64, na_value=0)
        return _order_key(us, rows["host"], rows["source"], rows["line_no"].to_numpy(dtype=np.int64, na_value=0),
                          self.rank)

    def rows_result(self) -> pd.DataFrame:
        """The day's kept rows in :data:`ORDER` (taken first: the week's fold holds them as codes
        before the Bulk's result is made, so the day's peak holds one of them, not both)."""
        ev = self.rows.result()
        if len(ev):
            ev = ev.sort_values(ORDER, kind="stable", ignore_index=True)
        return ev

    def result(self) -> tuple[Any, Any, pd.DataFrame, dict[str, Any]]:
        """The day's folds but its rows (:meth:`rows_result`)."""
        from ..anomalies.sent import combine

        b = self.bulk.result()
        t = b.table
        pairs = np.zeros(0, dtype=np.int64)
        if len(t):  # the last line of each folded second by ORDER, comparable with the rows'
            pairs = _pairs(t["host"].to_numpy(), t["source"].to_numpy(), self.rank)
            t = t.assign(last_order=order_key(t["ts_max"].to_numpy() // 1000, pairs,
                                              np.nan_to_num(t["last_line"].to_numpy(), nan=0).astype(np.int64)))
        ends, examples = None, None
        if self.ends:
            e = pd.concat(self.ends, ignore_index=True)
            ends, examples = folded.end_counts(e, SENT_STEP, e["_o"].to_numpy())
        logins = folded.login_counts(pd.concat(self.logins, ignore_index=True), SENT_STEP) if self.logins else None
        fails, fexamples = None, None
        if self.fails:
            f = pd.concat(self.fails, ignore_index=True)
            fails, fexamples = failed.failure_counts(f, SENT_STEP, f["_o"].to_numpy())
        more = {"ends": ends, "end_examples": examples, "logins": logins, "failures": fails,
                "failure_examples": fexamples, "pairs": pairs}
        return t, _first_seen_of_day(b.qids), combine(self.sent), more


#: The folded seconds' columns of few values, held as Categoricals over the week (a code per row,
#: not a string: the week's table has a row per second, file, host and kind, ~1M at 7x1M lines).
_BULK_FEW = ("source", "host", "kind")
#: Their line counts (a second's count of one kind of line), held as narrow as a day's fit
#: (:func:`_count_type`: a second's closed sessions fit a byte, its lines most often two).
_BULK_COUNTS = ("n", "closed")


#: The folded seconds' columns no detector reads of the weekly's Bulk (the nightly report's
#: sections read them): the reply class (null here), the sessions and unclosed disconnects (the
#: servers table): 16 of a row's 66 bytes.
_BULK_UNREAD = ("reply_class", "sessions", "unclosed")


def _count_type(v: np.ndarray) -> type:
    """The narrowest signed integer type that holds every count ``v`` (int8, int16, else int32:
    the detectors read the counts as int64 or as weights, never summed in their own type; the
    days' concatenated take the widest of them)."""
    lo, hi = (int(v.min()), int(v.max())) if len(v) else (0, 0)
    for typ in (np.int8, np.int16):
        if np.iinfo(typ).min <= lo and hi <= np.iinfo(typ).max:
            return typ
    return np.int32


def _compact(t: pd.DataFrame, pairs: np.ndarray | None = None) -> pd.DataFrame:
    """A day's folded seconds with :data:`_BULK_FEW` as Categoricals and :data:`_BULK_COUNTS` as
    narrow as they fit (done as each day is read: the days' string columns were most of the held seconds),
    without :data:`_BULK_UNREAD`; each column an array of its own (no block copied at a concat).
    With ``pairs`` (each row's (host, source) rank, of which its ``last_order`` is made), their
    times, line numbers and order keys narrow when they fit
    (:func:`~analyzer.anomalies.bulk_narrow.narrow_times`: 18 of a held row's 40 bytes of them)."""
    out: dict[str, Any] = {}
    for c in t.columns:
        if c in _BULK_UNREAD:
            continue
        if c in _BULK_FEW:
            out[c] = pd.Categorical(t[c])
        else:  # a copy of its own: a view would keep the day's whole 2-D block (every column) alive
            v = t[c].to_numpy()
            out[c] = v.astype(_count_type(v)) if c in _BULK_COUNTS else v.copy()
    frame = pd.DataFrame(out, copy=False)
    if pairs is not None and len(frame):
        narrow = narrow_times(frame, pairs)
        if narrow is not None:
            return narrow
    return frame


def _concat_compact(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The days' compact folded seconds (:func:`_compact`) as one table, one category set for the
    week, its rows by ``last_order`` (stably, as the whole week's fold gave them): narrow when
    every day's is, else every day's made whole. Built a column at a time, each taken in order as
    it is concatenated and the days' copy of it dropped: the peak is the table and one column (a
    concat, then a take of the whole table, held three)."""
    from pandas.api.types import union_categoricals

    if any("last_order" in t.columns for t in tables):
        tables[:] = [widen_times(t) for t in tables]
    columns = list(tables[0].columns)
    order = np.argsort(np.concatenate([last_orders(t) for t in tables]), kind="stable")
    out: dict[str, Any] = {}
    for c in columns:
        if c in _BULK_FEW:
            col = union_categoricals([pd.Categorical(t[c].astype(object)) if not isinstance(t[c].dtype, pd.CategoricalDtype)
                                      else t[c].array for t in tables])
            out[c] = pd.Categorical.from_codes(col.codes[order], dtype=col.dtype)
        else:
            out[c] = np.concatenate([t[c].to_numpy() for t in tables])[order]
        for i, t in enumerate(tables):
            tables[i] = t.drop(columns=[c])
            tables[i].attrs.update(t.attrs)
    return pd.DataFrame({c: out[c] for c in columns}, copy=False)


def _null_array(typ: Any, n: int) -> Any:
    """``n`` nulls of Arrow type ``typ`` whose buffers are fresh zeroed memory (``np.zeros``: pages
    the system maps on first write, never written here, so not resident), or None for a type whose
    buffers are not a validity bitmap and values (or offsets) alone."""
    import pyarrow as pa

    def zeros(nbytes: int) -> Any:
        return pa.py_buffer(np.zeros(max(nbytes, 1), dtype=np.uint8))

    validity = zeros((n + 7) // 8)
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        bufs = [validity, zeros(4 * (n + 1)), zeros(0)]
    elif pa.types.is_large_string(typ) or pa.types.is_large_binary(typ):
        bufs = [validity, zeros(8 * (n + 1)), zeros(0)]
    elif pa.types.is_boolean(typ):
        bufs = [validity, zeros((n + 7) // 8)]
    elif pa.types.is_primitive(typ) and typ.bit_width % 8 == 0:
        bufs = [validity, zeros(n * typ.bit_width // 8)]
    else:
        return None
    return pa.Array.from_buffers(typ, n, bufs, null_count=n)


def _unresident_nulls(ev: pd.DataFrame) -> pd.DataFrame:
    """The week's kept rows with each Arrow column that is null on every row made of
    :func:`_null_array`'s buffers: the same values and type, no resident memory (Exim's ``delay``
    of its rejects and authentication failures: 13 MiB at 7x3M lines)."""
    import pyarrow as pa

    out = {}
    n = len(ev)
    for c in ev.columns:
        dtype = ev[c].dtype
        if n < 4096 or not isinstance(dtype, pd.ArrowDtype) or ev[c].array.__arrow_array__().null_count != n:
            continue
        arr = _null_array(dtype.pyarrow_dtype, n)
        if arr is not None:
            out[c] = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([arr])), index=ev.index)
    if not out:
        return ev
    lean = ev.assign(**out)
    lean.attrs.update(ev.attrs)
    return lean


def deferred_qids(store: str | os.PathLike, since: dt.date, until: dt.date) -> np.ndarray:
    """The queue ids (:func:`~analyzer.anomalies.aggregates.qid_hash`, sorted, distinct) of the
    deferred deliveries of ``[since, until)``: the only messages whose first time the deferral
    detector looks up among the folded lines. Three columns read, batch by batch."""
    from ..anomalies.aggregates import _eq, qid_hash
    from ..store import iter_event_batches

    parts = [np.array([], dtype=np.uint64)]
    for t in iter_event_batches(store, since=since, until=until, columns=["event", "status", "queue_id"]):
        df = t.to_pandas(types_mapper=pd.ArrowDtype)
        m = _eq(df["event"], "delivery") & _eq(df["status"], "deferred") & df["queue_id"].notna().to_numpy(dtype=bool)
        if m.any():
            parts.append(np.unique(qid_hash(df["queue_id"][m])))
    return np.unique(np.concatenate(parts))


def week_events(store: str | os.PathLike, since: dt.date, until: dt.date,
                deferred: np.ndarray | None = None) -> tuple[pd.DataFrame, Any]:
    """The events of ``[since, until)`` as the detectors read them (see the module docstring): the
    kept rows in :data:`ORDER` with the rank of their (host, source) pair (``PAIR_COLUMN``: their
    order key within each second, :func:`~analyzer.anomalies.bulk_narrow.row_orders`), and a ``Bulk``
    of the folded lines whose ``last_order`` is the same key. With
    ``deferred`` (:func:`deferred_qids` of every range the detectors read together), the Bulk's
    queue ids are only those: the others' first times are never looked up."""
    from ..anomalies.aggregates import Bulk
    from ..report.fold import RowsFold
    from ..store import iter_event_batches

    # big arrays mapped apart from the heap from now on, given back when freed: the days' temporaries
    # left the heap fragmented (measured: RSS after a 3M-line day's adds 323 -> 277 MiB, less CPU)
    heap.trim(map_large=True)
    # and Arrow's pool gives back what it freed after 200 ms, not after its default's seconds: the
    # days' reads and the detectors' Arrow temporaries were kept as dirty pages under the next
    # ones (the weekly's high at low load, when the seconds pass quickly)
    heap.hand_back_early()
    rank, line32 = _range_keys(store, since, until)
    week = RowsFold([*ROW_COLUMNS, PAIR_COLUMN], few_values=_FEW, categorical=_FEW)
    tables, qids, sent, ends, logins, fails = [], [], [], [], [], []
    done = held = 0
    for lo, hi in _days(since, until):
        day = _Day(rank, deferred, line32)
        for t in iter_event_batches(store, since=lo, until=hi, columns=READ_COLUMNS):
            df = t.to_pandas(types_mapper=pd.ArrowDtype)
            df.attrs.update({"input": 0, "first_row": done})  # the last line of a folded second: read order
            done += len(df)
            day.add(df)
        ev = day.rows_result()
        if len(ev):
            ev.attrs.update({"input": 0, "first_row": held})
            held += len(ev)
            week.add(ev)
        del ev
        table, q, s, more = day.result()
        sent.append(s)
        if more["ends"] is not None:
            ends.append((more["ends"], more["end_examples"]))
        logins.append(more["logins"])
        if more["failures"] is not None:
            fails.append((more["failures"], more["failure_examples"]))
        del day
        if len(table):
            tables.append(_compact(table, more["pairs"]))
        # the day's folded seconds as BulkFold gave them (a 2-D int64 block and object columns, ~30 MiB
        # at 3M lines) were held through the next day's read by this name
        del table
        if deferred is not None and len(q):
            q = q[np.isin(q["qid"].to_numpy(), deferred)].reset_index(drop=True)
        if len(q):
            qids.append(q)
        heap.give_back()  # the day's batches and temporaries, before the next day is read
    ev = _unresident_nulls(week.result())
    del week  # its values' codes
    heap.give_back()
    t = _concat_compact(tables) if tables else _compact(Bulk.empty().table)
    del tables
    from ..anomalies.sent import combine

    q = pd.concat(qids, ignore_index=True) if qids else Bulk.empty().qids
    e, examples = folded.combine_ends(ends)
    f, fexamples = failed.combine_failures(fails)
    bulk = Bulk(t, q, sent=combine(sent), sent_step=SENT_STEP, ends=e, end_examples=examples,
                logins=folded.combine_logins(logins), failures=f, failure_examples=fexamples)
    del t, q
    # the days' compact tables (freed column by column as the week's were made) and what the
    # combines left, before the detectors (measured: 20 MiB of the heap at 7x1M Exim lines)
    heap.give_back()
    return ev, bulk
