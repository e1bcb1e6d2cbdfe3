"""The report's top tables: destinations, relays and senders by failed messages (of the
outbound delivery rows, and of the sent deliveries folded apart: :mod:`.sent_fold`), clients by
rejects and by failed logins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import heap
from ..anomalies import FAILURES
from ..anomalies.aggregates import _NULL_SEC, ORDER_COLUMN, Bulk, _eq, _seconds_ns, qid_hash
from ..anomalies.context import _domain
from .rows_at import RowsAt, notna
from .timeline import distinct_per_group
from .units import Units, code_units, count_coded, in_sorted, message_units

__all__ = ["GIVE_BACK_FROM", "TOP", "give_back"]

TOP = 10
#: The outbound rows' tables: their key (the folded lines' too) and its name in a table's rows.
_TABLES = {"destinations": ("domain", "domain"), "relays": ("relay_host", "relay"), "senders": ("sender", "sender")}
#: The columns the top tables read of the outbound rows (a subset is taken of these, not of the table).
_TOP_COLUMNS = ("event", "direction", "cause_ref", "recipient", "sender", "queue_id", "relay_host", "outcome", "cause")


#: From this many rows in the window on, the build's parts give what they freed back to the
#: system between them (:func:`give_back`); below it (a 1M-line day's 40k-80k rows: their
#: temporaries a few MiB, under the stream's peak) the calls (~1-2 CPU-ms each) and the pages
#: faulted in again after them are not paid on the end's critical path.
GIVE_BACK_FROM = 100_000

#: Queue-id hashes looked up at a time (:meth:`Senders.at`).
AT_SLICE = 1 << 16
#: The senders' lines are sorted in 2 ** this many parts of their queue ids' hashes (:func:`_senders_by_qid`).
SORT_PART_BITS = 4


def give_back(ev: pd.DataFrame, *, trim_only: bool = False) -> None:
    """:func:`analyzer.heap.give_back` (or :func:`analyzer.heap.trim`) after a part of the build
    over the rows ``ev``, from :data:`GIVE_BACK_FROM` rows on."""
    if len(ev) >= GIVE_BACK_FROM:
        heap.trim() if trim_only else heap.give_back()


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def _cols(ev: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    return [c for c in names if c in ev.columns]


def _codes_in(names: Any, uniq: Any, hit: np.ndarray) -> np.ndarray:
    """Per name of ``names`` its key's code among the keys ``uniq[hit]`` (by their strings), -1 for
    a name of no such key (Arrow ``names``: looked up in Arrow, no Python string per name)."""
    if isinstance(names, pa.Array | pa.ChunkedArray):
        at = pc.index_in(names, value_set=pa.array([str(u) for u in uniq[hit]], pa.large_string()))
        return np.append(hit, -1)[at.fill_null(len(hit)).to_numpy()]
    want = {str(uniq[i]): i for i in hit}
    return np.array([want.get(str(n), -1) for n in names], dtype=np.int64)


def _top_failures(key: tuple[np.ndarray, pa.Array], failed: np.ndarray, cause: pd.Series, pos: np.ndarray,
                  name: str, full: dict[str, int] | None, path: str, units: Units,
                  extra: tuple[np.ndarray, Any, Units] | None = None) -> list[dict[str, Any]]:
    """The keys with failures, most failed messages first. ``key``: per outbound row its key's
    code (-1: null) into the distinct keys (:func:`_key_codes`); ``failed``: the rows that failed;
    ``cause``: the table's cause column, read at the rows' positions ``pos`` in it (of the failed
    rows of the top keys only); ``units``: :func:`message_units` of the rows numbered by
    :func:`.units.code_units`; ``extra``: lines of no failure folded apart from the rows,
    :func:`.sent_fold.folded_outbound`'s codes and names of this key and units (numbered with
    the rows'), counted as rows: only those of the keys with failures are read."""
    codes, uniq = key
    has = codes >= 0  # (the rows without a key passed over where read, not cut out: no copy of the units)
    if not has.any():  # (folded lines alone have no failure: no key to show)
        return []
    failures = np.bincount(codes[failed & has], minlength=len(uniq))
    hit = np.flatnonzero(failures > 0)
    attempts = np.bincount(codes[has], minlength=len(uniq))
    del has
    # the names of the keys with failures only (a Python string per such key, not per line)
    names = np.array(uniq.take(pa.array(hit, pa.int64())).to_pylist(), dtype=object)
    parts = [(codes, units, failures[np.maximum(codes, 0)] > 0 if len(hit) < len(uniq) else None)]
    if extra is not None and len(hit):
        # the folded lines (never a failure) of the keys with failures only, under the rows' codes
        fc, fnames, fu = extra
        found = _codes_in(fnames, names, np.arange(len(hit)))
        fmap = np.append(np.where(found >= 0, hit[found], -1), -1).astype(np.int32)  # (4 bytes a folded line)
        del found
        fk = fmap[fc]  # code -1 (null) takes the trailing -1
        attempts += np.bincount(fk[fk >= 0], minlength=len(uniq))
        parts.append((fk, fu, None))
    if full is not None:
        full[path] = len(hit)
    # the messages of the keys with failures only (a key's count reads its own lines alone): the
    # rows of those keys and their folded lines, counted where they are (count_coded)
    messages = count_coded(parts, len(uniq))[hit]
    del parts
    agg = pd.DataFrame({"code": hit, "k": names, "attempts": attempts[hit], "failures": failures[hit],
                        "messages": messages, "failed_messages": count_coded([(codes, units, failed)], len(uniq))[hit]})
    agg = agg.sort_values(["failed_messages", "failures", "k"], ascending=[False, False, True]).head(TOP)
    sel = failed & np.isin(codes, agg["code"].to_numpy())
    # (the causes of the top keys' failed rows alone read, at their positions in the table)
    fails = pd.DataFrame({"k": codes[sel], "cause": cause.iloc[pos[sel]].astype(str).to_numpy(),
                          "kind": units.kind[sel], "unit": units.h[sel]})
    causes = fails.drop_duplicates(["k", "cause", "kind", "unit"]).groupby(["k", "cause"]).size().reset_index(name="n")
    top = causes.sort_values(["n", "cause"], ascending=[False, True]).drop_duplicates("k").set_index("k")["cause"]
    return [{name: str(r.k), "messages": int(r.messages), "failed_messages": int(r.failed_messages),
             "attempts": int(r.attempts), "failures": int(r.failures),
             "failure_rate": _share(int(r.failed_messages), int(r.messages)), "top_cause": str(top[r.code])}
            for r in agg.itertuples(index=False)]


