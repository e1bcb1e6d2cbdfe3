"""Build the nightly report: a plain, JSON-serialisable dict with ``schema_version``.

:func:`build_report` assembles the sections from an already classified window (rows, and the
lines folded into per-second aggregates); :mod:`.run` reads a run into that form and calls it.
The layout of the dict is documented in ``analyzer/report/SCHEMA.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..anomalies import FAILURES, Finding
from ..anomalies.aggregates import ORDER_COLUMN, Bulk, _eq, span
from .ends_fold import merged_entry, merged_example
from .entry_modes import EntryModes, modes_of
from .limits import LIMITS, cap
from .pair_codes import _pair_codes
from .peers import peer_report
from .rows_at import RowsAt, column, notna, take
from .timeline import delay_stats, timeline
from .top import _share, _top, give_back
from .units import LINE, MESSAGE, QUEUE, Units, count_units, message_units

__all__ = ["SCHEMA_VERSION", "ReportWindow", "build_report"]

#: Bumped when a field is removed or changes meaning; new fields may appear within a version.
SCHEMA_VERSION = 3
SEVERITY_ORDER = ("critical", "warning", "info")
ABNORMAL_ENDS = ("lost_connection", "timeout", "too_many_errors")


@dataclass(frozen=True)
class ReportWindow:
    """The report's time window, UTC; None on a side means "from the first / to the last event"."""

    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None


def _iso(ts: Any) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _mask(s: pd.Series, values: str | tuple[str, ...]) -> np.ndarray:
    """Where ``s`` equals ``values`` (or one of them), null as False: the detectors' comparison
    (:func:`..anomalies.bulk_masks._eq`: an Arrow kernel, or a Categorical's codes)."""
    return _eq(s, values)


#: Lines that are no delivery failure whatever their outcome: the MTA's own warnings and errors,
#: queue bookkeeping (Exim frozen/unfrozen, queue runs), administrator actions.
NOT_DELIVERY_EVENTS = ("warning", "error", "fatal", "panic", "daemon", "stats", "queue_run", "frozen", "admin",
                       "info", "removed")
#: Causes that are a state or a system warning, not a failure of a message.
BOOKKEEPING_CAUSES = ("queue.frozen", "queue.run", "queue.admin", "queue.removed", "queue.held",
                      "system.config_warning", "system.warning", "system.info", "system.stats", "system.daemon",
                      "system.error", "system.fatal")
#: What a cause's lines count when none is a message's (diag, #9): a client's failed logins; a
#: client's other refused attempts (commands, sessions). Rejects count as messages, as pflogsumm.
CLIENT_UNITS = (("logins", ("auth_failure",)), ("messages", ("reject", "reject_warning")))


