"""Some rows of a large table, read a column at a time (:class:`RowsAt`).

The cause lists read a dozen columns of the failed rows, most of them (reply texts, details,
addresses) only at the few rows of an example: selecting every column of those rows at once
copied most of the kept rows (measured: the report's build peak, +190 MiB at 10M Exim lines).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RowsAt", "column", "notna", "take"]


class RowsAt:
    """The rows of ``table`` where ``mask`` is true, of the ``columns`` given (those it has): a
    column is taken at those rows when asked for (``rows[name]``, the rows' own index labels, as
    ``table.loc[mask, columns]`` gives them), a value or a few with :func:`take`, never every
    column at once."""

    def __init__(self, table: pd.DataFrame, mask: np.ndarray, columns: Iterable[str]) -> None:
        self.table = table
        self.pos = np.flatnonzero(mask)
        self.columns = pd.Index([c for c in columns if c in table.columns])
        self._series: dict[str, pd.Series] = {}  # the table's columns read (pandas makes a Series per read)

    def _column(self, name: str) -> pd.Series:
        if name not in self.columns:
            raise KeyError(name)
        got = self._series.get(name)
        if got is None:
            got = self._series[name] = self.table[name]
        return got

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def empty(self) -> bool:
        return not len(self.pos)

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> pd.Series:
        return self._column(name).iloc[self.pos]

    def take(self, name: str, at: Any) -> pd.Series:
        """Column ``name`` at the positions ``at`` of these rows, numbered from 0 (the values
        taken from the column's array: a third of an ``iloc``'s cost, its index labels not taken;
        the cause lists take a few values per entry, a hundred times per report)."""
        col = self._column(name)
        return pd.Series(col.array.take(self.pos[at]), name=col.name, copy=False)


def take(rows: pd.DataFrame | RowsAt, name: str, at: Any) -> pd.Series:
    """Column ``name`` of ``rows`` (a table or :class:`RowsAt`) at the positions ``at``."""
    if isinstance(rows, RowsAt):
        return rows.take(name, at)
    return rows[name].iloc[at]


def column(rows: pd.DataFrame | RowsAt, name: str) -> pd.Series:
    """Column ``name`` of ``rows``; of a :class:`RowsAt`, its values at its rows under a plain
    range index (what the cause lists read by position: not the rows' index labels, an int64 array
    of the rows' length per column read, measured +18 MiB at 10M Exim lines)."""
    return rows.take(name, slice(None)) if isinstance(rows, RowsAt) else rows[name]


def notna(rows: pd.DataFrame | RowsAt, name: str) -> np.ndarray:
    """Where column ``name`` of ``rows`` has a value (over the whole column of a :class:`RowsAt`'s
    table, then at its rows: no copy of the column's texts)."""
    if isinstance(rows, RowsAt):
        if name not in rows.columns:
            raise KeyError(name)
        return rows.table[name].notna().to_numpy(dtype=bool)[rows.pos]
    return rows[name].notna().to_numpy(dtype=bool)