#: Rows whose key texts are taken at a time (:func:`_key_codes`): a slice's texts copied, encoded,
#: then freed, not a copy of every outbound row's texts held through the tables.
KEY_SLICE = 1 << 16


def _key_codes(col: pd.Series, pos: np.ndarray, how: Any = None) -> tuple[np.ndarray, pa.Array]:
    """The values of ``col`` at the positions ``pos`` (made by ``how`` of them, when given) as
    int32 codes (-1: null) into their distinct values (Arrow strings): a Categorical's own codes,
    other columns :data:`KEY_SLICE` rows at a time, each slice dictionary-encoded and the slices'
    dictionaries unified (equal texts, equal codes, as a factorize of the rows' texts gives)."""
    if how is None and isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        codes = col.cat.codes.to_numpy()[pos].astype(np.int32)
        return codes, _strings(cats) if len(cats) else pa.array([], pa.large_string())
    pieces = []
    for i in range(0, len(pos), KEY_SLICE):
        part = col.iloc[pos[i:i + KEY_SLICE]]
        pieces.append(pc.dictionary_encode(_strings(how(part) if how is not None else part)))
        del part
    codes = np.empty(len(pos), dtype=np.int32)
    if not pieces:
        return codes, pa.array([], pa.large_string())
    chunked = pa.chunked_array(pieces, pa.dictionary(pa.int32(), pa.large_string())).unify_dictionaries()
    del pieces
    at = 0
    for chunk in chunked.chunks:
        codes[at:at + len(chunk)] = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        at += len(chunk)
    return codes, chunked.chunks[0].dictionary


