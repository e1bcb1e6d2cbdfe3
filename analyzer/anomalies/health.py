"""Detectors for the health of the mail system itself: silence, abnormal session ends, fatal
errors and resource trouble."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .aggregates import _NULL_SEC, DELIVERED, RECEIVED, Bulk, _eq
from .aggregates import span as extent
from .baseline import _robust, _runs, _with_bucket
from .bulk_narrow import SUB, extreme_ns, last_orders, order_columns, row_orders
from .bulk_narrow import ns as bulk_ns
from .client_counts import times_at
from .context import Context, _finding, _str_eq, _truthy
from .finding import Finding


def _onsets(ts: np.ndarray, burst: np.timedelta64) -> np.ndarray:
    """The first second of each burst of activity in the sorted seconds ``ts``: one session logs
    lines over several seconds, so bursts, not seconds, arrive independently of each other."""
    if len(ts) == 0:
        return ts
    return ts[np.r_[True, np.diff(ts) >= burst]]


def _side_rates(onsets: np.ndarray, ts: np.ndarray, a: np.datetime64, b: np.datetime64, end: np.datetime64 | None,
                width: np.timedelta64, p: dict[str, Any]) -> list[float]:
    """Bursts per second in the ``width`` before the gap ``a``–``b`` and after it (a side too short
    to say anything is left out)."""
    before = onsets[(onsets >= a - width) & (onsets <= a)]
    after = onsets[(onsets > b) & (onsets <= b + width)] if b != end else onsets[:0]
    rates = []
    for side, span in ((before, min(width, a - ts[0])), (after, min(width, ts[-1] - b))):
        secs = span / np.timedelta64(1, "s")
        if len(side) and secs >= p["min_gap"]:
            rates.append(len(side) / secs)
    return rates


def _silences(ts: np.ndarray, *, start: np.datetime64 | None, end: np.datetime64 | None, p: dict[str, Any],
              hist_rate: Callable[[np.datetime64, np.datetime64], float] | None) -> list[tuple[Any, Any, float]]:
    """Gaps in the sorted active seconds ``ts`` (numpy datetime64[ns]) longer than min_gap whose
    expected number of bursts of activity (from the surrounding traffic or the history's rate) is
    at least min_expected."""
    if len(ts) == 0:
        return []
    points = ts
    if end is not None and end > ts[-1]:
        points = np.append(points, end)
    gaps = np.diff(points)
    min_gap = np.timedelta64(int(p["min_gap"]), "s")
    ctxw = np.timedelta64(int(p["context"]), "s")
    onsets = _onsets(ts, np.timedelta64(int(p["burst"]), "s"))
    out = []
    for i in np.flatnonzero(gaps >= min_gap):  # the long gaps only: few
        a, b = points[i], points[i + 1]
        if hist_rate is not None:
            exp = hist_rate(a, b)
        else:
            # The quieter side sets the rate: a gap next to a burst is not silence. When traffic
            # thins out into the gap and picks up gradually after it (a valley: quieter in the
            # `near` seconds than over `context` on both sides), it is a lull such as a quiet
            # night, and the near rates set the expectation; a drop that does not taper is judged
            # on the whole context.
            rates = []
            wide = _side_rates(onsets, ts, a, b, end, ctxw, p)
            near = _side_rates(onsets, ts, a, b, end, np.timedelta64(int(p["near"]), "s"), p)
            valley = len(wide) == len(near) == 2 and all(n < w for n, w in zip(near, wide, strict=True))
            rates = near if valley else wide
            if not rates:
                continue
            exp = min(rates) * ((b - a) / np.timedelta64(1, "s"))
        if exp >= p["min_expected"]:
            out.append((a, b, float(exp)))
    return out


class _Streams:
    """The log stream of each row of a table: its source file with the rotation suffix taken off
    (mail.log, mail.log.1 and mail.log.2.gz are one stream; mail.warn is another; no file: "").
    Held as the column's codes and a stream per code, the rows of a stream found on the codes."""

    def __init__(self, sources: pd.Series | None) -> None:
        from ..sources import rotation_key

        # the column's own codes (a Categorical's, or factorized): no string per row (measured: an
        # astype("string") of the rows' sources was the silence detector's peak, +223 MiB at 3M Exim)
        if sources is None:
            codes, names = np.zeros(0, dtype=np.int64), []
        elif isinstance(sources.dtype, pd.CategoricalDtype):
            codes, names = sources.cat.codes.to_numpy(), sources.cat.categories
        else:
            codes, names = _run_codes(sources)
        self.keys = np.array([rotation_key(str(n))[0] for n in names] + [""], dtype=object)
        self.codes = np.where(codes >= 0, codes, len(self.keys) - 1)  # -1 (no source) takes the trailing ""

    def present(self) -> set[str]:
        """The streams of the rows."""
        return set(self.keys[np.flatnonzero(np.bincount(self.codes, minlength=len(self.keys)))].tolist())

    def rows_of(self, stream: str) -> np.ndarray:
        """Which rows are of ``stream``."""
        return (self.keys == stream)[self.codes]


def _run_codes(values: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize`` of a column whose values come in runs (a Bulk's file names, its table in
    input order: one run a file): of a column of Python strings, the first value of each run
    factorized and its code repeated (numpy compares neighbours on their objects, equal ones
    mostly one object: 2 against pandas' 30 ms on the 320k rows of a 1M-line Exim day's Bulk)."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "python") \
            and values.dtype != object:
        return pd.factorize(values, use_na_sentinel=True)
    objects = np.asarray(values.array, dtype=object)  # (no copy)
    if len(objects) < 2:
        return pd.factorize(objects, use_na_sentinel=True)
    new = np.ones(len(objects), dtype=bool)
    try:
        np.not_equal(objects[1:], objects[:-1], out=new[1:])  # (a null is never equal: its own run)
    except TypeError:  # (a value whose comparison is no bool: pd.NA)
        return pd.factorize(values, use_na_sentinel=True)
    start = np.flatnonzero(new)
    codes, names = pd.factorize(objects[start], use_na_sentinel=True)
    return np.repeat(codes, np.diff(np.r_[start, len(objects)])), names


def _seconds(ts: pd.Series, folded: np.ndarray | None = None) -> np.ndarray:
    """The distinct seconds of ``ts`` (and of the folded seconds, a Bulk's ``sec``) with at least
    one line (datetime64[ns], sorted): one session logs many lines at once, so active seconds,
    not lines, measure traffic."""
    # a slice at a time, each slice's distinct seconds kept (a day has at most 86,400): the same
    # seconds as the whole column's, without its temporary copies at once (measured: the
    # silence detector's peak +129 MiB at 3M Exim lines)
    from ..report.timeline import _utc_ns

    # (times all known: cast in Arrow, not through pandas' tz_convert copies)
    utc = _utc_ns if not ts.isna().any() else \
        (lambda t: t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"))
    parts = [_distinct(utc(ts.iloc[i:i + _SLICE]).astype("datetime64[s]"))
             for i in range(0, len(ts), _SLICE)] or [np.array([], dtype="datetime64[s]")]
    if folded is not None and len(folded):
        parts.append(_distinct(folded.astype(np.int64).astype("datetime64[s]")))
    return _distinct(np.concatenate(parts)).astype("datetime64[ns]")


def _distinct(sec: np.ndarray) -> np.ndarray:
    """``np.unique(sec)`` of times (datetime64[s]), sorted as their int64 (numpy's sort of
    datetimes, NaT-aware, took ~5 times as long; ``np.unique`` of int64, by hashing, ~10 times
    a sort's) and without a sort when they are in order already (a Bulk's seconds are, its table
    being in input order: a few hundred thousand); the few sorted runs of joined parts (the
    slices' distinct seconds and the folded ones) merged by a stable sort."""
    i = sec.view(np.int64)
    if (i == np.iinfo(np.int64).min).any():  # (NaT: where it sorts differs)
        return np.unique(sec)
    if len(i) < 2:
        return i.copy().view(sec.dtype)
    if not (i[1:] >= i[:-1]).all():
        i = np.sort(i, kind="stable")
    return i[np.r_[True, i[1:] != i[:-1]]].view(sec.dtype)


#: Rows per slice in :func:`_seconds`.
_SLICE = 200_000


def _profile(ts: np.ndarray, days: float, burst: int) -> Callable[[np.datetime64, np.datetime64], float]:
    """Expected bursts of activity between two times from the mean bursts per hour of day in the
    active seconds ``ts`` over ``days`` days (a seasonal baseline: a quiet night stays quiet)."""
    ts = _onsets(ts, np.timedelta64(burst, "s"))
    hours = ((ts.astype("datetime64[h]").astype(np.int64)) % 24).astype(np.int64)
    per_hour = np.bincount(hours, minlength=24)[:24] / days

    def rate(a: np.datetime64, b: np.datetime64) -> float:
        minutes = np.arange(a.astype("datetime64[m]"), b.astype("datetime64[m]") + np.timedelta64(1, "m"))
        return float(per_hour[minutes.astype("datetime64[h]").astype(np.int64) % 24].sum() / 60.0)
    return rate


def detect_silence(ctx: Context) -> list[Finding]:
    """Deliveries, receptions or all traffic of one log stream stop for a period where that same
    stream had traffic: each file (with its rotated parts) is judged only against its own lines,
    so a sparse mail.warn beside a busy mail.log makes no silence. The expected traffic comes from
    the hour-of-day profile of a history of at least a day, or of a window of at least
    ``profile_days`` days (so a night that is quiet every night is no silence), else from the
    traffic just before and after the gap."""
    p = ctx.params["silence"]
    ev, hist = ctx.events, ctx.history
    end = None if ctx.now is None else np.datetime64(pd.Timestamp(ctx.now).tz_convert("UTC").tz_localize(None), "ns")
    ev_stream = _Streams(ev["source"])
    hist_stream = _Streams(hist["source"] if len(hist) else None)
    # the folded lines (sessions, TLS, postscreen: .aggregates) are traffic of their stream too
    bw = ctx.bulk.table if ctx.bulk is not None else None
    bh = ctx.bulk_history.table if ctx.bulk_history is not None else None
    bw_stream = _Streams(bw["source"] if bw is not None and len(bw) else None)
    bh_stream = _Streams(bh["source"] if bh is not None and len(bh) else None)
    series = {
        "all traffic": (np.ones(len(ev), dtype=bool), np.ones(len(hist), dtype=bool)),
        "receptions": (_str_eq(ev["event"], "received"), _str_eq(hist["event"], "received")),
        "deliveries": (_str_eq(ev["event"], "delivery") & _str_eq(ev["status"], "sent"),
                       _str_eq(hist["event"], "delivery") & _str_eq(hist["status"], "sent")),
    }
    streams = sorted(ev_stream.present() | bw_stream.present())
    out: list[Finding] = []
    covered: dict[str, list[tuple[Any, Any]]] = {name: [] for name in series}
    for stream in streams:
        in_ev, in_hist, in_bw, in_bh = (x.rows_of(stream) for x in (ev_stream, hist_stream, bw_stream, bh_stream))
        hist_days = _days(hist, in_hist, bh, in_bh) if in_hist.any() or in_bh.any() else 0.0
        ev_days = _days(ev, in_ev, bw, in_bw)
        for name, (mask, hmask) in series.items():
            # the folded lines of the series: all of them for all traffic, the received ones for receptions
            fw, fh = _folded_of(name, bw, in_bw), _folded_of(name, bh, in_bh)
            folded = fw is not None
            ts = _seconds(ev.loc[in_ev & mask, "ts"], _sec_of(bw, fw))
            rate_fn = None
            if hist_days >= 1.0:
                rate_fn = _profile(_seconds(hist.loc[in_hist & hmask, "ts"], _sec_of(bh, fh)), hist_days,
                                   int(p["burst"]))
            elif ev_days >= p["profile_days"]:
                rate_fn = _profile(ts, ev_days, int(p["burst"]))
            for a, b, exp in _silences(ts, start=None, end=end, p=p, hist_rate=rate_fn):
                # one gap seen in several streams (mail.log and mail.info) or series is one finding
                if any(a < cb and ca < b for ca, cb in covered[name] + covered["all traffic"]):
                    continue
                covered[name].append((a, b))
                ta, tb = pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")
                minutes = (tb - ta) / pd.Timedelta(minutes=1)
                # the last such row, taken alone (a filter of the whole table per gap held a copy of it)
                hit = np.flatnonzero(_truthy(ev["ts"] <= ta) & mask & in_ev)[-1:]
                last = ev.iloc[hit]
                if folded:
                    last = _last_line(last, bw, fw, ta)
                sev = "critical" if exp >= p["critical_expected"] else "warning"
                where = f" in {stream}" if len(streams) > 1 and stream else ""
                out.append(_finding(ctx, detector="silence", severity=sev, entity=name, rows=last,
                                    title=f"Silence: no {name if name != 'all traffic' else 'log lines'}{where} for "
                                          f"{minutes:.0f} minutes",
                                    observed=0.0, expected=exp, start=ta, end=tb,
                                    detail=f"about {exp:.0f} bursts of activity expected from the traffic of the "
                                           "same log file around it; the evidence is the last line before the gap"))
    return out


#: The columns of a Bulk's table the span of a stream reads (its first and last times), whole or
#: narrow (:mod:`.bulk_narrow`).
_SPAN = ["sec", "ts_min", "ts_max", *SUB.values()]


def _days(rows: pd.DataFrame, in_rows: np.ndarray, table: pd.DataFrame | None, in_table: np.ndarray) -> float:
    """The span in days of the times of one stream's rows (``in_rows`` of ``rows``) and folded
    lines (``in_table`` of a Bulk's ``table``): their first to their last. Of times all known,
    read as integers at those lines (no copy of the rows' times nor of the Bulk's columns)."""
    ts = rows["ts"]
    if ts.isna().any():
        span_cols = [c for c in _SPAN if c in table.columns] if table is not None else []
        first, last = extent(rows.loc[in_rows, "ts"], Bulk(table.loc[in_table, span_cols]) if in_table.any() else None)
        return (last - first) / pd.Timedelta(days=1)
    ends = []
    if in_rows.any():
        ns = times_at(ts, np.flatnonzero(in_rows))
        ends += [int(ns.min()), int(ns.max())]
    if table is not None and in_table.any():
        timed = in_table & (table["sec"].to_numpy() != _NULL_SEC)
        if timed.any():
            ends += [extreme_ns(table, "ts_min", timed), extreme_ns(table, "ts_max", timed, largest=True)]
    return (max(ends) - min(ends)) / pd.Timedelta(days=1).value


def _folded_of(series: str, table: pd.DataFrame | None, rows: np.ndarray) -> np.ndarray | None:
    """The folded seconds (rows of a Bulk's table, ``rows``: those of one stream) of a silence
    series, as a mask of the table: every one for all traffic, those of received lines for
    receptions, those of sent deliveries (the weekly's) for deliveries; None when none. A mask,
    not the rows: a copy of the stream's rows (every column) was the weekly's peak."""
    if table is None or not rows.any():
        return None
    if series in ("receptions", "deliveries"):
        kind = RECEIVED if series == "receptions" else DELIVERED
        rows = rows & _eq(table["kind"], kind) if "kind" in table.columns else np.zeros(len(rows), bool)
    return rows if rows.any() else None


def _sec_of(table: pd.DataFrame | None, rows: np.ndarray | None) -> np.ndarray | None:
    """The ``sec`` of the folded seconds ``rows`` (:func:`_folded_of`) of ``table``."""
    return None if rows is None or table is None else table["sec"].to_numpy()[rows]


def _last_line(last: pd.DataFrame, table: pd.DataFrame, rows: np.ndarray, ta: pd.Timestamp) -> pd.DataFrame:
    """The later, in time and then input order, of ``last`` (one row or none) and the last folded
    line (of ``rows`` of ``table``) at or before ``ta``, as a one-row frame (``ts``, ``source``, ``line_no``)."""
    sec = table["sec"].to_numpy()
    at = np.flatnonzero(rows & (sec <= ta.value // 1_000_000_000) & table["last_line"].notna().to_numpy())
    if not len(at):
        return last
    # the last of them by (sec, last_order), the later in table order among equals (a stable sort's last)
    order = last_orders(table, at)
    i = int(np.lexsort((order, sec[at]))[-1])
    best = int(at[i])
    if len(last):
        row_sec = pd.Timestamp(last["ts"].iloc[0]).value // 1_000_000_000
        orders = row_orders(last.iloc[:1])
        row_order = int(orders[0]) if orders is not None else -1
        if (row_sec, row_order) >= (int(sec[best]), int(order[i])):
            return last
    return pd.DataFrame({"ts": [pd.Timestamp(int(bulk_ns(table, "ts_max", [best])[0]), tz="UTC")],
                         "source": [table["source"].iloc[best]], "line_no": [int(table["last_line"].iloc[best])]})


def detect_session_ends(ctx: Context) -> list[Finding]:
    """Lost connections and timeouts rising relative to normal QUIT/221 closes, per bucket."""
    p = ctx.params["session_ends"]
    min_hist = int(ctx.params["general"]["min_history"])
    df = ctx.all
    inbound = ~_str_eq(df["direction"], ("outbound", "local"))
    closed = _str_eq(df["event"], "disconnect") & _truthy(df["quit"]) & inbound
    abnormal = _str_eq(df["event"], ("lost_connection", "timeout")) & inbound
    cols = ["ts", "event", "smtp_stage", "cause", "source", "line_no"]
    ends = _with_bucket(ctx, df.loc[closed | abnormal, cols + order_columns(df)])
    folded = _folded_closes(ctx)  # normal closes folded apart from the rows, per bucket
    fends, fexamples = _folded_ends(ctx)  # abnormal ends folded apart from the rows (the weekly's)
    if ends.empty and folded.empty and fends is None:
        return []
    ends["abnormal"] = _str_eq(ends["event"], ("lost_connection", "timeout"))
    g = ends.groupby("bucket")["abnormal"].agg(["sum", "count"])
    step = int(ctx.bucket / pd.Timedelta(seconds=1))
    fbad = pd.Series([], dtype=np.int64)
    if fends is not None:
        fends = fends.assign(bucket=pd.to_datetime((fends["sec"].to_numpy() // step) * step, unit="s", utc=True))
        fbad = fends.groupby("bucket")["n"].sum()
    if len(folded) or len(fbad):
        ends["bucket"] = ends["bucket"].astype("datetime64[ns, UTC]")
        g.index = pd.DatetimeIndex(g.index.astype("datetime64[ns, UTC]"))
        g = g.add(pd.DataFrame({"sum": 0, "count": folded}), fill_value=0)
        g = g.add(pd.DataFrame({"sum": fbad, "count": fbad}), fill_value=0).sort_index()
    g["share"] = g["sum"] / g["count"]
    window_start = ctx.first_ts.floor(ctx.bucket)
    hit, exps = [], {}
    for i, (b, row) in enumerate(g.iterrows()):
        if b < window_start or row["sum"] < p["min_abnormal"] or row["share"] < p["min_share"]:
            continue
        hist = g["share"].to_numpy()[:i]
        if len(hist) < min_hist:
            continue
        med, sd = _robust(hist)
        if row["share"] >= med + max(p["k"] * sd, p["min_increase"]):
            hit.append(b)
            exps[b] = med
    out = []
    for run in _runs(hit, ctx.bucket):
        rows = ends[ends["bucket"].isin(run).to_numpy()]
        bad = rows[rows["abnormal"]]
        fb = fends[fends["bucket"].isin(run).to_numpy()] if fends is not None else None
        nfb = int(fb["n"].sum()) if fb is not None else 0
        n = len(rows) + (int(folded[folded.index.isin(run)].sum()) if len(folded) else 0) + nfb
        nbad = len(bad) + nfb
        share = nbad / n
        if fb is not None and len(fb):
            stage = _mode_with(bad["smtp_stage"], fb, "smtp_stage")
            cause = _mode_with(bad["cause"], fb, "cause")
            bad = _with_examples(bad, fb, fexamples)
        else:
            stage = bad["smtp_stage"].mode()
            stage = stage.iloc[0] if len(stage) else None
            cause = bad["cause"].mode().iloc[0]
        where = f" mostly after {stage}" if stage is not None else ""
        out.append(_finding(ctx, detector="session_ends", severity="warning", entity="inbound sessions", rows=bad,
                            title=f"Abnormal session ends: {share:.0%} of {n} sessions lost or timed out{where}",
                            observed=share, expected=float(np.mean([exps[b] for b in run])), cause=cause,
                            unit="share", detail=f"{nbad} lost or timed out against {n - nbad} normal QUIT/221 closes"))
    return out


def _folded_ends(ctx: Context) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The abnormal session ends folded apart from the rows (history and window: :mod:`.folded`)."""
    parts = [b for b in (ctx.bulk_history, ctx.bulk) if b is not None and b.ends is not None and len(b.ends)]
    if not parts:
        return None, None
    return (pd.concat([b.ends for b in parts], ignore_index=True),
            pd.concat([b.end_examples for b in parts], ignore_index=True))


def _mode_with(rows: pd.Series, fb: pd.DataFrame, column: str) -> Any:
    """The most frequent value of ``column`` among ``rows`` and the folded ends ``fb`` (their counts)."""
    from .folded import weighted_mode

    values = pd.concat([pd.Series(rows.astype(object).to_numpy(dtype=object)), fb[column]], ignore_index=True)
    return weighted_mode(values, np.r_[np.ones(len(rows), np.int64), fb["n"].to_numpy(dtype=np.int64)])


def _with_examples(bad: pd.DataFrame, fb: pd.DataFrame, examples: pd.DataFrame) -> pd.DataFrame:
    """``bad`` (rows) with the folded ends of ``fb``: their first lines (evidence) and two lines
    without a file that carry their first and last time, in the rows' order (time, then order)."""
    from .failed import with_examples
    from .folded import END_KEYS

    return with_examples(bad, fb, examples, END_KEYS)


def _folded_closes(ctx: Context) -> pd.Series:
    """Inbound disconnects with QUIT folded apart from the rows (history and window), per bucket:
    summed on the Bulks' columns (not a table of them joined)."""
    parts = [b.table for b in (ctx.bulk_history, ctx.bulk) if b is not None and len(b.table)]
    if not parts:
        return pd.Series([], dtype=np.int64)
    step = int(ctx.bucket / pd.Timedelta(seconds=1))
    secs, counts = [], []
    for t in parts:
        closed = t["closed"].to_numpy()
        some = closed > 0
        secs.append(t["sec"].to_numpy()[some])
        counts.append(closed[some])
    b = np.concatenate(secs) // step
    weights = np.concatenate(counts)
    lo = int(b.min()) if len(b) else 0
    if len(b) and int(b.max()) - lo < 4 * len(b) + 1024:
        # summed by the buckets' numbers from the first (a week of hours: a few hundred), not
        # sorted: np.unique's sort of every folded second was the detector's peak at 7x3M lines;
        # every line counted has closed > 0, so a bucket with lines has a sum > 0
        b -= lo
        per = np.bincount(b, weights=weights)
        present = np.flatnonzero(per > 0)
        buckets, sums = (present + lo) * step, per[present].astype(np.int64)
    else:
        buckets, at = np.unique(b * step, return_inverse=True)
        sums = np.bincount(at, weights=weights, minlength=len(buckets)).astype(np.int64)
    return pd.Series(sums, index=pd.to_datetime(buckets, unit="s", utc=True), name="closed")


def _matches(s: pd.Series, pattern: str) -> np.ndarray:
    """Whether each text matches ``pattern``, the regex run once per distinct text."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    hit = pd.Series(uniq, dtype="string[pyarrow]").str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)
    return np.append(hit, False)[codes]


def detect_server_trouble(ctx: Context) -> list[Finding]:
    """Our own server in trouble: fatal/panic lines, queue file write errors, disk or resource warnings."""
    p = ctx.params["server"]
    ev = ctx.events
    own = ~_str_eq(ev["direction"], ("outbound", "inbound"))
    # the texts of our own lines only (few): matching every row's factorised the whole table's texts
    said = np.zeros(len(ev), dtype=bool)
    if own.any():
        at = np.flatnonzero(own)
        said[at] = _matches(ev["detail"].iloc[at], p["text"]) | _matches(ev["reply_text"].iloc[at], p["text"])
    resource = said | _str_eq(ev["cause"], "local.resource")
    groups = [
        ("critical", "fatal/panic", _str_eq(ev["event"], ("fatal", "panic")),
         "The mail system logged fatal or panic errors"),
        ("critical", "resources", resource & ~_str_eq(ev["event"], ("fatal", "panic")),
         "Disk, queue file or resource errors"),
    ]
    out = []
    for sev, entity, mask, title in groups:
        rows = ev[mask]
        if rows.empty:
            continue
        cause = rows["cause"].mode().iloc[0]
        programs = ", ".join(sorted(rows["program"].dropna().unique().tolist())[:5])
        out.append(_finding(ctx, detector="server", severity=sev, entity=entity, rows=rows,
                            title=f"{title} ({len(rows)} line{'' if len(rows) == 1 else 's'}{', ' + programs if programs else ''})",
                            observed=float(len(rows)), expected=0.0, cause=cause if cause != "unknown" else None,
                            detail=str(rows["detail"].dropna().head(1).tolist()[0] if rows["detail"].notna().any()
                                       else "")[:300]))
    return out