def _ends_with(s: pd.Series, suffix: str) -> np.ndarray:
    """Which values end with ``suffix`` (False for null); a Categorical's categories tested once."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        hit = np.array([str(c).endswith(suffix) for c in s.cat.categories] + [False], dtype=bool)
        return hit[s.cat.codes.to_numpy()]  # code -1 (null) takes the last entry, False
    return s.fillna("").str.endswith(suffix).to_numpy(dtype=bool)


def _meaningful(text: Any) -> bool:
    """A reply or detail worth showing as an example: words, not a fragment ("-", a bare DNSBL
    name, a base64 SASL prompt such as "VXNlcm5hbWU6")."""
    if text is None or pd.isna(text):
        return False
    t = str(text).strip()
    return len(t) >= 12 and " " in t and any(ch.isalpha() for ch in t)


def _example(rows: pd.DataFrame | RowsAt, at: np.ndarray | None = None,
             masks: dict[str, np.ndarray] | None = None, folded: Any = None) -> dict[str, Any] | None:
    """The first line of ``rows`` (of the rows at positions ``at``, when given) that says the
    cause itself (not a retry wait that took it from an earlier line), of a message where one is,
    whose reply text, or else detail, means something (up to 200 looked at); None when none does
    (better no example than a fragment). ``masks`` (:func:`_example_masks` of ``rows``) may be
    worked out once for many calls over one table. ``folded``: the first lines of the same entry
    folded apart from the rows (:func:`.ends_fold.candidates`), looked at with the rows in order."""
    # masks first, then the 200 rows looked at taken: no copy of a large selection
    masks = masks if masks is not None else _example_masks(rows)
    pos = np.arange(len(rows)) if at is None else at
    ok = masks["ok"][pos]
    if not ok.any() and folded is None:
        return None
    for name in ("own", "mine"):  # a line stating the cause itself; a message's own line, not a connection's
        if name in masks:
            better = ok & masks[name][pos]
            # (the folded lines state their cause and are no message's)
            if better.any() or (folded is not None and name == "own"):
                ok = better
                folded = None if name == "mine" else folded
    pos = pos[np.flatnonzero(ok)[:200]]
    if folded is not None:
        return merged_example(rows, pos, folded)
    # the reply text wins where both mean something; the first row where one does is the example
    # (looked at in order, up to it: most entries' first row is)
    cols = [take(rows, c, pos).to_numpy(dtype=object) for c in ("reply_text", "detail") if c in rows.columns]
    for i in range(len(pos)):
        for vals in cols:
            if _meaningful(vals[i]):
                first = int(pos[i])
                return {"file": str(take(rows, "source", [first]).iloc[0]), "line": int(take(rows, "line_no", [first]).iloc[0]),
                        "text": str(vals[i])[:300]}
    return None


def _example_masks(rows: pd.DataFrame | RowsAt) -> dict[str, np.ndarray]:
    """What :func:`_example` asks of every row: a place to cite (``ok``), a cause of its own
    (``own``), a message's line (``mine``)."""
    out = {"ok": notna(rows, "source") & notna(rows, "line_no")}
    if "cause_ref" in rows.columns:
        out["own"] = ~notna(rows, "cause_ref")
    if "queue_id" in rows.columns:
        out["mine"] = notna(rows, "queue_id")
    return out


# --------------------------------------------------------------------------------------------
# sections