def _with_senders(key: tuple[np.ndarray, pa.Array], missing: np.ndarray, qids: np.ndarray,
                  by_qid: Senders) -> tuple[np.ndarray, pa.Array]:
    """The senders' codes ``key`` with the rows ``missing`` one given the sender of their queue
    id's hash ``qids`` (-1: not known): those senders found among the names or appended (each
    distinct one once), as codes (not the filled texts of every row held through the tables)."""
    codes, names = key
    found = by_qid.at(qids)
    to, names = _appended(by_qid, found, names, merged=True)
    codes[missing] = to[found]
    return codes, names


def _appended(by_qid: Senders, found: np.ndarray, names: Any, *, merged: bool) -> tuple[np.ndarray, Any]:
    """The senders of ``by_qid`` whose codes are ``found`` (-1: none) as codes into ``names`` with
    them appended: (a table from ``by_qid``'s code to that code, its last entry -1 for -1; the
    names). ``merged``: a sender already among ``names`` (an Arrow array) keeps its code there, the
    others are appended, each once; else each one found is appended, a chunk of its own after
    ``names`` (not a copy of them). The ones found are picked by a count per code, not by sorting
    a copy of ``found``."""
    used = np.flatnonzero(np.bincount(found + 1, minlength=len(by_qid.names) + 1)[1:])
    picked = by_qid.names.take(pa.array(used, pa.int64()))
    to = np.full(len(by_qid.names) + 1, -1, dtype=found.dtype)
    if not merged:
        to[used] = len(names) + np.arange(len(used))
        return to, pa.chunked_array([names, picked], pa.large_string())
    at = pc.index_in(picked, value_set=names)
    new = at.is_null().to_numpy(zero_copy_only=False)
    to[used] = at.fill_null(-1).to_numpy(zero_copy_only=False)
    to[used[new]] = len(names) + np.arange(int(new.sum()))
    return to, pa.concat_arrays([names, picked.filter(pa.array(new))])


@dataclass(frozen=True)
class Senders:
    """Each queue id's (hash's) sender (:func:`_senders_by_qid`): the hashes ``qid`` sorted, each
    one's sender as a code (-1: none) into ``names`` (Arrow strings: no Python string per sender)."""

    qid: np.ndarray
    codes: np.ndarray
    names: pa.Array

    def __len__(self) -> int:
        return len(self.qid)

    def at(self, qids: np.ndarray) -> np.ndarray:
        """The codes of the senders of the hashes ``qids`` (-1: not known), looked up
        :data:`AT_SLICE` hashes at a time (each slice's positions and compares alone, not
        arrays of 8 bytes per hash beside each other: measured +30 MiB for the ~1M folded
        lines' look-up at 10M Postfix lines, the top tables' peak)."""
        out = np.full(len(qids), -1, dtype=self.codes.dtype)
        if not len(self.qid):
            return out
        for i in range(0, len(qids), AT_SLICE):
            q = qids[i:i + AT_SLICE]
            pos = np.searchsorted(self.qid, q)
            pos[pos == len(self.qid)] = 0
            hit = self.qid[pos] == q
            out[i:i + len(q)][hit] = self.codes[pos[hit]]
        return out

    def of(self, qids: np.ndarray) -> np.ndarray:
        """The senders of the hashes ``qids`` as Python strings (None: not known)."""
        codes = self.at(qids)
        return self.names.take(pa.array(codes, mask=codes < 0)).to_numpy(zero_copy_only=False)


def _strings(values: Any) -> pa.Array:
    """``values`` (a pandas array or Index of strings, or Python objects) as Arrow large strings."""
    arr = values.array if isinstance(values, pd.Index | pd.Series) else values
    if isinstance(arr, pa.ChunkedArray | pa.Array) or hasattr(arr, "__arrow_array__"):
        arr = pa.array(arr)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return arr.cast(pa.large_string())
    objs = np.asarray(arr, dtype=object)
    null = pd.isna(objs)  # None, NaN and pd.NA alike (a frame of Python objects, a Categorical's gaps)
    return pa.array([None if n else str(v) for v, n in zip(objs, null, strict=True)], pa.large_string())


