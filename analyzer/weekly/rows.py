"""The week's kept rows, made from the days' sorted rows a column at a time (:class:`WeekRows`).

Each day's kept rows come sorted from its own fold (:meth:`analyzer.weekly.events._Day.rows_result`):
their Categoricals (codes into the day's sorted categories) and Arrow columns. Of a day, only
what the week's table is made of is held: each Categorical's codes compressed
(:func:`~analyzer.report.rows_packed.pack_codes`) with its categories, each Arrow column as its
one array (a column null on all the day's rows as its length alone). At the end the week's table
is made a column at a time and the days' parts of that column dropped as it is made: the end's
peak is the held days and one column, not every coded column unpacked at once beside the
Arrow columns being joined (the week's :class:`~analyzer.report.fold.RowsFold` end, +40 MiB at
7x3M Exim lines: bench/RESULTS.md, r29-wkexim). The table is the one that fold gave: the same
columns in the same order, each Categorical's categories the union of the days' sorted as Python
sorts strings, the Arrow columns one chunk of their type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import heap

__all__ = ["WeekRows"]


def _narrow(n: int) -> type:
    """The narrowest signed integer type holding the codes 0 .. n-1 and -1 (as the rows' fold narrows)."""
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32


class WeekRows:
    """The kept rows of the days added in turn (each day's in its final order), as one table."""

    def __init__(self, columns: list[str], categorical: Any) -> None:
        self.columns = list(columns)
        self.categorical = frozenset(categorical)
        #: per day: its rows and, per column, (packed codes, categories) or an Arrow array or
        #: (None, Arrow type) where the column is null on every row of the day
        self._days: list[tuple[int, dict[str, Any]]] = []

    def __len__(self) -> int:
        return sum(n for n, _ in self._days)

    def add(self, ev: pd.DataFrame) -> None:
        """Hold a day's rows (``ev``: in order, every column of :attr:`columns`; its Categoricals'
        categories sorted)."""
        import pyarrow as pa

        from ..report.rows_packed import pack_codes

        if not len(ev):
            return
        day: dict[str, Any] = {}
        for c in self.columns:
            s = ev[c]
            if c in self.categorical:
                day[c] = (pack_codes(s.cat.codes.to_numpy()), list(s.cat.categories))
                continue
            arr = s.array.__arrow_array__()
            arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
            day[c] = (None, arr.type) if arr.null_count == len(arr) else arr
        self._days.append((len(ev), day))

    def result(self) -> pd.DataFrame:
        """The week's rows: the days' in the order added (each column made, then the days' parts of it dropped)."""
        import pyarrow as pa

        from .events import _null_array

        n = len(self)
        out: dict[str, Any] = {}
        for c in self.columns:
            parts = [day.pop(c) for _, day in self._days]
            if c in self.categorical:
                out[c] = self._categorical(parts, n)
            else:
                typ = next((p.type if isinstance(p, pa.Array) else p[1] for p in parts), pa.null())
                if all(not isinstance(p, pa.Array) for p in parts):  # null on every row: no resident buffers
                    arr = _null_array(typ, n)
                    arr = pa.nulls(n, typ) if arr is None else arr
                else:
                    arr = pa.concat_arrays([p if isinstance(p, pa.Array) else pa.nulls(k, p[1])
                                            for (k, _), p in zip(self._days, parts, strict=True)])
                out[c] = pd.arrays.ArrowExtensionArray(pa.chunked_array([arr], type=arr.type))
            del parts
            heap.release_arrow()  # (the days' parts of the column, before the next is made)
        self._days = []
        return pd.DataFrame(out, copy=False)

    @staticmethod
    def _categorical(parts: list[tuple[Any, list[Any]]], n: int) -> pd.Categorical:
        """One Categorical of the days' (packed codes, sorted categories), its categories their
        union sorted (as :class:`~analyzer.report.fold.RowsFold` sorts them: Python's order)."""
        from ..report.rows_packed import unpack_codes

        cats = sorted(set().union(*(p[1] for p in parts)))
        at = {v: i for i, v in enumerate(cats)}
        codes = np.empty(n, dtype=_narrow(len(cats)))
        i = 0
        for held, day_cats in parts:
            day = unpack_codes(held)
            lut = np.array([at[v] for v in day_cats] + [-1], dtype=codes.dtype)  # (code -1, null, takes the last)
            codes[i:i + len(day)] = lut[day]
            i += len(day)
        return pd.Categorical.from_codes(codes, categories=cats)
