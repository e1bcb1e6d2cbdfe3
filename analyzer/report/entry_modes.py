"""The cause lists' per-entry outcome, direction and events, read on codes (:func:`.build._cause_list`).

Each entry of a cause list names the most frequent outcome and direction of its rows and, for the
entries not counted in messages, the events they hold. Read per entry through pandas (a take, a
copy to objects, a mode: ~1 CPU-ms an entry, 75 entries a report), they were a fifth of the cause
lists' cost; here the kept rows' Categoricals are coded once per list and each entry counts its
rows' codes. Where a column is no Categorical (a table in memory, a history's rows) the caller reads
it as before: :func:`modes_of` gives None.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .rows_at import column, notna

__all__ = ["EntryModes", "modes_of"]


def _codes(s: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return None
    return s.cat.codes.to_numpy(), s.cat.categories


class EntryModes:
    """Per entry (the positions ``at`` of the list's rows): :meth:`outcome` as
    ``Series.mode().iloc[0]`` of a Categorical gives it (the first category among the most
    frequent), :meth:`direction` as ``_directions``' object Series' mode (the least string among the
    most frequent, "" only where no row has one), :meth:`events` as the set of the rows' events."""

    def __init__(self, rows: Any, outcome: tuple[np.ndarray, pd.Index], direction: tuple[np.ndarray, list[str]]) -> None:
        self._rows, self._outcome, self._direction = rows, outcome, direction
        self._event: tuple[np.ndarray, pd.Index] | bool | None = False  # (read when first asked for)

    def outcome(self, at: np.ndarray) -> str | None:
        codes, cats = self._outcome
        c = codes[at]
        c = c[c >= 0]
        if not len(c):
            return None  # (the caller reads it as before: pandas' mode of no value)
        return str(cats[int(np.argmax(np.bincount(c)))])

    def direction(self, at: np.ndarray) -> str | None:
        codes, names = self._direction
        n = np.bincount(codes[at], minlength=len(names))
        if n[1:].any():  # the rows with a direction, when any has one (names[0] is "")
            n[0] = 0
        return names[int(np.argmax(n))] or None

    def outcomes(self, at: np.ndarray) -> pd.Series:
        """The rows' outcomes as strings, None where none (what ``.ends_fold.merged_entry`` counts)."""
        codes, cats = self._outcome
        return pd.Series(np.array([*map(str, cats), None], dtype=object)[codes[at]], dtype=object)

    def directions(self, at: np.ndarray) -> pd.Series:
        """``_directions`` of the rows, those with one when any has one (what ``merged_entry`` counts)."""
        codes, names = self._direction
        d = codes[at]
        return pd.Series(np.array(names, dtype=object)[d[d > 0] if (d > 0).any() else d], dtype=object)

    def events(self, at: np.ndarray) -> set[str] | None:
        if self._event is False:
            self._event = _codes(column(self._rows, "event")) if "event" in self._rows.columns else None
        if self._event is None:
            return None
        codes, cats = self._event
        c = codes[at]
        return {str(cats[i]) for i in np.unique(c[c >= 0])}


def modes_of(rows: Any, outcome: pd.Series) -> EntryModes | None:
    """:class:`EntryModes` of a cause list's ``rows`` (a table or :class:`.rows_at.RowsAt`) and
    their ``outcome`` column; None unless outcome and direction are Categoricals."""
    oc = _codes(outcome)
    dc = _codes(column(rows, "direction")) if "direction" in rows.columns else None
    if oc is None or dc is None:
        return None
    codes, cats = dc
    # the directions' strings sorted ("" first: the null's, a line's that took its cause from another)
    as_str = [str(c) for c in cats]
    names = sorted({"", *as_str})
    # (as small integers: a byte or two a row, not eight)
    rank = np.array([names.index(s) for s in as_str] + [0], dtype=np.min_scalar_type(len(names)))
    dcode = rank[codes]  # code -1 (null) takes the trailing 0, ""
    if "cause_ref" in rows.columns:
        dcode[notna(rows, "cause_ref")] = 0
    return EntryModes(rows, oc, (dcode, names))