def _senders_by_qid(ev: pd.DataFrame, bulk: Bulk, wanted: np.ndarray | None = None) -> Senders:
    """Each queue id's (hash's) sender: the first line, in time and then input order, that names
    one, among the rows and the lines folded into ``bulk`` (its ``senders``); only of the hashes
    ``wanted`` (sorted here, in place), when given (the rows' lines of other messages dropped
    before any is sorted, no sender made a string but of the wanted ids: measured +83 MiB for
    every message's sender at 3M Exim lines). The folded lines' senders are their codes into
    ``bulk``'s distinct senders (Arrow strings), the rows' ones found there or appended: no
    Python string per sender (measured: +125 MiB for the 246k distinct senders of a 10M-line
    Postfix day). The folded lines are sorted as they are held (their columns read in place,
    the wanted ids kept among the first lines after the sort: a filter of the folded lines
    before it copied each of their columns, beside a hash table of the ~1M wanted ids, measured
    +40 MiB at 10M Postfix lines, the top tables' peak); the wanted ids are looked up sorted,
    a slice at a time."""
    has = ev["queue_id"].notna().to_numpy(dtype=bool) & ev["sender"].notna().to_numpy(dtype=bool)
    rows_qid = qid_hash(ev["queue_id"][has])
    if wanted is not None:
        wanted.sort()
        keep = in_sorted(rows_qid, wanted)
        has[has] = keep
        rows_qid = rows_qid[keep]
        del keep
    b = bulk.senders
    # the rows' times read here, their senders only at each queue id's first line (below): not a
    # copy of the texts of every row that names a sender
    known = np.flatnonzero(has)
    nr = len(known)
    # the rows' place in the input (make_report gives it; else the rows are in input order)
    order = ev[ORDER_COLUMN].to_numpy(dtype=np.int64)[has] if ORDER_COLUMN in ev.columns else known
    sec, ns = _seconds_ns(ev["ts"].iloc[known])
    late = np.iinfo(np.int64).max  # a line without a time sorts last, as the rows do
    ns = np.where(sec == _NULL_SEC, late, ns)
    del sec
    b_qid = b["qid"].to_numpy(dtype=np.uint64)
    b_ts = b["ts"].to_numpy(dtype=np.int64)
    b_null = b["sec"].to_numpy() == _NULL_SEC
    b_order = b["order"].to_numpy(dtype=np.int64)
    # sorted by queue id, then time, then order: each id's first line heads its run (stable, as
    # a sort of the table by time and order was), and the ids come out sorted for the look-ups;
    # a part of the ids at a time (by their hash's top bits: the parts' ids in order), each
    # part's keys gathered alone (not every line's three keys, their order and run heads at
    # once: measured +44 MiB at 10M Postfix lines, the top tables' peak)
    shift = np.uint64(64 - SORT_PART_BITS)
    r_part, b_part = (rows_qid >> shift).astype(np.uint8), (b_qid >> shift).astype(np.uint8)
    firsts, idss = [], []
    for part in range(1 << SORT_PART_BITS):
        rs, bs = np.flatnonzero(r_part == part), np.flatnonzero(b_part == part)
        if not len(rs) + len(bs):
            continue
        q = np.concatenate([rows_qid[rs], b_qid[bs]])
        t = np.concatenate([ns[rs], np.where(b_null[bs], late, b_ts[bs])])
        o = np.concatenate([order[rs], b_order[bs]])
        at = np.lexsort((o, t, q))
        del o, t
        q = q[at]
        head = np.ones(len(q), dtype=bool)
        np.not_equal(q[1:], q[:-1], out=head[1:])
        if wanted is not None:  # the first lines of the wanted ids only, a part at a time (not every id's
            # first line and id kept, then cut: measured +23 MiB at 10M Exim lines, the top tables' peak)
            head[head] = in_sorted(q[head], wanted)
        firsts.append(np.concatenate([rs, bs + nr])[at[head]])
        idss.append(q[head])
        del at, q, head, rs, bs
    del r_part, b_part, b_null, order, ns, rows_qid  # (every temporary row-sized array freed before the senders are read)
    first = np.concatenate(firsts) if firsts else np.zeros(0, np.int64)
    ids = np.concatenate(idss) if idss else np.zeros(0, np.uint64)
    del firsts, idss
    mine = first < nr
    cats = b["sender"].cat.categories
    names = _strings(cats) if len(cats) else pa.array([], pa.large_string())
    codes = np.full(len(first), -1, dtype=np.int64 if len(names) + len(first) >= 1 << 31 else np.int32)
    codes[~mine] = b["sender"].cat.codes.to_numpy()[first[~mine] - nr]
    if mine.any():  # the rows' senders: found among the folded lines' or appended (each distinct once)
        vals = pc.dictionary_encode(_strings(ev["sender"].iloc[known[first[mine]]]))
        to, names = _placed(vals.dictionary, names)
        codes[mine] = to[vals.indices.to_numpy(zero_copy_only=False)]
    return Senders(ids, codes, names)


