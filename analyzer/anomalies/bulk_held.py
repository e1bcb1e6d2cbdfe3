"""Entries as :class:`~.aggregates.BulkFold` holds them while the day is read (the messages'
first times and the senders' entries): a numpy array per column, joined a column at a time, and
made the Bulk's tables (:attr:`~.aggregates.Bulk.qids`, :attr:`~.aggregates.Bulk.senders`) at
the end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

#: The "second" of a line without a time.
_NULL_SEC = np.iinfo(np.int64).min

#: A held queue-id entry's ``ts`` for a line without a time (:func:`_held_qids`)
_NULL_TS = np.iinfo(np.int64).min


#: Entries as the fold holds them (:func:`_held_qids`, the senders'): a numpy array per column,
#: not a small DataFrame per batch (joining 35 of those a column at a time cost more than the rest
#: of the Bulk's result: each frame's column looked up by name and deleted).
_Held = dict[str, np.ndarray]


def _held_qids(qid: np.ndarray, sec: np.ndarray, ns: np.ndarray) -> _Held:
    """:attr:`Bulk.qids` entries as the fold holds them: the hash and the time, :data:`_NULL_TS`
    for a line without one (its second follows from the time: 16 bytes an entry, not 24)."""
    return {"qid": qid, "ts": _held_ts(sec, ns)}


def _held_ts(sec: np.ndarray, ns: np.ndarray) -> np.ndarray:
    """Lines' times as held entries keep them: :data:`_NULL_TS` where the line had none (``sec``
    :data:`_NULL_SEC`), so that the second follows from the time (:func:`_held_sec`)."""
    return np.where(sec == _NULL_SEC, _NULL_TS, ns)


def _held_sec(ts: np.ndarray) -> np.ndarray:
    """The second of held entries' times (:func:`_held_qids`), :data:`_NULL_SEC` for none."""
    return np.where(ts == _NULL_TS, _NULL_SEC, np.floor_divide(ts, 1_000_000_000))


def _with_sec(q: _Held) -> pd.DataFrame:
    """Held entries (``qid``, ``ts`` as :func:`_held_qids` holds it, more columns) as the Bulk's
    (:attr:`Bulk.qids`, :attr:`Bulk.senders`): ``qid``, ``sec``, ``ts`` (0 without a time), the others."""
    qid, ts = q.pop("qid"), q.pop("ts")
    sec = _held_sec(ts)
    cols = {"qid": qid, "sec": sec, "ts": np.where(sec == _NULL_SEC, 0, ts)}
    cols.update({c: q.pop(c) for c in list(q)})
    return pd.DataFrame(cols, copy=False)


def _first_qids(q: pd.DataFrame | _Held, split: int) -> pd.DataFrame | _Held:
    """Of ``q`` (:attr:`Bulk.qids`, or held: :func:`_held_qids`), each queue id's earliest entry among the lines without a
    time, those before second ``split`` and those from it on (r12-rmem: one entry per message,
    not per line). Exact for what reads them: :meth:`Bulk.first_seen` (the earliest time of the
    timed entries) after :meth:`Bulk.cut` at ``split`` and at any upper limit (an entry's second
    grows with its time, so a side's earliest entry is kept by an upper limit whenever any of
    that side's entries is)."""
    if len(q["qid"]) < 2:
        return q
    sec = np.asarray(q["sec"]) if "sec" in q else _held_sec(np.asarray(q["ts"]))
    side = np.where(sec == _NULL_SEC, 0, np.where(sec < split, 1, 2)).astype(np.int8)
    qid = np.asarray(q["qid"], dtype=np.uint64)
    idx = np.lexsort((np.asarray(q["ts"]), side, qid))
    first = np.ones(len(idx), dtype=bool)
    first[1:] = (qid[idx][1:] != qid[idx][:-1]) | (side[idx][1:] != side[idx][:-1])
    keep = np.sort(idx[first])
    return {k: v[keep] for k, v in q.items()} if isinstance(q, dict) else q.iloc[keep].reset_index(drop=True)


def _concat(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The pieces joined, a column at a time: each piece's column is dropped from it as the
    joined one is made (the pieces are consumed: one column more than them at most, not twice)."""
    return {k: np.concatenate([p.pop(k) for p in pieces]) for k in list(pieces[0])}


def _joined(held: list[_Held]) -> _Held:
    """Held entries (same columns) joined a column at a time, the list emptied (each piece's
    column freed as the joined one is made, not all of them held beside the result)."""
    out = _concat(held)
    held.clear()
    return out


def _empty_qids() -> pd.DataFrame:
    return pd.DataFrame({"qid": np.array([], np.uint64), "sec": np.array([], np.int64), "ts": np.array([], np.int64)})


def _empty_senders() -> pd.DataFrame:
    return pd.DataFrame({"qid": np.array([], np.uint64), "sec": np.array([], np.int64), "ts": np.array([], np.int64),
                         "order": np.array([], np.int64), "sender": pd.array([], dtype="string[pyarrow]")})


def senders_categorical(codes: np.ndarray, words: pa.Array) -> pd.Categorical:
    """The senders' entries' ``codes`` into ``words`` (Arrow strings) as a Categorical of the
    senders they name only, in the order their first entries come (the same whatever words the
    fold held or let go of on the way: both engines, the native one renumbering its words as it
    lets go of entries)."""
    used, first = np.unique(codes, return_index=True)
    used = used[np.argsort(first, kind="stable")]
    to = np.zeros(len(words), dtype=np.int32)
    to[used] = np.arange(len(used), dtype=np.int32)
    categories = pd.Index(pd.array(words.take(pa.array(used)), dtype="string[pyarrow]"))
    return pd.Categorical.from_codes(to[codes], categories=categories)
