"""Which server each event came from, and the report's per-server parts.

A server is named by the event's ``host`` column (the syslog host name). Exim's own log files
carry no host name (``host`` is null): their events take the name of the folder that holds the
file (``/var/log/exim4/mainlog`` is ``exim4``; ``sample_logs/exim/mainlog`` is ``exim``), or the
file name when the path has no folder. So one report over several servers' logs — syslog from
some, Exim's own files from others kept one folder per server — tells them apart.

The report lists every server in ``servers`` (name and volumes, see SCHEMA.md); renderers show
the "By server" section only when there is more than one. Findings whose evidence lines are in
the run name the servers those lines came from.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .pair_codes import dense_codes, pair_numbers

__all__ = ["SERVER_KEYS", "attach_finding_servers", "by_server", "server_codes", "server_label", "server_names"]

#: The per-server counts, in the order every format shows them.
SERVER_KEYS = ("received", "delivered", "deferred", "bounced", "expired", "rejected", "sessions")


def _folder_name(source: Any) -> str:
    if source is None or pd.isna(source) or not str(source):
        return "unknown"
    p = PurePath(str(source))
    return p.parent.name or p.name


def server_names(ev: pd.DataFrame) -> pd.Series:
    """Each event's server name: ``host``, else the folder name of its ``source`` file. Named
    once per distinct (host, file) pair, from codes (the kept rows' are Categoricals): no string
    object per row (measured: +147 -> +13 MiB at 3M Exim lines, whose lines have no host)."""
    which, names = server_codes(ev)
    # each row's name taken from the few names in Arrow (not a string array built from an object per row)
    return pd.Series(pd.array(pa.array(names, type=pa.string()).take(pa.array(which)), dtype="string"), index=ev.index)


def server_codes(ev: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """:func:`server_names` as a code per row into the names of its distinct (host, file) pairs
    (a name may come twice: two files of one folder). A Categorical's codes are read as they are,
    and the pairs (few: hosts by files) numbered by a count over their range: no hash table sized
    for every row (measured: +45 MiB of the report's build at 10M Exim lines)."""
    n = len(ev)
    none = np.full(n, -1, dtype=np.int8)
    hc, hu = _column_codes(ev["host"]) if "host" in ev.columns else (none, [])
    sc, su = _column_codes(ev["source"]) if "source" in ev.columns else (none, [])
    width = len(su) + 1
    pair = pair_numbers(hc, sc, len(su))  # (host + 1) * width + (file + 1)
    del hc, sc
    which, pairs = dense_codes(pair, (len(hu) + 1) * width)
    names = [str(hu[h - 1]) if h else _folder_name(su[f - 1] if f else None)
             for h, f in zip(*np.divmod(np.asarray(pairs, dtype=np.int64), width), strict=True)]
    return which, names


def _column_codes(values: pd.Series) -> tuple[np.ndarray, Any]:
    """A code per value (-1: null) and the values coded: a Categorical's own codes and categories,
    else :func:`analyzer.anomalies.health._run_codes` (``pd.factorize``; of the Bulk's file names, by their runs)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    from ..anomalies.health import _run_codes

    return _run_codes(values)


def _folded_per_server(bulk: Any) -> dict[str, tuple[int, int, int, int]]:
    """Per server name (sorted), the lines folded into ``bulk`` and of them the sessions, received
    and delivered lines, summed over the codes of its table's (host, file) pairs (no name per row)."""
    t = bulk.table
    which, names = server_codes(t)
    name_codes, uniq = pd.factorize(np.array(names, dtype=object))
    weights = (t["n"].to_numpy(), t["sessions"].to_numpy(), bulk.received(), bulk.delivered())
    if len(uniq) == 1:  # one server (most runs): each count is its column's sum, no count per name
        return {str(uniq[0]): tuple(int(np.asarray(w, dtype=np.int64).sum()) for w in weights)}
    code = name_codes[which] if len(which) else np.zeros(0, dtype=np.int64)
    sums = [np.bincount(code, weights=np.asarray(w, dtype=np.int64), minlength=len(uniq)) if len(code)
            else np.zeros(len(uniq)) for w in weights]
    return {str(uniq[i]): tuple(int(s[i]) for s in sums) for i in sorted(range(len(uniq)), key=lambda i: str(uniq[i]))}


def _name_codes(names: pd.Series | tuple[np.ndarray, list[str]]) -> tuple[np.ndarray, Any]:
    """Each row's code (-1: no name) into the distinct names, of the names per row or of
    :func:`server_codes` (the names of its pairs made distinct: no string per row)."""
    if not isinstance(names, tuple):
        return pd.factorize(names, use_na_sentinel=True)
    which, pair_names = names
    name_codes, uniq = pd.factorize(np.array(pair_names, dtype=object))
    return name_codes.astype(np.int32)[which] if len(which) else np.zeros(0, dtype=np.int32), uniq


def by_server(ev: pd.DataFrame, names: pd.Series | tuple[np.ndarray, list[str]] | None = None, bulk: Any = None,
              whole: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per server (by name): ``name``, ``events`` and the volume counts of :data:`SERVER_KEYS`,
    each counted exactly as the report's ``volumes`` counts the whole run (``names``: each row's
    server name, or :func:`server_codes`; ``bulk``: the lines folded apart from the rows,
    :class:`analyzer.anomalies.aggregates.Bulk`; ``whole``: the run's volumes with ``bulk``,
    when already counted: a run of one server has those)."""
    from .build import _volumes

    names = server_codes(ev) if names is None else names
    extra: dict[str, tuple[int, int, int, int]] = {}
    if bulk is not None and len(bulk.table):
        extra = _folded_per_server(bulk)
    out = []
    # Row positions per server in one pass (a central syslog may hold many hosts).
    # (codes, not a group-by of a string per row: measured +109 MiB at 3M Exim lines)
    codes, uniq = _name_codes(names)
    if whole is not None and len(uniq) == 1 and len(ev) and not (codes < 0).any() and set(extra) <= {str(uniq[0])}:
        # one server holds every row (no order of the rows by server needed)
        n = extra.get(str(uniq[0]), (0, 0, 0, 0))[0]
        return [{"name": str(uniq[0]), "events": len(ev) + n, **{k: int(whole[k]) for k in SERVER_KEYS}}]
    order = np.argsort(codes, kind="stable")  # each server's rows together, in row order
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))  # (no name: code -1, sorted first)
    groups = {uniq[i]: order[bounds[i]:bounds[i + 1]] for i in sorted(range(len(uniq)), key=lambda i: str(uniq[i]))}
    # only the columns _volumes reads, and no copy at all for a one-server run
    sub = ev[[c for c in ("ts", "event", "status", "program", "direction", "delay", "queue_id", "action")
              if c in ev.columns]]
    for name, rows in groups.items():
        v = _volumes(sub if len(rows) == len(sub) else sub.iloc[rows])
        n, sessions, received, delivered = extra.pop(str(name), (0, 0, 0, 0))
        v["sessions"] += sessions
        v["received"] += received
        v["delivered"] += delivered
        out.append({"name": str(name), "events": len(rows) + n, **{k: int(v[k]) for k in SERVER_KEYS}})
    for name, (n, sessions, received, delivered) in extra.items():  # servers with folded lines only
        out.append({"name": name, "events": n, **{k: 0 for k in SERVER_KEYS}, "sessions": sessions,
                    "received": received, "delivered": delivered})
    out.sort(key=lambda r: r["name"])
    return out


def _folded_servers(t: pd.DataFrame, line: str, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The server names of the lines of ``t`` (lines folded apart from the rows: the Bulk's last
    line of each second, the folded examples) at the wanted (file, ``line`` number) ``pairs``,
    the table first cut to the lines at a wanted number of a wanted file (of thousands)."""
    # the wanted line numbers first (a number per row), then the wanted files of those rows only:
    # no copy of the table (a dropna of every column of the Bulk's 220k-400k rows, as before)
    at = np.flatnonzero(_isin_numbers(t[line], {ln for _, ln in pairs}))
    t = t.iloc[at]
    t = t[t["source"].isin({f for f, _ in pairs}).to_numpy(dtype=bool)].dropna(subset=["source", line])
    return {(str(f), int(n)): str(s) for f, n, s in zip(t["source"], t[line], server_names(t), strict=True)
            if (str(f), int(n)) in pairs}


def _isin_numbers(values: pd.Series, wanted: set[int]) -> np.ndarray:
    """Whether each of ``values`` (line numbers) is one of ``wanted`` (a null: no). A numpy column
    by numpy's sort-based test (the Bulk's float column of 220k-320k rows: ~1-4 ms against
    pandas' ~7 ms), any other by pandas'."""
    if values.dtype.kind in "iuf":
        return np.isin(values.to_numpy(), np.fromiter(wanted, dtype=np.int64, count=len(wanted)))
    return values.isin(wanted).to_numpy(dtype=bool)


def attach_finding_servers(findings: list[dict[str, Any]], ev: pd.DataFrame,
                           names: pd.Series | tuple[np.ndarray, list[str]], bulk: Any = None) -> None:
    """Set each finding dict's ``servers``: the names of the servers its evidence lines came from
    (empty when it has no evidence line in the run). ``bulk``'s last lines of each second (the
    silence detector's evidence) count as lines of the run."""
    pairs = {(str(e["file"]), int(e["line"])) for f in findings for e in f.get("evidence") or []}
    lookup: dict[tuple[str, int], str] = {}
    if pairs and bulk is not None and len(bulk.table):
        lookup = _folded_servers(bulk.table, "last_line", pairs)
    for ex in (getattr(bulk, "end_examples", None), getattr(bulk, "failure_examples", None)):
        if pairs and ex is not None and len(ex) and "host" in ex.columns:
            # the folded session ends' first lines (the detectors' evidence), with their host (report/ends_fold.py)
            lookup.update(_folded_servers(ex, "line_no", pairs))
    if pairs and len(ev) and {"source", "line_no"} <= set(ev.columns):
        want = pd.DataFrame(sorted(pairs), columns=["f", "l"])
        # the rows at a wanted line number of a wanted file: a few, not every row of the file
        keep = (ev["line_no"].isin(want["l"].unique()).fillna(False).to_numpy(dtype=bool)
                & ev["line_no"].notna().to_numpy(dtype=bool))
        keep[keep] = ev.loc[keep, "source"].isin(want["f"].unique()).fillna(False).to_numpy(dtype=bool)
        if keep.any():
            rows = pd.DataFrame({"f": ev.loc[keep, "source"].astype(str).to_numpy(),
                                 "l": ev.loc[keep, "line_no"].astype("int64").to_numpy(),
                                 "s": _names_at(names, keep)})
            hit = want.merge(rows, on=["f", "l"], how="inner").drop_duplicates(["f", "l"])
            lookup.update({(f, int(line)): s for f, line, s in zip(hit["f"], hit["l"], hit["s"], strict=True)})
    for f in findings:
        found = {lookup.get((str(e["file"]), int(e["line"]))) for e in f.get("evidence") or []}
        f["servers"] = sorted(s for s in found if s is not None)


def _names_at(names: pd.Series | tuple[np.ndarray, list[str]], keep: np.ndarray) -> np.ndarray:
    """The server names of the rows ``keep`` (of the names per row, or of :func:`server_codes`)."""
    if isinstance(names, tuple):
        return np.array(names[1], dtype=object)[names[0][keep]]
    return names[keep].astype(str).to_numpy()


def server_label(servers: list[dict[str, Any]]) -> str:
    """The servers as the report's opening lines name them: "1 server: mx", "3 servers: mx, vm, exim"."""
    n = len(servers)
    return f"{n} server{'' if n == 1 else 's'}: " + ", ".join(s["name"] for s in servers) if n else "no server"