def _placed(uniq: pa.Array, names: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Each of the distinct texts ``uniq``'s code among ``names`` (distinct texts), those not there
    appended (in their order in ``uniq``): (the codes, the names). The names are read against a
    hash table of ``uniq``, not ``uniq`` against one of every name (measured +26 MiB at 10M Postfix
    lines for the ~250k senders' table, the top tables' peak)."""
    hit = pc.index_in(names, value_set=uniq).fill_null(-1).to_numpy(zero_copy_only=False)
    ok = np.flatnonzero(hit >= 0)
    to = np.full(len(uniq), -1, dtype=np.int64)
    to[hit[ok][::-1]] = ok[::-1]  # (the first name of a text, as a look-up among the names finds it)
    del hit, ok
    new = to < 0
    if new.any():
        to[new] = len(names) + np.arange(int(new.sum()))
        names = pa.concat_arrays([names, uniq.filter(pa.array(new))])
    return to, names


def _fill_senders(more: dict[str, Any], missing: np.ndarray, by_qid: Senders) -> None:
    """The senders of the folded lines ``missing`` one, by their queue id's hash (``by_qid``):
    their codes into names appended to ``more``'s (Arrow strings: each distinct sender's name
    once, none a Python string; the names of ``by_qid`` found only, a chunk of their own after
    ``more``'s: not every one of them copied beside those, measured 13 MiB of Arrow's held
    through the tables at 10M Exim lines)."""
    names = _strings(more["names"]["sender"])
    # (of every folded line, as at 10M lines all of them are: no copy of their hashes taken first)
    every = bool(missing.all())
    fc = by_qid.at(more["qid"] if every else more["qid"][missing])
    to, more["names"]["sender"] = _appended(by_qid, fc, names, merged=False)
    if every:  # (each line's code made in place of its look-up's: no copy of the folded codes first)
        codes = np.take(to, fc, out=fc, mode="wrap")  # (-1 wraps to the last: -1; not buffered as "raise" is)
    else:
        codes = more["codes"]["sender"].copy()
        codes[missing] = to[fc]
    del fc, to
    more["codes"]["sender"] = codes


def _known_senders(ev: pd.DataFrame) -> Senders:
    """Each queue id's (hash's) sender of the rows alone, the first row naming one."""
    known = ev[["queue_id", "sender"]].dropna().drop_duplicates("queue_id")
    qid = qid_hash(known["queue_id"])
    o = np.argsort(qid, kind="stable")
    codes, uniq = pd.factorize(known["sender"].to_numpy()[o], use_na_sentinel=True)
    return Senders(qid[o], codes.astype(np.int64), _strings(uniq))


def _clients(ev: pd.DataFrame, full: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The clients by rejects and by failed logins (``full``: each one's length before the cut)."""
    clients = []
    got = _top_lines(ev, "reject")
    if got is not None:
        ips, most, pos, at, full["top.clients_by_rejects"] = got
        host, cause = ev["client_host"].iloc[pos], ev["cause"].iloc[pos]
        has = np.flatnonzero(host.notna().to_numpy(dtype=bool))
        first = np.full(len(ips), len(pos), dtype=np.int64)  # each client's first line naming a host
        np.minimum.at(first, at[has], has)
        top_cause = _modes(at, cause, len(ips))
        for j, (ip, n) in enumerate(zip(ips, most, strict=True)):
            clients.append({"client_ip": ip, "client_host": str(host.iloc[first[j]]) if first[j] < len(pos) else None,
                            "rejects": int(n), "top_cause": top_cause[j]})
        clients.sort(key=lambda d: (-d["rejects"], d["client_ip"]))
    auths = []
    got = _top_lines(ev, "auth_failure")
    if got is not None:
        ips, most, pos, at, full["top.clients_by_auth_failures"] = got
        users = distinct_per_group(at, ev["sasl_username"].iloc[pos], len(ips))
        for j, (ip, n) in enumerate(zip(ips, most, strict=True)):
            auths.append({"client_ip": ip, "failures": int(n), "user_names": int(users[j])})
        auths.sort(key=lambda d: (-d["failures"], d["client_ip"]))
    return clients, auths