def _volumes(ev: pd.DataFrame, bulk: Bulk | None = None, more_delays: np.ndarray | None = None) -> dict[str, Any]:
    """The volumes of some rows and of the lines folded into ``bulk`` (which count sessions and
    mark the periods that had lines; ``more_delays``: those of its sent deliveries, :mod:`.sent_fold`)."""
    is_delivery = _mask(ev["event"], "delivery")
    status = ev["status"]
    # Exim's give-up ('** a@d: retry timeout exceeded') is a bounced line whose action is expired
    gave_up = is_delivery & _mask(ev["action"], "expired") if "action" in ev.columns else np.zeros(len(ev), bool)
    kinds = {
        "received": _mask(ev["event"], "received"),
        "delivered": is_delivery & _mask(status, "sent"),
        "deferred": is_delivery & _mask(status, "deferred"),
        "bounced": is_delivery & _mask(status, "bounced") & ~gave_up,  # as pflogsumm: expiries apart
        "expired": _mask(ev["event"], "expired") | gave_up,
        "rejected": _mask(ev["event"], "reject"),
    }
    sessions = int((_mask(ev["event"], "connect")
                    & ~_ends_with(ev["program"], "postscreen")
                    & ~_mask(ev["direction"], "outbound")).sum())
    ts = ev["ts"]
    # the timeline reads the queue ids of the deferred lines only (given as those alone: no
    # object for every other row, nor for them: the timeline codes them)
    dq = ev["queue_id"][kinds["deferred"]]
    folded = {"received": 0, "delivered": 0}
    more = []
    if bulk is not None and len(bulk.table):
        sessions += int(bulk.table["sessions"].sum())
        # the folded lines mark periods that had lines; of the kinds they count only receptions and
        # quiet local deliveries (sent.is_quiet_local_sent): each folded second's lines, weighed at
        # its first time (its first and last times, Bulk.times, in the rows' own type: no
        # conversion of every row), counted beside the rows' (not joined to them)
        got = {}
        for kind in folded:
            got[kind], folded[kind] = getattr(bulk, kind)(bulk.timed), int(getattr(bulk, kind)().sum())
        more = [(_folded_times(bulk, "ts_min", ts.dtype), got), (_folded_times(bulk, "ts_max", ts.dtype), {})]
    tl = timeline(ts, kinds, iso=_iso, per_message={"deferred": (dq, "deferrals")}, more=more)
    # the hourly rows under their first name, for readers of earlier reports (only when hourly)
    per_hour = [{"hour": r["start"], **{k: r[k] for k in kinds}} for r in tl["rows"]] \
        if tl["granularity"] == "hour" else []
    del more
    # the delays of the rows and of the folded deliveries in one array, made once and ordered in
    # place by the quantiles (not a Series, its array and a copy without NaN each)
    delays = ev["delay"][kinds["delivered"]].dropna().to_numpy(dtype=np.float64)
    if more_delays is not None and len(more_delays):
        delays = np.concatenate([delays, more_delays], dtype=np.float64)
    elif not delays.flags.writeable:
        delays = delays.copy()
    delay = {"count": len(delays), **delay_stats(delays, own=True)}
    del delays
    counts = {k: int(m.sum()) for k, m in kinds.items()}
    counts.update({k: counts[k] + n for k, n in folded.items()})
    # deferred counts messages (a message deferred 12 times is one), deferrals the lines, as pflogsumm
    qid = dq  # of the deferred lines
    counts["deferrals"] = counts["deferred"]
    counts["deferred"] = int(qid.nunique() + qid.isna().sum())
    return {"sessions": sessions, **counts, "timeline": tl, "per_hour": per_hour, "delay_seconds": delay}


def _folded_times(bulk: Bulk, name: str, dtype: Any) -> pd.Series:
    """The ``ts_min`` or ``ts_max`` of each timed second of ``bulk``, in the type of the rows'
    times (as :meth:`..anomalies.aggregates.Bulk.times` gives both together: one at a time here,
    half its temporaries)."""
    import pyarrow as pa

    from ..anomalies.bulk_narrow import ns

    got = ns(bulk.timed, name)
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_timestamp(dtype.pyarrow_dtype):
        return pd.Series(pa.array(got, pa.int64()).cast(pa.timestamp("ns", "UTC")).cast(dtype.pyarrow_dtype, safe=False),
                         dtype=dtype)
    return pd.Series(pd.to_datetime(got, utc=True))


def _value_counts(s: pd.Series) -> pd.Series:
    """The lines per value of ``s`` (nulls apart), indexed by the values as strings; a
    Categorical's counted on its codes (not a Python string made per row)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s.dropna().astype(str).value_counts()
    n = np.bincount(s.cat.codes.to_numpy()[s.notna().to_numpy(dtype=bool)], minlength=len(s.cat.categories))
    at = np.flatnonzero(n)
    return pd.Series(n[at], index=pd.Index([str(c) for c in s.cat.categories[at]], dtype=object), name="count")


def _failed_rows(ev: pd.DataFrame) -> np.ndarray:
    """Delivery failures: a failed outcome on a line about mail or a client's command, not an MTA
    warning, queue bookkeeping or an administrator's action."""
    return (_mask(ev["outcome"], FAILURES) & ~_mask(ev["event"], NOT_DELIVERY_EVENTS)
            & ~_mask(ev["cause"], BOOKKEEPING_CAUSES))


