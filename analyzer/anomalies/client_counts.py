"""Exact counts per client (or network) and time step for the abuse detectors, on integer codes.

The detectors of :mod:`.abuse`, :mod:`.longwindow` and :mod:`.delivery` (rejects per client)
count the inbound rejects and authentication failures per (client, bucket), per (client, day)
and over the span, some as distinct recipients. Done with pandas, each took a copy of the
lines' columns (client address, recipient, user name, file ... as strings), added bucket
columns, and grouped them. Here the same counts come from one integer code per line and key:
the distinct (key, step, value) triples are found by one ``lexsort`` of int64 arrays (nulls
left out, as ``nunique`` leaves them out). Of the few flagged entities, what a finding says
(lines, distinct recipients and user names, first and last time, the most frequent cause) is
read on the same codes and times (:class:`Lines`); only its evidence lines are taken from the
table, in their order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .aggregates import _seconds_ns
from .arrow_columns import _one_array

DAY_NS = 86_400 * 1_000_000_000


def codes_of(s: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column (-1 for null) and its distinct values as Python objects (sorted
    as strings when ``sort``: the order a group-by gives its keys). An Arrow string column is
    dictionary-encoded and its distinct values sorted by Arrow (byte order of UTF-8: code point
    order, as Python sorts strings), not factorized and sorted by pandas."""
    data = getattr(s.array, "_pa_array", None)
    if sort and data is not None and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        enc = pc.dictionary_encode(_one_array(data))
        order = pc.array_sort_indices(enc.dictionary).to_numpy()
        rank = np.empty(len(order) + 1, dtype=np.int64)
        rank[order] = np.arange(len(order))
        rank[-1] = -1  # (a null's index, -1, takes it)
        at = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return rank[at], enc.dictionary.take(pa.array(order)).to_numpy(zero_copy_only=False).astype(object)
    codes, uniq = pd.factorize(s, sort=sort, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniq, dtype=object)