def _top_lines(ev: pd.DataFrame, event: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, int] | None:
    """The lines of ``event`` that name a client, read where they are (their client as a code,
    :func:`_key_codes`; not a copy of their columns, measured +30 MiB at 10M Exim lines, the top
    tables' first peak): (the :data:`TOP` clients by lines, most first and, among equals, in the
    order of their first line, as ``value_counts`` ranks them; their lines; the positions of their
    lines in ``ev``; each such line's client's place among them; how many clients there were),
    None when there is no such line."""
    pos = np.flatnonzero(_eq(ev["event"], event) & ev["client_ip"].notna().to_numpy(dtype=bool))
    if not len(pos):
        return None
    codes, uniq = _key_codes(ev["client_ip"], pos)
    n = np.bincount(codes, minlength=len(uniq))
    best = np.argsort(-n, kind="stable")[:TOP]
    place = np.full(len(uniq), -1, dtype=np.int64)
    place[best] = np.arange(len(best))
    at = place[codes]
    del codes, place
    mine = at >= 0
    ips = [str(ip) for ip in uniq.take(pa.array(best, pa.int64())).to_pylist()]
    return ips, n[best], pos[mine], at[mine], int(np.count_nonzero(n))


def _modes(at: np.ndarray, values: pd.Series, n: int) -> list[str | None]:
    """Per group ``0 .. n-1`` (``at``: each row's) the most frequent of its ``values`` (nulls
    apart), the first in the values' order among equals, as ``Series.mode().iloc[0]`` chooses it
    (a Categorical's categories' order, else the values sorted); None where a group has none."""
    codes, uniq = pd.factorize(values, sort=True, use_na_sentinel=True)
    known, width = codes >= 0, max(len(uniq), 1)
    counts = np.bincount(at[known].astype(np.int64) * width + codes[known], minlength=n * width).reshape(n, width)
    return [str(uniq[int(c.argmax())]) if c.any() else None for c in counts]


