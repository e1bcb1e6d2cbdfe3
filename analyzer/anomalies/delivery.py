"""Detectors for outbound delivery: failure spikes per destination, provider and cause; new
failure signatures; one destination refusing most of our mail or one client producing most
rejects; deferrals piling up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .aggregates import _seconds_ns, _values, qid_hash
from .baseline import _robust, _runs, _with_bucket, robust_rows
from .bucket_counts import bucket_sums, floor_ns, group_codes, pair_sums
from .bulk_narrow import order_columns
from .client_counts import Lines, by_name, client_lines, per_key, runs, step_index
from .context import FAILURES, Context, _domain, _finding, _str_eq, _truthy
from .failed import FAIL_KEYS, bucket_of, folded_failures, with_examples
from .finding import Finding
from .folded import weighted_mode
from .outbound import Outbound, outbound_lines


def _outbound_sent(ctx: Context, *, history: bool, last: bool = False) -> Outbound:
    """The outbound deliveries (:class:`.outbound.Outbound`: the rows and the folded sent
    deliveries) of the window (and of the history before it, ``history``): made once where both
    are the same (no history rows nor history's folded sent deliveries: the failure spike's and
    the concentration's), kept on ``ctx`` until its ``last`` reader takes them."""
    hist = ctx.bulk_history
    same = not len(ctx.history) and (hist is None or hist.sent is None or not len(hist.sent))
    key = "events" if same or not history else "all"
    held = ctx.__dict__.setdefault("_outbound_sent", {})
    got = held.pop(key, None) if last else held.get(key)
    if got is None:
        rows, bulks = (ctx.all, [hist, ctx.bulk]) if key == "all" else (ctx.events, [ctx.bulk])
        got = outbound_lines(ctx, rows, bulks)
        if not last:
            held[key] = got
    return got


def _times(ns: np.ndarray) -> pd.Series:
    """Bucket starts (int64 ns) as UTC times."""
    return pd.Series(pd.to_datetime(ns, unit="ns", utc=True))


def _named(names: np.ndarray, codes: np.ndarray) -> dict[str, int]:
    """The code of each name (as a string) among ``codes``."""
    return {str(names[c]): int(c) for c in np.unique(codes)}


def detect_failure_spike(ctx: Context) -> list[Finding]:
    """Failure rate per destination domain and per provider, per bucket, against earlier buckets;
    and the count of each failure cause per bucket against earlier buckets."""
    p = ctx.params["failure_spike"]
    min_hist = int(ctx.params["general"]["min_history"])
    # the sent deliveries folded apart from the rows count as lines weighing w (counted on codes:
    # .outbound, .bucket_counts; the group-by's order of entities and buckets kept)
    ob = _outbound_sent(ctx, history=True)
    if ob.empty:
        return []
    window_start = ctx.first_ts
    step = int(ctx.bucket.value)
    findings: list[Finding] = []
    # Everything we sent, per bucket: the prior for destinations with little history.
    tb, (tsum, tcount) = bucket_sums(ob.bucket, [ob.failed, ob.w])
    tot = pd.DataFrame({"sum": tsum, "count": tcount}, index=pd.DatetimeIndex(_times(tb), name="bucket"))
    for dim in ("domain", "provider"):
        code, names = ob.codes(dim)
        kc, kb, (fails, sent_n) = pair_sums(code, ob.bucket, step, [ob.failed, ob.w])
        if not len(kc):
            continue
        flagged = _spikes((kc, names, kb), fails.astype(float), sent_n.astype(float), tot, window_start.floor(ctx.bucket),
                          p, min_hist)
        code_of = _named(names, kc) if flagged else {}
        for entity, items in flagged.items():
            by_b = {b: (r, e, f) for b, r, e, f in items}
            for run in _runs(list(by_b), ctx.bucket):
                sel = (code == code_of[entity]) & np.isin(ob.bucket, [b.value for b in run])
                failed = ob.failures(sel)
                nfail = float(len(failed))
                sent = int(ob.w[sel].sum())
                rate = nfail / max(1, sent)
                exp = float(np.mean([by_b[b][1] for b in run]))
                cause = failed["cause"].mode().iloc[0] if len(failed) else None
                sev = "critical" if max(by_b[b][2] for b in run) >= p["critical_failures"] else "warning"
                label = "destination" if dim == "domain" else "provider"
                findings.append(_finding(
                    ctx, detector="failure_spike", severity=sev, entity=str(entity), rows=failed,
                    title=f"Failure spike at {label} {entity}: {rate:.0%} of {sent} deliveries failed",
                    observed=rate, expected=exp, cause=cause, unit="share",
                    detail=f"{int(nfail)} failed deliveries, mostly {ctx.cause_title(cause)}; the expected "
                           f"failure rate was {exp:.0%}"))
    findings.extend(_cause_spike(ctx))
    return findings


def _spikes(keys: tuple[np.ndarray, np.ndarray, np.ndarray], fails: np.ndarray, ns: np.ndarray, tot: pd.DataFrame,
            window_start: pd.Timestamp, p: dict, min_hist: int) -> dict[str, list[tuple[pd.Timestamp, float, float, float]]]:
    """The (entity, bucket) pairs (``keys``: the entities' codes, their names and the buckets' starts
    in ns, :func:`.bucket_counts.pair_sums`' pairs, sorted by entity then bucket; ``fails`` and ``ns``
    theirs) whose failure rate is above the entity's earlier buckets (or, with too little history,
    everything sent before).

    Vectorised over entities: only buckets with enough failures in the window are looked at,
    each against the pairs of its own entity before it (contiguous); on the pairs' arrays, not a
    table of them (its entity names as strings: a third of the detector's cost).
    """
    flagged: dict[str, list[tuple[pd.Timestamp, float, float, float]]] = {}
    codes, names, buckets = keys
    if not len(codes) or pd.isna(window_start):  # (no window time: NaT's value would take every bucket)
        return flagged
    first = np.r_[True, codes[1:] != codes[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(codes)), 0))
    cand = np.flatnonzero((buckets >= window_start.value) & (fails >= p["min_failures"]))
    times = _times(buckets[cand])  # the candidates' bucket starts as times
    prior_rates: dict[pd.Timestamp, np.ndarray | None] = {}
    for j, i in enumerate(cand):  # candidate buckets only: few, whatever the number of entities
        s = start[i]
        f_prev, n_prev = fails[s:i], ns[s:i]
        keep = n_prev >= 3
        hist_rates = f_prev[keep] / n_prev[keep]
        b = times.iat[j]
        if len(hist_rates) >= min_hist:
            exp, sd = _robust(hist_rates)
        else:
            # Little history for this entity: compare with everything we sent before,
            # and say nothing when there was no before.
            if b not in prior_rates:
                prior = tot[tot.index < b]
                prior_rates[b] = None if len(prior) < min_hist else (prior["sum"] / prior["count"]).to_numpy(dtype=float)
            if prior_rates[b] is None:
                continue
            exp, _sd = _robust(prior_rates[b])
            sd = 0.0
        rate = fails[i] / ns[i]
        if rate >= p["min_rate"] and rate >= exp + max(p["k"] * sd, p["min_increase"]):
            flagged.setdefault(str(names[codes[i]]), []).append((b, rate, exp, fails[i]))
    return flagged