def categorical_codes(s: pd.Series, pos: np.ndarray, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`codes_of` of a Categorical column at the lines ``pos``, read on its codes: the
    categories those lines have, numbered in order of first appearance (or in category order,
    ``sort``), as ``pd.factorize`` numbers them; no Series taken at the lines (its int64 index),
    no hash table of its values."""
    at = s.cat.codes.to_numpy()[pos]
    cats = np.asarray(s.cat.categories, dtype=object)
    if not len(at):
        return np.zeros(0, dtype=np.int64), cats[:0]
    if sort:  # (in category order, as pandas sorts a Categorical's values)
        seen = np.flatnonzero(np.bincount(at[at >= 0].astype(np.int64), minlength=len(cats)))
    else:  # (first appearance: the least position of each category among the lines)
        first = np.full(len(cats), len(at), dtype=np.int64)
        valid = np.flatnonzero(at >= 0)
        np.minimum.at(first, at[valid].astype(np.int64), valid)
        seen = np.flatnonzero(first < len(at))
        seen = seen[np.argsort(first[seen], kind="stable")]
    lut = np.full(len(cats) + 1, -1, dtype=np.int64)  # category code + 1 -> its number (0: null)
    lut[seen + 1] = np.arange(len(seen))
    return lut[at.astype(np.int64) + 1], cats[seen]


def value_codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column (-1 for null), equal codes for equal values, without a Python
    object per distinct value (recipients are many: a dictionary attack's are all distinct)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64)
    data = getattr(s.array, "_pa_array", None)
    if data is None:
        return pd.factorize(s, use_na_sentinel=True)[0].astype(np.int64, copy=False)
    enc = pc.dictionary_encode(_one_array(data))
    return pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def times_at(ts: pd.Series, pos: np.ndarray) -> np.ndarray:
    """The times ``ts`` at ``pos`` as int64 nanoseconds since the epoch (UTC; 0 where there is
    none): an Arrow column's values taken and read as integers (no pandas Series of them)."""
    data = getattr(ts.array, "_pa_array", None)
    if data is not None and pa.types.is_timestamp(data.type) and data.num_chunks == 1 and not data.null_count:
        # the column's one chunk read as integers where it lies, the lines' values taken from it:
        # one array of the lines' times, not a taken Arrow array and its copy
        v = data.chunk(0).view(pa.int64()).to_numpy()[pos]
        per = _PER_UNIT[data.type.unit]
        if per > 1:
            v *= per
        return v
    if data is not None and pa.types.is_timestamp(data.type):
        t = data.take(pa.array(pos, type=pa.int64()))
        if not t.null_count:
            v = t.cast(pa.int64()).to_numpy()
            per = _PER_UNIT[t.type.unit]
            return v * per if per > 1 else v.copy()
    return _seconds_ns(ts.iloc[pos])[1]


def step_of(ns: np.ndarray, step_ns: int) -> np.ndarray:
    """The start (ns) of each time's step (``dt.floor`` of a UTC time by ``step_ns``)."""
    return (ns // step_ns) * step_ns


def narrow(codes: np.ndarray) -> np.ndarray:
    """Integer codes as int32 where they fit (4 bytes a line held, not 8), else as they are."""
    if len(codes) and (int(codes.min()) < -(1 << 31) or int(codes.max()) >= 1 << 31):
        return codes
    return codes.astype(np.int32, copy=False)


def step_index(ns: np.ndarray, step_ns: int) -> np.ndarray:
    """The number of each time's step (``ns // step_ns``; :func:`step_of` is it times ``step_ns``),
    as int32 where it fits: what a count per step groups by, at half the bytes of the starts.
    Worked out a slice at a time into the int32 array (no whole int64 quotient first)."""
    if not len(ns):
        return narrow(ns // step_ns)
    lo, hi = int(ns.min()) // step_ns, int(ns.max()) // step_ns  # (floor division keeps the order)
    if lo < -(1 << 31) or hi >= 1 << 31:
        return ns // step_ns
    out = np.empty(len(ns), dtype=np.int32)
    for s in _slices(len(ns)):
        np.floor_divide(ns[s], step_ns, out=out[s], casting="unsafe")
    return out


def first_last(key: np.ndarray, sel: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key code (``0 <= key < size``) of the lines ``sel`` keeps (a mask), its first and
    last line (positions; -1 where none), read a slice at a time (no copy of the lines' keys)."""
    first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(size, -1, dtype=np.int64)
    for s in _slices(len(key)):
        at = np.flatnonzero(sel[s])
        k = key[s][at]
        at += s.start
        np.minimum.at(first, k, at)
        np.maximum.at(last, k, at)
    first[last < 0] = -1
    return first, last


#: Lines packed a slice at a time (:func:`_packed`): the temporaries of a slice, not of every line.
_CHUNK = 1 << 16


def _slices(n: int) -> list[slice]:
    return [slice(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]


def _field(c: np.ndarray) -> tuple[int, int, int]:
    """(lo, g, bits) of a column (:func:`_packed`), its common step found a slice at a time."""
    lo, hi = int(c.min()), int(c.max())
    g = 1
    if hi - lo >= 1 << 16:
        g = 0
        for s in _slices(len(c)):
            v = c[s].astype(np.int64)
            v -= lo
            g = int(np.gcd(g, np.gcd.reduce(v)))
        g = g or 1
    return lo, g, ((hi - lo) // g).bit_length()


def _packed(cols: list[np.ndarray], sel: np.ndarray | None = None
            ) -> tuple[np.ndarray, list[tuple[int, int, int]]] | None:
    """Each line's tuple of ``cols`` (the lines ``sel`` keeps, a mask; all without) packed into
    one int64 (sorting it sorts the tuples): each column as ``(value - lo) // g`` in ``bits`` bits
    (``g`` the columns' common step, as times of one bucket have), and the (lo, g, bits) of each;
    None when the tuples need more than 63 bits. The (lo, g, bits) are those of the whole columns
    (of the lines ``sel`` leaves out too: the same order and values back, read without a mask).
    Packed a slice of lines at a time: the packed array (8 bytes a line) and a slice's
    temporaries, not a whole column's per step."""
    fields = [_field(c) for c in cols]
    if sum(f[2] for f in fields) > 63:
        return None
    n = len(cols[0]) if sel is None else int(np.count_nonzero(sel))
    packed = np.zeros(n, dtype=np.int64)
    at = 0
    for s in _slices(len(cols[0])):
        keep = None if sel is None else sel[s]
        m = s.stop - s.start if keep is None else int(np.count_nonzero(keep))
        out = packed[at:at + m]
        for c, (lo, g, bits) in zip(cols, fields, strict=True):
            v = (c[s] if keep is None else c[s][keep]).astype(np.int64)
            v -= lo
            if g > 1:
                v //= g
            out <<= bits
            out |= v
        at += m
    return packed, fields


def _unpacked(packed: np.ndarray, fields: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """The columns of :func:`_packed`'s values, back."""
    out, shift = [], 0
    for lo, g, bits in reversed(fields):
        out.append(((packed >> shift) & ((1 << bits) - 1)) * g + lo)
        shift += bits
    return out[::-1]


def per_key(keys: list[np.ndarray], distinct: np.ndarray | None = None, sel: np.ndarray | None = None
            ) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct key tuples (``keys``: integer arrays of one length, sorted as a tuple) and per
    tuple the number of lines, or with ``distinct`` (codes, -1 null) the number of distinct
    non-null values (0 when every value is null, as ``nunique`` gives); of the lines ``sel`` keeps
    (a mask over the arrays), or of all. The tuples are packed in one int64 a line and sorted in
    place where they fit (8 bytes a line: no copy of the keys), else lexsorted."""
    cols = keys if distinct is None else [*keys, distinct]
    n = len(keys[0]) if sel is None else int(np.count_nonzero(sel))
    if n == 0:
        return [k[:0] for k in keys], np.zeros(0, dtype=np.int64)
    pk = _packed(cols, sel)
    if pk is None:
        if sel is not None:
            keys, distinct = [k[sel] for k in keys], None if distinct is None else distinct[sel]
        return _per_key_lexsort([k.astype(np.int64, copy=False) for k in keys],
                                None if distinct is None else distinct.astype(np.int64, copy=False))
    packed, fields = pk
    packed.sort()
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(packed[1:], packed[:-1], out=new[1:])
    if distinct is None:
        starts = np.flatnonzero(new)
        return _unpacked(packed[starts], fields), np.diff(np.r_[starts, n])
    uniq = _compacted(packed, new)  # the distinct (keys, value) tuples, in the packed array's room
    del packed, new
    lo, g, dbits = fields[-1]
    counted = np.empty(len(uniq), dtype=bool)
    for s in _slices(len(uniq)):  # the value's field, as a value, a slice at a time: non-null where >= 0
        value = uniq[s] & ((1 << dbits) - 1)
        value *= g
        value += lo
        np.greater_equal(value, 0, out=counted[s])
    uniq >>= dbits  # the keys' part, in place
    starts = np.flatnonzero(np.r_[True, uniq[1:] != uniq[:-1]])
    return _unpacked(uniq[starts], fields[:-1]), np.add.reduceat(counted, starts, dtype=np.int64)


def _compacted(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values[keep]`` written over the start of ``values`` a slice at a time (a view of it is
    returned): no second array of the kept values beside the first (8 bytes a kept line more)."""
    at = 0
    for s in _slices(len(values)):
        part = values[s][keep[s]]  # (a slice's copy first: its room may be written over next)
        values[at:at + len(part)] = part
        at += len(part)
    return values[:at]


def _per_key_lexsort(keys: list[np.ndarray], distinct: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`per_key` by a lexsort of the columns (for tuples wider than 63 bits)."""
    n = len(keys[0])
    cols = keys if distinct is None else [*keys, distinct]
    order = np.lexsort(cols[::-1])
    srt = [c[order] for c in cols]
    new_key = np.zeros(n, dtype=bool)
    new_key[0] = True
    for k in srt[:len(keys)]:
        new_key[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new_key)
    uniq = [k[starts] for k in srt[:len(keys)]]
    if distinct is None:
        return uniq, np.diff(np.r_[starts, n])
    d = srt[-1]
    first_value = new_key.copy()
    first_value[1:] |= d[1:] != d[:-1]
    counted = (first_value & (d >= 0)).astype(np.int64)
    return uniq, np.add.reduceat(counted, starts)


def runs(steps: np.ndarray, step_ns: int) -> list[np.ndarray]:
    """Sorted step starts (ns) grouped into runs of consecutive steps (:func:`.baseline._runs`)."""
    steps = np.sort(np.asarray(steps, dtype=np.int64))
    if not len(steps):
        return []
    cut = np.flatnonzero(np.diff(steps) > step_ns) + 1
    return np.split(steps, cut)


def count_distinct(codes: np.ndarray) -> int:
    """The distinct non-null values among some lines' codes (-1 null): ``nunique`` of them."""
    return len(np.unique(codes[codes >= 0]))


def by_name(names: np.ndarray, wanted: np.ndarray) -> list[int]:
    """The distinct codes of ``wanted``, sorted by their names (the order a group-by gives its keys)."""
    return sorted((int(c) for c in np.unique(np.asarray(wanted, dtype=np.int64))), key=lambda c: str(names[c]))


@dataclass
class Lines:
    """Some lines of a table (positions ``pos``, in table order) with their key codes and times."""

    pos: np.ndarray
    ns: np.ndarray
    #: the columns' codes at these lines (:meth:`coded`), made once
    _coded: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, df: pd.DataFrame, mask: np.ndarray) -> Lines:
        pos = np.flatnonzero(mask)
        return cls(narrow(pos), times_at(df["ts"], pos))

    def subset(self, sel: np.ndarray) -> Lines:
        """The lines ``sel`` (a mask over these) with what is known of them."""
        return Lines(self.pos[sel], self.ns[sel], {k: v[sel] for k, v in self._coded.items()})

    def codes(self, df: pd.DataFrame, col: str, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The codes of column ``col`` at these lines (-1 null) and its values."""
        if col not in df.columns:
            return np.full(len(self.pos), -1, dtype=np.int64), np.zeros(0, dtype=object)
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            return categorical_codes(s, self.pos, sort=sort)
        return codes_of(s.iloc[self.pos], sort=sort)

    def values(self, df: pd.DataFrame, col: str, sel: np.ndarray | None = None) -> np.ndarray:
        """:func:`value_codes` of column ``col`` at these lines (or at those of them ``sel``)."""
        pos = self.pos if sel is None else self.pos[sel]
        if col not in df.columns:
            return np.full(len(pos), -1, dtype=np.int64)
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):  # (its codes at the lines: no Series taken, nor its index)
            return s.cat.codes.to_numpy()[pos]
        data = getattr(s.array, "_pa_array", None)
        if sel is None and data is not None:
            # the whole column coded and its codes taken at the lines (int32): not a copy of the
            # lines' texts (the dictionary attack's recipients: most of the abuse detector's peak)
            enc = pc.dictionary_encode(_one_array(data))
            return pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)[pos]
        return value_codes(s.iloc[pos])


    @property
    def client(self) -> np.ndarray:
        """The client codes of :func:`client_lines`' lines."""
        return self._coded[CLIENT]

    def coded(self, df: pd.DataFrame, col: str) -> np.ndarray:
        """:meth:`values` of column ``col`` at these lines, kept for the next reader."""
        if col not in self._coded:
            self._coded[col] = narrow(self.values(df, col))
        return self._coded[col]

    def distinct(self, df: pd.DataFrame, col: str, sel: np.ndarray) -> int:
        """The distinct non-null values of ``col`` at the lines ``sel`` (``nunique`` of them;
        ``sel`` here and below: a mask over these lines, or positions among them, ascending)."""
        return count_distinct(self.coded(df, col)[sel])

    def span(self, df: pd.DataFrame, sel: np.ndarray) -> tuple[Any, Any]:
        """The first and last time of the lines ``sel`` (some), as the column's own values."""
        at = _positions(sel)
        ns = self.ns[at]
        ts = df["ts"]
        return ts.iloc[self.pos[at[np.argmin(ns)]]], ts.iloc[self.pos[at[np.argmax(ns)]]]

    def mode(self, df: pd.DataFrame, col: str, sel: np.ndarray) -> Any:
        """``mode().iloc[0]`` of ``col`` at the lines ``sel``: of a Categorical, the most frequent
        category (the first in category order among equals) counted on its codes."""
        s = df[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            return s.iloc[self.pos[sel]].mode().iloc[0]
        key = f"categories of {col}"
        if key not in self._coded:
            self._coded[key] = s.cat.codes.to_numpy()[self.pos]
        codes = self._coded[key][sel]
        codes = codes[codes >= 0]
        if not len(codes):  # (no value: as pandas says it)
            return s.iloc[self.pos[sel]].mode().iloc[0]
        return s.cat.categories[int(np.argmax(np.bincount(codes)))]

    def evidence(self, df: pd.DataFrame, sel: np.ndarray, n: int) -> tuple[tuple[str, int], ...]:
        """(file, line) of the first ``n`` of the lines ``sel`` that name both (a finding's
        evidence: :func:`.context._finding`), read at those lines alone."""
        if "named" not in self._coded:
            named = np.ones(len(self.pos), dtype=bool)
            for c in ("source", "line_no"):  # (the column's nulls taken at the lines: no copy of its values)
                named &= df[c].notna().to_numpy(dtype=bool)[self.pos]
            self._coded["named"] = named
        at = _positions(sel)
        at = self.pos[at[self._coded["named"][at]][:n]]
        return tuple((str(s), int(x)) for s, x in zip(df["source"].iloc[at].tolist(), df["line_no"].iloc[at].tolist(),
                                                        strict=True))


def _positions(sel: np.ndarray) -> np.ndarray:
    """The positions ``sel`` gives (a mask, or positions already)."""
    return np.flatnonzero(sel) if sel.dtype == bool else sel


#: The key of :func:`client_lines`' client codes among a :class:`Lines`' codes.
CLIENT = "client codes"


def client_lines(ctx: Any, df: pd.DataFrame) -> tuple[Lines, np.ndarray]:
    """The inbound rejects and authentication failures of ``df`` (the context's window or all its
    lines) that name a client: what the abuse detectors count, as :class:`Lines` whose ``client``
    codes (:meth:`Lines.coded`) are the client addresses sorted (returned), made once per table
    and context for every detector that reads them."""
    from .context import _str_eq

    held = ctx.__dict__.setdefault("_client_lines", {})
    key = "events" if df is ctx.events else "all"
    if key not in held:
        lines = Lines.of(df, df["client_ip"].notna().to_numpy(dtype=bool) & _str_eq(df["event"], ("auth_failure", "reject")))
        client, names = lines.codes(df, "client_ip", sort=True)
        lines._coded[CLIENT] = narrow(client)
        held[key] = (lines, names)
    return held[key]


def release_client_lines(ctx: Any) -> None:
    """Drop what :func:`client_lines` keeps on ``ctx`` (the lines' positions and every column's
    codes read at them): its last reader in :data:`~.detect.DETECTORS`' order gives it back for
    the detectors after it (a reader run later makes it again)."""
    ctx.__dict__.pop("_client_lines", None)