def _referred(ev: pd.DataFrame, refs: set[str]) -> dict[str, dict[str, Any]]:
    """The example of each ``source:line_no`` in ``refs`` that ``ev`` holds (one pass over ``ev``)."""
    want = {}
    for ref in refs:
        file, _, line = ref.rpartition(":")
        if line.isdigit():
            want.setdefault(int(line), set()).add(file)
    if not want or not {"source", "line_no"} <= set(ev.columns):
        return {}
    near = ev[ev["line_no"].isin(list(want)).fillna(False).to_numpy(dtype=bool)]
    out = {}
    for i in range(len(near)):
        row = near.iloc[i:i + 1]
        file, line = str(row["source"].iloc[0]), int(row["line_no"].iloc[0])
        if file in want.get(line, ()):
            out[f"{file}:{line}"] = _example(row)
    return out


def _cause_list(rows: pd.DataFrame | RowsAt, kb: Any, limit: int, ev: pd.DataFrame | None = None,
                full: dict[str, int] | None = None, path: str = "",
                folded: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The causes of ``rows``, most messages first, at most ``limit``; ``full[path]`` gets how many
    there were (so that :func:`.limits.cap` can say "… and N more")."""
    """Per cause and fix entry (the direction's advice): messages, lines, share, an example, the fix.
    Where every line of a cause took it from an earlier line (retry waits), the example is that
    earlier line, the error itself (when ``ev`` holds it). ``folded``: per entry key (cause and
    fix, as :func:`_pair_codes` names them) the lines of the entry folded apart from the rows
    (:mod:`.ends_fold`: each a unit of its own, an inbound client's attempt), counted with them."""
    folded = folded or {}
    if rows.empty and not folded:
        return []
    fix_id = column(rows, "fix_id" if "fix_id" in rows.columns else "cause")
    # each pair by an integer code (counted and compared as ints, its string made once)
    kcode, kuniq = _pair_codes(column(rows, "cause"), fix_id)
    del fix_id
    more = np.zeros(len(kuniq), dtype=np.int64)  # the folded lines per key
    if folded:
        known = {str(k): i for i, k in enumerate(kuniq)}
        kuniq = np.array([*kuniq, *(k for k in folded if k not in known)], dtype=object)
        more = np.array([folded[k]["n"] if k in folded else 0 for k in kuniq], dtype=np.int64)
    units = message_units(rows)
    lines = np.bincount(kcode, minlength=len(kuniq)) + more
    seen = np.flatnonzero(lines)
    agg = pd.DataFrame({"code": seen, "k": kuniq[seen],
                        "messages": count_units(kcode, units).reindex(seen, fill_value=0).to_numpy() + more[seen],
                        "lines": lines[seen]})
    # entries counted in logins or attempts (not _in_messages) after those in messages: failures lead with messages
    agg["apart"] = ~_in_messages(rows, units, kcode, len(kuniq), more)[seen]
    agg = agg.sort_values(["apart", "messages", "lines", "k"], ascending=[True, False, False, True])
    total = int(count_units(np.zeros(len(rows), dtype=np.int8), units).sum()) + int(more.sum())
    del units  # (what is left is read per entry: its rows' codes)
    out = []
    if full is not None:
        full[path] = len(agg)
    # each entry reads its rows' outcome and direction and an example: those columns taken at the
    # entry's rows, not every column of them (measured: two thirds of the cause lists' cost)
    masks = _example_masks(rows)
    outcome = column(rows, "outcome")
    coded = modes_of(rows, outcome)  # each entry's outcome, direction and events on codes
    top = agg.head(limit)
    refs = {}  # the entries whose every line took its cause from one earlier line: that line
    for code, k, m, n, apart in zip(top["code"], top["k"], top["messages"], top["lines"], top["apart"], strict=True):
        cause, fix = str(k).split("\x00", 1)
        at = np.flatnonzero(kcode == code)  # (the entry's rows, read here and dropped: not kept for every entry)
        info = kb.causes.get(cause, {}) if kb is not None else {}
        advice = kb.causes.get(fix, info) if kb is not None else {}
        if str(k) in folded:  # the entry's rows and folded lines together
            if coded is not None:
                said, dirs = coded.outcomes(at), coded.directions(at)
            else:
                said, dirs = outcome.iloc[at], _stated_directions(rows, at)
            entry = merged_entry(rows, at, said, dirs, folded[str(k)], apart, masks)
            unit = entry.pop("unit")
        else:
            unit = _unit(rows, at, not apart, coded)
            said = coded.outcome(at) if coded is not None else None
            if said is None:  # (no Categoricals: read through pandas)
                dirs = _stated_directions(rows, at)
                entry = {"outcome": str(outcome.iloc[at].mode().iloc[0]), "direction": str(dirs.mode().iloc[0]) or None}
            else:
                entry = {"outcome": said, "direction": coded.direction(at)}
            if unit != "messages" and "client_ip" in rows:
                entry["clients"] = int(take(rows, "client_ip", at).nunique())
            entry["example"] = _example(rows, at, masks)
        out.append({
            "cause": cause, "title": info.get("title", cause), "outcome": entry["outcome"],
            "severity": info.get("severity", "info"), "direction": entry["direction"], "fix_id": fix,
            "messages": int(m) if unit == "messages" else 0, "unit": unit, "units": int(m),
            **({"clients": entry["clients"]} if "clients" in entry else {}),
            "lines": int(n), "count": int(n), "share": _share(int(m), total),
            "example": entry["example"], "fix": list(advice.get("fix", [])),
        })
        # (of an entry with folded lines: they take no cause from another line)
        if ev is not None and "cause_ref" in rows.columns and str(k) not in folded:
            ref = take(rows, "cause_ref", at)
            if ref.notna().all():
                refs[id(out[-1])] = str(ref.iloc[0])
    if refs:
        found = _referred(ev, set(refs.values()))
        for entry in out:
            ex = found.get(refs.get(id(entry), ""))
            if ex is not None:
                entry["example"] = ex
    return out


def _directions(rows: pd.DataFrame | RowsAt, at: np.ndarray) -> pd.Series:
    """The direction of the rows ``at``, "" where none; a line that took its cause from an earlier
    one (an Exim retry wait naming no host) has no direction of its own worth counting: the
    cause's direction is that of the lines stating it (read per entry: not an object per row)."""
    d = take(rows, "direction", at).astype(object)
    d = d.where(d.notna(), "")
    if "cause_ref" in rows.columns:
        d = d.where(take(rows, "cause_ref", at).isna(), "")
    return d


def _stated_directions(rows: pd.DataFrame | RowsAt, at: np.ndarray) -> pd.Series:
    """:func:`_directions` of the rows ``at``, only those with one when any has one."""
    dirs = _directions(rows, at)
    return dirs[dirs != ""] if (dirs != "").any() else dirs


def _in_messages(rows: pd.DataFrame | RowsAt, units: Units, kcode: np.ndarray, n: int,
                 more: np.ndarray | None = None) -> np.ndarray:
    """Per key code: whether its rows count in messages (all keys at once): where any is a
    message's line, none is a client's line of no message, or all are rejects (:data:`CLIENT_UNITS`).
    ``more``: lines per key folded apart from the rows (clients' lines of no message, no rejects)."""
    if "event" not in rows:
        return np.ones(n, dtype=bool)
    event = column(rows, "event")
    known = event.notna().to_numpy(dtype=bool)  # then: only "messages" events (NOQUEUE rejects)

    def per_key(mask: np.ndarray) -> np.ndarray:  # (the rows' keys selected: not a float weight per row)
        return np.bincount(kcode[mask], minlength=n)

    msg, line = per_key(np.isin(units.kind, (MESSAGE, QUEUE))), per_key(units.kind == LINE)
    named, other = per_key(known), per_key(known & ~_mask(event, dict(CLIENT_UNITS)["messages"]))
    if more is not None:
        line, named, other = line + more, named + more, other + more
    return (msg > 0) | (line == 0) | ((named > 0) & (other == 0))


def _unit(rows: pd.DataFrame | RowsAt, at: np.ndarray, in_messages: bool, coded: EntryModes | None = None) -> str:
    """What the rows ``at`` of one cause count in: messages where :func:`_in_messages` says so,
    else :data:`CLIENT_UNITS`' unit of their events, else a client's "attempts"."""
    if in_messages:
        return "messages"
    events = coded.events(at) if coded is not None else None
    if events is None:
        events = set(take(rows, "event", at).dropna().astype(str))
    return next((unit for unit, names in CLIENT_UNITS if events and events <= set(names)), "attempts")


def _expiries(ev: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The MTA's give-ups (Postfix 'status=expired', Exim '** ...: retry timeout exceeded') and
    every expiry line (with an administrator's 'postsuper -e' line of a message whose give-up is not
    in view; diag, #9): expiries are failures, shown apart, never among the states."""
    gave_up = _mask(ev["event"], "expired")
    if "action" in ev.columns:
        gave_up |= _mask(ev["event"], "delivery") & _mask(ev["action"], "expired")
    any_ = gave_up | _mask(ev["cause"], "queue.expired")
    alone = np.zeros(len(ev), dtype=bool)
    lone = np.flatnonzero(any_ & ~gave_up)  # a few lines: only theirs are looked up
    if len(lone):
        qid = ev["queue_id"]
        alone[lone] = ~qid.iloc[lone].isin(qid[gave_up].dropna()).to_numpy(dtype=bool)
    return gave_up | alone, any_


#: The columns the cause lists and the top tables read (a subset is taken of these, not of the table).
_CAUSE_COLUMNS = ("cause", "fix_id", "direction", "cause_ref", "queue_id", "recipient", "event", "outcome", "source",
                  "line_no", "detail", "reply_text", "client_ip", "ts", ORDER_COLUMN)


def _outcomes(ev: pd.DataFrame, kb: Any, full: dict[str, int] | None = None,
              bulk: Bulk | None = None, ends: dict[str, Any] | None = None) -> dict[str, Any]:
    rc = _value_counts(ev["reply_class"])
    if bulk is not None and len(bulk.table):
        # the folded lines per reply class: summed over the column's codes (no copy of the table)
        codes, uniq = pd.factorize(bulk.table["reply_class"], use_na_sentinel=True)
        known = codes >= 0
        n = np.bincount(codes[known], weights=bulk.table["n"].to_numpy(dtype=np.int64)[known], minlength=len(uniq))
        rc = rc.add(pd.Series(n.astype(np.int64), index=pd.Index([str(u) for u in uniq], dtype=object)),
                    fill_value=0)
        del codes, known
    total_rc = int(rc.sum())
    by_class = [{"reply_class": str(k), "count": int(v), "share": _share(int(v), total_rc)}
                for k, v in sorted(rc.items())]
    failed = _failed_rows(ev)
    notable = ~(_mask(ev["severity"], "info") & _mask(ev["outcome"], ("ok", "info")))
    expired, expiry = _expiries(ev)
    # each list's rows read a column at a time (RowsAt), not a copy of their columns at once
    return {"by_reply_class": by_class,
            "by_cause": _cause_list(RowsAt(ev, failed, _CAUSE_COLUMNS), kb, 25, ev, full, "outcomes.by_cause",
                                    folded=(ends or {}).get("failed")),
            "expired": _cause_list(RowsAt(ev, expired, _CAUSE_COLUMNS), kb, 25, ev),
            "states": sorted(_cause_list(RowsAt(ev, notable & ~failed & ~expiry, _CAUSE_COLUMNS), kb, 25,
                                         folded=(ends or {}).get("states")),  # worst first
                             key=lambda c: SEVERITY_ORDER.index(c["severity"]) if c["severity"] in SEVERITY_ORDER
                             else len(SEVERITY_ORDER))}


def _session_ends(ev: pd.DataFrame, bulk: Bulk | None = None, ends: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inbound session ends: closes with and without QUIT, abnormal ends by SMTP stage (``ends``:
    those folded apart from the rows, :mod:`.ends_fold`, lines per (stage, event))."""
    inbound = ~_mask(ev["direction"], ("outbound", "local"))
    disc = _mask(ev["event"], "disconnect") & inbound
    quit_ = ev["quit"].fillna(False).to_numpy(dtype=bool)
    out: dict[str, Any] = {
        "closed": int((disc & quit_).sum()),
        "closed_without_quit": int((disc & ~quit_).sum()),
        "lost": int((_mask(ev["event"], "lost_connection") & inbound).sum()),
        "timeout": int((_mask(ev["event"], "timeout") & inbound).sum()),
        "too_many_errors": int((_mask(ev["event"], "too_many_errors") & inbound).sum()),
    }
    if bulk is not None and len(bulk.table):
        out["closed"] += int(bulk.table["closed"].sum())
        out["closed_without_quit"] += int(bulk.table["unclosed"].sum())
    bad = ev[_mask(ev["event"], ABNORMAL_ENDS) & inbound]
    per: dict[tuple[str, str], int] = dict((ends or {}).get("stages") or {})
    if len(bad):
        # (a Categorical's values as objects first: "unknown" is none of its categories)
        g = bad.assign(stage=bad["smtp_stage"].astype(object).fillna("unknown")).groupby("stage")["event"].value_counts()
        for (stage, event), n in g.items():
            per[(str(stage), str(event))] = per.get((str(stage), str(event)), 0) + int(n)
    for (_stage, event), n in ((ends or {}).get("stages") or {}).items():  # the folded ones
        out[{"lost_connection": "lost"}.get(event, event)] += n
    stages = []
    for stage in dict.fromkeys(s for s, _ in per):
        stages.append({"stage": stage, **{k: int(per.get((stage, k), 0)) for k in ABNORMAL_ENDS}})
    stages.sort(key=lambda r: (-(r["lost_connection"] + r["timeout"] + r["too_many_errors"]), r["stage"]))
    out["by_stage"] = stages
    return out


def _unrecognised(counts: Any) -> dict[str, Any]:
    if counts is None:
        return {"lines": 0, "kinds": [], "foreign": [], "headerless": 0}
    most = LIMITS["unrecognised.kinds"]  # samples only for the kinds shown (limits.cap counts the rest)
    kinds = [{"kind": str(k), "count": int(n),
              "samples": [{"file": str(f), "line": int(line), "text": str(t)} for f, line, t in counts.samples.get(k, [])]
              if i < most else []}
             for i, (k, n) in enumerate(sorted(counts.unknown.items(), key=lambda kv: (-kv[1], kv[0])))]
    return {"lines": int(counts.unrecognised), "kinds": kinds,
            "foreign": [{"program": str(p), "lines": int(n)} for p, n in
                        sorted(counts.foreign.items(), key=lambda kv: (-kv[1], kv[0]))],
            "headerless": int(counts.headerless)}


def top_tables(ev: pd.DataFrame, bulk: Bulk | None = None, sections: dict[str, Any] | None = None,
               let_go: Callable[[], None] | None = None) -> tuple[dict[str, Any], dict[str, int]]:
    """The report's ``top`` section and each of its tables' length before the cut (for
    :func:`.limits.cap`): a part that reads no finding nor other section, which
    :func:`.run.make_report` has made on the detectors' thread (``let_go``: called once ``bulk``'s
    senders are read, :func:`.top._top`)."""
    full: dict[str, int] = {}
    top = _top(ev, full, bulk, (sections or {}).get("sent"), let_go)
    give_back(ev)
    return top, full


def build_report(events: pd.DataFrame, findings: list[Finding] | Callable[[], list[Finding]], *, kb: Any = None, counts: Any = None,
                 files: list[Any] | None = None, warnings: list[str] | None = None,
                 window: ReportWindow = ReportWindow(), generated_at: Any = None,
                 baseline_info: dict[str, Any] | None = None, bulk: Bulk | None = None,
                 sections: dict[str, Any] | None = None,
                 top: Callable[[], tuple[dict[str, Any], dict[str, int]]] | None = None) -> dict[str, Any]:
    """The report dict for an already classified and windowed events table (and the lines of
    the window folded into ``bulk``, which are not rows of ``events``: see :func:`split_events`;
    ``sections``: the results of the registered section folds, :func:`.fold.register_section`).
    ``findings`` may be a call that gives them (the detectors at work on another thread,
    :func:`.run.make_report`): made only once the sections that do not read them are built;
    ``top``, a call that gives :func:`top_tables` of the same rows (made on that thread too),
    likewise."""
    ev = events
    n_events = len(ev) + (len(bulk) if bulk is not None else 0)
    first, last = span(ev["ts"], bulk)
    lines = {
        "read": int(counts.lines) if counts is not None else None,
        "events": int(counts.events) if counts is not None else n_events,
        "foreign": int(sum(counts.foreign.values())) if counts is not None else 0,
        "unrecognised": int(counts.unrecognised) if counts is not None else 0,
        "debug": int(getattr(counts, "debug", 0)) if counts is not None else 0,
    }
    from .servers import attach_finding_servers, by_server, server_codes

    names = server_codes(ev)  # each row's server, as a code into its (host, file) pair's name
    full: dict[str, int] = {}  # the top tables' lengths before their cut, for "… and N more"
    from .sent_fold import folded_delays

    volumes = _volumes(ev, bulk, folded_delays((sections or {}).get("sent")))
    # the sections one after the other, what each freed given back to the system before the next
    # (their temporaries left in the C heap lay under the next one's peak)
    give_back(ev, trim_only=True)
    servers = by_server(ev, names, bulk, whole=volumes)
    give_back(ev, trim_only=True)
    outcomes = _outcomes(ev, kb, full, bulk, (sections or {}).get("ends"))
    give_back(ev)
    session_ends = _session_ends(ev, bulk, (sections or {}).get("ends"))
    tops, top_full = top() if top is not None else top_tables(ev, bulk, sections)
    full.update(top_full)
    findings = findings() if callable(findings) else findings
    sev_counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_ORDER}
    worst = next((s for s in SEVERITY_ORDER if sev_counts[s]), None)
    finding_dicts = [f.to_dict() for f in findings]
    attach_finding_servers(finding_dicts, ev, names, bulk)
    report = cap({
        "schema_version": SCHEMA_VERSION,
        "generator": f"maillens {__version__}",
        "generated_at": _iso(generated_at),
        "window": {"since": _iso(window.since), "until": _iso(window.until),
                   "first_event": _iso(first) if n_events else None,
                   "last_event": _iso(last) if n_events else None,
                   "events": n_events},
        "baseline": baseline_info or {"source": "none", "events": 0},
        "inputs": [{"file": str(f.name), "lines": int(f.lines), "events": int(f.events), "format": f.flavour}
                   for f in (files or [])],
        "lines": lines,
        "summary": {"worst_severity": worst, **sev_counts},
        "findings": finding_dicts,
        "volumes": volumes,
        "servers": servers,
        "outcomes": outcomes,
        "session_ends": session_ends,
        "top": tops,
        "unrecognised": _unrecognised(counts),
        # peer_totals, peers: folded from the stream when the run registered the section
        **((sections or {}).get("peers") or peer_report(ev)),
        "warnings": list(warnings or []),
    }, totals=full)
    from .headline import add_headline

    return add_headline(report)  # computed once here, after the cap, shown first by every renderer