def _cause_spike(ctx: Context) -> list[Finding]:
    p = ctx.params["failure_spike"]
    min_hist = int(ctx.params["general"]["min_history"])
    df = ctx.all
    m = _str_eq(df["outcome"], FAILURES) & ~_str_eq(df["cause"], "unknown") & ~_str_eq(df["severity"], "info")
    pos = np.flatnonzero(m)
    if len(pos) and pos[-1] < 1 << 31:
        pos = pos.astype(np.int32)  # (positions held through the detector: 4 bytes a failure, not 8)
    # the quiet failures folded apart from the rows (the weekly's): those above info, of a known cause
    folded, examples = folded_failures([ctx.bulk_history, ctx.bulk])
    if folded is not None:
        folded = folded[folded["spike"].to_numpy(dtype=bool) & (folded["cause"] != "unknown").to_numpy(dtype=bool)]
        folded = folded.assign(bucket=bucket_of(folded["sec"].to_numpy(), ctx.bucket)) if len(folded) else None
    if not len(pos) and folded is None:
        return []
    first, last = ctx.all_span
    all_buckets = pd.date_range(first.floor(ctx.bucket), last.floor(ctx.bucket), freq=ctx.bucket)
    window_start = ctx.first_ts.floor(ctx.bucket)
    step = int(ctx.bucket.value)
    # the rows' and the folded counts per (cause, bucket) on codes: the causes in a group-by's
    # order (the column's categories; sorted strings with the folded ones)
    row_bucket = floor_ns(df["ts"], pos, step)
    if folded is None:
        code, names = group_codes(df["cause"].iloc[pos])
        key, bucket, weight = code, row_bucket, np.ones(len(pos), np.int64)
    else:
        code, names = _joint_codes(df["cause"], pos, folded["cause"].to_numpy(dtype=object))
        key = code  # (the folded keys' step starts, in seconds, to their buckets in ns)
        bucket = np.r_[row_bucket, folded["sec"].to_numpy(dtype=np.int64) // (step // 10**9) * step]
        fn = folded["n"].to_numpy(dtype=np.int64)
        # (the weights summed as floats of integers either way: int32 where every one fits)
        wt = np.int32 if not len(fn) or int(fn.max()) < 1 << 31 else np.int64
        weight = np.r_[np.ones(len(pos), wt), fn.astype(wt)]
    causes, vals_all = _per_cause(key, bucket, weight, step, all_buckets)
    code = code[:len(pos)]
    idx = np.arange(len(all_buckets))
    cand = (vals_all >= p["cause_min_count"]) & (np.asarray(all_buckets >= window_start) & (idx >= min_hist))[None, :]
    hits: dict[int, dict[pd.Timestamp, float]] = {}
    for i in np.flatnonzero(cand.any(axis=0)):  # the busy (cause, bucket) cells only, a bucket's at once
        rs = np.flatnonzero(cand[:, i])
        med, sd = robust_rows(vals_all[rs, :i])
        v = vals_all[rs, i]
        hit = (v >= p["cause_factor"] * np.maximum(med, 1.0)) & (v >= med + p["k"] * sd)
        for r, m in zip(rs[hit], med[hit], strict=True):
            hits.setdefault(int(r), {})[all_buckets[i]] = float(m)
    hits = {r: hits[r] for r in sorted(hits)}  # (by cause, each one's buckets in order)
    cols = ["ts", "cause", "source", "line_no", *order_columns(df)]
    out: list[Finding] = []
    for r, exps in hits.items():
        cause, vals = names[causes[r]], vals_all[r]
        hit = list(exps)
        for run in _runs(hit, ctx.bucket):
            sel = (code == causes[r]) & np.isin(row_bucket, [b.value for b in run])
            rows = df[cols].iloc[pos[sel]]
            lines = len(rows)
            if folded is not None:
                fk = folded[(folded["cause"] == cause).to_numpy(dtype=bool) & folded["bucket"].isin(run).to_numpy()]
                if len(fk):
                    lines += int(fk["n"].sum())
                    rows = with_examples(rows, fk, examples, FAIL_KEYS)
            n = float(sum(vals[all_buckets.get_loc(b)] for b in run)) / len(run)
            exp = float(np.mean([exps[b] for b in run]))
            sev = "critical" if n >= p["critical_failures"] else "warning"
            out.append(_finding(ctx, detector="cause_spike", severity=sev, entity=str(cause), rows=rows,
                                title=f"More '{ctx.cause_title(str(cause))}' than usual: {n:.0f} per hour "
                                      f"(usually {exp:.0f})",
                                observed=n, expected=exp, cause=str(cause),
                                detail=f"{lines} events with cause {cause} in the window"))
    return out


def _joint_codes(col: pd.Series, pos: np.ndarray, more: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.bucket_counts.group_codes` of the values of ``col`` at ``pos`` followed by the values
    ``more`` (strings or None): the distinct values present, sorted, and each line's code. A
    Categorical column is read on its codes and only its categories are made strings (a few
    causes: not a Python string per line, then factorized)."""
    if not isinstance(col.dtype, pd.CategoricalDtype):
        return group_codes(pd.Series(np.concatenate([_values(col.iloc[pos]), more])))
    cats = np.asarray(col.cat.categories, dtype=object)
    at = col.cat.codes.to_numpy()[pos].astype(np.int32)
    seen = np.flatnonzero(np.bincount(at[at >= 0], minlength=len(cats)))
    extra = [str(v) for v in more if not pd.isna(v)]
    names = np.array(sorted({str(v) for v in cats[seen]} | set(extra)), dtype=object)
    lut = np.full(len(cats) + 1, -1, dtype=np.int64)  # category code + 1 -> code (0: null)
    lut[seen + 1] = np.searchsorted(names, np.array([str(v) for v in cats[seen]], dtype=object))
    at += 1
    more_codes = np.array([-1 if pd.isna(v) else int(np.searchsorted(names, str(v))) for v in more], dtype=np.int64)
    return np.concatenate([lut[at], more_codes]), names


def _per_cause(key: np.ndarray, bucket: np.ndarray, n: np.ndarray, step: int, all_buckets: pd.DatetimeIndex
               ) -> tuple[np.ndarray, np.ndarray]:
    """The codes of the keys with a line (sorted) and their sums of ``n`` per bucket of ``all_buckets``
    (a row per key, a column per bucket; lines outside them left out)."""
    keys, at, (sums,) = pair_sums(key, bucket, step, [n])
    causes, row = np.unique(keys, return_inverse=True)
    col = (at - all_buckets[0].value) // step if len(all_buckets) else at
    vals = np.zeros((len(causes), len(all_buckets)), dtype=float)
    inside = (col >= 0) & (col < len(all_buckets))
    vals[row[inside], col[inside]] = sums[inside]
    return causes, vals


def _masked_text(s: pd.Series) -> pd.Series:
    """Reply texts with addresses, ids and numbers masked (as classify normalises them), worked
    out once per distinct text."""
    from ..classify import MASK, MASKED

    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    norm = pd.Series(uniq, dtype="string[pyarrow]").str.replace(MASK, MASKED, regex=True).to_numpy(dtype=object)
    out = np.append(norm, None)[codes]  # -1 (no text) picks the trailing None
    return pd.Series(out, index=s.index, dtype="string[pyarrow]")


def _masked_codes(s: pd.Series, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The texts of ``s`` at ``pos`` masked as :func:`_masked_text` masks them, as a code per row
    (-1: no text) into the distinct masked texts (an object array of strings): the column
    factorised where it is (no copy of the rows' texts taken first), each distinct text of those
    rows masked once, no string made per row (measured: the failure rows' texts copied and a
    masked string per row, +55 MiB at 10M Exim lines, the detectors' peak)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    at = codes[pos]
    del codes
    used = np.zeros(len(uniq) + 1, dtype=bool)
    used[at] = True  # (-1, no text, marks the last)
    used = np.flatnonzero(used[:-1])
    masked = _masked_text(pd.Series(pd.array(np.asarray(uniq[used], dtype=object), dtype="string[pyarrow]")))
    mcode, names = pd.factorize(masked.to_numpy(dtype=object), use_na_sentinel=True)
    of_text = np.full(len(uniq) + 1, -1, dtype=np.int64)
    of_text[used] = mcode
    return of_text[at], np.asarray(names, dtype=object)


def _first_seen_counts(codes: np.ndarray, names: np.ndarray, like: pd.Series) -> pd.Series:
    """``pd.Series(names[codes]).dropna().value_counts()`` (codes -1: null) as pandas makes it of
    a column of ``like``'s type: the counts in the order each value is first seen (as Arrow counts
    them), sorted by count (a stable sort: equal counts keep that order)."""
    ok = np.flatnonzero(codes >= 0)
    first = np.full(len(names), len(codes), dtype=np.int64)
    np.minimum.at(first, codes[ok], ok)
    seen = np.flatnonzero(first < len(codes))
    seen = seen[np.argsort(first[seen], kind="stable")]
    n = np.bincount(codes[ok], minlength=len(names))[seen]
    vc = pd.Series(pd.array(np.asarray(names[seen], dtype=object), dtype=like.dtype)).value_counts()
    index = pd.Index(pd.array(np.asarray(names[seen], dtype=object), dtype=vc.index.dtype), name=vc.index.name)
    return pd.Series(pd.array(n, dtype=vc.dtype), index=index, name=vc.name).sort_values(ascending=False)


_SIGNATURE_COLUMNS = ["ts", "cause", "provider", "reply_text", "source", "line_no"]


def detect_new_signature(ctx: Context) -> list[Finding]:
    """A failure cause, provider or normalised reply text that the baseline never had. The
    window's failure rows are read where they are (their positions; the masked texts as codes,
    :func:`_masked_codes`), the rows of a new signature alone taken as a table."""
    p = ctx.params["new_signature"]
    hist, ev = ctx.history, ctx.events
    fm = _str_eq(ev["outcome"], FAILURES)
    cols = [*_SIGNATURE_COLUMNS, *order_columns(ev)]
    # the quiet failures folded apart from the rows (the weekly's: .failed), of the history and the window
    fw, examples = folded_failures([ctx.bulk])
    fh, _ = folded_failures([ctx.bulk_history])
    # Earlier buckets of the window count as history once there are enough of them.
    learn_until = None
    if len(hist) == 0 and fh is None:
        start = ctx.first_ts.floor(ctx.bucket)
        learn_until = start + ctx.bucket * int(p["min_history"])
        if ctx.last_ts - start > pd.Timedelta(days=float(p["long_window_days"])):
            # a long window: new means first seen on its last day (over weeks, rare causes come and go)
            learn_until = ctx.last_ts - pd.Timedelta(days=1)
        if ctx.last_ts < learn_until:
            return []
        before = _truthy(ev["ts"] < learn_until)
        pos, old_src, old_mask = np.flatnonzero(fm & ~before), ev, fm & before
        if fw is not None:  # a key wholly after the cut is new; one before or across it was learnt
            after = fw["ts_min"].to_numpy() >= pd.Timestamp(learn_until).value
            fw, fh = fw[after], fw[~after]
    else:
        pos = np.flatnonzero(fm)
        old_src, old_mask = hist, _str_eq(hist["outcome"], FAILURES)
    del fm
    fw = fw if fw is not None and len(fw) else None
    if not len(pos) and fw is None:
        return []
    out: list[Finding] = []
    dims = [("cause", "cause"), ("provider", "provider")] + ([("text", "reply")] if learn_until is None else [])

    def old_values(col: str) -> np.ndarray:
        """The values the earlier failures had, a column at a time (not a copy of their rows)."""
        if col == "text":
            seen = _masked_codes(old_src["reply_text"], np.flatnonzero(old_mask))[1]
        else:
            seen = old_src.loc[old_mask, col].dropna().unique()
        if fh is not None and len(fh):
            seen = np.union1d(np.asarray(seen, dtype=object).astype(str),
                              fh[col].dropna().to_numpy(dtype=object).astype(str))
        return seen

    for col, what in dims:
        if col == "text":
            tcode, tnames = _masked_codes(ev["reply_text"], pos)
            counts = _first_seen_counts(tcode, tnames, pd.Series([], dtype="string[pyarrow]"))
            tat = {str(v): i for i, v in enumerate(tnames)}
        else:
            values = ev[col].iloc[pos]
            counts = values.dropna().value_counts()
        if fw is not None:  # the rows' counts and the folded ones, per value (as strings)
            counts = pd.concat([pd.Series(counts.to_numpy(dtype=np.int64), index=counts.index.astype(str)),
                                fw.dropna(subset=[col]).groupby(col)["n"].sum()]).groupby(level=0).sum()
            counts = counts[counts.to_numpy() > 0].sort_values(ascending=False, kind="stable")
        new = counts[(counts >= p["min_count"]).to_numpy() & ~counts.index.isin(old_values(col))
                     & (counts.index != "unknown")]
        for value, n in new.items():  # the new signatures only: few
            sel = tcode == tat.get(str(value), -2) if col == "text" else _truthy(values == value)
            rows = ev[cols].iloc[pos[sel]]
            fk = fw[(fw[col] == value).to_numpy(dtype=bool)] if fw is not None else None
            if col != "cause":
                cause = rows["cause"].mode().iloc[0] if fk is None or not len(fk) else \
                    weighted_mode(pd.concat([pd.Series(_values(rows["cause"])), fk["cause"]], ignore_index=True),
                                  np.r_[np.ones(len(rows), np.int64), fk["n"].to_numpy(dtype=np.int64)])
            else:
                cause = str(value)
            if fk is not None and len(fk):
                rows = with_examples(rows, fk, examples, FAIL_KEYS)
            shown = str(value) if col != "cause" else f"{value} ({ctx.cause_title(str(value))})"
            out.append(_finding(ctx, detector="new_signature", severity="info", entity=str(value)[:200],
                                rows=rows, title=f"New failure {what}: {shown[:120]}", observed=float(n),
                                expected=0.0, cause=cause,
                                detail=f"{n} failures with a {what} the baseline never had"))
    return out


def detect_concentration(ctx: Context) -> list[Finding]:
    """One destination refusing most of what we send it; one client IP producing most rejects."""
    out = _refusing_destinations(ctx)  # (its tables freed before the rejects are counted)
    out.extend(_client_rejects(ctx))
    return out


def _refusing_destinations(ctx: Context) -> list[Finding]:
    """Destinations and providers refusing most of what we send them, per bucket (counted on
    codes: :mod:`.outbound`)."""
    p = ctx.params["concentration"]
    out: list[Finding] = []
    ob = _outbound_sent(ctx, history=False, last=True)
    step = int(ctx.bucket.value)
    for dim, label in (("domain", "destination"), ("provider", "provider")):
        code, names = ob.codes(dim)
        kc, kb, (fails, sent_n) = pair_sums(code, ob.bucket, step, [ob.failed, ob.w])
        keep = (sent_n >= p["min_attempts"]) & (fails / np.maximum(sent_n, 1) >= p["min_share"])
        kc, kb = kc[keep], kb[keep]
        for c in np.unique(kc):  # (codes in the group-by's order of the entities)
            entity = names[c]
            for run in _runs(list(_times(kb[kc == c])), ctx.bucket):
                sel = (code == c) & np.isin(ob.bucket, [b.value for b in run])
                failed = ob.failures(sel)
                sent = int(ob.w[sel].sum())
                share = len(failed) / sent
                cause = failed["cause"].mode().iloc[0] if len(failed) else None
                perm = int(_str_eq(failed["outcome"], "permanent_failure").sum())
                sev = "critical" if perm >= p["min_attempts"] else "warning"
                out.append(_finding(ctx, detector="concentration", severity=sev, entity=str(entity), rows=failed,
                                    title=f"{label.capitalize()} {entity} refuses {share:.0%} of our mail "
                                          f"({len(failed)} of {sent})",
                                    observed=share, expected=None, cause=cause, unit="share",
                                    detail=f"mostly {ctx.cause_title(cause)}; {perm} of the failures are permanent"))
    return out


def _client_rejects(ctx: Context) -> list[Finding]:
    """One client IP producing most rejects of a bucket: counted per (client, bucket) on codes
    (:mod:`.client_counts`); the flagged clients' lines alone taken from the window."""
    p = ctx.params["concentration"]
    src = ctx.events
    every_line, ips = client_lines(ctx, src)  # (the client codes shared with the abuse detectors)
    rejects = _str_eq(src["event"], "reject")[every_line.pos]
    if not rejects.any():
        return []
    # the rejects as a mask over the shared lines, counted in place (``sel``): no copy of their
    # positions, times and codes (a subset of 1.3M lines at 7x3M Exim lines: concentration's peak)
    lines = every_line
    client = lines.client
    step = int(ctx.bucket.value)
    bucket = step_index(lines.ns, step)  # (numbers of buckets: their starts are these times ``step``)
    (tb,), tot = per_key([bucket], sel=rejects)
    (kc, kb), n = per_key([client, bucket], sel=rejects)
    share = n / tot[np.searchsorted(tb, kb)]
    tb, kb = tb * step, kb * step
    hit = (n >= p["client_min_rejects"]) & (share >= p["client_min_share"])
    out: list[Finding] = []
    for c in by_name(ips, kc[hit]):
        ip = ips[c]
        for run in runs(kb[hit & (kc == c)], step):
            sel = rejects & (client == c) & np.isin(bucket, run // step)
            out.append(client_finding(ctx, str(ip), src, lines, sel, int(tot[np.isin(tb, run)].sum())))
    return out


def client_finding(ctx: Context, ip: str, src: pd.DataFrame, lines: Lines, sel: np.ndarray, rejects: int) -> Finding:
    """The finding of a client whose lines (``sel``, a mask over ``lines`` of ``src``) are most of
    the ``rejects`` of their buckets: read on the lines' codes and times, the evidence alone taken."""
    n = int(sel.sum())
    share = n / rejects
    cause = lines.mode(src, "cause", sel)
    start, end = lines.span(src, sel)
    return _finding(ctx, detector="concentration", severity="warning", entity=ip,
                    rows=None, evidence=lines.evidence(src, sel, int(ctx.params["general"]["max_evidence"])),
                    title=f"Client {ip} caused {share:.0%} of all rejects ({n})",
                    observed=share, expected=None, cause=cause, unit="share", start=start, end=end,
                    detail=f"mostly {ctx.cause_title(cause)}")


def detect_deferral_buildup(ctx: Context) -> list[Finding]:
    """Messages deferred for longer than min_age, per destination domain and bucket, growing
    above what earlier buckets had."""
    p = ctx.params["deferral_buildup"]
    df = ctx.all
    m = _str_eq(df["event"], "delivery") & _str_eq(df["status"], "deferred")
    d = _with_bucket(ctx, df.loc[m, ["ts", "recipient", "queue_id", "delay", "cause", "source", "line_no"]])
    if d.empty:
        return []
    # A message's age: the MTA's delay where logged (Postfix delay=), else the time since its
    # queue id was first seen (Exim logs no age on '==' lines).
    # only the lines of the deferred messages' queue ids (their first time is all that is read):
    # not a copy of every row's queue id and a group-by over them (measured +100 MiB at 3M Exim)
    wanted = d["queue_id"].dropna().unique()
    ids = df.loc[_truthy(df["queue_id"].isin(wanted)), ["queue_id", "ts"]]
    first_seen = ids.groupby("queue_id", observed=True)["ts"].min()
    seen = d["queue_id"].map(first_seen)
    age = ((d["ts"] - seen).dt.total_seconds()).astype("float64")
    folded = ctx.folded_first_seen  # lines of messages folded apart from the rows (.aggregates)
    if len(folded):
        seen_ns = pd.Series(qid_hash(d["queue_id"])).map(folded).to_numpy(dtype=float, copy=True)
        seen_ns[d["queue_id"].isna().to_numpy(dtype=bool)] = np.nan
        ts_ns = _seconds_ns(d["ts"])[1]  # (as integers: a tz-aware column's to_numpy went through Timestamps)
        age = pd.Series(np.fmax(age.to_numpy(dtype=float, na_value=np.nan), (ts_ns - seen_ns) / 1e9), index=d.index)
    age = age.fillna(0.0)
    d["delay"] = np.fmax(d["delay"].astype("float64").fillna(0.0).to_numpy(), age.to_numpy())
    d = d[_truthy(d["delay"] >= p["min_age"])]
    d["domain"] = _domain(d["recipient"])
    d = d.dropna(subset=["domain"])
    if d.empty:
        return []
    d["msg"] = d["queue_id"].fillna(d["recipient"])
    first, last = ctx.all_span
    all_buckets = pd.date_range(first.floor(ctx.bucket), last.floor(ctx.bucket), freq=ctx.bucket)
    window_start = ctx.first_ts.floor(ctx.bucket)
    counts = d.groupby(["domain", "bucket"], observed=True)["msg"].nunique().unstack(fill_value=0).reindex(
        columns=all_buckets, fill_value=0)
    vals_all = counts.to_numpy(dtype=float)
    in_window = np.asarray(all_buckets >= window_start)
    # only the (domain, bucket) cells with enough deferred messages are looked at: few
    hits: dict[int, dict[pd.Timestamp, float]] = {}
    cand = (vals_all >= p["min_messages"]) & in_window[None, :]
    for i in np.flatnonzero(cand.any(axis=0)):  # a bucket's cells at once
        rs = np.flatnonzero(cand[:, i])
        med = robust_rows(vals_all[rs, :i])[0]
        hit = vals_all[rs, i] >= p["factor"] * np.maximum(med, 1.0)
        for r, m in zip(rs[hit], med[hit], strict=True):
            hits.setdefault(int(r), {})[all_buckets[i]] = float(m)
    hits = {r: hits[r] for r in sorted(hits)}  # (by domain, each one's buckets in order)
    out: list[Finding] = []
    for r, exps in hits.items():
        dom, vals = counts.index[r], vals_all[r]
        hit = list(exps)
        for run in _runs(hit, ctx.bucket):
            rows = d[(d["domain"] == dom).to_numpy() & d["bucket"].isin(run).to_numpy()]
            peak = max(vals[all_buckets.get_loc(b)] for b in run)
            msgs = rows["msg"].nunique()
            oldest = float(rows["delay"].max())
            cause = rows["cause"].mode().iloc[0]
            sev = "critical" if peak >= p["critical_messages"] else "warning"
            out.append(_finding(ctx, detector="deferral_buildup", severity=sev, entity=str(dom), rows=rows,
                                title=f"Deferrals piling up for {dom}: {msgs} messages waiting, the oldest "
                                      f"{oldest / 3600:.1f} h",
                                observed=float(peak), expected=float(np.mean([exps[b] for b in run])), cause=cause,
                                detail=f"up to {peak:.0f} long-deferred messages per hour; mostly "
                                       f"{ctx.cause_title(cause)}"))
    return out
