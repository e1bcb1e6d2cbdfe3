"""The sets pass 1 of :mod:`analyzer.narrow` holds, kept small: keys (64-bit hashes of a queue id
or a line), distinct and sorted (:class:`_Sorted`), and the lines to keep as a bitmap of line
numbers per source (:class:`_LineSet`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .pipeline import row_hash


def _key(table: pa.Table, qid: str = "queue_id") -> np.ndarray:
    return row_hash(pa.table({"host": table.column("host"), "q": table.column(qid)}), ["host", "q"])


def _line(table: pa.Table) -> np.ndarray:
    return row_hash(table, ["source", "line_no"])


def _member(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_keys)`` for sorted unique keys: a binary search per value, so a
    batch costs the same however many keys there are (np.isin sorts them again every call)."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    i = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[i] == values


class _Sorted:
    """A growing set of uint64 values (or of pairs: ``width`` 2) held as sorted, deduplicated runs,
    a run merged with the one before it while that one is at most twice its size (as
    :class:`_LastSeen`): what pass 1 holds is the distinct values, never a list of every batch's
    values plus their concatenation and its sort at the end (at 10M Exim lines that transient
    raised the C heap by ~60 MiB, which it kept through pass 2)."""

    #: no merge copies more entries than this (a merge's transient stays a few MiB during the stream)
    MERGE_MAX = 1 << 18

    def __init__(self, width: int = 1) -> None:
        self.width = width
        self.runs: list[np.ndarray] = []

    def _unique(self, a: np.ndarray) -> np.ndarray:
        if self.width == 1:
            return np.unique(a)
        v = np.ascontiguousarray(a, dtype=np.uint64).view(np.dtype((np.void, 8 * self.width))).ravel()
        return np.unique(v).view(np.uint64).reshape(-1, self.width)

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        self.runs.append(self._unique(values))
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]) \
                and len(self.runs[-2]) + len(self.runs[-1]) <= self.MERGE_MAX:
            last = self.runs.pop()
            prev = self.runs.pop()
            self.runs.append(self._unique(np.concatenate([prev, last])))

    def take(self) -> np.ndarray:
        """Every value added, sorted and distinct (the runs are released)."""
        runs, self.runs = self.runs, []
        if not runs:
            return np.empty((0, self.width) if self.width > 1 else 0, np.uint64)
        if len(runs) == 1:
            return runs[0]
        out = np.concatenate(runs)
        del runs
        return self._unique(out)


class _LineSet:
    """Lines (source, line number) to keep: a bitmap of line numbers per source, one bit a line of
    the log however many match (a sorted array of 64-bit hashes was 16 bytes per matching line, with
    the line above: 19 MiB at 10M Exim lines, held through pass 2). A line without a source or a
    number (or a negative one) is kept by its hash (:func:`_line`), as before."""

    def __init__(self) -> None:
        self.bits: dict[str, np.ndarray] = {}
        self.other = _Sorted()
        self.hashed = np.empty(0, np.uint64)
        self.n = 0

    def __len__(self) -> int:
        return self.n

    @staticmethod
    def _split(src: pa.Array, line: pa.Array) -> np.ndarray:
        """Which rows go in a bitmap (a source and a line number >= 0)."""
        ok = pc.and_(pc.is_valid(src), pc.fill_null(pc.greater_equal(line, 0), False))
        return ok.to_numpy(zero_copy_only=False)

    def _set(self, name: str, lines: np.ndarray) -> None:
        b = self.bits.get(name)
        need = int(lines.max() >> 3) + 1
        if b is None or len(b) < need:
            grown = np.zeros(max(need, 2 * len(b)) if b is not None else need, np.uint8)
            if b is not None:
                grown[: len(b)] = b
            self.bits[name] = b = grown
        np.bitwise_or.at(b, lines >> 3, np.left_shift(1, lines & 7).astype(np.uint8))

    def add(self, t: pa.Table, rows: np.ndarray) -> None:
        """The lines of ``t``'s ``rows`` (a bool mask) and the line above each."""
        sub = t.select(["source", "line_no"]).filter(pa.array(rows))
        self.n += sub.num_rows
        for line in (sub.column("line_no"), pc.subtract(sub.column("line_no"), 1)):
            one = pa.table({"source": sub.column("source"), "line_no": line})
            ok = self._split(one.column("source"), one.column("line_no"))
            if not ok.all():
                self.other.add(_line(one)[~ok])
            if ok.any():
                src = one.column("source").filter(pa.array(ok))
                ln = pc.cast(one.column("line_no").filter(pa.array(ok)), pa.int64()).to_numpy(zero_copy_only=False)
                for name in pc.unique(src).to_pylist():
                    self._set(name, ln[pc.equal(src, name).to_numpy(zero_copy_only=False)])

    def done(self) -> _LineSet:
        """Pass 1 is over: the hashed lines as one sorted array."""
        self.hashed = self.other.take()
        return self

    def member(self, t: pa.Table) -> np.ndarray:
        """Which rows of ``t`` are on a kept line."""
        out = np.zeros(t.num_rows, dtype=bool)
        src, line = t.column("source"), t.column("line_no")
        ok = self._split(src, line)
        if len(self.hashed) and not ok.all():
            out[~ok] = _member(_line(t.filter(pa.array(~ok))), self.hashed)
        if self.bits and ok.any():
            srcs = src.to_numpy(zero_copy_only=False)
            ln = pc.cast(pc.fill_null(line, 0), pa.int64()).to_numpy(zero_copy_only=False)
            for name, b in self.bits.items():
                rows = np.flatnonzero(ok & (srcs == name))
                if not len(rows):
                    continue
                x = ln[rows]
                inside = (x >> 3) < len(b)
                x = x[inside]
                out[rows[inside]] = (b[x >> 3] >> (x & 7)) & 1 == 1
        return out