def _top(ev: pd.DataFrame, full: dict[str, int] | None = None, bulk: Bulk | None = None,
         folded: dict[str, Any] | None = None, let_go: Callable[[], None] | None = None) -> dict[str, Any]:
    """The top tables; ``full`` gets each table's length before the cut to TOP rows (``bulk``:
    the lines folded apart, whose senders fill those of the delivery lines; ``folded``: the sent
    deliveries folded apart from the rows, :class:`.sent_fold.SentFold`'s part). ``let_go``, once
    ``bulk``'s senders are read: their owner lets go of them (:func:`.run.make_report`)."""
    from .sent_fold import folded_outbound

    full = {} if full is None else full
    # the clients' tables first (their lines' copies freed, back to the system, before the outbound
    # rows' work: measured +22-27 MiB RSS at 10M Exim lines when they came after it)
    clients, auths = _clients(ev, full)
    give_back(ev)
    # outbound lines, and the waits and give-ups that took their cause from an outbound attempt
    # (an Exim 'retry timeout exceeded' names no host: its own direction is not outbound)
    waited = ev["cause_ref"].notna().to_numpy(dtype=bool) & ~_eq(ev["direction"], "inbound") \
        if "cause_ref" in ev.columns else np.zeros(len(ev), dtype=bool)
    # the outbound rows read at their positions in the table, a column at a time, their keys as
    # codes (a copy of their nine columns, their domains and filled senders as texts, held through
    # the tables: measured ~50 MiB at 10M Exim lines, the end's peak)
    rows = RowsAt(ev, _eq(ev["event"], ("delivery", "expired")) & (_eq(ev["direction"], "outbound") | waited),
                  _TOP_COLUMNS)
    pos = rows.pos
    del waited
    extra = folded_outbound(folded)
    # Postfix logs the sender once per message (qmgr from=), not on delivery lines.
    senders = _key_codes(ev["sender"], pos)
    missing = (senders[0] < 0) & notna(rows, "queue_id")
    more_missing = extra["codes"]["sender"] < 0 if extra is not None else np.zeros(0, dtype=bool)
    qids = qid_hash(ev["queue_id"].iloc[pos[missing]])
    if bulk is not None and len(bulk.senders):  # qmgr's lines were folded: their senders are in bulk
        # the wanted ids made once at their size (not the folded ones' copy, then both joined)
        wanted = np.empty(len(qids) + int(more_missing.sum()), dtype=np.uint64)
        wanted[:len(qids)] = qids
        if extra is not None:
            np.compress(more_missing, extra["qid"], out=wanted[len(qids):])
        by_qid = _senders_by_qid(ev, bulk, wanted=wanted)
        del wanted
        if let_go is not None:  # (before the look-ups and the tables: the top tables' peak 520 -> 509 MiB RSS at 10M Exim lines)
            let_go()
    else:
        by_qid = _known_senders(ev)
    if more_missing.any() and len(by_qid):
        _fill_senders(extra, more_missing, by_qid)
    if len(by_qid) and missing.any():
        senders = _with_senders(senders, missing, qids, by_qid)
    del by_qid, qids, missing, more_missing  # (before the tables: the senders' look-up and its names)
    give_back(ev)  # (and back to the system before the units are made: measured -10 MiB RSS at 10M Exim lines)
    # the units once for the three tables, the rows' and the folded lines' hashes numbered together
    # once (each table's count had numbered its joined hashes again: +18 MiB and ~0.2 CPU-s a
    # table at 10M Postfix lines), as int32
    units = message_units(rows)
    more = None
    if extra is not None:
        units, fu = code_units(units, extra["units"])
        more = (extra["codes"], extra["names"], fu)
    else:
        units = code_units(units)[0]
    # the senders' look-up, freed, back to the system before the tables below (Arrow's pools and
    # the C heap keep it)
    give_back(ev)
    failed = _eq(ev["outcome"], FAILURES)[pos]
    keys = {"domain": lambda: _key_codes(ev["recipient"], pos, _domain),
            "relay_host": lambda: _key_codes(ev["relay_host"], pos), "sender": lambda: senders}
    tables = {}
    for table, (key, name) in _TABLES.items():
        code = keys[key]()  # (a table's keys made when it is counted, freed after it)
        tables[table] = _top_failures(code, failed, ev["cause"], pos, name, full, f"top.{table}", units,
                                      None if more is None else (more[0][key], more[1][key], more[2]))
        del code
        give_back(ev)  # (each table's temporaries, before the next's: measured -15 MiB RSS at 10M lines)
    return {**tables, "clients_by_rejects": clients, "clients_by_auth_failures": auths}
