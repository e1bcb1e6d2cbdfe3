"""The column tests of one batch, each made once: what the report's masks are built from.

The report's fold decides for every line of a stream batch where it goes (counted into the Bulk,
counted apart, a quiet login, a sent delivery, a row with its texts blanked): :func:`~.aggregates.fold_masks`,
:func:`~.sent.is_quiet_local_sent`, :func:`~.folded.is_quiet_login`,
:func:`analyzer.report.sent_fold.is_foldable_sent` and :func:`analyzer.report.run.quiet_rows`.
Between them they compare the same few columns (event, direction, outcome, severity, cause,
status, action) with the same values and test the same columns for nulls some sixty times a
batch; each such test went through a new pandas Series. :class:`BatchTests` answers each test
once per batch: a string column dictionary-encoded once (then a test reads its few distinct
values and indexes the codes), a column's nulls read from its Arrow validity, never a Series.

A stream batch (:class:`analyzer.report.fold._Batch`) keeps its :class:`BatchTests` (one for all
the masks; the batch is never changed); any other table gets a fresh one per call, which answers
as the pandas comparisons did (:func:`~.bulk_masks._eq`, ``isna``).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..class_codes import pick
from .arrow_columns import _one_array

__all__ = ["BatchTests", "tests_of"]


def _frozen(m: np.ndarray) -> np.ndarray:
    """``m`` made read-only: a cached answer is shared, so a caller changing it in place fails."""
    m.flags.writeable = False
    return m


class BatchTests:
    """Cached tests of ``batch``'s columns: :meth:`eq` (equal to a value or one of several, null
    as False) and :meth:`null` (null, or everywhere when the column is missing). The masks given
    are read-only (shared between callers): combine them into new arrays (``a & b``), never in place."""

    def __init__(self, batch: pd.DataFrame, table: pa.Table | None = None, class_codes: Any = None) -> None:
        # (a weak reference: a stream batch keeps its tests, and a cycle would keep every batch
        # until the garbage collector's next full pass: measured +50 MiB peak at 1M Exim lines)
        self._batch = weakref.ref(batch)
        self.table = table  # the batch's own Arrow table (a stream batch), else None
        # its classification's codes (analyzer.class_codes.RowCodes, rows as table's), where the stream kept them
        self.class_codes = class_codes if table is not None else None
        # (a stream batch's names from its table: pandas' Index of them is read one element at a time)
        self.columns = frozenset(table.column_names if table is not None else batch.columns)
        self.rows = len(batch)
        self._codes: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._eq: dict[tuple[str, Any], np.ndarray] = {}
        self._null: dict[str, np.ndarray] = {}
        self.memo: dict[str, np.ndarray] = {}  # masks built of these tests, by name (_Masks.well)

    @property
    def batch(self) -> pd.DataFrame:
        got = self._batch()
        if got is None:
            raise ReferenceError("the batch of these tests is gone")
        return got

    def _arrow(self, name: str) -> Any:
        """The column as Arrow data (an array or chunked array), None where it is not Arrow-backed."""
        if self.table is not None:
            return self.table.column(name)
        return getattr(self.batch[name].array, "_pa_array", None)

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(distinct values as objects, None among them for the nulls; each row's index into
        them) of a stream batch's string column, else None."""
        if name in self._codes:
            return self._codes[name]
        # (only a stream batch's: another table's columns are compared as :func:`~.bulk_masks._eq` does)
        data = self.table.column(name) if self.table is not None else None
        got = None
        if data is not None and self.class_codes is not None:
            # the codes the classification gave (strings made of them): nothing encoded again
            got = self.class_codes.coded(name, self.table)
        if got is None and data is not None and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
            got = _one_value(_one_array(data))
            if got is None:
                # a null is a value of the dictionary (None: equal to no string), so the codes have no nulls
                coded = pc.dictionary_encode(_one_array(data), null_encoding="encode")
                distinct = np.asarray(coded.dictionary.to_pylist(), dtype=object)
                got = distinct, coded.indices.to_numpy(zero_copy_only=False)
        self._codes[name] = got
        return got

    def cached_codes(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`codes` of column ``name`` where they were made already, else None (nothing encoded)."""
        return self._codes.get(name)

    def eq(self, name: str, value: str | tuple[str, ...]) -> np.ndarray:
        """Where column ``name`` equals ``value`` (or one of the values), null as False."""
        key = (name, value)
        m = self._eq.get(key)
        if m is None:
            coded = self.codes(name)
            if coded is None:
                from .aggregates import _eq

                m = _eq(self.batch[name], value)
            else:
                distinct, codes = coded
                values = {value} if isinstance(value, str) else set(value)
                # (a few dozen distinct values; None, the null's, equal to none of them)
                m = pick(np.fromiter((v in values for v in distinct), dtype=bool, count=len(distinct)), codes)
            m = self._eq[key] = _frozen(m)
        return m

    def null(self, name: str) -> np.ndarray:
        """Where column ``name`` is null (everywhere when the batch has no such column)."""
        m = self._null.get(name)
        if m is None:
            if name not in self.columns:
                m = np.ones(self.rows, dtype=bool)
            else:
                data = self._arrow(name)
                if data is None:
                    m = self.batch[name].isna().to_numpy(dtype=bool)
                elif not data.null_count:
                    m = np.zeros(self.rows, dtype=bool)
                else:
                    m = _nulls(data)
                m = np.array(m, dtype=bool)  # (its own array: frozen below)
            m = self._null[name] = _frozen(m)
        return m

    def notnull(self, name: str) -> np.ndarray:
        """Where column ``name`` is not null (nowhere when the batch has no such column)."""
        return ~self.null(name)


def _nulls(data: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Where ``data`` (with nulls) is null: an array's validity bits unpacked (a fifth of
    Arrow's ``is_null`` made into numpy), else as Arrow gives it."""
    arr = data.chunk(0) if isinstance(data, pa.ChunkedArray) and data.num_chunks == 1 else data
    bits = arr.buffers()[0] if isinstance(arr, pa.Array) and not pa.types.is_dictionary(arr.type) \
        and arr.type != pa.null() else None
    if bits is None:
        return data.is_null().to_numpy(zero_copy_only=False)
    n, at = len(arr), arr.offset
    valid = np.unpackbits(np.frombuffer(bits, np.uint8, (at + n + 7) // 8), count=at + n, bitorder="little")[at:]
    return valid == 0


def _one_value(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """:meth:`BatchTests.codes` of a column of one value on every row (a batch's source file, most
    often its host: each row compared with the first costs a quarter of hashing every row into a
    dictionary), else None."""
    n = len(arr)
    if not n or arr.null_count or arr[0] != arr[n - 1] or not pc.all(pc.equal(arr, arr[0])).as_py():
        return None
    return np.asarray([arr[0].as_py()], dtype=object), np.zeros(n, dtype=np.int32)


def tests_of(batch: pd.DataFrame) -> BatchTests:
    """The :class:`BatchTests` of ``batch``: a stream batch's own (made once, kept on it), else a new one."""
    own = getattr(batch, "batch_tests", None)
    return own() if own is not None else BatchTests(batch)
